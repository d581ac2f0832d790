package gateway

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecstore/ecstore/ec"
	"github.com/ecstore/ecstore/internal/crashpoint"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

// Layer is the erasure-coded ObjectLayer.
type Layer struct {
	cfg  Config
	log  *slog.Logger
	top  atomic.Pointer[topology] // the cluster map in use
	k, m int

	mu      sync.Mutex
	retired []*topology // replaced maps whose writes WaitWrites has not seen end

	stats  Stats
	healq  *healQueue
	locks  *keyLocks
	ulocks *uploadLocks
	// healLockWait is how long repair work waits for a key a write holds.
	healLockWait time.Duration

	coderMu sync.Mutex
	coders  map[storagenode.ECInfo]*ec.Coder
}

var _ s3api.ObjectLayer = (*Layer)(nil)

// New builds a Layer over cfg.Drives.
func New(cfg Config) (*Layer, error) {
	cfg.ensureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Layer{
		cfg: cfg, log: cfg.Logger, k: cfg.DataShards, m: cfg.ParityShards,
		coders: map[storagenode.ECInfo]*ec.Coder{},
		healq:  newHealQueue(),
		locks:  &keyLocks{seed: maphash.MakeSeed()},
		ulocks: &uploadLocks{},

		healLockWait: healLockWait,
	}
	tp, err := newTopology(Topology{Epoch: cfg.Epoch, Drives: cfg.Drives, Prior: cfg.Prior}, l.k, l.m)
	if err != nil {
		return nil, err
	}
	l.top.Store(tp)
	if _, err := l.coder(l.ecInfo()); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Layer) ecInfo() storagenode.ECInfo {
	return storagenode.ECInfo{Data: l.k, Parity: l.m, BlockSize: int64(l.cfg.BlockSize)}
}

// coder returns the (shared, concurrency-safe) coder for a layout.
func (l *Layer) coder(e storagenode.ECInfo) (*ec.Coder, error) {
	l.coderMu.Lock()
	defer l.coderMu.Unlock()
	if c, ok := l.coders[e]; ok {
		return c, nil
	}
	c, err := ec.New(e.Data, e.Parity, ec.WithBlockSize(int(e.BlockSize)))
	if err != nil {
		return nil, fmt.Errorf("gateway: coder for %d+%d/%d: %w", e.Data, e.Parity, e.BlockSize, err)
	}
	l.coders[e] = c
	return c, nil
}

// writeQuorum is how many drives must hold a write: k, or k+1 when k == m
// so that two halves of a split cluster cannot both accept writes.
func writeQuorum(k, m int) int {
	if k == m {
		return k + 1
	}
	return k
}

// deleteQuorum is how many drives must drop a record for a delete to
// count: the write quorum, and at least m+1, so that the drives a delete
// missed (at most k-1) can never make a read quorum for the deleted
// version. Deletes leave no record behind, so with k < m the write quorum
// alone would let the m drives that missed it bring the object back.
func deleteQuorum(k, m int) int {
	return max(writeQuorum(k, m), m+1)
}

// place returns the drives for a new object's shards, by shard index.
func (l *Layer) place(bucket, key string) ([]storagenode.Drive, error) {
	return l.topo().place(bucket, key, l.k, l.m)
}

// drivesByID resolves an object's recorded drive list; drives no longer in
// the map are nil (missing shards).
func (l *Layer) drivesByID(ids []string) []storagenode.Drive {
	byID := l.topo().byID
	out := make([]storagenode.Drive, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
	}
	return out
}

func driveIDs(ds []storagenode.Drive) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID()
	}
	return out
}

// bucketQuorum is how many drives must agree on a bucket record: a majority
// of all drives (bucket records live on every drive).
func (l *Layer) bucketQuorum() int { return len(l.topo().drives)/2 + 1 }

// allDrives returns every drive of the map in use (bucket records live on
// all of them).
func (l *Layer) allDrives() []storagenode.Drive { return l.topo().drives }

// MakeBucket creates the bucket record on every drive and, with a
// Catalog, then commits the bucket to the catalog, which decides.
func (l *Layer) MakeBucket(ctx context.Context, bucket string) (err error) {
	defer translate(&err)
	now := time.Now().UTC()
	drives := l.allDrives()
	makeRecords := func() []error {
		return fanout(drives, func(_ int, d storagenode.Drive) error {
			err := d.MakeBucket(ctx, bucket, now)
			if errors.Is(err, storagenode.ErrBucketExists) {
				return nil
			}
			return err
		})
	}
	if c := l.cfg.Catalog; c != nil {
		// The catalog decides whether the name is taken (the local copy
		// may be behind: it never answers this). Records the catalog does
		// not name are invisible: a failed create leaves them for the
		// next create of the name.
		if errs := makeRecords(); countNil(errs) < len(drives)/2+1 {
			return worstWriteError(errs)
		}
		crashpoint.Hit(crashpoint.BucketRecords)
		if err := c.CreateBucket(ctx, bucket); err != nil {
			return catalogChange(err)
		}
		crashpoint.Hit(crashpoint.BucketCataloged)
		// And again once committed: a DeleteBucket of the same name
		// through another gateway may have removed them meanwhile.
		makeRecords()
		return nil
	}
	if _, err := l.bucket(ctx, bucket); err == nil {
		return ErrBucketExists
	} else if !errors.Is(err, ErrBucketNotFound) {
		return err
	}
	errs := makeRecords()
	if countNil(errs) < len(drives)/2+1 {
		// Undo so that a failed create leaves no half-made bucket.
		fanout(drives, func(i int, d storagenode.Drive) error {
			if errs[i] == nil {
				return d.DeleteBucket(ctx, bucket)
			}
			return nil
		})
		return worstWriteError(errs)
	}
	return nil
}

// HeadBucket reports the bucket if the catalog holds it after a Sync, so
// that a bucket created or deleted through another gateway a moment ago
// is answered as it is now (without a Catalog: if a majority of drives
// hold its record). Without the store's confirmation it answers 503, not
// what the copy says: the copy may be behind.
func (l *Layer) HeadBucket(ctx context.Context, bucket string) (_ s3api.BucketInfo, err error) {
	defer translate(&err)
	if c := l.cfg.Catalog; c != nil {
		if err := c.Sync(ctx); err != nil {
			return s3api.BucketInfo{}, unconfirmed(err)
		}
	}
	return l.bucket(ctx, bucket)
}

// unconfirmed is the answer to a question about buckets that the metadata
// store could not confirm (no majority, or an election under way).
func unconfirmed(err error) error {
	return withMessage(fmt.Errorf("%w: %w", ErrUnavailable, err), "The metadata store could not confirm the bucket table now; retry. (Reads and writes of objects in existing buckets go on.)")
}

// bucket is the data path's bucket check: one lookup in the catalog's
// copy (a miss confirmed with a Sync), or without a Catalog a question to
// every drive. A write that a stale copy lets through into a bucket
// deleted meanwhile fails on the drives, which lost their records before
// the delete was acknowledged.
func (l *Layer) bucket(ctx context.Context, bucket string) (s3api.BucketInfo, error) {
	if c := l.cfg.Catalog; c != nil {
		return catalogBucket(ctx, c, bucket)
	}
	drives := l.allDrives()
	infos := make([]storagenode.BucketInfo, len(drives))
	errs := fanout(drives, func(i int, d storagenode.Drive) (err error) {
		infos[i], err = d.StatBucket(ctx, bucket)
		return err
	})
	found, missing := 0, 0
	var info storagenode.BucketInfo
	for i, err := range errs {
		switch {
		case err == nil:
			found++
			if info.Created.IsZero() || infos[i].Created.Before(info.Created) {
				info = infos[i]
			}
		case errors.Is(err, storagenode.ErrBucketNotFound):
			missing++
		}
	}
	q := len(drives)/2 + 1
	switch {
	case found >= q:
		return s3api.BucketInfo{Name: bucket, Created: info.Created}, nil
	case missing > len(drives)-q:
		return s3api.BucketInfo{}, ErrBucketNotFound
	}
	return s3api.BucketInfo{}, withMessage(ErrUnavailable, "Not enough drives answered to confirm the bucket %q.", bucket)
}

// ListBuckets lists the catalog's buckets (without a Catalog: those held
// by a majority of drives).
func (l *Layer) ListBuckets(ctx context.Context) (_ []s3api.BucketInfo, err error) {
	defer translate(&err)
	if c := l.cfg.Catalog; c != nil {
		if err := c.Sync(ctx); err != nil {
			return nil, unconfirmed(err)
		}
		return c.Buckets(), nil
	}
	return l.DriveBuckets(ctx)
}

// DriveBuckets lists the buckets a majority of drives hold records of: the
// table itself without a Catalog, and what a first start imports into one.
func (l *Layer) DriveBuckets(ctx context.Context) (_ []s3api.BucketInfo, err error) {
	defer translate(&err)
	drives := l.allDrives()
	lists := make([][]storagenode.BucketInfo, len(drives))
	errs := fanout(drives, func(i int, d storagenode.Drive) (err error) {
		lists[i], err = d.ListBuckets(ctx)
		return err
	})
	q := len(drives)/2 + 1
	if countNil(errs) < q {
		return nil, withMessage(ErrUnavailable, "Not enough drives answered to list buckets.")
	}
	count := map[string]int{}
	created := map[string]time.Time{}
	for _, list := range lists {
		for _, b := range list {
			count[b.Name]++
			if c, ok := created[b.Name]; !ok || b.Created.Before(c) {
				created[b.Name] = b.Created
			}
		}
	}
	var out []s3api.BucketInfo
	for name, n := range count {
		if n >= q {
			out = append(out, s3api.BucketInfo{Name: name, Created: created[name]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteBucket removes an empty bucket from every drive.
func (l *Layer) DeleteBucket(ctx context.Context, bucket string) (err error) {
	defer translate(&err)
	if _, err := l.bucket(ctx, bucket); err != nil {
		return err
	}
	// Any version counts, noncurrent ones and delete markers included:
	// deleting the bucket would destroy them.
	res, err := l.ListObjectVersions(ctx, bucket, s3api.ListVersionsParams{MaxKeys: 1})
	if err != nil {
		return err
	}
	if len(res.Versions) > 0 {
		return ErrBucketNotEmpty
	}
	if c := l.cfg.Catalog; c != nil {
		if err := c.DeleteBucket(ctx, bucket); err != nil {
			return catalogChange(err)
		}
		crashpoint.Hit(crashpoint.BucketUncataloged)
		// A CreateBucket of the name through another gateway may have
		// committed since: its records stay.
		if err := c.Sync(ctx); err == nil {
			if _, ok := c.Bucket(bucket); ok {
				return nil
			}
		}
	}
	drives := l.allDrives()
	errs := fanout(drives, func(_ int, d storagenode.Drive) error {
		err := d.DeleteBucket(ctx, bucket)
		if errors.Is(err, storagenode.ErrBucketNotFound) {
			return nil
		}
		return err
	})
	if l.cfg.Catalog != nil {
		// The bucket is gone for every gateway already; a drive that
		// kept its records holds invisible leftovers.
		for i, e := range errs {
			if e != nil {
				l.log.Warn("deleted bucket's records stay on a drive", "bucket", bucket, "drive", drives[i].ID(), "err", e)
			}
		}
		return nil
	}
	if countNil(errs) < len(drives)/2+1 {
		return worstWriteError(errs)
	}
	return nil
}

// catalogChange gives a catalog change that could not commit the message
// clients see.
func catalogChange(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return withMessage(err, "The metadata store cannot commit bucket changes now: no majority of its voters answers. Reads and writes of existing buckets go on; retry the change later.")
	}
	return err
}

// catalogBucket looks a bucket up in the catalog's copy. A miss is
// confirmed with a Sync (the bucket may have been created through another
// gateway a moment ago); without the store's answer it is a 503.
func catalogBucket(ctx context.Context, c Catalog, bucket string) (s3api.BucketInfo, error) {
	if b, ok := c.Bucket(bucket); ok {
		return b, nil
	}
	if err := c.Sync(ctx); err != nil {
		return s3api.BucketInfo{}, unconfirmed(err)
	}
	if b, ok := c.Bucket(bucket); ok {
		return b, nil
	}
	return s3api.BucketInfo{}, ErrBucketNotFound
}

// HealBuckets creates bucket records missing on some drives (a replaced or
// wiped drive) for every bucket a majority of drives hold. The server calls
// it at start.
func (r *Repair) HealBuckets(ctx context.Context) error {
	l := r.l
	buckets, err := l.ListBuckets(ctx)
	if err != nil {
		return err
	}
	drives := l.allDrives()
	for _, b := range buckets {
		errs := fanout(drives, func(_ int, d storagenode.Drive) error {
			err := d.MakeBucket(ctx, b.Name, b.Created)
			if errors.Is(err, storagenode.ErrBucketExists) {
				return nil
			}
			return err
		})
		for i, e := range errs {
			if e != nil {
				l.log.Warn("bucket heal failed", "bucket", b.Name, "drive", drives[i].ID(), "err", e)
			}
		}
	}
	return nil
}
