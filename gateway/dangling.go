package gateway

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

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
//
// It removes exactly the records its read found, each by its version id,
// and none younger than the in-flight window: a key's first PUT whose
// records are on their way looks just like leftovers to a read taken
// between its record writes, and the PUT may be acknowledged a moment
// later (a walk removed such a PUT's records once; it reread each drive
// and deleted whatever version it found there). Leftovers younger than
// the window wait for a later walk.
func (l *Layer) cleanDangling(ctx context.Context, bucket, key string) (bool, error) {
	return l.cleanDanglingOlder(ctx, bucket, key, l.inFlightWindow())
}

// cleanDanglingOlder is cleanDangling with the age below which a record is
// left alone (tests pass 0).
func (l *Layer) cleanDanglingOlder(ctx context.Context, bucket, key string, window time.Duration) (bool, error) {
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
	if notFound < l.k {
		return false, nil // maybe a damaged object: leave it to the operator
	}
	// The drives outside the placement that records name (a degraded
	// write's fallbacks) hold records too.
	extra := l.extraDrives(drives, metas)
	xm := make([]*storagenode.ObjectMeta, len(extra))
	xe := fanout(extra, func(i int, d storagenode.Drive) (err error) {
		xm[i], err = d.GetMeta(ctx, bucket, key)
		return err
	})
	all := append(append([]storagenode.Drive{}, drives...), extra...)
	found := append(append([]*storagenode.ObjectMeta{}, metas...), xm...)
	for i, e := range append(append([]error{}, errs...), xe...) {
		if e != nil {
			found[i] = nil
			continue
		}
		if time.Since(found[i].ModTime) < window {
			return false, nil // perhaps a write still committing its records
		}
	}
	var removed atomic.Bool
	fanout(all, func(i int, d storagenode.Drive) error {
		m := found[i]
		if m == nil {
			return nil
		}
		if _, err := d.DeleteMeta(ctx, bucket, key, m.VersionID); err != nil {
			if errors.Is(err, storagenode.ErrObjectNotFound) {
				return nil // gone since, or replaced by a newer version
			}
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
