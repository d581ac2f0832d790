package gateway

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/sse"
	"github.com/ecstore/ecstore/storagenode"
)

// Server-side encryption on the data path. A version's bytes are
// encrypted before they are erasure coded (package sse: a DARE stream per
// part under a key derived from the version's object key), so heal,
// rebalance and scrub move and check ciphertext without a key; the object
// key is in the record only sealed: by a ring key (SSE-S3) or by the
// customer's key (SSE-C, which is never stored).

// KeyRing seals SSE-S3 object keys under the operator's master keys
// (*sse.Ring). The gateway owns the interface so that a later KMS can
// take the ring's place.
type KeyRing interface {
	// Seal seals objectKey for the object aad names under the active
	// key, and says which key that is.
	Seal(aad, objectKey []byte) (keyID string, sealed []byte, err error)
	// Unseal opens a key Seal sealed under keyID.
	Unseal(keyID string, aad, sealed []byte) ([]byte, error)
	// Active is the id of the key Seal uses.
	Active() string
	// SealUnder seals objectKey under key id (a rotation's target).
	SealUnder(id string, aad, objectKey []byte) ([]byte, error)
}

// KMS is SSE-KMS's key store: named keys that seal object keys. The
// server's local store (named keys sealed by the ring, kept in the
// metadata store) implements it; an external KMS (Vault Transit, KMIP)
// can take its place.
type KMS interface {
	// DefaultKey is the key a request without a key id uses.
	DefaultKey() string
	// Seal seals objectKey under the named key for aad; a missing key
	// (other than the default, made on first use) is ErrKMSKeyNotFound.
	Seal(ctx context.Context, name string, aad, objectKey []byte) ([]byte, error)
	// Unseal opens what Seal sealed.
	Unseal(ctx context.Context, name string, aad, sealed []byte) ([]byte, error)
}

// sealing is the encryption of one write: the record's SSEInfo and the
// object key it seals (in memory only).
type sealing struct {
	info *storagenode.SSEInfo
	key  []byte
}

// partKey is the key part n's DARE stream runs under (nil: no sealing).
func (s *sealing) partKey(n int) []byte {
	if s == nil {
		return nil
	}
	return sse.PartKey(s.key, n)
}

// etag is the ETag of a part or version whose plaintext MD5 (hex) is
// md5hex: that MD5 for SSE-S3 and for no encryption, as S3; for SSE-C and
// SSE-KMS an opaque value, since S3's ETag of such an object is no MD5 of
// its data.
func (s *sealing) etag(md5hex string) string {
	if s == nil || s.info.Method == sse3Method {
		return md5hex
	}
	sum, err := hex.DecodeString(md5hex)
	if err != nil {
		return md5hex
	}
	return sse.OpaqueETag(s.key, sum)
}

const (
	sse3Method = s3api.SSES3
	ssecMethod = s3api.SSEC
)

// parseEncryption reads a SettingEncryption document (nil: none).
func parseEncryption(doc []byte) s3api.EncryptionDoc {
	var d s3api.EncryptionDoc
	if doc != nil {
		_ = json.Unmarshal(doc, &d)
	}
	return d
}

// newSealing makes the encryption of a new version or upload of
// bucket/key: what enc asks for, else the bucket's default, else none
// (nil).
func (l *Layer) newSealing(ctx context.Context, bucket, key string, enc s3api.Encryption, st bucketState) (*sealing, error) {
	method := enc.Method
	if enc.CustomerKey != nil {
		method = ssecMethod
	} else if method == "" {
		method = st.encryption.Algorithm
	}
	if method != "" {
		if err := l.checkEncryptionKept(ctx); err != nil {
			return nil, err
		}
	}
	switch method {
	case "":
		return nil, nil
	case ssecMethod:
		c, err := sse.NewCustomer(enc.CustomerKey)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCustomerKeyWrong, err)
		}
		s := &sealing{key: sse.NewObjectKey(), info: &storagenode.SSEInfo{Method: ssecMethod, Salt: sse.NewSalt()}}
		s.info.MAC = c.MAC(s.info.Salt)
		if s.info.Sealed, err = c.Seal(sse.AAD(ssecMethod, "", bucket, key), s.key); err != nil {
			return nil, err
		}
		return s, nil
	case sse3Method:
		if l.cfg.Keys == nil {
			return nil, ErrNoMasterKey
		}
		s := &sealing{key: sse.NewObjectKey(), info: &storagenode.SSEInfo{Method: sse3Method}}
		id := l.cfg.Keys.Active()
		var err error
		if s.info.KeyID, s.info.Sealed, err = l.cfg.Keys.Seal(sse.AAD(sse3Method, id, bucket, key), s.key); err != nil {
			return nil, fmt.Errorf("gateway: seal the object key: %w", err)
		}
		return s, nil
	case s3api.SSEKMS:
		if l.cfg.KMS == nil {
			return nil, ErrNoMasterKey
		}
		name := enc.KMSKeyID
		if name == "" && enc.Method == "" {
			name = st.encryption.KMSKeyID // the bucket's default
		}
		if name == "" {
			name = l.cfg.KMS.DefaultKey()
		}
		s := &sealing{key: sse.NewObjectKey(), info: &storagenode.SSEInfo{Method: s3api.SSEKMS, KeyID: name, Context: enc.KMSContext}}
		var err error
		if s.info.Sealed, err = l.cfg.KMS.Seal(ctx, name, sse.KMSAAD(name, bucket, key, enc.KMSContext), s.key); err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, withMessage(ErrNotImplemented, "The encryption method %q is not supported.", method)
}

// openSealing unseals a stored version's or upload's object key; custKey
// is the request's SSE-C key (nil: none).
func (l *Layer) openSealing(ctx context.Context, info *storagenode.SSEInfo, bucket, key string, custKey []byte) (*sealing, error) {
	if info == nil {
		if custKey != nil {
			return nil, ErrNotCustomerKeyed
		}
		return nil, nil
	}
	switch info.Method {
	case ssecMethod:
		if custKey == nil {
			return nil, ErrCustomerKeyNeeded
		}
		c, err := sse.NewCustomer(custKey)
		if err != nil || !c.Matches(info.Salt, info.MAC) {
			return nil, ErrCustomerKeyWrong
		}
		k, err := c.Unseal(sse.AAD(ssecMethod, "", bucket, key), info.Sealed)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCustomerKeyWrong, err)
		}
		return &sealing{info: info, key: k}, nil
	case sse3Method:
		if custKey != nil {
			return nil, ErrNotCustomerKeyed
		}
		if l.cfg.Keys == nil {
			return nil, ErrNoMasterKey
		}
		k, err := l.cfg.Keys.Unseal(info.KeyID, sse.AAD(sse3Method, info.KeyID, bucket, key), info.Sealed)
		if err != nil {
			return nil, fmt.Errorf("gateway: unseal the object key of %s/%s: %w", bucket, key, err)
		}
		return &sealing{info: info, key: k}, nil
	case s3api.SSEKMS:
		if custKey != nil {
			return nil, ErrNotCustomerKeyed
		}
		if l.cfg.KMS == nil {
			return nil, ErrNoMasterKey
		}
		k, err := l.cfg.KMS.Unseal(ctx, info.KeyID, sse.KMSAAD(info.KeyID, bucket, key, info.Context), info.Sealed)
		if err != nil {
			return nil, fmt.Errorf("gateway: unseal the object key of %s/%s: %w", bucket, key, err)
		}
		return &sealing{info: info, key: k}, nil
	}
	return nil, withMessage(ErrNotImplemented, "The object is encrypted with %q, which this version of ecstore cannot read.", info.Method)
}

// checkEncryptionKept refuses encryption while a drive of the map runs an
// ecstore version that would drop an encrypted record's fields (and serve
// ciphertext as the object): every drive that answers must say it keeps
// them (DiskInfo.SSE). Once every drive of the map has said so, the map is
// not asked again; while some do not answer, each encrypted write asks.
func (l *Layer) checkEncryptionKept(ctx context.Context) error {
	tp := l.topo()
	if tp.sseKept.Load() {
		return nil
	}
	infos := make([]storagenode.DiskInfo, len(tp.drives))
	errs := fanout(tp.drives, func(i int, d storagenode.Drive) (err error) {
		infos[i], err = storagenode.DiskInfoOf(ctx, d)
		return err
	})
	for i, d := range tp.drives {
		if errs[i] == nil && !infos[i].SSE {
			return withMessage(ErrNotImplemented, "Drive %s runs an ecstore version that does not keep encrypted objects' records: upgrade every node before writing encrypted objects.", d.ID())
		}
	}
	if countNil(errs) == len(tp.drives) {
		tp.sseKept.Store(true)
	}
	return nil
}

// encryptionOf is how m is stored, as GET and HEAD say it.
func encryptionOf(info *storagenode.SSEInfo) s3api.ObjectEncryption {
	if info == nil {
		return s3api.ObjectEncryption{}
	}
	e := s3api.ObjectEncryption{Method: info.Method}
	if info.Method == s3api.SSEKMS {
		e.KMSKeyID = info.KeyID
	}
	return e
}

// encrypting returns the stream the encoder reads: src itself, or its
// DARE stream under key.
func encrypting(src io.Reader, key []byte) (io.Reader, error) {
	if key == nil {
		return src, nil
	}
	return sse.EncryptReader(src, key)
}

// storedSize is the size the shards encode for n bytes of plaintext.
func storedSize(n int64, key []byte) int64 {
	if key == nil {
		return n
	}
	return sse.EncryptedSize(n)
}

// record is the SSEInfo a record of s keeps (nil: no sealing).
func (s *sealing) record() *storagenode.SSEInfo {
	if s == nil {
		return nil
	}
	return s.info.Clone()
}

// storedOnly is PartInfo.Stored for a part of size plaintext bytes
// stored as stored bytes: 0 when they are the same.
func storedOnly(size, stored int64) int64 {
	if stored == size {
		return 0
	}
	return stored
}

// CanEncrypt makes the Layer an s3api.EncryptingLayer.
func (l *Layer) CanEncrypt(method string) (err error) {
	defer translate(&err)
	switch method {
	case ssecMethod:
		return nil
	case sse3Method:
		if l.cfg.Keys == nil {
			return ErrNoMasterKey
		}
		return nil
	case s3api.SSEKMS:
		if l.cfg.KMS == nil {
			return ErrNoMasterKey
		}
		return nil
	}
	return withMessage(ErrNotImplemented, "The encryption method %q is not supported.", method)
}
