package s3compat

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/sse"
)

// Server-side encryption headers. The layer encrypts (s3api.EncryptingLayer);
// the front end reads what a request asks for, checks the SSE-C key's MD5,
// gives a read its customer key, and says on every answer how the version
// is stored. A layer that does not encrypt has the headers refused
// (refuse.go).

const (
	sseHeader        = "x-amz-server-side-encryption"
	sseKMSKeyHeader  = "x-amz-server-side-encryption-aws-kms-key-id"
	sseContextHeader = "x-amz-server-side-encryption-context"
	sseBucketKey     = "x-amz-server-side-encryption-bucket-key-enabled"
	// The SSE-C headers' common prefix, and a copy source's.
	ssecPrefix     = "x-amz-server-side-encryption-customer-"
	copySSECPrefix = "x-amz-copy-source-server-side-encryption-customer-"
)

// encrypts reports whether the layer honours encryption requests.
func (s *Server) encrypts() bool {
	_, ok := s.layer.(s3api.EncryptingLayer)
	return ok
}

// writeEncryption reads the encryption a PUT, CopyObject or
// CreateMultipartUpload asks for.
func writeEncryption(h http.Header, secure bool) (s3api.Encryption, error) {
	var enc s3api.Encryption
	key, err := customerKey(h, secure, ssecPrefix)
	if err != nil {
		return enc, err
	}
	enc.CustomerKey = key
	method := h.Get(sseHeader)
	switch method {
	case "":
		if h.Get(sseKMSKeyHeader) != "" || h.Get(sseContextHeader) != "" {
			return enc, s3api.ErrInvalidArgument.WithMessage("Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
		}
	case s3api.SSES3, s3api.SSEKMS:
		if key != nil {
			return enc, s3api.ErrInvalidArgument.WithMessage("Server Side Encryption with Customer provided key is incompatible with the encryption method specified")
		}
		if method == s3api.SSES3 && (h.Get(sseKMSKeyHeader) != "" || h.Get(sseContextHeader) != "") {
			return enc, s3api.ErrInvalidArgument.WithMessage("Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
		}
	case "aws:kms:dsse":
		return enc, s3api.ErrNotImplemented.WithMessage("Dual-layer server-side encryption (aws:kms:dsse) is not implemented by ecstore.")
	default:
		return enc, s3api.ErrInvalidArgument.WithMessage("The encryption method specified is not supported: %q.", method)
	}
	if strings.EqualFold(h.Get(sseBucketKey), "true") {
		return enc, s3api.ErrNotImplemented.WithMessage("S3 Bucket Keys (x-amz-server-side-encryption-bucket-key-enabled) are not implemented by ecstore.")
	}
	enc.Method, enc.KMSKeyID, enc.KMSContext = method, h.Get(sseKMSKeyHeader), h.Get(sseContextHeader)
	if enc.KMSContext != "" {
		// base64 of a JSON object of strings, as S3 takes it.
		var m map[string]string
		raw, err := base64.StdEncoding.DecodeString(enc.KMSContext)
		if err != nil || json.Unmarshal(raw, &m) != nil {
			return enc, s3api.ErrInvalidArgument.WithMessage("The %s header must be base64 of a JSON object of strings.", sseContextHeader)
		}
	}
	return enc, nil
}

// customerKey reads the three SSE-C headers of prefix (nil: none sent),
// over TLS only, as S3.
func customerKey(h http.Header, secure bool, prefix string) ([]byte, error) {
	alg, k, sum := h.Get(prefix+"algorithm"), h.Get(prefix+"key"), h.Get(prefix+"key-MD5")
	if alg == "" && k == "" && sum == "" {
		return nil, nil
	}
	if !secure {
		return nil, s3api.ErrInvalidRequest.WithMessage("Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.")
	}
	if alg == "" {
		return nil, s3api.ErrInvalidArgument.WithMessage("Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.")
	}
	c, err := sse.ParseCustomer(alg, k, sum)
	switch {
	case errors.Is(err, sse.ErrCustomerAlgorithm):
		return nil, s3api.ErrInvalidArgument.WithMessage("The encryption algorithm %q is not supported; use AES256.", alg)
	case errors.Is(err, sse.ErrCustomerKey):
		return nil, s3api.ErrInvalidArgument.WithMessage("The secret key was invalid for the specified algorithm.")
	case errors.Is(err, sse.ErrCustomerKeyMD5):
		return nil, s3api.ErrInvalidArgument.WithMessage("The calculated MD5 hash of the key did not match the hash that was provided.")
	case err != nil:
		return nil, err
	}
	return c.Key(), nil
}

// useReadKey gives an opened version the request's SSE-C key (headers of
// prefix): an SSE-C version needs it, any other refuses it.
func useReadKey(h http.Header, secure bool, obj s3api.Object, prefix string) error {
	key, err := customerKey(h, secure, prefix)
	if err != nil {
		return err
	}
	if ko, ok := obj.(s3api.KeyedObject); ok && (key != nil || obj.Info().Encryption.Method == s3api.SSEC) {
		return ko.UseCustomerKey(key)
	}
	if key != nil {
		return s3api.ErrInvalidRequest.WithMessage("The encryption parameters are not applicable to this object.")
	}
	return nil
}

// addSSEHeaders says how a version is stored; for SSE-C it echoes the
// algorithm and the key's MD5 the request sent.
func addSSEHeaders(h http.Header, enc s3api.ObjectEncryption, req http.Header, prefix string) {
	switch enc.Method {
	case s3api.SSES3:
		h.Set(sseHeader, s3api.SSES3)
	case s3api.SSEKMS:
		h.Set(sseHeader, s3api.SSEKMS)
		if enc.KMSKeyID != "" {
			h.Set(sseKMSKeyHeader, enc.KMSKeyID)
		}
	case s3api.SSEC:
		h.Set(ssecPrefix+"algorithm", "AES256")
		if v := req.Get(prefix + "key-MD5"); v != "" {
			h.Set(ssecPrefix+"key-MD5", v)
		}
	}
}

// ssecIf is SSEC when a customer key was given, else "".
func ssecIf(key []byte) string {
	if key == nil {
		return ""
	}
	return s3api.SSEC
}

// asksEncryption reports whether a copy names an encryption for its
// destination or a customer key for its source: a copy onto itself that
// re-encrypts, rotates an SSE-C key or decrypts changes the object, as in
// S3.
func asksEncryption(h http.Header) bool {
	return h.Get(sseHeader) != "" || h.Get(ssecPrefix+"algorithm") != "" || h.Get(copySSECPrefix+"algorithm") != ""
}

// The bucket's default encryption (PutBucketEncryption) is kept as an
// s3api.EncryptionDoc; the layer applies it to writes that ask for none.

type sseConfiguration struct {
	XMLName xml.Name  `xml:"ServerSideEncryptionConfiguration"`
	Xmlns   string    `xml:"xmlns,attr,omitempty"`
	Rules   []sseRule `xml:"Rule"`
}

type sseRule struct {
	Default *struct {
		Algorithm string `xml:"SSEAlgorithm"`
		KMSKeyID  string `xml:"KMSMasterKeyID,omitempty"`
	} `xml:"ApplyServerSideEncryptionByDefault"`
	BucketKeyEnabled *bool `xml:"BucketKeyEnabled"`
}

func (s *Server) getBucketEncryption(ctx context.Context, q *request) (*response, error) {
	set, err := s.bucketSettings(ctx, q.bucket)
	if err != nil {
		return nil, err
	}
	raw := set.Get(s3api.SettingEncryption)
	if raw == nil {
		return nil, s3api.ErrNoSuchEncryptionConfiguration
	}
	var doc s3api.EncryptionDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("s3compat: the encryption configuration of bucket %q does not decode: %w", q.bucket, err)
	}
	r := sseRule{BucketKeyEnabled: &doc.BucketKey}
	r.Default = &struct {
		Algorithm string `xml:"SSEAlgorithm"`
		KMSKeyID  string `xml:"KMSMasterKeyID,omitempty"`
	}{doc.Algorithm, doc.KMSKeyID}
	return &response{xml: sseConfiguration{Xmlns: s3NS, Rules: []sseRule{r}}}, nil
}

func (s *Server) putBucketEncryption(ctx context.Context, q *request) (*response, error) {
	if !s3api.ValidBucketName(q.bucket) {
		return nil, s3api.ErrNoSuchBucket
	}
	data, err := readXMLBody(q)
	if err != nil {
		return nil, err
	}
	var c sseConfiguration
	if err := xml.Unmarshal(data, &c); err != nil {
		return nil, s3api.ErrMalformedXML
	}
	if len(c.Rules) != 1 || c.Rules[0].Default == nil {
		return nil, s3api.ErrMalformedXML.WithMessage("The encryption configuration must hold exactly one Rule with ApplyServerSideEncryptionByDefault.")
	}
	r := c.Rules[0]
	doc := s3api.EncryptionDoc{Algorithm: r.Default.Algorithm, KMSKeyID: r.Default.KMSKeyID}
	switch doc.Algorithm {
	case s3api.SSES3:
		if doc.KMSKeyID != "" {
			return nil, s3api.ErrInvalidArgument.WithMessage("a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms")
		}
	case s3api.SSEKMS:
	case "aws:kms:dsse":
		return nil, s3api.ErrNotImplemented.WithMessage("Dual-layer server-side encryption (aws:kms:dsse) is not implemented by ecstore.")
	default:
		return nil, s3api.ErrMalformedXML.WithMessage("The SSEAlgorithm %q is not one of AES256, aws:kms.", doc.Algorithm)
	}
	if r.BucketKeyEnabled != nil && *r.BucketKeyEnabled {
		if doc.Algorithm == s3api.SSES3 {
			// S3 accepts it and does nothing for SSE-S3; so does ecstore.
			doc.BucketKey = true
		} else {
			return nil, s3api.ErrNotImplemented.WithMessage("S3 Bucket Keys are not implemented by ecstore.")
		}
	}
	if err := s.layer.(s3api.EncryptingLayer).CanEncrypt(doc.Algorithm); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	if err := s.putBucketSetting(ctx, q.bucket, s3api.SettingEncryption, raw); err != nil {
		return nil, err
	}
	return &response{}, nil
}

func (s *Server) deleteBucketEncryption(ctx context.Context, q *request) (*response, error) {
	if err := s.putBucketSetting(ctx, q.bucket, s3api.SettingEncryption, nil); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}
