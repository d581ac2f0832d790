package local

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
	"github.com/ecstore/ecstore/storagenode"
)

// A key's versions in the index: the current one (the newest by ModTime,
// VersionID) under the object key, as before versions existed, so that
// object listings scan one record per key; the noncurrent ones under
// version keys, newest first:
//
//	'v' sep bucket sep esc(key) 0x00 0x01 ^ModTime(8 bytes, big-endian) VersionID
//
// esc writes 0x00 in the key as 0x00 0xff, so that 0x00 0x01 ends it and
// version keys sort by object key first (keys may hold 0x00). A key has
// version keys only while it has a current record: removing the current
// version promotes the newest noncurrent one.

// versionPrefix is the prefix of every noncurrent version key of key.
func versionPrefix(bucket, key string) []byte {
	return appendVersionPrefix(kindPrefix('v', bucket), key)
}

// appendVersionPrefix appends to bucketPrefix (kindPrefix('v', bucket))
// what versionPrefix adds to it for key.
func appendVersionPrefix(bucketPrefix []byte, key string) []byte {
	p := bucketPrefix
	for i := 0; i < len(key); i++ {
		if key[i] == 0 {
			p = append(p, 0, 0xff)
		} else {
			p = append(p, key[i])
		}
	}
	return append(p, 0, 1)
}

// versionKey is the key of m as a noncurrent version.
func versionKey(m *storagenode.ObjectMeta) []byte {
	k := versionPrefix(m.Bucket, m.Key)
	k = binary.BigEndian.AppendUint64(k, ^uint64(m.ModTime.UnixNano()))
	return append(k, m.VersionID...)
}

// sameVersion reports whether a and b are one version (a retry or a heal
// of it).
func sameVersion(a, b *storagenode.ObjectMeta) bool {
	return a.VersionID == b.VersionID
}

// noncurrent calls fn with each noncurrent version of key, newest first,
// and its index key (valid during the call), until fn returns false.
// Records that cannot be decoded are skipped (a write replaces them).
func noncurrent(ctx context.Context, r reader, bucket, key string, fn func(m *storagenode.ObjectMeta, k []byte) bool) error {
	p := versionPrefix(bucket, key)
	stop := errors.New("stop")
	err := scanRaw(ctx, r, p, prefixEnd(p), 0, func(k, v []byte) error {
		m, err := decodeRecord[storagenode.ObjectMeta](v)
		if err != nil {
			return nil
		}
		if !fn(m, k) {
			return stop
		}
		return nil
	})
	if errors.Is(err, stop) {
		return nil
	}
	return err
}

// findVersion returns the version of key for which match is true, the
// current one cur first, then the noncurrent ones newest first, with its
// index key (a copy; nil when it is cur); nil when none matches.
func findVersion(ctx context.Context, r reader, bucket, key string, cur *storagenode.ObjectMeta, match func(*storagenode.ObjectMeta) bool) (*storagenode.ObjectMeta, []byte, error) {
	if cur != nil && match(cur) {
		return cur, nil, nil
	}
	if cur == nil {
		return nil, nil, nil // no current record: no noncurrent ones either
	}
	var found *storagenode.ObjectMeta
	var fk []byte
	err := noncurrent(ctx, r, bucket, key, func(m *storagenode.ObjectMeta, k []byte) bool {
		if match(m) {
			found, fk = m, bytes.Clone(k)
			return false
		}
		return true
	})
	return found, fk, err
}

// newestNoncurrent returns the newest noncurrent version of key and its
// index key, or nil.
func newestNoncurrent(ctx context.Context, r reader, bucket, key string) (*storagenode.ObjectMeta, []byte, error) {
	var found *storagenode.ObjectMeta
	var fk []byte
	err := noncurrent(ctx, r, bucket, key, func(m *storagenode.ObjectMeta, k []byte) bool {
		found, fk = m, bytes.Clone(k)
		return false
	})
	return found, fk, err
}

// replaces reports whether storing m replaces the stored version old: the
// same version, or both null versions.
func replaces(m, old *storagenode.ObjectMeta) bool {
	return sameVersion(m, old) || (!m.Versioned && !old.Versioned)
}

// putVersion adds to b the writes that store m (encoded as v) among key's
// versions, cur being the current record (nil: none): the version m
// replaces (replaces) goes, and m becomes current if it is the newest.
// It returns the replaced version, or ErrStale when that one is newer
// than m (b then holds nothing of m). The caller holds the key's lock.
func (d *Drive) putVersion(ctx context.Context, b *pebble.Batch, r reader, cur, m *storagenode.ObjectMeta, v []byte) (prev *storagenode.ObjectMeta, keptDrives bool, err error) {
	ok := objectKey(m.Bucket, m.Key)
	old, oldKey, err := findVersion(ctx, r, m.Bucket, m.Key, cur, func(o *storagenode.ObjectMeta) bool { return replaces(m, o) })
	if err != nil {
		return nil, false, errf(err, "put meta %s/%s: versions", m.Bucket, m.Key)
	}
	if old != nil && old.Newer(m) {
		return nil, false, fmt.Errorf("storagenode: put meta %s/%s: version %s of %s: %w",
			m.Bucket, m.Key, m.VersionID, m.ModTime.Format("2006-01-02T15:04:05.999999999Z07:00"), storagenode.ErrStale)
	}
	if old != nil && old.VersionID == m.VersionID && (old.TagTime > m.TagTime || old.Layout > m.Layout) {
		// The version rewritten from an earlier read of it (a heal's, a
		// move's or a tag change's record): its tag set and object-lock
		// settings changed since (TagTime) and stay, or a legal hold set
		// meanwhile would be lifted by the rewrite; its shards moved
		// since (Layout) and the drive list stays, or the record would
		// name a drive the shard has left.
		kept := *m
		kept.Inline = nil
		if old.TagTime > m.TagTime {
			kept.Tags, kept.TagTime = old.Tags, old.TagTime
			kept.LockMode, kept.RetainUntil, kept.LegalHold = old.LockMode, old.RetainUntil, old.LegalHold
		}
		if old.Layout > m.Layout {
			kept.Drives, kept.Layout = old.Drives, old.Layout
			keptDrives = true
		}
		if v, err = encodeRecord(&kept); err != nil {
			return nil, false, err
		}
	}
	switch {
	case cur == nil:
		_ = b.Set(ok, v, nil)
	case old == cur:
		// The current version is replaced: m, or the newest noncurrent
		// one if that is newer, becomes current.
		next, nk, err := newestNoncurrent(ctx, r, m.Bucket, m.Key)
		if err != nil {
			return nil, false, errf(err, "put meta %s/%s: versions", m.Bucket, m.Key)
		}
		if next == nil || !next.Newer(m) {
			_ = b.Set(ok, v, nil)
			break
		}
		nv, err := encodeRecord(next)
		if err != nil {
			return nil, false, err
		}
		_ = b.Delete(nk, nil)
		_ = b.Set(ok, nv, nil)
		_ = b.Set(versionKey(m), v, nil)
	default:
		if oldKey != nil {
			_ = b.Delete(oldKey, nil)
		}
		if m.Newer(cur) {
			cv, err := encodeRecord(cur)
			if err != nil {
				return nil, false, err
			}
			_ = b.Set(versionKey(cur), cv, nil)
			_ = b.Set(ok, v, nil)
		} else {
			_ = b.Set(versionKey(m), v, nil)
		}
	}
	return old, keptDrives, nil
}

// versionWithDir reports whether a stored version of key keeps its data
// in the version directory dir (cur: the current record, or nil).
func versionWithDir(ctx context.Context, r reader, bucket, key, dir string, cur *storagenode.ObjectMeta) (bool, error) {
	m, _, err := findVersion(ctx, r, bucket, key, cur, func(o *storagenode.ObjectMeta) bool { return o.DataDir == dir && !o.DeleteMarker })
	return m != nil, err
}

// GetVersion returns the version whose VersionID is versionID, or the
// null version for "null".
func (d *Drive) GetVersion(ctx context.Context, bucket, key, versionID string) (*storagenode.ObjectMeta, error) {
	if err := d.start(ctx, storagenode.CheckKey(bucket, key)); err != nil {
		return nil, err
	}
	defer d.leave()
	snap := d.db.NewSnapshot()
	defer snap.Close()
	cur, err := getRecord[storagenode.ObjectMeta](snap, objectKey(bucket, key))
	if err != nil && !errors.Is(err, storagenode.ErrCorrupt) {
		return nil, errf(err, "get version %s/%s %s", bucket, key, versionID)
	}
	m, _, err := findVersion(ctx, snap, bucket, key, cur, func(o *storagenode.ObjectMeta) bool {
		if versionID == "null" {
			return !o.Versioned
		}
		return o.VersionID == versionID
	})
	if err != nil {
		return nil, errf(err, "get version %s/%s %s", bucket, key, versionID)
	}
	if m == nil {
		if err := d.bucketMissing(snap, bucket, "get version"); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("storagenode: get version %s/%s %s: %w", bucket, key, versionID, storagenode.ErrObjectNotFound)
	}
	if err := d.loadInline(snap, m); err != nil {
		return nil, errf(err, "get version %s/%s %s: inline shard", bucket, key, versionID)
	}
	return m, nil
}

// loadInline fills m.Inline from the index when m is an InlineData record
// and the drive holds its shard.
func (d *Drive) loadInline(r reader, m *storagenode.ObjectMeta) error {
	if !m.InlineData {
		return nil
	}
	v, closer, err := r.Get(inlineKey(m.Bucket, m.DataDir))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return nil // a record without its shard: the shard is missing here
	case err != nil:
		return err
	}
	m.Inline = bytes.Clone(v)
	return closer.Close()
}

// ListVersions lists versions in key order, newest first within a key:
// one scan of the current records, and for each key a seek into its
// noncurrent ones, on one snapshot.
func (d *Drive) ListVersions(ctx context.Context, bucket, prefix, afterKey, afterVersion string, limit int) ([]storagenode.ObjectEntry, error) {
	if err := d.start(ctx, storagenode.CheckBucket(bucket)); err != nil {
		return nil, err
	}
	defer d.leave()
	snap := d.db.NewSnapshot()
	defer snap.Close()
	op := "list versions"
	if err := d.bucketMissing(snap, bucket, op); err != nil {
		return nil, err
	}
	lower := append(kindPrefix('o', bucket), prefix...)
	upper := prefixEnd(lower)
	if afterKey != "" {
		a := objectKey(bucket, afterKey)
		if afterVersion == "" {
			a = append(a, 0) // the smallest key after afterKey
		}
		if bytes.Compare(a, lower) > 0 {
			lower = a
		}
	}
	vit, err := snap.NewIter(&pebble.IterOptions{LowerBound: kindPrefix('v', bucket), UpperBound: prefixEnd(kindPrefix('v', bucket))})
	if err != nil {
		return nil, errf(err, "%s %s", op, bucket)
	}
	defer vit.Close()
	var out []storagenode.ObjectEntry
	full := func() bool { return limit > 0 && len(out) >= limit }
	ob := len(kindPrefix('o', bucket))
	stop := errors.New("full")
	var key []storagenode.ObjectEntry // the versions of one key, reused
	// The object keys come in key order, and so do their version keys
	// (esc keeps the order): vit only moves forward. It is sought only
	// when it stands before the key's version prefix; where it already
	// stands at or past it (it does after the previous key's versions,
	// at the next key that has any), the key has versions exactly when
	// vit's key has the prefix: most keys, those without noncurrent
	// versions, cost no seek.
	vb := kindPrefix('v', bucket)
	vp := vb // the version prefix of the key listed, in a reused buffer
	sought := false
	err = scanRaw(ctx, snap, lower, upper, 0, func(k, v []byte) error {
		name := string(k[ob:])
		cur, err := decodeEntry(v)
		if err != nil {
			return fmt.Errorf("%w (index key %q)", err, k)
		}
		key = append(key[:0], cur)
		vp = appendVersionPrefix(vp[:len(vb)], name)
		ok := vit.Valid()
		if !sought || ok && bytes.Compare(vit.Key(), vp) < 0 {
			ok, sought = vit.SeekGE(vp), true
		}
		for ; ok && bytes.HasPrefix(vit.Key(), vp); ok = vit.Next() {
			val, err := vit.ValueAndErr()
			if err != nil {
				return err
			}
			if e, err := decodeEntry(val); err == nil { // (a damaged noncurrent record: a write replaces it)
				key = append(key, e)
			}
		}
		if err := vit.Error(); err != nil {
			return err
		}
		from := 0
		if afterVersion != "" && name == afterKey {
			// Resuming inside afterKey, after afterVersion; a drive that
			// does not hold that version lists them all (the caller
			// places them).
			for i, e := range key {
				if e.VersionID == afterVersion || (afterVersion == "null" && !e.Versioned) {
					from = i + 1
					break
				}
			}
		}
		for _, e := range key[from:] {
			if full() {
				return stop
			}
			out = append(out, e)
		}
		if full() {
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, errf(err, "%s %s prefix %q after %q/%q", op, bucket, prefix, afterKey, afterVersion)
	}
	return out, nil
}
