package intercept

import (
	"context"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

// Op names one operation of a storagenode.Drive (and of its optional
// abilities DiskInfo and Ping). Its String is the method's name.
type Op uint8

// The operations, one per method of storagenode.Drive but ID (a drive's
// identity is not a call), plus the optional DiskInfo and Ping. TestOps
// fails when a method of Drive has no Op here.
const (
	OpMakeBucket Op = iota
	OpDeleteBucket
	OpStatBucket
	OpListBuckets
	OpCreateShard
	OpOpenShard
	OpDeleteVersion
	OpDeleteShard
	OpPutMeta
	OpPutMetaIf
	OpRewriteMeta
	OpGetMeta
	OpDeleteMeta
	OpListMeta
	OpListEntries
	OpGetVersion
	OpListVersions
	OpPutUpload
	OpGetUpload
	OpDeleteUpload
	OpCompleteUpload
	OpAbortUpload
	OpListUploads
	OpPutPart
	OpListParts
	OpClose
	OpDiskInfo
	OpPing
	numOps
)

var opInfo = [numOps]struct {
	name   string
	writes bool
}{
	OpMakeBucket:     {"MakeBucket", true},
	OpDeleteBucket:   {"DeleteBucket", true},
	OpStatBucket:     {"StatBucket", false},
	OpListBuckets:    {"ListBuckets", false},
	OpCreateShard:    {"CreateShard", true},
	OpOpenShard:      {"OpenShard", false},
	OpDeleteVersion:  {"DeleteVersion", true},
	OpDeleteShard:    {"DeleteShard", true},
	OpPutMeta:        {"PutMeta", true},
	OpPutMetaIf:      {"PutMetaIf", true},
	OpRewriteMeta:    {"RewriteMeta", true},
	OpGetMeta:        {"GetMeta", false},
	OpDeleteMeta:     {"DeleteMeta", true},
	OpListMeta:       {"ListMeta", false},
	OpListEntries:    {"ListEntries", false},
	OpGetVersion:     {"GetVersion", false},
	OpListVersions:   {"ListVersions", false},
	OpPutUpload:      {"PutUpload", true},
	OpGetUpload:      {"GetUpload", false},
	OpDeleteUpload:   {"DeleteUpload", true},
	OpCompleteUpload: {"CompleteUpload", true},
	OpAbortUpload:    {"AbortUpload", true},
	OpListUploads:    {"ListUploads", false},
	OpPutPart:        {"PutPart", true},
	OpListParts:      {"ListParts", false},
	OpClose:          {"Close", false},
	OpDiskInfo:       {"DiskInfo", false},
	OpPing:           {"Ping", false},
}

// String returns the name of the Drive method.
func (o Op) String() string {
	if o < numOps {
		return opInfo[o].name
	}
	return "Op(?)"
}

// Writes reports whether the operation writes to the disk (deletes
// included).
func (o Op) Writes() bool { return o < numOps && opInfo[o].writes }

// Call is one call going through a forwarding Drive, as an Interceptor
// sees it.
type Call struct {
	Op Op
	// Ref is the shard of OpCreateShard, OpOpenShard and OpDeleteShard.
	Ref storagenode.ShardRef
	// Writer is what OpCreateShard's inner call returned, Reader what
	// OpOpenShard's did, and Info OpDiskInfo's answer, set when next
	// returned nil. An interceptor may replace them (to watch or fault a
	// shard stream, or to change the answer).
	Writer storagenode.ShardWriter
	Reader storagenode.ShardReader
	Info   storagenode.DiskInfo
}

// Interceptor runs around every call of a forwarding Drive: it calls next
// (the inner drive's method; at most once) or fails the call without it.
// An interceptor that also has a method Online() bool answers Online for
// the forwarding Drive.
type Interceptor interface {
	Intercept(ctx context.Context, c *Call, next func(context.Context) error) error
}

// Func is an Interceptor that is a function.
type Func func(ctx context.Context, c *Call, next func(context.Context) error) error

// Intercept calls f.
func (f Func) Intercept(ctx context.Context, c *Call, next func(context.Context) error) error {
	return f(ctx, c, next)
}

// Drive is the generic forwarder: a storagenode.Drive that passes every
// call to an inner drive through an Interceptor. It is the only type in
// the module that forwards Drive methods by hand, so a method added to
// Drive reaches every wrapper (metrics, breaker, faults) through it.
type Drive struct {
	inner storagenode.Drive
	i     Interceptor
}

var _ storagenode.Drive = (*Drive)(nil)
var _ storagenode.DiskInfoer = (*Drive)(nil)

// Wrap returns d with every call going through i.
func Wrap(d storagenode.Drive, i Interceptor) *Drive { return &Drive{inner: d, i: i} }

// Unwrap returns the inner drive.
func (f *Drive) Unwrap() storagenode.Drive { return f.inner }

// Innermost follows Unwrap from d to the drive at the bottom.
func Innermost(d storagenode.Drive) storagenode.Drive {
	for {
		u, ok := d.(interface{ Unwrap() storagenode.Drive })
		if !ok {
			return d
		}
		d = u.Unwrap()
	}
}

// ID is the inner drive's ID (not intercepted).
func (f *Drive) ID() string { return f.inner.ID() }

// Online asks the interceptor if it can tell, else the inner drive (true
// when neither can tell).
func (f *Drive) Online() bool {
	if on, ok := f.i.(interface{ Online() bool }); ok {
		return on.Online()
	}
	if on, ok := f.inner.(interface{ Online() bool }); ok {
		return on.Online()
	}
	return true
}

func (f *Drive) do(ctx context.Context, op Op, fn func(context.Context) error) error {
	return f.i.Intercept(ctx, &Call{Op: op}, fn)
}

func do1[T any](f *Drive, ctx context.Context, op Op, fn func(context.Context) (T, error)) (T, error) {
	var v T
	err := f.do(ctx, op, func(ctx context.Context) (err error) { v, err = fn(ctx); return err })
	return v, err
}

func (f *Drive) Close() error {
	return f.do(context.Background(), OpClose, func(context.Context) error { return f.inner.Close() })
}

// DiskInfo asks the inner drive (storagenode.DiskInfoOf).
func (f *Drive) DiskInfo(ctx context.Context) (storagenode.DiskInfo, error) {
	c := &Call{Op: OpDiskInfo}
	err := f.i.Intercept(ctx, c, func(ctx context.Context) (err error) {
		c.Info, err = storagenode.DiskInfoOf(ctx, f.inner)
		return err
	})
	if err != nil {
		return storagenode.DiskInfo{}, err
	}
	return c.Info, nil
}

// Ping pings the inner drive, or lists its buckets when it cannot be
// pinged.
func (f *Drive) Ping(ctx context.Context) error {
	return f.do(ctx, OpPing, func(ctx context.Context) error {
		if p, ok := f.inner.(interface{ Ping(context.Context) error }); ok {
			return p.Ping(ctx)
		}
		_, err := f.inner.ListBuckets(ctx)
		return err
	})
}

func (f *Drive) CreateShard(ctx context.Context, ref storagenode.ShardRef) (storagenode.ShardWriter, error) {
	c := &Call{Op: OpCreateShard, Ref: ref}
	err := f.i.Intercept(ctx, c, func(ctx context.Context) (err error) {
		c.Writer, err = f.inner.CreateShard(ctx, ref)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.Writer, nil
}

func (f *Drive) OpenShard(ctx context.Context, ref storagenode.ShardRef) (storagenode.ShardReader, error) {
	c := &Call{Op: OpOpenShard, Ref: ref}
	err := f.i.Intercept(ctx, c, func(ctx context.Context) (err error) {
		c.Reader, err = f.inner.OpenShard(ctx, ref)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.Reader, nil
}

// OpenShardSized is OpenShard for a shard of known size
// (storagenode.SizedOpener), intercepted as OpOpenShard.
func (f *Drive) OpenShardSized(ctx context.Context, ref storagenode.ShardRef, size int64) (storagenode.ShardReader, error) {
	c := &Call{Op: OpOpenShard, Ref: ref}
	err := f.i.Intercept(ctx, c, func(ctx context.Context) (err error) {
		c.Reader, err = storagenode.OpenShardSized(ctx, f.inner, ref, size)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.Reader, nil
}

func (f *Drive) DeleteShard(ctx context.Context, ref storagenode.ShardRef) error {
	return f.i.Intercept(ctx, &Call{Op: OpDeleteShard, Ref: ref}, func(ctx context.Context) error { return f.inner.DeleteShard(ctx, ref) })
}

func (f *Drive) DeleteVersion(ctx context.Context, bucket, versionDir string) error {
	return f.do(ctx, OpDeleteVersion, func(ctx context.Context) error { return f.inner.DeleteVersion(ctx, bucket, versionDir) })
}

func (f *Drive) MakeBucket(ctx context.Context, bucket string, created time.Time) error {
	return f.do(ctx, OpMakeBucket, func(ctx context.Context) error { return f.inner.MakeBucket(ctx, bucket, created) })
}

func (f *Drive) DeleteBucket(ctx context.Context, bucket string) error {
	return f.do(ctx, OpDeleteBucket, func(ctx context.Context) error { return f.inner.DeleteBucket(ctx, bucket) })
}

func (f *Drive) StatBucket(ctx context.Context, bucket string) (storagenode.BucketInfo, error) {
	return do1(f, ctx, OpStatBucket, func(ctx context.Context) (storagenode.BucketInfo, error) { return f.inner.StatBucket(ctx, bucket) })
}

func (f *Drive) ListBuckets(ctx context.Context) ([]storagenode.BucketInfo, error) {
	return do1(f, ctx, OpListBuckets, f.inner.ListBuckets)
}

func (f *Drive) PutMeta(ctx context.Context, m *storagenode.ObjectMeta) (*storagenode.ObjectMeta, error) {
	return do1(f, ctx, OpPutMeta, func(ctx context.Context) (*storagenode.ObjectMeta, error) { return f.inner.PutMeta(ctx, m) })
}

func (f *Drive) PutMetaIf(ctx context.Context, m *storagenode.ObjectMeta, expect string) (*storagenode.ObjectMeta, error) {
	return do1(f, ctx, OpPutMetaIf, func(ctx context.Context) (*storagenode.ObjectMeta, error) { return f.inner.PutMetaIf(ctx, m, expect) })
}

func (f *Drive) RewriteMeta(ctx context.Context, m *storagenode.ObjectMeta, layout int64) (*storagenode.ObjectMeta, error) {
	return do1(f, ctx, OpRewriteMeta, func(ctx context.Context) (*storagenode.ObjectMeta, error) { return f.inner.RewriteMeta(ctx, m, layout) })
}

func (f *Drive) GetMeta(ctx context.Context, bucket, key string) (*storagenode.ObjectMeta, error) {
	return do1(f, ctx, OpGetMeta, func(ctx context.Context) (*storagenode.ObjectMeta, error) { return f.inner.GetMeta(ctx, bucket, key) })
}

func (f *Drive) DeleteMeta(ctx context.Context, bucket, key, versionID string) (*storagenode.ObjectMeta, error) {
	return do1(f, ctx, OpDeleteMeta, func(ctx context.Context) (*storagenode.ObjectMeta, error) {
		return f.inner.DeleteMeta(ctx, bucket, key, versionID)
	})
}

func (f *Drive) ListMeta(ctx context.Context, bucket, prefix, after string, limit int) ([]*storagenode.ObjectMeta, error) {
	return do1(f, ctx, OpListMeta, func(ctx context.Context) ([]*storagenode.ObjectMeta, error) {
		return f.inner.ListMeta(ctx, bucket, prefix, after, limit)
	})
}

func (f *Drive) GetVersion(ctx context.Context, bucket, key, versionID string) (*storagenode.ObjectMeta, error) {
	return do1(f, ctx, OpGetVersion, func(ctx context.Context) (*storagenode.ObjectMeta, error) {
		return f.inner.GetVersion(ctx, bucket, key, versionID)
	})
}

func (f *Drive) ListVersions(ctx context.Context, bucket, prefix, afterKey, afterVersion string, limit int) ([]storagenode.ObjectEntry, error) {
	return do1(f, ctx, OpListVersions, func(ctx context.Context) ([]storagenode.ObjectEntry, error) {
		return f.inner.ListVersions(ctx, bucket, prefix, afterKey, afterVersion, limit)
	})
}

func (f *Drive) ListEntries(ctx context.Context, bucket, prefix, after string, limit int) ([]storagenode.ObjectEntry, error) {
	return do1(f, ctx, OpListEntries, func(ctx context.Context) ([]storagenode.ObjectEntry, error) {
		return f.inner.ListEntries(ctx, bucket, prefix, after, limit)
	})
}

func (f *Drive) PutUpload(ctx context.Context, u *storagenode.UploadMeta) error {
	return f.do(ctx, OpPutUpload, func(ctx context.Context) error { return f.inner.PutUpload(ctx, u) })
}

func (f *Drive) GetUpload(ctx context.Context, bucket, uploadID string) (*storagenode.UploadMeta, error) {
	return do1(f, ctx, OpGetUpload, func(ctx context.Context) (*storagenode.UploadMeta, error) {
		return f.inner.GetUpload(ctx, bucket, uploadID)
	})
}

func (f *Drive) DeleteUpload(ctx context.Context, bucket, uploadID string) error {
	return f.do(ctx, OpDeleteUpload, func(ctx context.Context) error { return f.inner.DeleteUpload(ctx, bucket, uploadID) })
}

func (f *Drive) CompleteUpload(ctx context.Context, m *storagenode.ObjectMeta, expect *string) (*storagenode.ObjectMeta, error) {
	return do1(f, ctx, OpCompleteUpload, func(ctx context.Context) (*storagenode.ObjectMeta, error) {
		return f.inner.CompleteUpload(ctx, m, expect)
	})
}

func (f *Drive) AbortUpload(ctx context.Context, bucket, key, uploadID string) error {
	return f.do(ctx, OpAbortUpload, func(ctx context.Context) error { return f.inner.AbortUpload(ctx, bucket, key, uploadID) })
}

func (f *Drive) ListUploads(ctx context.Context, bucket string) ([]*storagenode.UploadMeta, error) {
	return do1(f, ctx, OpListUploads, func(ctx context.Context) ([]*storagenode.UploadMeta, error) { return f.inner.ListUploads(ctx, bucket) })
}

func (f *Drive) PutPart(ctx context.Context, bucket, uploadID string, p *storagenode.PartMeta) (*storagenode.PartMeta, error) {
	return do1(f, ctx, OpPutPart, func(ctx context.Context) (*storagenode.PartMeta, error) {
		return f.inner.PutPart(ctx, bucket, uploadID, p)
	})
}

func (f *Drive) ListParts(ctx context.Context, bucket, uploadID string) ([]*storagenode.PartMeta, error) {
	return do1(f, ctx, OpListParts, func(ctx context.Context) ([]*storagenode.PartMeta, error) {
		return f.inner.ListParts(ctx, bucket, uploadID)
	})
}
