package gateway

import (
	"context"

	"github.com/ecstore/ecstore/s3api"
)

// Catalog is the bucket table as the gateway reads it: the metadata
// store's local copy, one lookup without network on the data path; its
// changes go through the store, which orders them (package meta, adapted
// by the server). Errors wrap ErrBucketExists or ErrBucketNotFound, or
// ErrUnavailable when the store cannot commit a change (no majority).
//
// Without a Catalog (Config.Catalog nil) the drives' bucket records are
// the table, a majority of all drives deciding each question, as before
// the metadata store existed.
//
// With one, the drives keep their bucket records too: a drive takes
// records only into a bucket it holds, so a write that raced a
// DeleteBucket fails on the drives instead of landing in a deleted
// bucket. A bucket's drive records are made before the store commits it
// and removed after the store deleted it; records the store does not
// name are invisible leftovers.
type Catalog interface {
	// Bucket returns a bucket of the local copy.
	Bucket(name string) (s3api.BucketInfo, bool)
	// Buckets returns the local copy's buckets, sorted by name.
	Buckets() []s3api.BucketInfo
	CreateBucket(ctx context.Context, name string) error
	DeleteBucket(ctx context.Context, name string) error
	// Sync makes the local copy hold every change committed before the
	// call (a read index); a copy no other process changes may return
	// at once.
	Sync(ctx context.Context) error

	// Settings returns a bucket's settings documents from the local copy
	// (no network); false when the copy lacks the bucket.
	Settings(name string) (s3api.BucketSettings, bool)
	// PutSetting replaces one settings document of a bucket (nil removes
	// it), ordered by the store with every other change, and returns once
	// the local copy holds it (read your writes). ErrBucketNotFound, or
	// ErrUnavailable when the store cannot commit it.
	PutSetting(ctx context.Context, name string, s s3api.Setting, doc []byte) error
}
