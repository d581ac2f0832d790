package s3compat

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ecstore/ecstore/s3api"
)

// maxPostFields bounds the form fields before the file of a POST Object.
const maxPostFields = 64 << 10

// postObject answers POST Object, the browser-form upload: a
// multipart/form-data body whose fields (key, policy, signature,
// Content-Type, x-amz-meta-*, ...) come before the file. The signature
// covers the base64 policy; the policy's expiration and conditions bound
// every field and the file's size.
func (s *Server) postObject(ctx context.Context, q *request) (*response, error) {
	if err := checkBucket(q.bucket); err != nil {
		return nil, s3api.ErrNoSuchBucket
	}
	_, params, err := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, s3api.ErrMalformedPOSTRequest
	}
	mr := multipart.NewReader(q.r.Body, params["boundary"])
	fields, names, file, err := readPostFields(mr)
	if err != nil {
		return nil, err
	}
	if _, err := s.verifier.VerifyPostPolicy(fields); err != nil {
		return nil, authError(err)
	}
	policy, err := parsePostPolicy(fields["policy"])
	if err != nil {
		return nil, err
	}
	if s.cfg.Now().After(policy.expiration) {
		return nil, s3api.ErrAccessDenied.WithMessage("Invalid according to Policy: Policy expired.")
	}
	if err := policy.check(q.bucket, fields, names); err != nil {
		return nil, err
	}
	if fields["key"] == "" {
		return nil, s3api.ErrInvalidArgument.WithMessage("Bucket POST must contain a field named 'key'.")
	}
	key := strings.ReplaceAll(fields["key"], "${filename}", file.FileName())
	if err := checkKey(key); err != nil {
		return nil, err
	}
	// The tagging field is a Tagging document (not the header's query
	// string form).
	var tags []s3api.Tag
	if doc, ok := fields["tagging"]; ok {
		if _, ok := s.layer.(s3api.TaggingLayer); !ok {
			return nil, s3api.ErrNotImplemented.WithMessage("Object tagging is not implemented by this storage.")
		}
		if tags, err = parseTagging([]byte(doc), s3api.MaxObjectTags); err != nil {
			return nil, err
		}
		delete(fields, "tagging")
	}
	h := http.Header{}
	for name, v := range fields {
		h.Set(name, v)
	}
	if acl, ok := fields["acl"]; ok { // the form's name for x-amz-acl
		h.Set("X-Amz-Acl", acl)
	}
	if err := refuseUnsupported(h, q.r.TLS != nil, refusedByAPI["PostObject"]); err != nil {
		return nil, err
	}
	opts, err := putOptions(h)
	if err != nil {
		return nil, err
	}
	if tags != nil {
		opts.Tags = tags
	}
	body, err := postBody(file, fields, policy)
	if err != nil {
		return nil, err
	}
	var rd io.Reader = body
	rd, opts.Checksum = withDefaultChecksum(rd, body.checksum)
	info, err := s.layer.PutObject(ctx, q.bucket, key, rd, -1, opts)
	if err != nil {
		return nil, err
	}
	return postResponse(q, s.hostBucket(q.r) != "", key, info, fields)
}

// readPostFields reads the form fields up to the file part. Names are
// lower-cased; names keeps them as sent, for policy messages.
func readPostFields(mr *multipart.Reader) (fields, names map[string]string, file *multipart.Part, err error) {
	fields, names = map[string]string{}, map[string]string{}
	total := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, nil, nil, s3api.ErrInvalidArgument.WithMessage("POST requires exactly one file upload per request.")
		}
		if err != nil {
			return nil, nil, nil, s3api.ErrMalformedPOSTRequest
		}
		name := p.FormName()
		if name == "" {
			return nil, nil, nil, s3api.ErrMalformedPOSTRequest
		}
		if strings.EqualFold(name, "file") {
			return fields, names, p, nil
		}
		v, err := io.ReadAll(io.LimitReader(p, int64(maxPostFields-total+1)))
		if err != nil {
			return nil, nil, nil, s3api.ErrMalformedPOSTRequest
		}
		if total += len(name) + len(v); total > maxPostFields {
			return nil, nil, nil, s3api.ErrMalformedPOSTRequest.WithMessage("The form fields of your POST request exceed %d bytes.", maxPostFields)
		}
		lower := strings.ToLower(name)
		fields[lower], names[lower] = string(v), name
	}
}

// postPolicy is a decoded POST policy document.
type postPolicy struct {
	expiration time.Time
	conds      []postCondition
	minSize    int64
	maxSize    int64 // -1: no content-length-range
}

// postCondition is one eq or starts-with condition on a form field.
type postCondition struct {
	op    string // "eq" or "starts-with"
	field string // lower case, without "$"
	raw   string // the field as the policy names it
	value string
}

// String is the condition as error messages quote it (S3 quotes each
// item; they are left bare here, as MinIO does, since XML text would
// escape the quotes).
func (c postCondition) String() string {
	return "[" + c.op + ", $" + c.raw + ", " + c.value + "]"
}

// parsePostPolicy decodes the base64 JSON policy: an expiration and a list
// of conditions, each {"field": "value"}, ["eq"|"starts-with", "$field",
// "value"] or ["content-length-range", min, max].
func parsePostPolicy(b64 string) (*postPolicy, error) {
	bad := func(why string) error {
		return s3api.ErrInvalidPolicyDocument.WithMessage("Invalid Policy: %s", why)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, bad("the policy is not base64.")
	}
	var doc struct {
		Expiration string            `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, bad("the policy is not a JSON document.")
	}
	p := &postPolicy{maxSize: -1}
	if p.expiration, err = time.Parse(time.RFC3339Nano, doc.Expiration); err != nil {
		return nil, bad("Invalid 'expiration' value.")
	}
	for _, c := range doc.Conditions {
		var obj map[string]string
		if json.Unmarshal(c, &obj) == nil {
			for k, v := range obj {
				p.conds = append(p.conds, postCondition{op: "eq", field: strings.ToLower(strings.TrimPrefix(k, "$")), raw: strings.TrimPrefix(k, "$"), value: v})
			}
			continue
		}
		var arr []any
		if json.Unmarshal(c, &arr) != nil || len(arr) != 3 {
			return nil, bad("a condition is neither an object nor a list of three.")
		}
		op, _ := arr[0].(string)
		switch op = strings.ToLower(op); op {
		case "eq", "starts-with":
			f, ok1 := arr[1].(string)
			v, ok2 := arr[2].(string)
			if !ok1 || !ok2 || !strings.HasPrefix(f, "$") {
				return nil, bad(fmt.Sprintf("malformed %q condition.", op))
			}
			p.conds = append(p.conds, postCondition{op: op, field: strings.ToLower(f[1:]), raw: f[1:], value: v})
		case "content-length-range":
			lo, ok1 := jsonInt(arr[1])
			hi, ok2 := jsonInt(arr[2])
			if !ok1 || !ok2 || lo < 0 || hi < lo {
				return nil, bad("malformed content-length-range condition.")
			}
			p.minSize, p.maxSize = lo, hi
		default:
			return nil, bad(fmt.Sprintf("unknown condition %q.", op))
		}
	}
	return p, nil
}

func jsonInt(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), x == float64(int64(x))
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// postUnsignedFields may appear in the form without a policy condition.
var postUnsignedFields = map[string]bool{
	"policy": true, "x-amz-signature": true, "signature": true, "awsaccesskeyid": true, "file": true,
}

// check applies the conditions to the fields and refuses a field no
// condition names, as S3 does.
//
// The bucket is an input field too (taken from the request, not the form):
// a policy without a condition on it would be good for any bucket, so it
// is refused.
func (p *postPolicy) check(bucket string, fields, names map[string]string) error {
	covered := map[string]bool{}
	for _, c := range p.conds {
		covered[c.field] = true
		v, ok := fields[c.field]
		if c.field == "bucket" {
			v, ok = bucket, true
		}
		var pass bool
		switch c.op {
		case "eq":
			pass = ok && v == c.value
		case "starts-with":
			pass = ok && strings.HasPrefix(v, c.value)
		}
		if !pass {
			return s3api.ErrAccessDenied.WithMessage("Invalid according to Policy: Policy Condition failed: %s", c)
		}
	}
	if !covered["bucket"] {
		return s3api.ErrAccessDenied.WithMessage("Invalid according to Policy: Extra input fields: bucket (the policy has no condition on $bucket, so it would be good for any bucket).")
	}
	for f := range fields {
		if !covered[f] && !postUnsignedFields[f] && !strings.HasPrefix(f, "x-ignore-") {
			return s3api.ErrAccessDenied.WithMessage("Invalid according to Policy: Extra input fields: %s", names[f])
		}
	}
	return nil
}

// postFile is the file part of a POST Object: it enforces the policy's
// content-length-range and verifies an x-amz-checksum-* field at EOF,
// answering the S3 error from Read instead of io.EOF.
type postFile struct {
	r             io.Reader
	n, min, max   int64
	h             hash.Hash
	algo, want    string
	verified, eof bool
}

// postBody wraps the file part.
func postBody(file io.Reader, fields map[string]string, p *postPolicy) (*postFile, error) {
	f := &postFile{r: file, min: p.minSize, max: p.maxSize}
	if f.max < 0 || f.max > MaxPutSize {
		f.max = MaxPutSize
	}
	for _, name := range checksums.ChecksumNames() {
		v, ok := fields["x-amz-checksum-"+strings.ToLower(name)]
		if !ok {
			continue
		}
		if f.h != nil {
			return nil, s3api.ErrInvalidRequest.WithMessage("Expecting a single x-amz-checksum- field.")
		}
		f.h, f.algo, _ = checksums.NewChecksum(name)
		f.want = v
	}
	if a := fields["x-amz-checksum-algorithm"]; a != "" && (f.h == nil || !strings.EqualFold(a, f.algo)) {
		return nil, s3api.ErrInvalidRequest.WithMessage("x-amz-checksum-algorithm %q names no x-amz-checksum- field of the form.", a)
	}
	return f, nil
}

func (f *postFile) Read(b []byte) (int, error) {
	if f.eof {
		return 0, io.EOF
	}
	n, err := f.r.Read(b)
	f.n += int64(n)
	if f.h != nil {
		f.h.Write(b[:n])
	}
	if f.n > f.max {
		return 0, s3api.ErrEntityTooLarge.WithMessage("Your proposed upload exceeds the maximum allowed size (%d bytes).", f.max)
	}
	if err == io.EOF {
		if f.n < f.min {
			return n, s3api.ErrEntityTooSmall.WithMessage("Your proposed upload is smaller than the minimum allowed size (%d bytes).", f.min)
		}
		if f.h != nil {
			if got := base64.StdEncoding.EncodeToString(f.h.Sum(nil)); got != f.want {
				return n, s3api.ErrBadDigest.WithMessage("The %s you specified did not match the calculated checksum.", strings.ToLower("x-amz-checksum-"+f.algo))
			}
			f.verified = true
		}
		f.eof = true
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = s3api.ErrIncompleteBody
	}
	return n, err
}

// checksum is the verified x-amz-checksum-* field, once the file was read.
func (f *postFile) checksum() (algo, value string, ok bool) {
	if !f.verified {
		return "", "", false
	}
	return f.algo, f.want, true
}

// objectURL is the absolute URL of key in the request's bucket, as the
// client addressed it: scheme://host/bucket/key for a path-style request,
// scheme://bucket.domain/key for a virtual-hosted one.
func objectURL(q *request, virtualHost bool, key string) string {
	scheme := "http"
	if q.r.TLS != nil {
		scheme = "https"
	}
	path := "/" + q.bucket + "/" + key
	if virtualHost {
		path = "/" + key
	}
	return scheme + "://" + q.r.Host + (&url.URL{Path: path}).EscapedPath()
}

type postResponseXML struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      xmlText  `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// postResponse answers as success_action_redirect or
// success_action_status ask: a 303 to the redirect, 200 or 201 (with a
// PostResponse document), by default 204.
func postResponse(q *request, virtualHost bool, key string, info s3api.ObjectInfo, fields map[string]string) (*response, error) {
	loc := objectURL(q, virtualHost, key)
	etag := `"` + info.ETag + `"`
	h := http.Header{"ETag": {etag}, "Location": {loc}}
	addChecksumHeaders(h, info.Checksums)
	if r := fields["success_action_redirect"]; r != "" {
		if u, err := url.Parse(r); err == nil && u.IsAbs() {
			v := u.Query()
			v.Set("bucket", q.bucket)
			v.Set("key", key)
			v.Set("etag", etag)
			u.RawQuery = v.Encode()
			h.Set("Location", u.String())
			return &response{status: http.StatusSeeOther, header: h}, nil
		}
	}
	switch fields["success_action_status"] {
	case "200":
		return &response{status: http.StatusOK, header: h}, nil
	case "201":
		return &response{status: http.StatusCreated, header: h, xml: postResponseXML{Location: loc, Bucket: q.bucket, Key: xmlText(key), ETag: etag}}, nil
	}
	return &response{status: http.StatusNoContent, header: h}, nil
}
