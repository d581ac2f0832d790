package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/meta"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

// catalog adapts the metadata store to the gateway's Catalog: meta's
// sentinels become the gateway's, and a store without a majority is a 503.
type catalog struct {
	s *meta.Store
	// alone: this process is the only one that changes the table (the
	// embedded server), and every change waits for s's copy, so the copy
	// is always current and Sync has nothing to wait for.
	alone bool
}

var _ gateway.Catalog = catalog{}

func (c catalog) Bucket(name string) (s3api.BucketInfo, bool) {
	b, ok := c.s.Bucket(name)
	return s3api.BucketInfo{Name: b.Name, Created: b.Created}, ok
}

func (c catalog) Buckets() []s3api.BucketInfo {
	bs := c.s.Buckets()
	out := make([]s3api.BucketInfo, len(bs))
	for i, b := range bs {
		out[i] = s3api.BucketInfo{Name: b.Name, Created: b.Created}
	}
	return out
}

func (c catalog) CreateBucket(ctx context.Context, name string) error {
	return catalogErr(c.s.CreateBucket(ctx, name, ""))
}

func (c catalog) DeleteBucket(ctx context.Context, name string) error {
	return catalogErr(c.s.DeleteBucket(ctx, name))
}

func (c catalog) Sync(ctx context.Context) error {
	if c.alone {
		return nil
	}
	return catalogErr(c.s.Sync(ctx))
}

// catalogErr translates the store's errors for the gateway.
func catalogErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, meta.ErrBucketExists):
		return fmt.Errorf("%w: %w", gateway.ErrBucketExists, err)
	case errors.Is(err, meta.ErrBucketNotFound):
		return fmt.Errorf("%w: %w", gateway.ErrBucketNotFound, err)
	}
	return fmt.Errorf("%w: the metadata store cannot commit changes now (%w)", gateway.ErrUnavailable, err)
}

// groupMembers picks the embedded server's metadata voters: the first 5
// drive folders (3 with 3 or 4 drives, 1 with fewer), each member named
// after its drive and kept in the folder's meta/ (the drive's identity
// check keeps folders in their places, so a member's state stays its own).
// A drive that could not be opened is an offline member.
func groupMembers(dirs []string, drives []storagenode.Drive) []meta.GroupMember {
	n := min(len(dirs), meta.MaxVoters)
	if n%2 == 0 {
		n--
	}
	ms := make([]meta.GroupMember, n)
	for i := range ms {
		_, offline := drives[i].(*storagenode.OfflineDrive)
		ms[i] = meta.GroupMember{ID: drives[i].ID(), Dir: filepath.Join(dirs[i], metaDir), Offline: offline}
	}
	return ms
}

// metaDir is the folder of a metadata member in a drive folder.
const metaDir = "meta"

// importBuckets moves the bucket records of a store written before the
// metadata store existed into it, once: the first start of this version
// reads the drives' buckets (those a majority holds, as that version
// decided) and commits them in one entry.
func importBuckets(ctx context.Context, s *meta.Store, layer *gateway.Layer, log *slog.Logger) error {
	if err := s.Sync(ctx); err != nil {
		return fmt.Errorf("metadata store: %w", err)
	}
	if s.Imported() {
		return nil
	}
	old, err := layer.DriveBuckets(ctx)
	if err != nil {
		return fmt.Errorf("read the drives' buckets to import them: %w", err)
	}
	bs := make([]meta.Bucket, len(old))
	for i, b := range old {
		bs[i] = meta.Bucket{Name: b.Name, Created: b.Created}
	}
	if err := s.ImportBuckets(ctx, bs); err != nil {
		return fmt.Errorf("import buckets into the metadata store: %w", err)
	}
	if len(bs) > 0 {
		log.Info("imported the drives' buckets into the metadata store (first start of this version)", "buckets", len(bs))
	}
	return nil
}
