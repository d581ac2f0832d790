package local

import (
	"bytes"
	"context"
	"fmt"
	"github.com/ecstore/ecstore/storagenode"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemDrive is a Drive held in memory, with the same semantics as LocalDrive
// (including name validation). It is a real implementation for tests and
// for the embedded server's throw-away mode, not a mock. Its data is lost
// when it is dropped.
type MemDrive struct {
	id      string
	mu      sync.RWMutex
	closed  bool
	buckets map[string]*memBucket
}

// memInlineName keeps a version's inline shard among its shard files (no
// shard may have an empty name).
const memInlineName = ""

type memBucket struct {
	info     storagenode.BucketInfo
	objects  map[string]*storagenode.ObjectMeta
	keys     []string // keys of objects, sorted
	uploads  map[string]*memUpload
	versions map[string]map[string][]byte // versionDir -> name -> committed bytes (immutable)
	// trash keeps deleted versions readable for memDeleteGrace, as
	// LocalDrive's trash does (OpenShard looks there last).
	trash map[string]memTrashed
}

type memTrashed struct {
	files map[string][]byte
	at    time.Time
}

// memDeleteGrace is how long a deleted version stays readable.
const memDeleteGrace = 15 * time.Minute

type memUpload struct {
	meta  *storagenode.UploadMeta
	parts map[int]*storagenode.PartMeta
}

var _ storagenode.Drive = (*MemDrive)(nil)

// NewMem returns an empty in-memory drive with the given ID.
func NewMem(id string) *MemDrive {
	return &MemDrive{id: id, buckets: make(map[string]*memBucket)}
}

// ID returns the drive's identity.
func (d *MemDrive) ID() string { return d.id }

// Close makes later calls fail with ErrDriveOffline; a second Close returns nil.
func (d *MemDrive) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// lock takes the drive lock (exclusive when write) after checking ctx and
// the closed flag; the caller must call the returned unlock.
func (d *MemDrive) lock(ctx context.Context, write bool) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storagenode: drive %s: %w", d.id, err)
	}
	if write {
		d.mu.Lock()
		unlock = d.mu.Unlock
	} else {
		d.mu.RLock()
		unlock = d.mu.RUnlock
	}
	if d.closed {
		unlock()
		return nil, fmt.Errorf("storagenode: drive %s: %w", d.id, storagenode.ErrDriveOffline)
	}
	return unlock, nil
}

func (d *MemDrive) bucket(bucket, op string) (*memBucket, error) {
	b := d.buckets[bucket]
	if b == nil {
		return nil, fmt.Errorf("storagenode: %s: %s: %w", op, bucket, storagenode.ErrBucketNotFound)
	}
	return b, nil
}

func (d *MemDrive) MakeBucket(ctx context.Context, bucket string, created time.Time) error {
	if err := storagenode.CheckBucket(bucket); err != nil {
		return err
	}
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	if d.buckets[bucket] != nil {
		return fmt.Errorf("storagenode: make bucket %s: %w", bucket, storagenode.ErrBucketExists)
	}
	d.buckets[bucket] = &memBucket{
		info:     storagenode.BucketInfo{Name: bucket, Created: created},
		objects:  make(map[string]*storagenode.ObjectMeta),
		uploads:  make(map[string]*memUpload),
		versions: make(map[string]map[string][]byte),
	}
	return nil
}

func (d *MemDrive) DeleteBucket(ctx context.Context, bucket string) error {
	if err := storagenode.CheckBucket(bucket); err != nil {
		return err
	}
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := d.bucket(bucket, "delete bucket"); err != nil {
		return err
	}
	delete(d.buckets, bucket)
	return nil
}

func (d *MemDrive) StatBucket(ctx context.Context, bucket string) (storagenode.BucketInfo, error) {
	if err := storagenode.CheckBucket(bucket); err != nil {
		return storagenode.BucketInfo{}, err
	}
	unlock, err := d.lock(ctx, false)
	if err != nil {
		return storagenode.BucketInfo{}, err
	}
	defer unlock()
	b, err := d.bucket(bucket, "stat bucket")
	if err != nil {
		return storagenode.BucketInfo{}, err
	}
	return b.info, nil
}

func (d *MemDrive) ListBuckets(ctx context.Context) ([]storagenode.BucketInfo, error) {
	unlock, err := d.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []storagenode.BucketInfo
	for _, b := range d.buckets {
		out = append(out, b.info)
	}
	slices.SortFunc(out, func(a, b storagenode.BucketInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (d *MemDrive) CreateShard(ctx context.Context, ref storagenode.ShardRef) (storagenode.ShardWriter, error) {
	if err := storagenode.CheckRef(ref); err != nil {
		return nil, err
	}
	unlock, err := d.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := d.bucket(ref.Bucket, "create shard"); err != nil {
		return nil, err
	}
	return &memShardWriter{d: d, ref: ref}, nil
}

type memShardWriter struct {
	d    *MemDrive
	ref  storagenode.ShardRef
	buf  bytes.Buffer
	done bool
}

func (w *memShardWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("storagenode: write shard %s: %w", w.ref, fs.ErrClosed)
	}
	return w.buf.Write(p)
}

func (w *memShardWriter) Commit(ctx context.Context) error {
	if w.done {
		return fmt.Errorf("storagenode: commit shard %s: %w", w.ref, fs.ErrClosed)
	}
	w.done = true
	data := w.buf.Bytes()
	w.buf = bytes.Buffer{}
	unlock, err := w.d.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	b, err := w.d.bucket(w.ref.Bucket, "commit shard")
	if err != nil {
		return err
	}
	v := b.versions[w.ref.VersionDir]
	if v == nil {
		v = make(map[string][]byte)
		b.versions[w.ref.VersionDir] = v
	}
	v[w.ref.Name] = data
	return nil
}

func (w *memShardWriter) Abort() error {
	w.done = true
	w.buf = bytes.Buffer{}
	return nil
}

func (d *MemDrive) OpenShard(ctx context.Context, ref storagenode.ShardRef) (storagenode.ShardReader, error) {
	if err := storagenode.CheckRef(ref); err != nil {
		return nil, err
	}
	unlock, err := d.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var data []byte
	ok := false
	if b := d.buckets[ref.Bucket]; b != nil {
		data, ok = b.versions[ref.VersionDir][ref.Name]
		if !ok {
			data, ok = b.trash[ref.VersionDir].files[ref.Name]
		}
	}
	if !ok {
		return nil, fmt.Errorf("storagenode: open shard %s: %w", ref, storagenode.ErrShardNotFound)
	}
	return memShardReader{bytes.NewReader(data)}, nil
}

type memShardReader struct{ *bytes.Reader }

func (memShardReader) Close() error { return nil }

func (d *MemDrive) DeleteShard(ctx context.Context, ref storagenode.ShardRef) error {
	if err := storagenode.CheckRef(ref); err != nil {
		return err
	}
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	if b := d.buckets[ref.Bucket]; b != nil && b.versions[ref.VersionDir] != nil {
		delete(b.versions[ref.VersionDir], ref.Name)
	}
	return nil
}

// DeleteVersion removes a version directory's shards.
func (d *MemDrive) DeleteVersion(ctx context.Context, bucket, versionDir string) error {
	if err := storagenode.CheckVersionDir(bucket, versionDir); err != nil {
		return err
	}
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	if b := d.buckets[bucket]; b != nil {
		now := time.Now()
		for dir, tr := range b.trash {
			if now.Sub(tr.at) > memDeleteGrace {
				delete(b.trash, dir)
			}
		}
		if files := b.versions[versionDir]; files != nil {
			if b.trash == nil {
				b.trash = map[string]memTrashed{}
			}
			b.trash[versionDir] = memTrashed{files: files, at: now}
		}
		delete(b.versions, versionDir)
	}
	return nil
}

func (d *MemDrive) PutMeta(ctx context.Context, m *storagenode.ObjectMeta) (*storagenode.ObjectMeta, error) {
	return d.putMeta(ctx, m, nil)
}

// PutMetaIf stores m only if the stored record's version is expect.
func (d *MemDrive) PutMetaIf(ctx context.Context, m *storagenode.ObjectMeta, expect string) (*storagenode.ObjectMeta, error) {
	return d.putMeta(ctx, m, &expect)
}

func (d *MemDrive) putMeta(ctx context.Context, m *storagenode.ObjectMeta, expect *string) (*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckMeta(m); err != nil {
		return nil, err
	}
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	b, err := d.bucket(m.Bucket, "put meta")
	if err != nil {
		return nil, err
	}
	prev := b.objects[m.Key]
	if err := checkExpect(m, prev, expect); err != nil {
		return nil, err
	}
	if prev != nil && prev.Newer(m) {
		return nil, fmt.Errorf("storagenode: put meta %s/%s: version %s of %s: %w",
			m.Bucket, m.Key, m.VersionID, m.ModTime.Format(time.RFC3339Nano), storagenode.ErrStale)
	}
	if prev == nil {
		i, _ := slices.BinarySearch(b.keys, m.Key)
		b.keys = slices.Insert(b.keys, i, m.Key)
	}
	if tr, ok := b.trash[m.DataDir]; ok && !m.InlineData && b.versions[m.DataDir] == nil {
		// A record names a deleted version again: its files come back
		// (as LocalDrive's trash.restore).
		b.versions[m.DataDir] = tr.files
		delete(b.trash, m.DataDir)
	}
	stored := m.Clone()
	if m.InlineData && m.Inline != nil {
		if b.versions[m.DataDir] == nil {
			b.versions[m.DataDir] = map[string][]byte{}
		}
		b.versions[m.DataDir][memInlineName] = stored.Inline
	}
	stored.Inline = nil
	b.objects[m.Key] = stored
	return header(prev), nil
}

func (d *MemDrive) GetMeta(ctx context.Context, bucket, key string) (*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckKey(bucket, key); err != nil {
		return nil, err
	}
	unlock, err := d.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	b, err := d.bucket(bucket, "get meta")
	if err != nil {
		return nil, err
	}
	m := b.objects[key]
	if m == nil {
		return nil, fmt.Errorf("storagenode: get meta %s/%s: %w", bucket, key, storagenode.ErrObjectNotFound)
	}
	c := m.Clone()
	if m.InlineData {
		c.Inline = slices.Clone(b.versions[m.DataDir][memInlineName])
	}
	return c, nil
}

func (d *MemDrive) DeleteMeta(ctx context.Context, bucket, key, versionID string) (*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckKey(bucket, key); err != nil {
		return nil, err
	}
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	b, err := d.bucket(bucket, "delete meta")
	if err != nil {
		return nil, err
	}
	m := b.objects[key]
	if m == nil || (versionID != "" && m.VersionID != versionID) {
		return nil, fmt.Errorf("storagenode: delete meta %s/%s version %q: %w", bucket, key, versionID, storagenode.ErrObjectNotFound)
	}
	delete(b.objects, key)
	if i, ok := slices.BinarySearch(b.keys, key); ok {
		b.keys = slices.Delete(b.keys, i, i+1)
	}
	return header(m), nil
}

func (d *MemDrive) ListMeta(ctx context.Context, bucket, prefix, after string, limit int) ([]*storagenode.ObjectMeta, error) {
	return memList(ctx, d, bucket, prefix, after, limit, "list meta", header)
}

func (d *MemDrive) ListEntries(ctx context.Context, bucket, prefix, after string, limit int) ([]storagenode.ObjectEntry, error) {
	return memList(ctx, d, bucket, prefix, after, limit, "list entries", func(m *storagenode.ObjectMeta) storagenode.ObjectEntry {
		e := m.Entry()
		e.UserMeta = maps.Clone(e.UserMeta)
		return e
	})
}

// memList is ListMeta and ListEntries: up to limit records of bucket whose
// keys start with prefix and come after after, in key order, each made into
// a T by conv under the drive's read lock.
func memList[T any](ctx context.Context, d *MemDrive, bucket, prefix, after string, limit int, op string, conv func(*storagenode.ObjectMeta) T) ([]T, error) {
	if err := storagenode.CheckBucket(bucket); err != nil {
		return nil, err
	}
	unlock, err := d.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	b, err := d.bucket(bucket, op)
	if err != nil {
		return nil, err
	}
	start := prefix
	if after+"\x00" > start {
		start = after + "\x00"
	}
	out := make([]T, 0, min(max(limit, 0), 1024))
	for i := sort.SearchStrings(b.keys, start); i < len(b.keys) && (limit <= 0 || len(out) < limit); i++ {
		k := b.keys[i]
		if !strings.HasPrefix(k, prefix) {
			break
		}
		out = append(out, conv(b.objects[k]))
	}
	return out, nil
}

func (d *MemDrive) PutUpload(ctx context.Context, u *storagenode.UploadMeta) error {
	if err := storagenode.CheckUploadMeta(u); err != nil {
		return err
	}
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	b, err := d.bucket(u.Bucket, "put upload")
	if err != nil {
		return err
	}
	if cur := b.objects[u.Key]; cur != nil && cur.DataDir == u.UploadID {
		return fmt.Errorf("storagenode: put upload %s/%s: %w", u.Bucket, u.UploadID, storagenode.ErrUploadCompleted)
	}
	if mu := b.uploads[u.UploadID]; mu != nil {
		mu.meta = u.Clone()
	} else {
		b.uploads[u.UploadID] = &memUpload{meta: u.Clone(), parts: make(map[int]*storagenode.PartMeta)}
	}
	return nil
}

// upload finds an upload, failing with ErrBucketNotFound or ErrUploadNotFound.
func (d *MemDrive) upload(bucket, uploadID, op string) (*memUpload, *memBucket, error) {
	b, err := d.bucket(bucket, op)
	if err != nil {
		return nil, nil, err
	}
	u := b.uploads[uploadID]
	if u == nil {
		return nil, nil, fmt.Errorf("storagenode: %s %s/%s: %w", op, bucket, uploadID, storagenode.ErrUploadNotFound)
	}
	return u, b, nil
}

func (d *MemDrive) GetUpload(ctx context.Context, bucket, uploadID string) (*storagenode.UploadMeta, error) {
	if err := storagenode.CheckUpload(bucket, uploadID); err != nil {
		return nil, err
	}
	unlock, err := d.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	u, _, err := d.upload(bucket, uploadID, "get upload")
	if err != nil {
		return nil, err
	}
	return u.meta.Clone(), nil
}

func (d *MemDrive) DeleteUpload(ctx context.Context, bucket, uploadID string) error {
	if err := storagenode.CheckUpload(bucket, uploadID); err != nil {
		return err
	}
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	_, b, err := d.upload(bucket, uploadID, "delete upload")
	if err != nil {
		return err
	}
	delete(b.uploads, uploadID)
	return nil
}

func (d *MemDrive) ListUploads(ctx context.Context, bucket string) ([]*storagenode.UploadMeta, error) {
	if err := storagenode.CheckBucket(bucket); err != nil {
		return nil, err
	}
	unlock, err := d.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	b, err := d.bucket(bucket, "list uploads")
	if err != nil {
		return nil, err
	}
	var out []*storagenode.UploadMeta
	for _, u := range b.uploads {
		out = append(out, u.meta.Clone())
	}
	sortUploads(out)
	return out, nil
}

func (d *MemDrive) PutPart(ctx context.Context, bucket, uploadID string, p *storagenode.PartMeta) (*storagenode.PartMeta, error) {
	if err := storagenode.CheckUpload(bucket, uploadID); err != nil {
		return nil, err
	}
	if err := storagenode.CheckPart(p); err != nil {
		return nil, err
	}
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	u, _, err := d.upload(bucket, uploadID, "put part")
	if err != nil {
		return nil, err
	}
	prev := u.parts[p.Number]
	u.parts[p.Number] = p.Clone()
	return prev.Clone(), nil
}

func (d *MemDrive) ListParts(ctx context.Context, bucket, uploadID string) ([]*storagenode.PartMeta, error) {
	if err := storagenode.CheckUpload(bucket, uploadID); err != nil {
		return nil, err
	}
	unlock, err := d.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	u, _, err := d.upload(bucket, uploadID, "list parts")
	if err != nil {
		return nil, err
	}
	var out []*storagenode.PartMeta
	for _, p := range u.parts {
		out = append(out, p.Clone())
	}
	slices.SortFunc(out, func(a, b *storagenode.PartMeta) int { return a.Number - b.Number })
	return out, nil
}

// CompleteUpload stores m and retires the upload m.DataDir at once, then
// drops the upload's shards m.Parts leaves out.
func (d *MemDrive) CompleteUpload(ctx context.Context, m *storagenode.ObjectMeta, expect *string) (*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckMeta(m); err != nil {
		return nil, err
	}
	if err := storagenode.CheckUpload(m.Bucket, m.DataDir); err != nil {
		return nil, err
	}
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	b, err := d.bucket(m.Bucket, "complete upload")
	if err != nil {
		return nil, err
	}
	op := fmt.Sprintf("complete upload %s/%s (%s)", m.Bucket, m.DataDir, m.Key)
	prev := b.objects[m.Key]
	if b.uploads[m.DataDir] == nil {
		if prev != nil && prev.DataDir == m.DataDir {
			return nil, fmt.Errorf("storagenode: %s: %w", op, storagenode.ErrUploadCompleted)
		}
		return nil, fmt.Errorf("storagenode: %s: %w", op, storagenode.ErrUploadNotFound)
	}
	if err := checkExpect(m, prev, expect); err != nil {
		return nil, err
	}
	for _, p := range m.Parts {
		if have := b.uploads[m.DataDir].parts[p.Number]; have != nil && have.Name != p.Name {
			return nil, fmt.Errorf("storagenode: %s: part %d is now %s, not %s: %w", op, p.Number, have.Name, p.Name, storagenode.ErrPartReplaced)
		}
	}
	delete(b.uploads, m.DataDir)
	if prev != nil && prev.DataDir == m.DataDir {
		return nil, fmt.Errorf("storagenode: %s: %w", op, storagenode.ErrUploadCompleted)
	}
	if prev != nil && prev.Newer(m) {
		return nil, fmt.Errorf("storagenode: %s: version %s of %s: %w", op, m.VersionID, m.ModTime.Format(time.RFC3339Nano), storagenode.ErrStale)
	}
	if prev == nil {
		i, _ := slices.BinarySearch(b.keys, m.Key)
		b.keys = slices.Insert(b.keys, i, m.Key)
	}
	stored := m.Clone()
	stored.Inline, stored.InlineData = nil, false
	b.objects[m.Key] = stored
	if files := b.versions[m.DataDir]; files != nil {
		keep := map[string]bool{}
		for _, p := range m.Parts {
			keep[p.Name] = true
		}
		for name := range files {
			if !keep[name] {
				delete(files, name)
			}
		}
	}
	return header(prev), nil
}

// AbortUpload retires the upload's records, then drops its shards unless
// key's stored record names the upload's folder.
func (d *MemDrive) AbortUpload(ctx context.Context, bucket, key, uploadID string) error {
	if err := storagenode.CheckKey(bucket, key); err != nil {
		return err
	}
	if err := storagenode.CheckUpload(bucket, uploadID); err != nil {
		return err
	}
	unlock, err := d.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	b, err := d.bucket(bucket, "abort upload")
	if err != nil {
		return err
	}
	found := b.uploads[uploadID] != nil
	delete(b.uploads, uploadID)
	if cur := b.objects[key]; cur == nil || cur.DataDir != uploadID {
		delete(b.versions, uploadID)
	}
	if !found {
		return fmt.Errorf("storagenode: abort upload %s/%s (%s): %w", bucket, uploadID, key, storagenode.ErrUploadNotFound)
	}
	return nil
}
