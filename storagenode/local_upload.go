package storagenode

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble"
)

// PutUpload stores the upload record (replacing one with the same id).
func (d *LocalDrive) PutUpload(ctx context.Context, u *UploadMeta) error {
	if err := checkUploadMeta(u); err != nil {
		return err
	}
	if err := d.enter(ctx); err != nil {
		return err
	}
	defer d.leave()
	if err := d.checkSpace(false); err != nil {
		return err
	}
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
	if err := d.checkSpace(true); err != nil {
		return err
	}
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
	if err := d.checkSpace(false); err != nil {
		return nil, err
	}
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
