package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/ecstore/ecstore/storagenode"
)

// reader is what a pebble DB and a snapshot share.
type reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
	NewIter(o *pebble.IterOptions) (*pebble.Iterator, error)
}

// getRecord reads and decodes the record under k; nil without error when
// absent.
func getRecord[T any](r reader, k []byte) (*T, error) {
	v, closer, err := r.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return decodeRecord[T](v)
}

// has reports whether k is present.
func has(r reader, k []byte) (bool, error) {
	_, closer, err := r.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	closer.Close()
	return true, nil
}

// scan decodes every record in [lower, upper), calling fn for each, and stops
// after limit records (limit <= 0: no limit).
func scan[T any](ctx context.Context, r reader, lower, upper []byte, limit int, fn func(*T)) error {
	return scanRaw(ctx, r, lower, upper, limit, func(k, v []byte) error {
		rec, err := decodeRecord[T](v)
		if err != nil {
			return fmt.Errorf("%w (index key %q)", err, k)
		}
		fn(rec)
		return nil
	})
}

// scanRaw calls fn with every key and value in [lower, upper), in order, up
// to limit of them (limit <= 0: no limit); the slices are valid only during
// the call. An error from fn ends the scan.
func scanRaw(ctx context.Context, r reader, lower, upper []byte, limit int, fn func(k, v []byte) error) error {
	if upper != nil && bytes.Compare(lower, upper) >= 0 {
		return nil
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	n := 0
	for ok := it.First(); ok && (limit <= 0 || n < limit); ok = it.Next() {
		if n%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				it.Close()
				return err
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		if err := fn(it.Key(), v); err != nil {
			it.Close()
			return err
		}
		n++
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

// bucketMissing returns a wrapped ErrBucketNotFound when the bucket record is
// absent, nil when present.
func (d *Drive) bucketMissing(r reader, bucket, op string) error {
	ok, err := has(r, bucketKey(bucket))
	if err != nil {
		return errf(err, "%s: bucket %s", op, bucket)
	}
	if !ok {
		return fmt.Errorf("storagenode: %s: %s: %w", op, bucket, storagenode.ErrBucketNotFound)
	}
	return nil
}

// MakeBucket creates the bucket record; ErrBucketExists if present.
func (d *Drive) MakeBucket(ctx context.Context, bucket string, created time.Time) error {
	if err := d.startWrite(ctx, storagenode.CheckBucket(bucket), false); err != nil {
		return err
	}
	defer d.leave()
	bl := d.buckets.get(bucket)
	bl.Lock()
	defer bl.Unlock()
	k := bucketKey(bucket)
	ok, err := has(d.db, k)
	if err != nil {
		return errf(err, "make bucket %s", bucket)
	}
	if ok {
		return fmt.Errorf("storagenode: make bucket %s: %w", bucket, storagenode.ErrBucketExists)
	}
	v, err := encodeRecord(&storagenode.BucketInfo{Name: bucket, Created: created})
	if err != nil {
		return err
	}
	if err := d.db.Set(k, v, pebble.Sync); err != nil {
		return errf(err, "make bucket %s", bucket)
	}
	return d.confirm()
}

// DeleteBucket removes the bucket's object, upload and part records, then its
// shard files, and the bucket record last, so that an interrupted delete can
// be repeated.
func (d *Drive) DeleteBucket(ctx context.Context, bucket string) error {
	if err := d.startWrite(ctx, storagenode.CheckBucket(bucket), true); err != nil {
		return err
	}
	defer d.leave()
	bl := d.buckets.get(bucket)
	bl.Lock()
	defer bl.Unlock()
	if err := d.bucketMissing(d.db, bucket, "delete bucket"); err != nil {
		return err
	}
	b := d.db.NewBatch()
	for _, kind := range []byte{'o', 'v', 'i', 'u', 'p'} {
		p := kindPrefix(kind, bucket)
		if err := b.DeleteRange(p, prefixEnd(p), nil); err != nil {
			b.Close()
			return errf(err, "delete bucket %s", bucket)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		b.Close()
		return errf(err, "delete bucket %s", bucket)
	}
	b.Close()
	if err := d.fs.RemoveAll(filepath.Join(d.data, bucket)); err != nil {
		return errf(err, "delete bucket %s: shard files", bucket)
	}
	if err := d.bin.removeBucket(bucket); err != nil {
		return errf(err, "delete bucket %s: trash", bucket)
	}
	if err := syncDir(d.fs, d.data); err != nil {
		return errf(err, "delete bucket %s: shard files", bucket)
	}
	if err := d.db.Delete(bucketKey(bucket), pebble.Sync); err != nil {
		return errf(err, "delete bucket %s", bucket)
	}
	return d.confirm()
}

// StatBucket returns the bucket record or ErrBucketNotFound.
func (d *Drive) StatBucket(ctx context.Context, bucket string) (storagenode.BucketInfo, error) {
	if err := d.start(ctx, storagenode.CheckBucket(bucket)); err != nil {
		return storagenode.BucketInfo{}, err
	}
	defer d.leave()
	bi, err := getRecord[storagenode.BucketInfo](d.db, bucketKey(bucket))
	if err != nil {
		return storagenode.BucketInfo{}, errf(err, "stat bucket %s", bucket)
	}
	if bi == nil {
		return storagenode.BucketInfo{}, fmt.Errorf("storagenode: stat bucket %s: %w", bucket, storagenode.ErrBucketNotFound)
	}
	return *bi, nil
}

// ListBuckets returns the drive's buckets sorted by name.
func (d *Drive) ListBuckets(ctx context.Context) ([]storagenode.BucketInfo, error) {
	if err := d.enter(ctx); err != nil {
		return nil, err
	}
	defer d.leave()
	var out []storagenode.BucketInfo
	p := bucketPrefix()
	err := scan(ctx, d.db, p, prefixEnd(p), 0, func(bi *storagenode.BucketInfo) { out = append(out, *bi) })
	if err != nil {
		return nil, errf(err, "list buckets")
	}
	return out, nil
}

// PutMeta stores m unless a newer record is stored (ErrStale); a record
// with the same ModTime and VersionID is replaced. The check and the write
// are atomic. A stored record that cannot be decoded is overwritten.
func (d *Drive) PutMeta(ctx context.Context, m *storagenode.ObjectMeta) (*storagenode.ObjectMeta, error) {
	return d.putMeta(ctx, m, putCond{})
}

// PutMetaIf stores m only if the stored record's version is expect.
func (d *Drive) PutMetaIf(ctx context.Context, m *storagenode.ObjectMeta, expect string) (*storagenode.ObjectMeta, error) {
	return d.putMeta(ctx, m, putCond{expect: &expect})
}

func (d *Drive) RewriteMeta(ctx context.Context, m *storagenode.ObjectMeta, layout int64) (*storagenode.ObjectMeta, error) {
	return d.putMeta(ctx, m, putCond{held: true, layout: layout})
}

// putCond is a PutMeta's condition: expect, the current version's id
// (PutMetaIf); held, a record of m's version with a Layout of at most
// layout (RewriteMeta, storagenode.AnyLayout: any).
type putCond struct {
	expect *string
	held   bool
	layout int64
}

func (d *Drive) putMeta(ctx context.Context, m *storagenode.ObjectMeta, cond putCond) (*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckMeta(m); err != nil {
		return nil, err
	}
	// A record without inline bytes describes data already on the disk (or
	// puts back one a failed delete removed): like a delete, it needs only
	// the small margin, so that below the reserve a Complete, a heal's
	// record or a delete's undo still go through.
	end, err := d.enterBucket(ctx, m.Bucket, "put meta", m.Inline == nil || !m.InlineData)
	if err != nil {
		return nil, err
	}
	defer end()
	inline := m.Inline
	if !m.InlineData {
		inline = nil
	}
	stored := *m
	stored.Inline = nil // kept under its own key, so listings never read it
	v, err := encodeRecord(&stored)
	if err != nil {
		return nil, err
	}
	k := objectKey(m.Bucket, m.Key)
	mu := d.keys.lock(k)
	defer mu.Unlock()
	cur, err := getRecord[storagenode.ObjectMeta](d.db, k)
	if err != nil && !errors.Is(err, storagenode.ErrCorrupt) {
		return nil, errf(err, "put meta %s/%s", m.Bucket, m.Key)
	}
	if err := checkExpect(m, cur, cond.expect); err != nil {
		return nil, err
	}
	if cond.held {
		held, _, err := findVersion(ctx, d.db, m.Bucket, m.Key, cur, func(o *storagenode.ObjectMeta) bool { return o.VersionID == m.VersionID })
		if err != nil {
			return nil, errf(err, "rewrite meta %s/%s", m.Bucket, m.Key)
		}
		if held == nil || (cond.layout != storagenode.AnyLayout && held.Layout > cond.layout) {
			return nil, fmt.Errorf("storagenode: rewrite meta %s/%s version %s: %w", m.Bucket, m.Key, m.VersionID, storagenode.ErrConflict)
		}
	}
	b := d.db.NewBatch()
	defer b.Close()
	prev, keptDrives, err := d.putVersion(ctx, b, d.db, cur, m, v)
	if err != nil {
		return nil, err
	}
	if inline != nil && !keptDrives { // the stored drive list's shard stays with it
		_ = b.Set(inlineKey(m.Bucket, m.DataDir), inline, nil)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, errf(err, "put meta %s/%s", m.Bucket, m.Key)
	}
	if !m.InlineData {
		d.bin.restore(m.Bucket, m.DataDir, filepath.Join(d.data, m.Bucket))
	}
	if err := d.confirm(); err != nil {
		return nil, err
	}
	return prev, nil
}

// GetMeta returns the stored record, ErrObjectNotFound, or ErrBucketNotFound.
func (d *Drive) GetMeta(ctx context.Context, bucket, key string) (*storagenode.ObjectMeta, error) {
	if err := d.start(ctx, storagenode.CheckKey(bucket, key)); err != nil {
		return nil, err
	}
	defer d.leave()
	m, err := getRecord[storagenode.ObjectMeta](d.db, objectKey(bucket, key))
	if err != nil {
		return nil, errf(err, "get meta %s/%s", bucket, key)
	}
	if m == nil {
		if err := d.bucketMissing(d.db, bucket, "get meta"); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("storagenode: get meta %s/%s: %w", bucket, key, storagenode.ErrObjectNotFound)
	}
	if err := d.loadInline(d.db, m); err != nil {
		return nil, errf(err, "get meta %s/%s: inline shard", bucket, key)
	}
	return m, nil
}

// DeleteMeta removes the record if its version is versionID (any version
// for ""), returning it; ErrObjectNotFound otherwise.
func (d *Drive) DeleteMeta(ctx context.Context, bucket, key, versionID string) (*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckKey(bucket, key); err != nil {
		return nil, err
	}
	end, err := d.enterBucket(ctx, bucket, "delete meta", true)
	if err != nil {
		return nil, err
	}
	defer end()
	k := objectKey(bucket, key)
	mu := d.keys.lock(k)
	defer mu.Unlock()
	cur, err := getRecord[storagenode.ObjectMeta](d.db, k)
	if err != nil {
		return nil, errf(err, "delete meta %s/%s", bucket, key)
	}
	m, vk, err := findVersion(ctx, d.db, bucket, key, cur, func(o *storagenode.ObjectMeta) bool { return versionID == "" || o.VersionID == versionID })
	if err != nil {
		return nil, errf(err, "delete meta %s/%s", bucket, key)
	}
	if m == nil {
		return nil, fmt.Errorf("storagenode: delete meta %s/%s version %q: %w", bucket, key, versionID, storagenode.ErrObjectNotFound)
	}
	b := d.db.NewBatch()
	defer b.Close()
	if vk != nil {
		_ = b.Delete(vk, nil)
	} else {
		// The current version goes: the newest noncurrent one takes its
		// place.
		next, nk, err := newestNoncurrent(ctx, d.db, bucket, key)
		if err != nil {
			return nil, errf(err, "delete meta %s/%s", bucket, key)
		}
		if next == nil {
			_ = b.Delete(k, nil)
		} else {
			nv, err := encodeRecord(next)
			if err != nil {
				return nil, err
			}
			_ = b.Delete(nk, nil)
			_ = b.Set(k, nv, nil)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, errf(err, "delete meta %s/%s", bucket, key)
	}
	if err := d.confirm(); err != nil {
		return nil, err
	}
	return m, nil
}

// ListMeta returns up to limit records (limit <= 0: all) of the bucket whose
// keys start with prefix and sort strictly after `after`, in byte order of
// the keys. It is one range scan of the index.
func (d *Drive) ListMeta(ctx context.Context, bucket, prefix, after string, limit int) ([]*storagenode.ObjectMeta, error) {
	out := make([]*storagenode.ObjectMeta, 0, min(max(limit, 0), 1024))
	err := d.listObjects(ctx, "list meta", bucket, prefix, after, limit, func(k, v []byte) error {
		m, err := decodeRecord[storagenode.ObjectMeta](v)
		if err != nil {
			return fmt.Errorf("%w (index key %q)", err, k)
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListEntries is ListMeta reading only the listing fields of each record.
func (d *Drive) ListEntries(ctx context.Context, bucket, prefix, after string, limit int) ([]storagenode.ObjectEntry, error) {
	out := make([]storagenode.ObjectEntry, 0, min(max(limit, 0), 1024))
	err := d.listObjects(ctx, "list entries", bucket, prefix, after, limit, func(k, v []byte) error {
		e, err := decodeEntry(v)
		if err != nil {
			return fmt.Errorf("%w (index key %q)", err, k)
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// listObjects calls fn with the index key and value of up to limit object
// records of the bucket (limit <= 0: all) whose keys start with prefix and
// sort strictly after `after`, in key order: one range scan of a snapshot.
func (d *Drive) listObjects(ctx context.Context, op, bucket, prefix, after string, limit int, fn func(k, v []byte) error) error {
	if err := d.start(ctx, storagenode.CheckBucket(bucket)); err != nil {
		return err
	}
	defer d.leave()
	snap := d.db.NewSnapshot()
	defer snap.Close()
	if err := d.bucketMissing(snap, bucket, op); err != nil {
		return err
	}
	lower := append(kindPrefix('o', bucket), prefix...)
	upper := prefixEnd(lower)
	if after != "" {
		// The smallest key greater than after is after + "\x00".
		if a := append(objectKey(bucket, after), 0); bytes.Compare(a, lower) > 0 {
			lower = a
		}
	}
	if err := scanRaw(ctx, snap, lower, upper, limit, fn); err != nil {
		return errf(err, "%s %s prefix %q after %q", op, bucket, prefix, after)
	}
	return nil
}

// checkExpect applies PutMetaIf's condition (nil: unconditional) to the
// current version cur (nil: none); a delete marker counts as none.
func checkExpect(m, cur *storagenode.ObjectMeta, expect *string) error {
	if expect == nil {
		return nil
	}
	have := ""
	if cur != nil && !cur.DeleteMarker {
		have = cur.VersionID
	}
	if have != *expect {
		return fmt.Errorf("storagenode: put meta %s/%s: stored version %q, expected %q: %w", m.Bucket, m.Key, have, *expect, storagenode.ErrConflict)
	}
	return nil
}
