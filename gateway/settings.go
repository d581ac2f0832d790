package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

var _ s3api.SettingsLayer = (*Layer)(nil)

// GetBucketSettings returns the bucket's settings from the catalog after
// a Sync, as HeadBucket does: a setting changed through another gateway a
// moment ago is answered as it is now, and without the store's
// confirmation the answer is a 503 rather than what a copy that may be
// behind says. (The data path, when it comes to need a setting, reads the
// copy alone: Catalog.Settings.) Without a Catalog a bucket has no
// settings.
func (l *Layer) GetBucketSettings(ctx context.Context, bucket string) (_ s3api.BucketSettings, err error) {
	defer translate(&err)
	c := l.cfg.Catalog
	if c == nil {
		if _, err := l.bucket(ctx, bucket); err != nil {
			return s3api.BucketSettings{}, err
		}
		return s3api.BucketSettings{}, nil
	}
	if err := c.Sync(ctx); err != nil {
		return s3api.BucketSettings{}, unconfirmed(err)
	}
	set, ok := c.Settings(bucket)
	if !ok {
		return s3api.BucketSettings{}, ErrBucketNotFound
	}
	return set, nil
}

// PutBucketSetting changes one settings document of the bucket through
// the catalog (nil removes it). Without a Catalog there is nowhere to keep
// it: ErrNotImplemented.
func (l *Layer) PutBucketSetting(ctx context.Context, bucket string, s s3api.Setting, doc []byte) (err error) {
	defer translate(&err)
	if !s.Valid() {
		return fmt.Errorf("gateway: put bucket setting: unknown setting %d", int(s))
	}
	c := l.cfg.Catalog
	if c == nil {
		if _, err := l.bucket(ctx, bucket); err != nil {
			return err
		}
		return withMessage(ErrNotImplemented, "Bucket settings need the metadata store; this gateway runs without one.")
	}
	if (s == s3api.SettingVersioning || s == s3api.SettingObjectLock) && doc != nil {
		if _, err := l.bucket(ctx, bucket); err != nil {
			return err
		}
		if err := l.checkVersionsKept(ctx); err != nil {
			return err
		}
	}
	if err := c.PutSetting(ctx, bucket, s, doc); err != nil {
		if errors.Is(err, ErrUnavailable) {
			return withMessage(err, "The metadata store cannot commit bucket settings now: no majority of its voters answers. Retry the change later.")
		}
		return err
	}
	return nil
}

// checkVersionsKept makes sure every drive of the cluster keeps versions
// (storagenode.DiskInfo.Versions) before a bucket turns versioning or
// object lock on: a node still running a version from before versions
// would keep one record per key, and lose the noncurrent versions it is
// sent. A drive that does not answer cannot be vouched for: the change
// waits for it (503).
func (l *Layer) checkVersionsKept(ctx context.Context) error {
	drives := l.topo().drives
	infos := make([]storagenode.DiskInfo, len(drives))
	errs := fanout(drives, func(i int, d storagenode.Drive) (err error) {
		infos[i], err = storagenode.DiskInfoOf(ctx, d)
		return err
	})
	for i, d := range drives {
		switch {
		case errs[i] != nil:
			return withMessage(ErrUnavailable, "Drive %s does not answer: versioning can be turned on once every drive confirms it keeps versions.", d.ID())
		case !infos[i].Versions:
			return withMessage(ErrNotImplemented, "Drive %s runs an ecstore version that does not keep object versions: upgrade every node before turning versioning on.", d.ID())
		}
	}
	return nil
}
