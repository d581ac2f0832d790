package storagenode

import (
	"context"
	"errors"
	"io"
	"time"
)

// Operation classes an Observer sees.
const (
	OpShardWrite = "shard_write" // a shard file written and committed
	OpShardRead  = "shard_read"  // one ReadAt of a shard file
	OpMetaWrite  = "meta_write"  // PutMeta, PutMetaIf, DeleteMeta, upload and part records
	OpMetaRead   = "meta_read"   // GetMeta, GetUpload, ListParts
	OpList       = "list"        // ListMeta, ListEntries, ListUploads, ListBuckets
	OpOther      = "other"       // buckets, deletes of shard files
)

// Observer is told about every call an observed drive makes: the operation
// class, how long it took, the shard bytes moved and whether it failed
// because of the drive (IsDriveError).
type Observer func(drive, op string, took time.Duration, bytes int64, failed bool)

// IsDriveError reports whether err says something is wrong with a drive,
// rather than answering a question (not found, stale, conflict, bucket
// exists) or being cancelled by the caller.
func IsDriveError(err error) bool {
	switch {
	case err == nil,
		errors.Is(err, ErrBucketNotFound), errors.Is(err, ErrBucketExists),
		errors.Is(err, ErrObjectNotFound), errors.Is(err, ErrUploadNotFound),
		errors.Is(err, ErrShardNotFound), errors.Is(err, ErrStale),
		errors.Is(err, ErrConflict), errors.Is(err, ErrInvalidName),
		errors.Is(err, context.Canceled):
		return false
	}
	return true
}

// Observe wraps d so that obs sees every call. The wrapper keeps d's
// optional abilities (Online, DiskInfo, Ping).
func Observe(d Drive, obs Observer) Drive {
	return &observed{Drive: d, obs: obs}
}

type observed struct {
	Drive
	obs Observer
}

func (o *observed) note(op string, start time.Time, n int64, err error) {
	o.obs(o.Drive.ID(), op, time.Since(start), n, IsDriveError(err))
}

func observe0(o *observed, op string, fn func() error) error {
	start := time.Now()
	err := fn()
	o.note(op, start, 0, err)
	return err
}

func observe1[T any](o *observed, op string, fn func() (T, error)) (T, error) {
	start := time.Now()
	v, err := fn()
	o.note(op, start, 0, err)
	return v, err
}

// Online reports the inner drive's state (true when it cannot tell).
func (o *observed) Online() bool {
	if on, ok := o.Drive.(interface{ Online() bool }); ok {
		return on.Online()
	}
	return true
}

func (o *observed) DiskInfo(ctx context.Context) (DiskInfo, error) { return DiskInfoOf(ctx, o.Drive) }

func (o *observed) Ping(ctx context.Context) error {
	if p, ok := o.Drive.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	_, err := o.Drive.ListBuckets(ctx)
	return err
}

func (o *observed) MakeBucket(ctx context.Context, bucket string, created time.Time) error {
	return observe0(o, OpOther, func() error { return o.Drive.MakeBucket(ctx, bucket, created) })
}
func (o *observed) DeleteBucket(ctx context.Context, bucket string) error {
	return observe0(o, OpOther, func() error { return o.Drive.DeleteBucket(ctx, bucket) })
}
func (o *observed) StatBucket(ctx context.Context, bucket string) (BucketInfo, error) {
	return observe1(o, OpMetaRead, func() (BucketInfo, error) { return o.Drive.StatBucket(ctx, bucket) })
}
func (o *observed) ListBuckets(ctx context.Context) ([]BucketInfo, error) {
	return observe1(o, OpList, func() ([]BucketInfo, error) { return o.Drive.ListBuckets(ctx) })
}
func (o *observed) DeleteVersion(ctx context.Context, bucket, dir string) error {
	return observe0(o, OpOther, func() error { return o.Drive.DeleteVersion(ctx, bucket, dir) })
}
func (o *observed) DeleteShard(ctx context.Context, ref ShardRef) error {
	return observe0(o, OpOther, func() error { return o.Drive.DeleteShard(ctx, ref) })
}
func (o *observed) PutMeta(ctx context.Context, m *ObjectMeta) (*ObjectMeta, error) {
	return observe1(o, OpMetaWrite, func() (*ObjectMeta, error) { return o.Drive.PutMeta(ctx, m) })
}
func (o *observed) PutMetaIf(ctx context.Context, m *ObjectMeta, expect string) (*ObjectMeta, error) {
	return observe1(o, OpMetaWrite, func() (*ObjectMeta, error) { return o.Drive.PutMetaIf(ctx, m, expect) })
}
func (o *observed) GetMeta(ctx context.Context, bucket, key string) (*ObjectMeta, error) {
	return observe1(o, OpMetaRead, func() (*ObjectMeta, error) { return o.Drive.GetMeta(ctx, bucket, key) })
}
func (o *observed) DeleteMeta(ctx context.Context, bucket, key, versionID string) (*ObjectMeta, error) {
	return observe1(o, OpMetaWrite, func() (*ObjectMeta, error) { return o.Drive.DeleteMeta(ctx, bucket, key, versionID) })
}
func (o *observed) ListMeta(ctx context.Context, bucket, prefix, after string, limit int) ([]*ObjectMeta, error) {
	return observe1(o, OpList, func() ([]*ObjectMeta, error) { return o.Drive.ListMeta(ctx, bucket, prefix, after, limit) })
}
func (o *observed) ListEntries(ctx context.Context, bucket, prefix, after string, limit int) ([]ObjectEntry, error) {
	return observe1(o, OpList, func() ([]ObjectEntry, error) { return o.Drive.ListEntries(ctx, bucket, prefix, after, limit) })
}
func (o *observed) PutUpload(ctx context.Context, u *UploadMeta) error {
	return observe0(o, OpMetaWrite, func() error { return o.Drive.PutUpload(ctx, u) })
}
func (o *observed) GetUpload(ctx context.Context, bucket, uploadID string) (*UploadMeta, error) {
	return observe1(o, OpMetaRead, func() (*UploadMeta, error) { return o.Drive.GetUpload(ctx, bucket, uploadID) })
}
func (o *observed) DeleteUpload(ctx context.Context, bucket, uploadID string) error {
	return observe0(o, OpMetaWrite, func() error { return o.Drive.DeleteUpload(ctx, bucket, uploadID) })
}
func (o *observed) CompleteUpload(ctx context.Context, m *ObjectMeta, expect *string) (*ObjectMeta, error) {
	return observe1(o, OpMetaWrite, func() (*ObjectMeta, error) { return o.Drive.CompleteUpload(ctx, m, expect) })
}
func (o *observed) AbortUpload(ctx context.Context, bucket, key, uploadID string) error {
	return observe0(o, OpMetaWrite, func() error { return o.Drive.AbortUpload(ctx, bucket, key, uploadID) })
}
func (o *observed) ListUploads(ctx context.Context, bucket string) ([]*UploadMeta, error) {
	return observe1(o, OpList, func() ([]*UploadMeta, error) { return o.Drive.ListUploads(ctx, bucket) })
}
func (o *observed) PutPart(ctx context.Context, bucket, uploadID string, p *PartMeta) (*PartMeta, error) {
	return observe1(o, OpMetaWrite, func() (*PartMeta, error) { return o.Drive.PutPart(ctx, bucket, uploadID, p) })
}
func (o *observed) ListParts(ctx context.Context, bucket, uploadID string) ([]*PartMeta, error) {
	return observe1(o, OpMetaRead, func() ([]*PartMeta, error) { return o.Drive.ListParts(ctx, bucket, uploadID) })
}

// CreateShard's writer reports one shard_write at Commit (or at a failed
// Write): the time from create to commit and the bytes written.
func (o *observed) CreateShard(ctx context.Context, ref ShardRef) (ShardWriter, error) {
	start := time.Now()
	w, err := o.Drive.CreateShard(ctx, ref)
	if err != nil {
		o.note(OpShardWrite, start, 0, err)
		return nil, err
	}
	return &observedWriter{ShardWriter: w, o: o, start: start}, nil
}

func (o *observed) OpenShard(ctx context.Context, ref ShardRef) (ShardReader, error) {
	start := time.Now()
	r, err := o.Drive.OpenShard(ctx, ref)
	if err != nil {
		o.note(OpShardRead, start, 0, err)
		return nil, err
	}
	return &observedReader{ShardReader: r, o: o}, nil
}

type observedWriter struct {
	ShardWriter
	o      *observed
	start  time.Time
	n      int64
	failed bool
}

func (w *observedWriter) Write(p []byte) (int, error) {
	n, err := w.ShardWriter.Write(p)
	w.n += int64(n)
	if err != nil && !w.failed {
		w.failed = true
		w.o.note(OpShardWrite, w.start, w.n, err)
	}
	return n, err
}

func (w *observedWriter) Commit(ctx context.Context) error {
	err := w.ShardWriter.Commit(ctx)
	if !w.failed {
		w.failed = err != nil
		w.o.note(OpShardWrite, w.start, w.n, err)
	}
	return err
}

type observedReader struct {
	ShardReader
	o *observed
}

func (r *observedReader) ReadAt(p []byte, off int64) (int, error) {
	start := time.Now()
	n, err := r.ShardReader.ReadAt(p, off)
	seen := err
	if errors.Is(err, io.EOF) {
		seen = nil
	}
	r.o.note(OpShardRead, start, int64(n), seen)
	return n, err
}
