package storagenode

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ReadFault intercepts a shard read on a FaultyDrive. It receives the result
// of the real ReadAt (p[:n] filled, err) and returns the result the caller
// sees; it may change the bytes of p to simulate bit rot, or return an error
// to simulate a failing disk.
type ReadFault func(ref ShardRef, p []byte, off int64, n int, err error) (int, error)

// FaultyDrive wraps a Drive and injects faults: the whole drive going
// offline, a full disk, and failing or corrupted shard reads. With no fault
// set it behaves exactly like the drive it wraps.
type FaultyDrive struct {
	Drive
	offline atomic.Bool
	full    atomic.Bool
	rdonly  atomic.Bool // SetReadOnly
	mu      sync.Mutex
	read    ReadFault
}

var _ Drive = (*FaultyDrive)(nil)

// NewFaulty wraps d.
func NewFaulty(d Drive) *FaultyDrive { return &FaultyDrive{Drive: d} }

// SetOffline makes every call (including reads and writes on shards opened
// before) fail with ErrDriveOffline while on is true.
func (f *FaultyDrive) SetOffline(on bool) { f.offline.Store(on) }

// SetReadFault installs fn on every shard read (nil removes it), including
// readers opened before.
func (f *FaultyDrive) SetReadFault(fn ReadFault) {
	f.mu.Lock()
	f.read = fn
	f.mu.Unlock()
}

func (f *FaultyDrive) readFault() ReadFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.read
}

// SetDiskFull makes every call that writes to the disk (deletes included,
// as on a disk with 0 bytes free) fail with ErrDiskFull while on is true;
// reads go on.
func (f *FaultyDrive) SetDiskFull(on bool) { f.full.Store(on) }

func (f *FaultyDrive) check() error {
	if f.offline.Load() {
		return fmt.Errorf("storagenode: drive %s (fault injected): %w", f.Drive.ID(), ErrDriveOffline)
	}
	return nil
}

// checkWrite is check for calls that write to the disk.
func (f *FaultyDrive) checkWrite() error {
	if err := f.check(); err != nil {
		return err
	}
	if f.full.Load() {
		return fmt.Errorf("storagenode: drive %s (fault injected): no space left on device: %w", f.Drive.ID(), ErrDiskFull)
	}
	return nil
}

// Online reports whether the drive is not set offline (as a circuit
// breaker would after its first failure).
func (f *FaultyDrive) Online() bool { return !f.offline.Load() }

// Close closes the wrapped drive, even when offline.
func (f *FaultyDrive) Close() error { return f.Drive.Close() }

func (f *FaultyDrive) MakeBucket(ctx context.Context, bucket string, created time.Time) error {
	if err := f.checkWrite(); err != nil {
		return err
	}
	return f.Drive.MakeBucket(ctx, bucket, created)
}

func (f *FaultyDrive) DeleteBucket(ctx context.Context, bucket string) error {
	if err := f.checkWrite(); err != nil {
		return err
	}
	return f.Drive.DeleteBucket(ctx, bucket)
}

func (f *FaultyDrive) StatBucket(ctx context.Context, bucket string) (BucketInfo, error) {
	if err := f.check(); err != nil {
		return BucketInfo{}, err
	}
	return f.Drive.StatBucket(ctx, bucket)
}

func (f *FaultyDrive) ListBuckets(ctx context.Context) ([]BucketInfo, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.Drive.ListBuckets(ctx)
}

func (f *FaultyDrive) CreateShard(ctx context.Context, ref ShardRef) (ShardWriter, error) {
	if err := f.checkWrite(); err != nil {
		return nil, err
	}
	w, err := f.Drive.CreateShard(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &faultyWriter{f: f, w: w}, nil
}

type faultyWriter struct {
	f *FaultyDrive
	w ShardWriter
}

func (w *faultyWriter) Write(p []byte) (int, error) {
	if err := w.f.checkWrite(); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}

func (w *faultyWriter) Commit(ctx context.Context) error {
	if err := w.f.checkWrite(); err != nil {
		_ = w.w.Abort()
		return err
	}
	return w.w.Commit(ctx)
}

func (w *faultyWriter) Abort() error { return w.w.Abort() }

func (f *FaultyDrive) OpenShard(ctx context.Context, ref ShardRef) (ShardReader, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	r, err := f.Drive.OpenShard(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &faultyReader{f: f, ref: ref, r: r}, nil
}

type faultyReader struct {
	f   *FaultyDrive
	ref ShardRef
	r   ShardReader
}

func (r *faultyReader) ReadAt(p []byte, off int64) (int, error) {
	if err := r.f.check(); err != nil {
		return 0, err
	}
	n, err := r.r.ReadAt(p, off)
	if fn := r.f.readFault(); fn != nil {
		n, err = fn(r.ref, p, off, n, err)
	}
	return n, err
}

func (r *faultyReader) Close() error { return r.r.Close() }
func (r *faultyReader) Size() int64  { return r.r.Size() }

func (f *FaultyDrive) DeleteVersion(ctx context.Context, bucket, versionDir string) error {
	if err := f.checkWrite(); err != nil {
		return err
	}
	return f.Drive.DeleteVersion(ctx, bucket, versionDir)
}

func (f *FaultyDrive) DeleteShard(ctx context.Context, ref ShardRef) error {
	if err := f.checkWrite(); err != nil {
		return err
	}
	return f.Drive.DeleteShard(ctx, ref)
}

func (f *FaultyDrive) PutMetaIf(ctx context.Context, m *ObjectMeta, expect string) (*ObjectMeta, error) {
	if err := f.checkWrite(); err != nil {
		return nil, err
	}
	return f.Drive.PutMetaIf(ctx, m, expect)
}

func (f *FaultyDrive) PutMeta(ctx context.Context, m *ObjectMeta) (*ObjectMeta, error) {
	if err := f.checkWrite(); err != nil {
		return nil, err
	}
	return f.Drive.PutMeta(ctx, m)
}

func (f *FaultyDrive) GetMeta(ctx context.Context, bucket, key string) (*ObjectMeta, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.Drive.GetMeta(ctx, bucket, key)
}

func (f *FaultyDrive) DeleteMeta(ctx context.Context, bucket, key, versionID string) (*ObjectMeta, error) {
	if err := f.checkWrite(); err != nil {
		return nil, err
	}
	return f.Drive.DeleteMeta(ctx, bucket, key, versionID)
}

func (f *FaultyDrive) ListMeta(ctx context.Context, bucket, prefix, after string, limit int) ([]*ObjectMeta, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.Drive.ListMeta(ctx, bucket, prefix, after, limit)
}

func (f *FaultyDrive) ListEntries(ctx context.Context, bucket, prefix, after string, limit int) ([]ObjectEntry, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.Drive.ListEntries(ctx, bucket, prefix, after, limit)
}

func (f *FaultyDrive) PutUpload(ctx context.Context, u *UploadMeta) error {
	if err := f.checkWrite(); err != nil {
		return err
	}
	return f.Drive.PutUpload(ctx, u)
}

func (f *FaultyDrive) GetUpload(ctx context.Context, bucket, uploadID string) (*UploadMeta, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.Drive.GetUpload(ctx, bucket, uploadID)
}

func (f *FaultyDrive) DeleteUpload(ctx context.Context, bucket, uploadID string) error {
	if err := f.checkWrite(); err != nil {
		return err
	}
	return f.Drive.DeleteUpload(ctx, bucket, uploadID)
}

func (f *FaultyDrive) CompleteUpload(ctx context.Context, m *ObjectMeta, expect *string) (*ObjectMeta, error) {
	if err := f.checkWrite(); err != nil {
		return nil, err
	}
	return f.Drive.CompleteUpload(ctx, m, expect)
}

func (f *FaultyDrive) AbortUpload(ctx context.Context, bucket, key, uploadID string) error {
	if err := f.checkWrite(); err != nil {
		return err
	}
	return f.Drive.AbortUpload(ctx, bucket, key, uploadID)
}

func (f *FaultyDrive) ListUploads(ctx context.Context, bucket string) ([]*UploadMeta, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.Drive.ListUploads(ctx, bucket)
}

func (f *FaultyDrive) PutPart(ctx context.Context, bucket, uploadID string, p *PartMeta) (*PartMeta, error) {
	if err := f.checkWrite(); err != nil {
		return nil, err
	}
	return f.Drive.PutPart(ctx, bucket, uploadID, p)
}

func (f *FaultyDrive) ListParts(ctx context.Context, bucket, uploadID string) ([]*PartMeta, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.Drive.ListParts(ctx, bucket, uploadID)
}
