package storagenode

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cockroachdb/pebble"
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
		rec, err := decodeRecord[T](v)
		if err != nil {
			it.Close()
			return fmt.Errorf("%w (index key %q)", err, it.Key())
		}
		fn(rec)
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
func (d *LocalDrive) bucketMissing(r reader, bucket, op string) error {
	ok, err := has(r, bucketKey(bucket))
	if err != nil {
		return errf(err, "%s: bucket %s", op, bucket)
	}
	if !ok {
		return fmt.Errorf("storagenode: %s: %s: %w", op, bucket, ErrBucketNotFound)
	}
	return nil
}

// MakeBucket creates the bucket record; ErrBucketExists if present.
func (d *LocalDrive) MakeBucket(ctx context.Context, bucket string, created time.Time) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	if err := d.enter(ctx); err != nil {
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
		return fmt.Errorf("storagenode: make bucket %s: %w", bucket, ErrBucketExists)
	}
	v, err := encodeRecord(&BucketInfo{Name: bucket, Created: created})
	if err != nil {
		return err
	}
	if err := d.db.Set(k, v, pebble.Sync); err != nil {
		return errf(err, "make bucket %s", bucket)
	}
	return nil
}

// DeleteBucket removes the bucket's object, upload and part records, then its
// shard files, and the bucket record last, so that an interrupted delete can
// be repeated.
func (d *LocalDrive) DeleteBucket(ctx context.Context, bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	if err := d.enter(ctx); err != nil {
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
	for _, kind := range []byte{'o', 'u', 'p'} {
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
	if err := os.RemoveAll(filepath.Join(d.data, bucket)); err != nil {
		return errf(err, "delete bucket %s: shard files", bucket)
	}
	if err := syncDir(d.data); err != nil {
		return errf(err, "delete bucket %s: shard files", bucket)
	}
	if err := d.db.Delete(bucketKey(bucket), pebble.Sync); err != nil {
		return errf(err, "delete bucket %s", bucket)
	}
	return nil
}

// StatBucket returns the bucket record or ErrBucketNotFound.
func (d *LocalDrive) StatBucket(ctx context.Context, bucket string) (BucketInfo, error) {
	if err := checkBucket(bucket); err != nil {
		return BucketInfo{}, err
	}
	if err := d.enter(ctx); err != nil {
		return BucketInfo{}, err
	}
	defer d.leave()
	bi, err := getRecord[BucketInfo](d.db, bucketKey(bucket))
	if err != nil {
		return BucketInfo{}, errf(err, "stat bucket %s", bucket)
	}
	if bi == nil {
		return BucketInfo{}, fmt.Errorf("storagenode: stat bucket %s: %w", bucket, ErrBucketNotFound)
	}
	return *bi, nil
}

// ListBuckets returns the drive's buckets sorted by name.
func (d *LocalDrive) ListBuckets(ctx context.Context) ([]BucketInfo, error) {
	if err := d.enter(ctx); err != nil {
		return nil, err
	}
	defer d.leave()
	var out []BucketInfo
	p := bucketPrefix()
	err := scan(ctx, d.db, p, prefixEnd(p), 0, func(bi *BucketInfo) { out = append(out, *bi) })
	if err != nil {
		return nil, errf(err, "list buckets")
	}
	return out, nil
}

// PutMeta stores m unless a newer record is stored (ErrStale); a record
// with the same ModTime and VersionID is replaced. The check and the write
// are atomic. A stored record that cannot be decoded is overwritten.
func (d *LocalDrive) PutMeta(ctx context.Context, m *ObjectMeta) (*ObjectMeta, error) {
	if err := checkMeta(m); err != nil {
		return nil, err
	}
	if err := d.enter(ctx); err != nil {
		return nil, err
	}
	defer d.leave()
	bl := d.buckets.get(m.Bucket)
	bl.RLock()
	defer bl.RUnlock()
	if err := d.bucketMissing(d.db, m.Bucket, "put meta"); err != nil {
		return nil, err
	}
	v, err := encodeRecord(m)
	if err != nil {
		return nil, err
	}
	k := objectKey(m.Bucket, m.Key)
	mu := d.keys.lock(k)
	defer mu.Unlock()
	prev, err := getRecord[ObjectMeta](d.db, k)
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return nil, errf(err, "put meta %s/%s", m.Bucket, m.Key)
	}
	if prev != nil && prev.Newer(m) {
		return nil, fmt.Errorf("storagenode: put meta %s/%s: version %s of %s: %w",
			m.Bucket, m.Key, m.VersionID, m.ModTime.Format(time.RFC3339Nano), ErrStale)
	}
	if err := d.db.Set(k, v, pebble.Sync); err != nil {
		return nil, errf(err, "put meta %s/%s", m.Bucket, m.Key)
	}
	return prev, nil
}

// GetMeta returns the stored record, ErrObjectNotFound, or ErrBucketNotFound.
func (d *LocalDrive) GetMeta(ctx context.Context, bucket, key string) (*ObjectMeta, error) {
	if err := checkKey(bucket, key); err != nil {
		return nil, err
	}
	if err := d.enter(ctx); err != nil {
		return nil, err
	}
	defer d.leave()
	m, err := getRecord[ObjectMeta](d.db, objectKey(bucket, key))
	if err != nil {
		return nil, errf(err, "get meta %s/%s", bucket, key)
	}
	if m == nil {
		if err := d.bucketMissing(d.db, bucket, "get meta"); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("storagenode: get meta %s/%s: %w", bucket, key, ErrObjectNotFound)
	}
	return m, nil
}

// DeleteMeta removes the record if its version is versionID (any version
// for ""), returning it; ErrObjectNotFound otherwise.
func (d *LocalDrive) DeleteMeta(ctx context.Context, bucket, key, versionID string) (*ObjectMeta, error) {
	if err := checkKey(bucket, key); err != nil {
		return nil, err
	}
	if err := d.enter(ctx); err != nil {
		return nil, err
	}
	defer d.leave()
	bl := d.buckets.get(bucket)
	bl.RLock()
	defer bl.RUnlock()
	if err := d.bucketMissing(d.db, bucket, "delete meta"); err != nil {
		return nil, err
	}
	k := objectKey(bucket, key)
	mu := d.keys.lock(k)
	defer mu.Unlock()
	m, err := getRecord[ObjectMeta](d.db, k)
	if err != nil {
		return nil, errf(err, "delete meta %s/%s", bucket, key)
	}
	if m == nil || (versionID != "" && m.VersionID != versionID) {
		return nil, fmt.Errorf("storagenode: delete meta %s/%s version %q: %w", bucket, key, versionID, ErrObjectNotFound)
	}
	if err := d.db.Delete(k, pebble.Sync); err != nil {
		return nil, errf(err, "delete meta %s/%s", bucket, key)
	}
	return m, nil
}

// ListMeta returns up to limit records (limit <= 0: all) of the bucket whose
// keys start with prefix and sort strictly after `after`, in byte order of
// the keys. It is one range scan of the index.
func (d *LocalDrive) ListMeta(ctx context.Context, bucket, prefix, after string, limit int) ([]*ObjectMeta, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	if err := d.enter(ctx); err != nil {
		return nil, err
	}
	defer d.leave()
	snap := d.db.NewSnapshot()
	defer snap.Close()
	if err := d.bucketMissing(snap, bucket, "list meta"); err != nil {
		return nil, err
	}
	lower := append(kindPrefix('o', bucket), prefix...)
	upper := prefixEnd(lower)
	if after != "" {
		// The smallest key greater than after is after + "\x00".
		if a := append(objectKey(bucket, after), 0); bytes.Compare(a, lower) > 0 {
			lower = a
		}
	}
	out := make([]*ObjectMeta, 0, min(max(limit, 0), 1024))
	if err := scan(ctx, snap, lower, upper, limit, func(m *ObjectMeta) { out = append(out, m) }); err != nil {
		return nil, errf(err, "list meta %s prefix %q after %q", bucket, prefix, after)
	}
	return out, nil
}

// PutUpload stores the upload record (replacing one with the same id).
func (d *LocalDrive) PutUpload(ctx context.Context, u *UploadMeta) error {
	if err := checkUploadMeta(u); err != nil {
		return err
	}
	if err := d.enter(ctx); err != nil {
		return err
	}
	defer d.leave()
	bl := d.buckets.get(u.Bucket)
	bl.RLock()
	defer bl.RUnlock()
	if err := d.bucketMissing(d.db, u.Bucket, "put upload"); err != nil {
		return err
	}
	v, err := encodeRecord(u)
	if err != nil {
		return err
	}
	if err := d.db.Set(uploadKey(u.Bucket, u.UploadID), v, pebble.Sync); err != nil {
		return errf(err, "put upload %s/%s", u.Bucket, u.UploadID)
	}
	return nil
}

// GetUpload returns the upload record, ErrUploadNotFound or ErrBucketNotFound.
func (d *LocalDrive) GetUpload(ctx context.Context, bucket, uploadID string) (*UploadMeta, error) {
	if err := checkUpload(bucket, uploadID); err != nil {
		return nil, err
	}
	if err := d.enter(ctx); err != nil {
		return nil, err
	}
	defer d.leave()
	return d.getUpload(d.db, bucket, uploadID, "get upload")
}

func (d *LocalDrive) getUpload(r reader, bucket, uploadID, op string) (*UploadMeta, error) {
	u, err := getRecord[UploadMeta](r, uploadKey(bucket, uploadID))
	if err != nil {
		return nil, errf(err, "%s %s/%s", op, bucket, uploadID)
	}
	if u == nil {
		if err := d.bucketMissing(r, bucket, op); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("storagenode: %s %s/%s: %w", op, bucket, uploadID, ErrUploadNotFound)
	}
	return u, nil
}

// DeleteUpload removes the upload record and its part records in one atomic
// batch; ErrUploadNotFound if there is no such upload.
func (d *LocalDrive) DeleteUpload(ctx context.Context, bucket, uploadID string) error {
	if err := checkUpload(bucket, uploadID); err != nil {
		return err
	}
	if err := d.enter(ctx); err != nil {
		return err
	}
	defer d.leave()
	bl := d.buckets.get(bucket)
	bl.RLock()
	defer bl.RUnlock()
	k := uploadKey(bucket, uploadID)
	mu := d.keys.lock(k)
	defer mu.Unlock()
	if _, err := d.getUpload(d.db, bucket, uploadID, "delete upload"); err != nil && !errors.Is(err, ErrCorrupt) {
		return err
	}
	b := d.db.NewBatch()
	defer b.Close()
	pp := partPrefix(bucket, uploadID)
	if err := b.Delete(k, nil); err != nil {
		return errf(err, "delete upload %s/%s", bucket, uploadID)
	}
	if err := b.DeleteRange(pp, prefixEnd(pp), nil); err != nil {
		return errf(err, "delete upload %s/%s", bucket, uploadID)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return errf(err, "delete upload %s/%s", bucket, uploadID)
	}
	return nil
}

// ListUploads returns the bucket's uploads sorted by (Key, Initiated,
// UploadID).
func (d *LocalDrive) ListUploads(ctx context.Context, bucket string) ([]*UploadMeta, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	if err := d.enter(ctx); err != nil {
		return nil, err
	}
	defer d.leave()
	snap := d.db.NewSnapshot()
	defer snap.Close()
	if err := d.bucketMissing(snap, bucket, "list uploads"); err != nil {
		return nil, err
	}
	var out []*UploadMeta
	p := kindPrefix('u', bucket)
	if err := scan(ctx, snap, p, prefixEnd(p), 0, func(u *UploadMeta) { out = append(out, u) }); err != nil {
		return nil, errf(err, "list uploads %s", bucket)
	}
	sortUploads(out)
	return out, nil
}

func sortUploads(us []*UploadMeta) {
	slices.SortFunc(us, func(a, b *UploadMeta) int {
		if c := cmp.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		if c := a.Initiated.Compare(b.Initiated); c != 0 {
			return c
		}
		return cmp.Compare(a.UploadID, b.UploadID)
	})
}

// PutPart stores the part record, replacing (and returning) one with the
// same number; ErrUploadNotFound if the upload does not exist.
func (d *LocalDrive) PutPart(ctx context.Context, bucket, uploadID string, p *PartMeta) (*PartMeta, error) {
	if err := checkUpload(bucket, uploadID); err != nil {
		return nil, err
	}
	if err := checkPart(p); err != nil {
		return nil, err
	}
	if err := d.enter(ctx); err != nil {
		return nil, err
	}
	defer d.leave()
	bl := d.buckets.get(bucket)
	bl.RLock()
	defer bl.RUnlock()
	v, err := encodeRecord(p)
	if err != nil {
		return nil, err
	}
	mu := d.keys.lock(uploadKey(bucket, uploadID))
	defer mu.Unlock()
	if ok, err := has(d.db, uploadKey(bucket, uploadID)); err != nil || !ok {
		if err == nil {
			_, err = d.getUpload(d.db, bucket, uploadID, "put part")
		}
		return nil, err
	}
	k := partKey(bucket, uploadID, p.Number)
	prev, err := getRecord[PartMeta](d.db, k)
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return nil, errf(err, "put part %s/%s/%d", bucket, uploadID, p.Number)
	}
	if err := d.db.Set(k, v, pebble.Sync); err != nil {
		return nil, errf(err, "put part %s/%s/%d", bucket, uploadID, p.Number)
	}
	return prev, nil
}

// ListParts returns the upload's parts sorted by number.
func (d *LocalDrive) ListParts(ctx context.Context, bucket, uploadID string) ([]*PartMeta, error) {
	if err := checkUpload(bucket, uploadID); err != nil {
		return nil, err
	}
	if err := d.enter(ctx); err != nil {
		return nil, err
	}
	defer d.leave()
	snap := d.db.NewSnapshot()
	defer snap.Close()
	if _, err := d.getUpload(snap, bucket, uploadID, "list parts"); err != nil && !errors.Is(err, ErrCorrupt) {
		return nil, err
	}
	var out []*PartMeta
	pp := partPrefix(bucket, uploadID)
	if err := scan(ctx, snap, pp, prefixEnd(pp), 0, func(p *PartMeta) { out = append(out, p) }); err != nil {
		return nil, errf(err, "list parts %s/%s", bucket, uploadID)
	}
	return out, nil
}
