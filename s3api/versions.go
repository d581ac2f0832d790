package s3api

import (
	"context"
	"time"
)

// VersionLister is implemented by a layer that lists object versions
// (ListObjectVersions). A layer without it answers NotImplemented.
type VersionLister interface {
	ListObjectVersions(ctx context.Context, bucket string, p ListVersionsParams) (ListVersionsResult, error)
}

// ListVersionsParams selects a page of ListObjectVersions.
type ListVersionsParams struct {
	Prefix    string
	Delimiter string
	// KeyMarker and VersionIDMarker: list after this version of this key
	// (VersionIDMarker "": after every version of KeyMarker).
	KeyMarker       string
	VersionIDMarker string
	MaxKeys         int
}

// VersionInfo is one version in a listing: an object's version or a
// delete marker.
type VersionInfo struct {
	Key string
	// VersionID is the S3 version id: "null" for the null version.
	VersionID    string
	IsLatest     bool
	DeleteMarker bool
	Size         int64
	ETag         string // without quotes
	ModTime      time.Time
	StorageClass string // "": STANDARD
}

// StorageClassHeader is the stored header (ObjectInfo.Headers) that holds
// an object's storage class when it is not STANDARD.
const StorageClassHeader = "X-Amz-Storage-Class"

// ListVersionsResult is one page of ListObjectVersions, in key order and,
// within a key, newest first. MaxKeys counts versions, delete markers and
// common prefixes.
type ListVersionsResult struct {
	Versions    []VersionInfo
	Prefixes    []string
	IsTruncated bool
	// NextKeyMarker and NextVersionIDMarker: where the next page starts,
	// when IsTruncated (a common prefix: NextVersionIDMarker "").
	NextKeyMarker       string
	NextVersionIDMarker string
}

// VersionedLayer is implemented by a layer that reads and deletes object
// versions by id. VersionID "null" names the key's null version.
type VersionedLayer interface {
	// OpenObjectVersion opens one version (versionID "": the current one).
	// A delete marker answers ErrNoSuchKey wrapped in a *DeleteMarkerError
	// when it is the current version, ErrMethodNotAllowed wrapped in one
	// when it is asked for by id.
	OpenObjectVersion(ctx context.Context, bucket, key, versionID string) (Object, error)
	// DeleteObjectVersion deletes as DeleteObject (versionID ""): on a
	// versioned bucket that writes a delete marker; or removes the version
	// versionID for good. It says what it did.
	DeleteObjectVersion(ctx context.Context, bucket, key, versionID string, opts DeleteOptions) (DeleteResult, error)
}

// DeleteResult is what a delete did: the version it removed or the delete
// marker it wrote (VersionID: its S3 id; "" on a bucket that never had
// versioning).
type DeleteResult struct {
	VersionID    string
	DeleteMarker bool
}

// DeleteMarkerError marks an answer about a delete marker: S3 sends
// x-amz-delete-marker: true and the marker's version id with it.
type DeleteMarkerError struct {
	VersionID string
	Err       error // ErrNoSuchKey or ErrMethodNotAllowed
}

func (e *DeleteMarkerError) Error() string { return e.Err.Error() + " (a delete marker)" }
func (e *DeleteMarkerError) Unwrap() error { return e.Err }

// VersioningDoc is the SettingVersioning document: {"status":"Enabled"}
// or {"status":"Suspended"}; no document means versioning was never set.
type VersioningDoc struct {
	Status string `json:"status"`
}

// TaggingLayer is implemented by a layer that keeps object tags. A layer
// without it answers an empty tag set and refuses tag changes.
type TaggingLayer interface {
	// GetObjectTags returns the tag set of a version (versionID "": the
	// current one) and that version's S3 id.
	GetObjectTags(ctx context.Context, bucket, key, versionID string) (tags []Tag, vid string, err error)
	// PutObjectTags replaces the tag set of a version (nil: no tags) and
	// returns its S3 id; the version's data and other metadata stay.
	PutObjectTags(ctx context.Context, bucket, key, versionID string, tags []Tag) (vid string, err error)
}

// ObjectLock is a version's object lock: a retention (Mode GOVERNANCE or
// COMPLIANCE, until RetainUntil) and a legal hold.
type ObjectLock struct {
	Mode        string // "" when no retention is set
	RetainUntil time.Time
	LegalHold   bool
}

// ObjectLockDoc is the SettingObjectLock document: object lock enabled on
// the bucket (at its creation), and its default retention, if any (Days or
// Years).
type ObjectLockDoc struct {
	Enabled bool   `json:"enabled"`
	Mode    string `json:"mode,omitempty"`
	Days    int    `json:"days,omitempty"`
	Years   int    `json:"years,omitempty"`
}

// LockLayer is implemented by a layer that keeps object lock settings of
// versions. versionID "" is the current version.
type LockLayer interface {
	GetObjectLock(ctx context.Context, bucket, key, versionID string) (ObjectLock, string, error)
	// PutObjectRetention sets a version's retention (Mode "" removes it);
	// shortening or removing one needs bypass (GOVERNANCE only: a
	// COMPLIANCE retention cannot be shortened or removed by anyone).
	PutObjectRetention(ctx context.Context, bucket, key, versionID string, lock ObjectLock, bypass bool) (string, error)
	PutObjectLegalHold(ctx context.Context, bucket, key, versionID string, on bool) (string, error)
}

// DeleteOptions are a delete's options: BypassGovernance lets a version
// under a GOVERNANCE retention be deleted (x-amz-bypass-governance-retention).
// IfMatch (If-Match, or a DeleteObjects entry's ETag) makes a delete of the
// current version conditional: "*" that it exists, an ETag that it is
// unchanged (ErrNoSuchKey when there is none, ErrPreconditionFailed when
// its ETag differs).
type DeleteOptions struct {
	BypassGovernance bool
	IfMatch          string
}
