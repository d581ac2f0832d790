package local

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/ecstore/ecstore/storagenode"
)

// PutUpload stores the upload record (replacing one with the same id).
func (d *Drive) PutUpload(ctx context.Context, u *storagenode.UploadMeta) error {
	if err := storagenode.CheckUploadMeta(u); err != nil {
		return err
	}
	end, err := d.enterBucket(ctx, u.Bucket, "put upload", false)
	if err != nil {
		return err
	}
	defer end()
	v, err := encodeRecord(u)
	if err != nil {
		return err
	}
	ok, uk := objectKey(u.Bucket, u.Key), uploadKey(u.Bucket, u.UploadID)
	defer d.keys.lockPair(ok, uk)()
	// An upload record never comes back beside its completed object (a
	// heal racing a Complete through another gateway would leave one).
	cur, err := getRecord[storagenode.ObjectMeta](d.db, ok)
	if err != nil && !errors.Is(err, storagenode.ErrCorrupt) {
		return errf(err, "put upload %s/%s", u.Bucket, u.UploadID)
	}
	done, err := versionWithDir(ctx, d.db, u.Bucket, u.Key, u.UploadID, cur)
	if err != nil {
		return errf(err, "put upload %s/%s", u.Bucket, u.UploadID)
	}
	if done {
		return fmt.Errorf("storagenode: put upload %s/%s: %w", u.Bucket, u.UploadID, storagenode.ErrUploadCompleted)
	}
	if err := d.db.Set(uk, v, pebble.Sync); err != nil {
		return errf(err, "put upload %s/%s", u.Bucket, u.UploadID)
	}
	return d.confirm()
}

// GetUpload returns the upload record, ErrUploadNotFound or ErrBucketNotFound.
func (d *Drive) GetUpload(ctx context.Context, bucket, uploadID string) (*storagenode.UploadMeta, error) {
	if err := d.start(ctx, storagenode.CheckUpload(bucket, uploadID)); err != nil {
		return nil, err
	}
	defer d.leave()
	return d.getUpload(d.db, bucket, uploadID, "get upload")
}

func (d *Drive) getUpload(r reader, bucket, uploadID, op string) (*storagenode.UploadMeta, error) {
	u, err := getRecord[storagenode.UploadMeta](r, uploadKey(bucket, uploadID))
	if err != nil {
		return nil, errf(err, "%s %s/%s", op, bucket, uploadID)
	}
	if u == nil {
		if err := d.bucketMissing(r, bucket, op); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("storagenode: %s %s/%s: %w", op, bucket, uploadID, storagenode.ErrUploadNotFound)
	}
	return u, nil
}

// DeleteUpload removes the upload record and its part records in one atomic
// batch; ErrUploadNotFound if there is no such upload.
func (d *Drive) DeleteUpload(ctx context.Context, bucket, uploadID string) error {
	if err := d.startWrite(ctx, storagenode.CheckUpload(bucket, uploadID), true); err != nil {
		return err
	}
	defer d.leave()
	bl := d.buckets.get(bucket)
	bl.RLock()
	defer bl.RUnlock()
	k := uploadKey(bucket, uploadID)
	mu := d.keys.lock(k)
	defer mu.Unlock()
	if _, err := d.getUpload(d.db, bucket, uploadID, "delete upload"); err != nil && !errors.Is(err, storagenode.ErrCorrupt) {
		return err
	}
	b := d.db.NewBatch()
	defer b.Close()
	if err := retireUpload(b, bucket, uploadID); err != nil {
		return errf(err, "delete upload %s/%s", bucket, uploadID)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return errf(err, "delete upload %s/%s", bucket, uploadID)
	}
	return d.confirm()
}

// retireUpload adds the removal of an upload's record and part records to b.
func retireUpload(b *pebble.Batch, bucket, uploadID string) error {
	if err := b.Delete(uploadKey(bucket, uploadID), nil); err != nil {
		return err
	}
	pp := partPrefix(bucket, uploadID)
	return b.DeleteRange(pp, prefixEnd(pp), nil)
}

// ListUploads returns the bucket's uploads sorted by (Key, Initiated,
// UploadID).
func (d *Drive) ListUploads(ctx context.Context, bucket string) ([]*storagenode.UploadMeta, error) {
	if err := d.start(ctx, storagenode.CheckBucket(bucket)); err != nil {
		return nil, err
	}
	defer d.leave()
	snap := d.db.NewSnapshot()
	defer snap.Close()
	if err := d.bucketMissing(snap, bucket, "list uploads"); err != nil {
		return nil, err
	}
	var out []*storagenode.UploadMeta
	p := kindPrefix('u', bucket)
	if err := scan(ctx, snap, p, prefixEnd(p), 0, func(u *storagenode.UploadMeta) { out = append(out, u) }); err != nil {
		return nil, errf(err, "list uploads %s", bucket)
	}
	sortUploads(out)
	return out, nil
}

func sortUploads(us []*storagenode.UploadMeta) {
	slices.SortFunc(us, func(a, b *storagenode.UploadMeta) int {
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
func (d *Drive) PutPart(ctx context.Context, bucket, uploadID string, p *storagenode.PartMeta) (*storagenode.PartMeta, error) {
	if err := storagenode.CheckUpload(bucket, uploadID); err != nil {
		return nil, err
	}
	if err := d.startWrite(ctx, storagenode.CheckPart(p), false); err != nil {
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
	prev, err := getRecord[storagenode.PartMeta](d.db, k)
	if err != nil && !errors.Is(err, storagenode.ErrCorrupt) {
		return nil, errf(err, "put part %s/%s/%d", bucket, uploadID, p.Number)
	}
	if err := d.db.Set(k, v, pebble.Sync); err != nil {
		return nil, errf(err, "put part %s/%s/%d", bucket, uploadID, p.Number)
	}
	if err := d.confirm(); err != nil {
		return nil, err
	}
	return prev, nil
}

// ListParts returns the upload's parts sorted by number.
func (d *Drive) ListParts(ctx context.Context, bucket, uploadID string) ([]*storagenode.PartMeta, error) {
	if err := d.start(ctx, storagenode.CheckUpload(bucket, uploadID)); err != nil {
		return nil, err
	}
	defer d.leave()
	snap := d.db.NewSnapshot()
	defer snap.Close()
	if _, err := d.getUpload(snap, bucket, uploadID, "list parts"); err != nil && !errors.Is(err, storagenode.ErrCorrupt) {
		return nil, err
	}
	var out []*storagenode.PartMeta
	pp := partPrefix(bucket, uploadID)
	if err := scan(ctx, snap, pp, prefixEnd(pp), 0, func(p *storagenode.PartMeta) { out = append(out, p) }); err != nil {
		return nil, errf(err, "list parts %s/%s", bucket, uploadID)
	}
	return out, nil
}

// CompleteUpload stores m and retires the upload m.DataDir in one synced
// batch, then removes the upload's shard files m.Parts leaves out.
func (d *Drive) CompleteUpload(ctx context.Context, m *storagenode.ObjectMeta, expect *string) (*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckMeta(m); err != nil {
		return nil, err
	}
	if err := storagenode.CheckUpload(m.Bucket, m.DataDir); err != nil {
		return nil, err
	}
	// The parts are on disk already: the small margin, as PutMeta.
	end, err := d.enterBucket(ctx, m.Bucket, "complete upload", true)
	if err != nil {
		return nil, err
	}
	defer end()
	stored := *m
	stored.Inline, stored.InlineData = nil, false
	v, err := encodeRecord(&stored)
	if err != nil {
		return nil, err
	}
	ok, uk := objectKey(m.Bucket, m.Key), uploadKey(m.Bucket, m.DataDir)
	defer d.keys.lockPair(ok, uk)()
	op := fmt.Sprintf("complete upload %s/%s (%s)", m.Bucket, m.DataDir, m.Key)
	cur, err := getRecord[storagenode.ObjectMeta](d.db, ok)
	if err != nil && !errors.Is(err, storagenode.ErrCorrupt) {
		return nil, errf(err, "%s", op)
	}
	found, err := has(d.db, uk)
	if err != nil {
		return nil, errf(err, "%s", op)
	}
	// done: a version of this upload is stored already (a duplicate
	// Complete; or beside its upload record, as a store written before
	// Complete retired the upload in the same batch left it): keep that
	// version, retire the upload.
	done, err := versionWithDir(ctx, d.db, m.Bucket, m.Key, m.DataDir, cur)
	if err != nil {
		return nil, errf(err, "%s", op)
	}
	if !found {
		if done {
			return nil, fmt.Errorf("storagenode: %s: %w", op, storagenode.ErrUploadCompleted)
		}
		return nil, fmt.Errorf("storagenode: %s: %w", op, storagenode.ErrUploadNotFound)
	}
	if err := checkExpect(m, cur, expect); err != nil {
		return nil, err
	}
	pp := partPrefix(m.Bucket, m.DataDir)
	if err := d.checkParts(ctx, pp, m); err != nil {
		return nil, err
	}
	b := d.db.NewBatch()
	defer b.Close()
	if err := retireUpload(b, m.Bucket, m.DataDir); err != nil {
		return nil, errf(err, "%s", op)
	}
	var prev *storagenode.ObjectMeta
	stale := false
	if !done {
		prev, _, err = d.putVersion(ctx, b, d.db, cur, m, v)
		switch {
		case errors.Is(err, storagenode.ErrStale):
			stale = true
		case err != nil:
			return nil, err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, errf(err, "%s", op)
	}
	if err := d.confirm(); err != nil {
		return nil, err
	}
	if done {
		return nil, fmt.Errorf("storagenode: %s: %w", op, storagenode.ErrUploadCompleted)
	}
	if stale {
		return nil, fmt.Errorf("storagenode: %s: version %s of %s: %w", op, m.VersionID, m.ModTime.Format(time.RFC3339Nano), storagenode.ErrStale)
	}
	d.removeUnnamed(m.Bucket, m.DataDir, m.Parts)
	return prev, nil
}

// checkParts fails with ErrPartReplaced when the drive's record of a part
// m names is of another file (the part was uploaded again while the
// Complete was on its way). The caller holds the upload's key lock, which
// PutPart takes too.
func (d *Drive) checkParts(ctx context.Context, pp []byte, m *storagenode.ObjectMeta) error {
	names := map[int]string{}
	err := scan(ctx, d.db, pp, prefixEnd(pp), 0, func(p *storagenode.PartMeta) { names[p.Number] = p.Name })
	if err != nil && !errors.Is(err, storagenode.ErrCorrupt) {
		return errf(err, "complete upload %s/%s: parts", m.Bucket, m.DataDir)
	}
	for _, p := range m.Parts {
		if n, ok := names[p.Number]; ok && n != p.Name {
			return fmt.Errorf("storagenode: complete upload %s/%s: part %d is now %s, not %s: %w", m.Bucket, m.DataDir, p.Number, n, p.Name, storagenode.ErrPartReplaced)
		}
	}
	return nil
}

// removeUnnamed removes the shard files of a version (in its folder, and
// its flat file) that parts does not name (parts uploaded but left out of
// a completed object), best effort: a leftover is only wasted space.
func (d *Drive) removeUnnamed(bucket, versionDir string, parts []storagenode.PartInfo) {
	keep := make(map[string]bool, len(parts))
	for _, p := range parts {
		keep[p.Name] = true
	}
	dir := filepath.Join(d.data, bucket, versionDir)
	names, _ := d.fs.List(dir) // none when the folder is missing
	removed := false
	for _, name := range names {
		if !keep[name] {
			if err := d.fs.Remove(filepath.Join(dir, name)); err == nil {
				removed = true
			}
		}
	}
	if removed {
		_ = syncDir(d.fs, dir)
	}
	if !keep[storagenode.SinglePartName] {
		if err := d.fs.Remove(d.flatPath(storagenode.ShardRef{Bucket: bucket, VersionDir: versionDir, Name: storagenode.SinglePartName})); err == nil {
			_ = syncDir(d.fs, filepath.Dir(dir))
		}
	}
}

// AbortUpload retires the upload's records, then removes its shard files
// unless key's stored record names the upload's folder.
func (d *Drive) AbortUpload(ctx context.Context, bucket, key, uploadID string) error {
	if err := storagenode.CheckKey(bucket, key); err != nil {
		return err
	}
	if err := storagenode.CheckUpload(bucket, uploadID); err != nil {
		return err
	}
	end, err := d.enterBucket(ctx, bucket, "abort upload", true)
	if err != nil {
		return err
	}
	defer end()
	ok, uk := objectKey(bucket, key), uploadKey(bucket, uploadID)
	defer d.keys.lockPair(ok, uk)()
	op := fmt.Sprintf("abort upload %s/%s (%s)", bucket, uploadID, key)
	found, err := has(d.db, uk)
	if err != nil {
		return errf(err, "%s", op)
	}
	if found {
		b := d.db.NewBatch()
		defer b.Close()
		if err := retireUpload(b, bucket, uploadID); err != nil {
			return errf(err, "%s", op)
		}
		if err := b.Commit(pebble.Sync); err != nil {
			return errf(err, "%s", op)
		}
		if err := d.confirm(); err != nil {
			return err
		}
	}
	cur, err := getRecord[storagenode.ObjectMeta](d.db, ok)
	if err != nil && !errors.Is(err, storagenode.ErrCorrupt) {
		return errf(err, "%s", op)
	}
	// The key's lock is held: no Complete can commit a record naming the
	// folder between this check and the removal (and none can commit after
	// it, the upload record being gone).
	named, err := versionWithDir(ctx, d.db, bucket, key, uploadID, cur)
	if err != nil {
		return errf(err, "%s", op)
	}
	if !named {
		// No read can be on an upload's parts: they go at once.
		if err := d.removeVersion(bucket, uploadID, func(path, _ string) error { return d.fs.RemoveAll(path) }); err != nil {
			return errf(err, "%s", op)
		}
	}
	if !found {
		return fmt.Errorf("storagenode: %s: %w", op, storagenode.ErrUploadNotFound)
	}
	return nil
}
