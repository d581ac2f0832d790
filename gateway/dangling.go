package gateway

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/ecstore/ecstore/storagenode"
)

// walkDanglingKeys calls fn for every key of a bucket that some drive holds
// a record of but that no version has on k drives: leftovers of a delete
// or overwrite that a drive missed, or of a write that lost its quorum.
func (l *Layer) walkDanglingKeys(ctx context.Context, bucket string, fn func(key string) error) error {
	m, err := l.newMerger(ctx, bucket, "", "", listBatch, false)
	if err != nil {
		return err
	}
	for {
		recs, current, ok := m.next()
		if !ok {
			return nil
		}
		if current == nil {
			if err := fn(recs[0].Key); err != nil {
				return err
			}
		}
	}
}

// cleanDangling removes the records (and shards) of bucket/key when at least
// k of its drives say the key does not exist, so no acknowledged version can
// be behind the stray records. It reports whether it removed anything.
func (l *Layer) cleanDangling(ctx context.Context, bucket, key string) (bool, error) {
	if l.Rebalancing() {
		// Objects not yet moved look absent on their new drives: too easy
		// to mistake for dangling. The walk after the rebalance does it.
		return false, nil
	}
	drives, err := l.place(bucket, key)
	if err != nil {
		return false, err
	}
	metas := make([]*storagenode.ObjectMeta, len(drives))
	errs := fanout(drives, func(i int, d storagenode.Drive) (err error) {
		metas[i], err = d.GetMeta(ctx, bucket, key)
		return err
	})
	notFound := 0
	for _, e := range errs {
		if errors.Is(e, storagenode.ErrObjectNotFound) {
			notFound++
		}
	}
	extra := l.extraDrives(drives, metas)
	if notFound < l.k {
		return false, nil // maybe a damaged object: leave it to the operator
	}
	all := append(append([]storagenode.Drive{}, drives...), extra...)
	var removed atomic.Bool
	fanout(all, func(_ int, d storagenode.Drive) error {
		m, err := d.GetMeta(ctx, bucket, key)
		if err != nil {
			return nil
		}
		if _, err := d.DeleteMeta(ctx, bucket, key, m.VersionID); err != nil {
			return err
		}
		removed.Store(true)
		return d.DeleteVersion(context.WithoutCancel(ctx), bucket, m.DataDir)
	})
	if removed.Load() {
		l.log.Info("removed a dangling object record", "bucket", bucket, "key", key)
	}
	return removed.Load(), nil
}
