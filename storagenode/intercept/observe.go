package intercept

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

// Operation classes an Observer sees.
const (
	ClassShardWrite = "shard_write" // a shard file written and committed
	ClassShardRead  = "shard_read"  // one ReadAt of a shard file
	ClassMetaWrite  = "meta_write"  // PutMeta, PutMetaIf, DeleteMeta, upload and part records
	ClassMetaRead   = "meta_read"   // GetMeta, GetUpload, ListParts
	ClassList       = "list"        // ListMeta, ListEntries, ListUploads, ListBuckets
	ClassOther      = "other"       // buckets, deletes of shard files
)

// classes maps each operation to the class an Observer sees; "" is not
// observed (Close, DiskInfo, Ping).
var classes = [numOps]string{
	OpMakeBucket: ClassOther, OpDeleteBucket: ClassOther, OpStatBucket: ClassMetaRead, OpListBuckets: ClassList,
	OpCreateShard: ClassShardWrite, OpOpenShard: ClassShardRead, OpDeleteVersion: ClassOther, OpDeleteShard: ClassOther,
	OpPutMeta: ClassMetaWrite, OpPutMetaIf: ClassMetaWrite, OpGetMeta: ClassMetaRead, OpDeleteMeta: ClassMetaWrite,
	OpListMeta: ClassList, OpListEntries: ClassList, OpListVersions: ClassList, OpGetVersion: ClassMetaRead,
	OpPutUpload: ClassMetaWrite, OpGetUpload: ClassMetaRead, OpDeleteUpload: ClassMetaWrite, OpCompleteUpload: ClassMetaWrite,
	OpAbortUpload: ClassMetaWrite, OpListUploads: ClassList, OpPutPart: ClassMetaWrite, OpListParts: ClassMetaRead,
}

// Observer is told about every call an observed drive makes: the operation
// class, how long it took, the shard bytes moved and whether it failed
// because of the drive (IsDriveError).
type Observer func(drive, class string, took time.Duration, bytes int64, failed bool)

// IsDriveError reports whether err says something is wrong with a drive,
// rather than answering a question (not found, stale, conflict, bucket
// exists) or being cancelled by the caller.
func IsDriveError(err error) bool {
	switch {
	case err == nil,
		errors.Is(err, storagenode.ErrBucketNotFound), errors.Is(err, storagenode.ErrBucketExists),
		errors.Is(err, storagenode.ErrObjectNotFound), errors.Is(err, storagenode.ErrUploadNotFound),
		errors.Is(err, storagenode.ErrShardNotFound), errors.Is(err, storagenode.ErrStale),
		errors.Is(err, storagenode.ErrConflict), errors.Is(err, storagenode.ErrInvalidName),
		errors.Is(err, context.Canceled):
		return false
	}
	return true
}

// Observe wraps d so that obs sees every call. The wrapper keeps d's
// optional abilities (Online, DiskInfo, Ping), unobserved.
//
// A shard write is one ClassShardWrite, told at Commit (or at a failed
// CreateShard or Write): the time from create to commit and the bytes
// written. Every ReadAt of a shard is one ClassShardRead.
func Observe(d storagenode.Drive, obs Observer) storagenode.Drive {
	o := &observer{id: d.ID(), obs: obs}
	return Wrap(d, o)
}

type observer struct {
	id  string
	obs Observer
}

func (o *observer) note(class string, start time.Time, n int64, err error) {
	o.obs(o.id, class, time.Since(start), n, IsDriveError(err))
}

func (o *observer) Intercept(ctx context.Context, c *Call, next func(context.Context) error) error {
	class := classes[c.Op]
	if class == "" {
		return next(ctx)
	}
	start := time.Now()
	err := next(ctx)
	switch {
	case err == nil && c.Op == OpCreateShard:
		c.Writer = &observedWriter{ShardWriter: c.Writer, o: o, start: start}
	case err == nil && c.Op == OpOpenShard:
		c.Reader = &observedReader{ShardReader: c.Reader, o: o}
	default:
		o.note(class, start, 0, err)
	}
	return err
}

type observedWriter struct {
	storagenode.ShardWriter
	o      *observer
	start  time.Time
	n      int64
	failed bool
}

func (w *observedWriter) Write(p []byte) (int, error) {
	n, err := w.ShardWriter.Write(p)
	w.n += int64(n)
	if err != nil && !w.failed {
		w.failed = true
		w.o.note(ClassShardWrite, w.start, w.n, err)
	}
	return n, err
}

func (w *observedWriter) Commit(ctx context.Context) error {
	err := w.ShardWriter.Commit(ctx)
	if !w.failed {
		w.failed = err != nil
		w.o.note(ClassShardWrite, w.start, w.n, err)
	}
	return err
}

type observedReader struct {
	storagenode.ShardReader
	o *observer
}

func (r *observedReader) HintRange(off, end int64) { storagenode.HintRange(r.ShardReader, off, end) }

func (r *observedReader) ReadAt(p []byte, off int64) (int, error) {
	start := time.Now()
	n, err := r.ShardReader.ReadAt(p, off)
	seen := err
	if errors.Is(err, io.EOF) {
		seen = nil
	}
	r.o.note(ClassShardRead, start, int64(n), seen)
	return n, err
}
