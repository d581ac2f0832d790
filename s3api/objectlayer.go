package s3api

import (
	"context"
	"hash"
	"io"
	"time"
)

// ObjectLayer is what the S3 front end needs from storage. The gateway
// package implements it over erasure-coded drives; tests may use any other
// implementation. Methods return errors of the table (an ErrorCode, or an
// *APIError made from one) for conditions S3 names (NoSuchBucket, NoSuchKey,
// ...); any other error is answered InternalError.
type ObjectLayer interface {
	MakeBucket(ctx context.Context, bucket string) error
	HeadBucket(ctx context.Context, bucket string) (BucketInfo, error)
	// DeleteBucket fails with ErrBucketNotEmpty while objects remain.
	DeleteBucket(ctx context.Context, bucket string) error
	ListBuckets(ctx context.Context) ([]BucketInfo, error)

	// PutObject stores body as the object's new version. size is the exact
	// payload length, or -1 when unknown. body must be read to EOF; a read
	// error (e.g. a failed signature or checksum check) fails the PUT and
	// leaves the previous version in place.
	PutObject(ctx context.Context, bucket, key string, body io.Reader, size int64, opts PutOptions) (ObjectInfo, error)
	// OpenObject reads the object's metadata and returns a handle that can
	// stream any byte range of exactly that version.
	OpenObject(ctx context.Context, bucket, key string) (Object, error)
	// DeleteObject removes the object; deleting a missing key is not an error.
	DeleteObject(ctx context.Context, bucket, key string) error
	// ListObjects lists keys in byte order, with S3's delimiter semantics.
	// Its ObjectInfos need only what a listing shows: Key, Size, ETag,
	// ModTime, and ContentType and UserMeta (MinIO's metadata=true).
	ListObjects(ctx context.Context, bucket string, p ListParams) (ListResult, error)

	NewMultipartUpload(ctx context.Context, bucket, key string, opts PutOptions) (uploadID string, err error)
	PutObjectPart(ctx context.Context, bucket, key, uploadID string, partNumber int, body io.Reader, size int64, opts PutOptions) (PartInfo, error)
	// CompleteMultipartUpload assembles the listed parts into the object's
	// new version. Of opts only the write conditions (IfNoneMatch, IfMatch)
	// apply, as for PutObject, and FinalChecksum; the rest was fixed at
	// NewMultipartUpload. Each part's listed checksums are checked with
	// CheckCompletePart.
	CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []CompletePart, opts PutOptions) (ObjectInfo, error)
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error
	// ListParts returns the upload's parts with numbers above marker, at most max.
	ListParts(ctx context.Context, bucket, key, uploadID string, marker, max int) (ListPartsResult, error)
	ListMultipartUploads(ctx context.Context, bucket string, p ListUploadsParams) (ListUploadsResult, error)
}

// UploadChecksumer is an optional ObjectLayer capability: the checksum
// algorithm and type a multipart upload was created with ("" when none).
type UploadChecksumer interface {
	UploadChecksum(ctx context.Context, bucket, key, uploadID string) (algo, typ string, err error)
}

// PartedObject is an optional capability of an opened Object: the parts it
// was assembled from (Number, Size, ETag, and Checksums when recorded), in
// order. GET/HEAD by partNumber and GetObjectAttributes' ObjectParts use it.
type PartedObject interface {
	Parts() []PartInfo
}

// Object is an opened object version.
type Object interface {
	Info() ObjectInfo
	// Read writes bytes [offset, offset+length) of the version to w.
	Read(ctx context.Context, w io.Writer, offset, length int64) error
}

// BucketInfo describes a bucket.
type BucketInfo struct {
	Name    string
	Created time.Time
}

// PutOptions carries what a PUT, CreateMultipartUpload or UploadPart stores
// or checks besides the bytes, and the write conditions of a PUT or
// CompleteMultipartUpload.
type PutOptions struct {
	ContentType string
	UserMeta    map[string]string // x-amz-meta-* names (lower case, without prefix) -> value
	Headers     map[string]string // other stored headers (Cache-Control, Content-Disposition, ...)
	// ContentMD5 is the decoded Content-MD5 header, if sent; a mismatch fails
	// the write with ErrBadDigest.
	ContentMD5 []byte
	// Checksum, when non-nil, returns the checksum verified by the body
	// reader once it reached EOF; it is stored with the object.
	Checksum func() (algo, value string, ok bool)
	// IfNoneMatch "*" makes the write a create-only: it fails with
	// ErrPreconditionFailed if the key exists (conditional write).
	IfNoneMatch string
	// IfMatch, when set, makes the write succeed only if the current
	// version's ETag equals it (ErrPreconditionFailed otherwise).
	IfMatch string
	// FinalChecksum is the checksum a CompleteMultipartUpload states for
	// the object (x-amz-checksum-*, x-amz-checksum-type); the ObjectLayer
	// checks it with FinalChecksum.Check before it commits.
	FinalChecksum FinalChecksum
	// NewHash returns a new hash of the checksum algorithm named algo
	// ("CRC32", "xxhash64", ...) and its canonical name; ok is false for
	// one it does not know. The front end sets it for
	// CompleteMultipartUpload, whose ObjectLayer combines the parts'
	// checksums with it (CombineChecksums).
	NewHash func(algo string) (h hash.Hash, name string, ok bool)
	// ObjectSize, when not nil, is the size a CompleteMultipartUpload
	// states for the object (x-amz-mp-object-size); the ObjectLayer fails
	// the Complete with ErrInvalidRequest, before it commits, when the
	// listed parts add up to another size.
	ObjectSize *int64
	// Tags is the new version's tag set (x-amz-tagging), checked by the
	// front end (CheckTags with MaxObjectTags).
	Tags []Tag
	// Lock is the new version's object lock (x-amz-object-lock-*); the
	// bucket's default retention applies when it sets no Mode.
	Lock ObjectLock
	// SSE is the encryption asked for (x-amz-server-side-encryption*); the
	// bucket's default encryption applies when it asks for none. For
	// UploadPart it carries the SSE-C key of an SSE-C upload.
	SSE Encryption
}

// Encryption methods (x-amz-server-side-encryption values, and SSEC for
// a customer's key).
const (
	SSES3  = "AES256"
	SSEKMS = "aws:kms"
	SSEC   = "C"
)

// Encryption is the server-side encryption a write asks for.
type Encryption struct {
	// Method is SSES3, SSEKMS, or "" (none asked, or SSE-C).
	Method string
	// KMSKeyID and KMSContext are SSE-KMS's key id and encryption
	// context (x-amz-server-side-encryption-aws-kms-key-id, -context).
	KMSKeyID   string
	KMSContext string
	// CustomerKey is the SSE-C key (32 bytes, its MD5 checked by the front
	// end); nil when the request carries none.
	CustomerKey []byte
}

// ObjectEncryption is how a stored version is encrypted, as GET and HEAD
// answer it.
type ObjectEncryption struct {
	// Method is SSES3, SSEKMS, SSEC, or "" (stored as sent).
	Method   string
	KMSKeyID string
}

// KeyedObject is an opened Object of any layer that encrypts: an SSE-C
// version reads only after UseCustomerKey was given its key.
type KeyedObject interface {
	// UseCustomerKey gives the key of an SSE-C version: ErrAccessDenied
	// when it is not the key the version was written with,
	// ErrInvalidRequest when the version is not SSE-C or key is nil (an
	// SSE-C version read without its key).
	UseCustomerKey(key []byte) error
}

// EncryptingLayer is implemented by a layer that encrypts: it honours
// PutOptions.SSE and its SSE-C versions are KeyedObjects. The front end
// refuses every encryption header for a layer without it.
type EncryptingLayer interface {
	// CanEncrypt says whether a write asking for method (SSES3, SSEKMS,
	// SSEC) can be honoured now: nil, or the S3 error to answer (e.g.
	// SSE-S3 without a master key).
	CanEncrypt(method string) error
}

// EncryptionDoc is the SettingEncryption document: the bucket's default
// encryption, applied to writes that ask for none.
type EncryptionDoc struct {
	Algorithm string `json:"sseAlgorithm"`             // SSES3 or SSEKMS
	KMSKeyID  string `json:"kmsMasterKeyID,omitempty"` // SSE-KMS's key id
	BucketKey bool   `json:"bucketKeyEnabled,omitempty"`
}

// ObjectInfo describes one object version.
type ObjectInfo struct {
	Bucket      string
	Key         string
	Size        int64
	ETag        string // without quotes
	ModTime     time.Time
	ContentType string
	UserMeta    map[string]string
	Headers     map[string]string
	// Checksums maps an algorithm (e.g. "CRC32") to its base64 value; the
	// key ChecksumTypeKey, when present, holds the checksum type
	// (COMPOSITE for a multipart object's checksum of part checksums).
	Checksums  map[string]string
	PartsCount int // >0 for multipart objects
	// VersionID is the version's S3 id ("null": the null version of a
	// bucket that has had versioning; "": a bucket that never had).
	VersionID string
	// Tags is the version's tag set (GET/HEAD send its size as
	// x-amz-tagging-count; CopyObject copies it by default).
	Tags []Tag
	// Encryption is how the version is stored (GET and HEAD answer it).
	Encryption ObjectEncryption
}

// ListParams selects a page of a listing.
type ListParams struct {
	Prefix    string
	Delimiter string
	// After: list keys strictly after this (marker, start-after, or the
	// decoded continuation token).
	After   string
	MaxKeys int
}

// ListResult is one page of a listing.
type ListResult struct {
	Objects     []ObjectInfo
	Prefixes    []string
	IsTruncated bool
	// NextAfter is where the next page starts (the last key or common prefix
	// returned) when IsTruncated.
	NextAfter string
}

// PartInfo describes an uploaded part.
type PartInfo struct {
	Number    int
	Size      int64
	ETag      string
	ModTime   time.Time
	Checksums map[string]string
}

// CompletePart is one entry of a CompleteMultipartUpload request.
type CompletePart struct {
	Number int
	ETag   string
	// Checksums the client sent for the part (algorithm -> base64); each
	// must equal the checksum recorded when the part was uploaded.
	Checksums map[string]string
}

// ListPartsResult is one page of ListParts.
type ListPartsResult struct {
	Parts                []PartInfo
	IsTruncated          bool
	NextPartNumberMarker int
	Initiated            time.Time
}

// ListUploadsParams selects a page of ListMultipartUploads.
type ListUploadsParams struct {
	Prefix         string
	Delimiter      string
	KeyMarker      string
	UploadIDMarker string
	MaxUploads     int
}

// UploadInfo describes a multipart upload in progress.
type UploadInfo struct {
	Key       string
	UploadID  string
	Initiated time.Time
}

// ListUploadsResult is one page of ListMultipartUploads.
type ListUploadsResult struct {
	Uploads            []UploadInfo
	Prefixes           []string
	IsTruncated        bool
	NextKeyMarker      string
	NextUploadIDMarker string
}
