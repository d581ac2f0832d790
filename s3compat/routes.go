package s3compat

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ecstore/ecstore/s3api"
)

// unsupportedSubresources are S3 subresources ecstore does not implement;
// a request naming one is answered NotImplemented, never a fake success.
var unsupportedSubresources = []string{
	"acl", "policy", "policyStatus", "cors", "lifecycle", "tagging", "website",
	"replication", "encryption", "object-lock", "retention", "legal-hold",
	"notification", "logging", "requestPayment", "accelerate", "analytics",
	"inventory", "metrics", "intelligent-tiering", "ownershipControls",
	"publicAccessBlock", "torrent", "restore", "select",
	"versionId", "session", "metadataTable",
	// RenameObject (S3 Express): without this it would be a PutObject of
	// the empty body over the destination.
	"renameObject",
	// S3 Metadata and attribute-based access control: without these a
	// DELETE would delete the bucket, a PUT create it, a GET list it.
	"metadataConfiguration", "metadataInventoryTable", "metadataJournalTable", "abac",
}

// route picks the handler for a request, or nil (with the operation's
// name) when ecstore does not implement it.
func (s *Server) route(q *request) (handler, string) {
	m := q.r.Method
	has := func(k string) bool { _, ok := q.query[k]; return ok }
	if has("unsorted") && has("versions") {
		return s.invalidArgument("Unsorted listings of versions are not supported."), "ListObjectVersions"
	}
	if _, ok := s.layer.(s3api.TaggingLayer); ok && q.key != "" && has("tagging") {
		if h, api := (getPutDelete{
			{s.getObjectTags, "GetObjectTagging"}, {s.putObjectTags, "PutObjectTagging"}, {s.deleteObjectTags, "DeleteObjectTagging"},
		}).pick(m); h != nil {
			return h, api
		}
	}
	if _, ok := s.layer.(s3api.LockLayer); ok {
		switch {
		case q.key == "" && has("object-lock") && m == http.MethodGet:
			return s.getObjectLockConfig, "GetObjectLockConfiguration"
		case q.key == "" && has("object-lock") && m == http.MethodPut:
			return s.putObjectLockConfig, "PutObjectLockConfiguration"
		case q.key != "" && has("retention") && m == http.MethodGet:
			return s.getObjectRetention, "GetObjectRetention"
		case q.key != "" && has("retention") && m == http.MethodPut:
			return s.putObjectRetention, "PutObjectRetention"
		case q.key != "" && has("legal-hold") && m == http.MethodGet:
			return s.getObjectLegalHold, "GetObjectLegalHold"
		case q.key != "" && has("legal-hold") && m == http.MethodPut:
			return s.putObjectLegalHold, "PutObjectLegalHold"
		}
	}
	if q.key != "" && m == http.MethodGet && has("tagging") && !has("versionId") {
		return s.getObjectTagging, "GetObjectTagging"
	}
	if _, ok := s.layer.(s3api.TaggingLayer); !ok && q.key != "" && q.r.Header.Get("x-amz-tagging") != "" {
		// Objects carry no tags (so GetObjectTagging's empty answer is true).
		return nil, "Object tagging (x-amz-tagging)"
	}
	if h, api := s.routeSettings(q); h != nil {
		return h, api
	}
	for _, sub := range unsupportedSubresources {
		if has(sub) {
			if sub == "versionId" && (q.query.Get(sub) == "" || q.query.Get(sub) == "null") {
				continue // the only version there is
			}
			if _, ok := s.layer.(s3api.VersionedLayer); ok && sub == "versionId" && q.key != "" &&
				(m == http.MethodGet || m == http.MethodHead || m == http.MethodDelete) {
				continue // GET, HEAD, DELETE and GetObjectAttributes of a version
			}
			return nil, m + " ?" + sub
		}
	}
	if q.bucket == "" {
		if m == http.MethodGet {
			return s.listBuckets, "ListBuckets"
		}
		return nil, m + " /"
	}
	if q.key == "" {
		switch m {
		case http.MethodGet:
			switch {
			case has("location"):
				return s.getBucketLocation, "GetBucketLocation"
			case has("versioning"):
				return s.getBucketVersioning, "GetBucketVersioning"
			case has("versions"):
				return s.listObjectVersions, "ListObjectVersions"
			case has("uploads"):
				return s.listMultipartUploads, "ListMultipartUploads"
			case q.query.Get("list-type") == "2":
				return s.listObjectsV2, "ListObjectsV2"
			default:
				return s.listObjectsV1, "ListObjects"
			}
		case http.MethodPut:
			if has("versioning") {
				return s.putBucketVersioning, "PutBucketVersioning"
			}
			if k := unknownQuery(q.query); k != "" {
				return nil, m + " bucket ?" + k
			}
			return s.createBucket, "CreateBucket"
		case http.MethodHead:
			return s.headBucket, "HeadBucket"
		case http.MethodDelete:
			if k := unknownQuery(q.query); k != "" {
				return nil, m + " bucket ?" + k
			}
			return s.deleteBucket, "DeleteBucket"
		case http.MethodPost:
			if has("delete") {
				return s.deleteObjects, "DeleteObjects"
			}
			if len(q.query) == 0 && strings.HasPrefix(strings.ToLower(q.r.Header.Get("Content-Type")), "multipart/form-data") {
				return s.postObject, "PostObject"
			}
		}
		return nil, m + " bucket"
	}
	switch m {
	case http.MethodGet:
		if has("uploadId") {
			return s.listParts, "ListParts"
		}
		if has("attributes") {
			return s.getObjectAttributes, "GetObjectAttributes"
		}
		return s.getObject, "GetObject"
	case http.MethodHead:
		return s.headObject, "HeadObject"
	case http.MethodPut:
		if has("uploadId") || has("partNumber") {
			if q.r.Header.Get("x-amz-copy-source") != "" {
				return s.uploadPartCopy, "UploadPartCopy"
			}
			return s.uploadPart, "UploadPart"
		}
		if q.r.Header.Get("x-amz-copy-source") != "" {
			return s.copyObject, "CopyObject"
		}
		return s.putObject, "PutObject"
	case http.MethodDelete:
		if has("uploadId") {
			return s.abortMultipartUpload, "AbortMultipartUpload"
		}
		return s.deleteObject, "DeleteObject"
	case http.MethodPost:
		if has("uploads") {
			return s.createMultipartUpload, "CreateMultipartUpload"
		}
		if has("uploadId") {
			return s.completeMultipartUpload, "CompleteMultipartUpload"
		}
	}
	return nil, m + " object"
}

// unknownQuery returns the first query key (in sorted order) that is
// neither in known nor a key every request may carry; "" when there is
// none. CreateBucket and DeleteBucket take no query parameters: a key
// they do not know names a subresource ecstore has not heard of, and
// creating or deleting the bucket instead would be the wrong answer.
func unknownQuery(query url.Values, known ...string) string {
	for _, k := range slices.Sorted(maps.Keys(query)) {
		if !anyRequestQuery(k) && !slices.Contains(known, k) {
			return k
		}
	}
	return ""
}

// anyRequestQuery reports whether k is a query key any request may carry:
// a presigned URL's (SigV4's X-Amz-*, which SDKs also use for hoisted
// x-amz-* headers; SigV2's AWSAccessKeyId, Expires, Signature) or the
// operation name AWS SDKs add (x-id).
func anyRequestQuery(k string) bool {
	switch k {
	case "AWSAccessKeyId", "Expires", "Signature", "x-id":
		return true
	}
	return len(k) > len("x-amz-") && strings.EqualFold(k[:len("x-amz-")], "x-amz-")
}

// invalidArgument is a handler answering InvalidArgument with msg.
func (s *Server) invalidArgument(msg string) handler {
	return func(context.Context, *request) (*response, error) {
		return nil, s3api.ErrInvalidArgument.WithMessage("%s", msg)
	}
}
