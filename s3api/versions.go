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
}

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
