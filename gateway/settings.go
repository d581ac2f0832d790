package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecstore/ecstore/s3api"
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
	if s == s3api.SettingVersioning && !l.cfg.Versioning {
		if _, err := l.bucket(ctx, bucket); err != nil {
			return err
		}
		return withMessage(ErrNotImplemented, "Bucket versioning is experimental in this version: start the server with --experimental-versioning to use it (lifecycle rules are not implemented yet; every node must run this version).")
	}
	if err := c.PutSetting(ctx, bucket, s, doc); err != nil {
		if errors.Is(err, ErrUnavailable) {
			return withMessage(err, "The metadata store cannot commit bucket settings now: no majority of its voters answers. Retry the change later.")
		}
		return err
	}
	return nil
}
