package s3compat

import (
	"net/http"
	"strings"

	"github.com/ecstore/ecstore/s3api"
)

// Requests for what ecstore cannot honour are refused, never accepted and
// dropped: an object stored "encrypted", "public" or "locked" that is none
// of these would be a lie the client cannot see.

// refusals selects the header families an operation checks.
type refusals uint8

const (
	refuseSSE      refusals = 1 << iota // SSE-S3 and SSE-KMS: x-amz-server-side-encryption*
	refuseSSEC                          // SSE-C: x-amz-server-side-encryption-customer-*
	refuseCopySSEC                      // SSE-C of a copy source: x-amz-copy-source-server-side-encryption-customer-*
	refuseACL                           // canned ACLs other than private, and x-amz-grant-*
	refuseLock                          // x-amz-object-lock-*
	refuseReadSSEC                      // SSE-C on a read: no object is stored with a customer key
)

// refusedByAPI says which header families each operation refuses. The POST
// form's fields are checked by postObject with refusedByAPI["PostObject"].
var refusedByAPI = map[string]refusals{
	"PutObject":             refuseSSE | refuseSSEC | refuseACL | refuseLock,
	"CopyObject":            refuseSSE | refuseSSEC | refuseCopySSEC | refuseACL | refuseLock,
	"CreateMultipartUpload": refuseSSE | refuseSSEC | refuseACL | refuseLock,
	"UploadPart":            refuseSSEC,
	"UploadPartCopy":        refuseSSEC | refuseCopySSEC,
	"CreateBucket":          refuseACL,
	"PostObject":            refuseSSE | refuseSSEC | refuseACL | refuseLock,
	"GetObject":             refuseReadSSEC,
	"HeadObject":            refuseReadSSEC,
	"GetObjectAttributes":   refuseReadSSEC,
}

// refusedHeader is one request header an operation cannot honour, and the
// NotImplemented message that answers it.
type refusedHeader struct{ name, msg string }

var refuseAppend = refusedHeader{"x-amz-write-offset-bytes", "Appending to objects (x-amz-write-offset-bytes) is not supported."}

// refusedHeaders lists, per operation, the single headers answered
// NotImplemented when present: stored without them, the object would not
// be what the client asked for.
var refusedHeaders = map[string][]refusedHeader{
	"PutObject": {refuseAppend},
	// S3 Express: delete only an object of that size or time.
	"DeleteObject": {
		{"x-amz-if-match-size", "Conditional deletes by size (x-amz-if-match-size) are not supported."},
		{"x-amz-if-match-last-modified-time", "Conditional deletes by time (x-amz-if-match-last-modified-time) are not supported."},
	},
	// S3 Express: abort only an upload initiated at that time.
	"AbortMultipartUpload": {{"x-amz-if-match-initiated-time", "Conditional aborts (x-amz-if-match-initiated-time) are not supported."}},
}

// refuseHeaders answers NotImplemented for the first header of api's
// refusedHeaders that h carries.
func refuseHeaders(h http.Header, api string) error {
	for _, r := range refusedHeaders[api] {
		if _, ok := h[http.CanonicalHeaderKey(r.name)]; ok {
			return s3api.ErrNotImplemented.WithMessage("%s", r.msg)
		}
	}
	return nil
}

// acceptedACLs are the canned ACLs that describe what ecstore does anyway:
// every object and bucket belongs to, and is readable by, its owner only.
var acceptedACLs = map[string]bool{"private": true, "bucket-owner-full-control": true}

// refusableACLs are S3's other canned ACLs: valid, but not implemented.
var refusableACLs = map[string]bool{
	"public-read": true, "public-read-write": true, "authenticated-read": true,
	"aws-exec-read": true, "bucket-owner-read": true, "log-delivery-write": true,
}

// sseMethods are the x-amz-server-side-encryption values S3 knows.
var sseMethods = map[string]bool{"AES256": true, "aws:kms": true, "aws:kms:dsse": true}

// refuseUnsupported checks h (request headers, or a POST form's fields) for
// the families in what. secure says whether the request came over TLS,
// which S3 requires of SSE-C before anything else.
func refuseUnsupported(h http.Header, secure bool, what refusals) error {
	if what == 0 {
		return nil
	}
	has := func(prefix string) string {
		for name := range h {
			if strings.HasPrefix(strings.ToLower(name), prefix) {
				return name
			}
		}
		return ""
	}
	if what&refuseSSEC != 0 {
		if err := refuseSSECHeaders(has("x-amz-server-side-encryption-customer-"), secure); err != nil {
			return err
		}
	}
	if what&refuseReadSSEC != 0 {
		// Over TLS S3 answers a customer key for an object stored without
		// one with this 400; no object of ecstore has one.
		if name := has("x-amz-server-side-encryption-customer-"); name != "" {
			if err := refuseSSECHeaders(name, secure); !secure {
				return err
			}
			return s3api.ErrInvalidRequest.WithMessage("The encryption parameters are not applicable to this object (%s).", strings.ToLower(name))
		}
	}
	if what&refuseCopySSEC != 0 {
		if err := refuseSSECHeaders(has("x-amz-copy-source-server-side-encryption-customer-"), secure); err != nil {
			return err
		}
	}
	if what&refuseSSE != 0 {
		if v := h.Get("x-amz-server-side-encryption"); v != "" {
			if !sseMethods[v] {
				return s3api.ErrInvalidArgument.WithMessage("The encryption method specified is not supported: %q.", v)
			}
			return s3api.ErrNotImplemented.WithMessage("Server-side encryption (x-amz-server-side-encryption: %s) is not implemented by ecstore; nothing would be encrypted.", v)
		}
		for _, name := range []string{"x-amz-server-side-encryption-aws-kms-key-id", "x-amz-server-side-encryption-context"} {
			if h.Get(name) != "" {
				return s3api.ErrNotImplemented.WithMessage("Server-side encryption with KMS (%s) is not implemented by ecstore.", name)
			}
		}
		if strings.EqualFold(h.Get("x-amz-server-side-encryption-bucket-key-enabled"), "true") {
			return s3api.ErrNotImplemented.WithMessage("S3 Bucket Keys (x-amz-server-side-encryption-bucket-key-enabled) are not implemented by ecstore.")
		}
	}
	if what&refuseACL != 0 {
		if v, ok := h["X-Amz-Acl"]; ok && !acceptedACLs[strings.Join(v, ",")] {
			acl := strings.Join(v, ",")
			if !refusableACLs[acl] {
				return s3api.ErrInvalidArgument.WithMessage("Invalid canned ACL %q.", acl)
			}
			return s3api.ErrNotImplemented.WithMessage("The canned ACL %q is not implemented by ecstore: objects and buckets are private to their owner (only private and bucket-owner-full-control are accepted).", acl)
		}
		if name := has("x-amz-grant-"); name != "" {
			return s3api.ErrNotImplemented.WithMessage("ACL grants (%s) are not implemented by ecstore: objects and buckets are private to their owner.", strings.ToLower(name))
		}
	}
	if what&refuseLock != 0 {
		if name := has("x-amz-object-lock-"); name != "" {
			// What S3 answers for a bucket created without object lock;
			// ecstore creates none with it.
			return s3api.ErrInvalidRequest.WithMessage("Bucket is missing Object Lock Configuration (%s).", strings.ToLower(name))
		}
	}
	return nil
}

// refuseSSECHeaders answers a request carrying the SSE-C header name
// ("" for none): over plain HTTP as S3 does, over TLS NotImplemented.
func refuseSSECHeaders(name string, secure bool) error {
	switch {
	case name == "":
		return nil
	case !secure:
		return s3api.ErrInvalidRequest.WithMessage("Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.")
	}
	return s3api.ErrNotImplemented.WithMessage("Server-side encryption with customer-provided keys (%s) is not implemented by ecstore.", strings.ToLower(name))
}
