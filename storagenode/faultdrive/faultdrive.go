package faultdrive

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/intercept"
)

// ReadFault intercepts a shard read on a faulty Drive. It receives the
// result of the real ReadAt (p[:n] filled, err) and returns the result the
// caller sees; it may change the bytes of p to simulate bit rot, or return
// an error to simulate a failing disk.
type ReadFault func(ref storagenode.ShardRef, p []byte, off int64, n int, err error) (int, error)

// Drive wraps a storagenode.Drive and injects faults: the whole drive going
// offline, a full disk, a read-only file system, and failing or corrupted
// shard reads. With no fault set it behaves exactly like the drive it
// wraps. Its faults are an interceptor over the generic forwarder
// (package intercept), so every Drive method sees them.
type Drive struct {
	*intercept.Drive
	offline atomic.Bool
	full    atomic.Bool
	rdonly  atomic.Bool // SetReadOnly
	mu      sync.Mutex
	read    ReadFault
}

var _ storagenode.Drive = (*Drive)(nil)

// New wraps d.
func New(d storagenode.Drive) *Drive {
	f := &Drive{}
	f.Drive = intercept.Wrap(d, (*faults)(f))
	return f
}

// Replace puts d in place of the wrapped drive (a disk wiped and
// replaced), keeping the faults set. Not safe while calls are running.
func (f *Drive) Replace(d storagenode.Drive) { f.Drive = intercept.Wrap(d, (*faults)(f)) }

// SetOffline makes every call (including reads and writes on shards opened
// before) fail with ErrDriveOffline while on is true.
func (f *Drive) SetOffline(on bool) { f.offline.Store(on) }

// SetReadFault installs fn on every shard read (nil removes it), including
// readers opened before.
func (f *Drive) SetReadFault(fn ReadFault) {
	f.mu.Lock()
	f.read = fn
	f.mu.Unlock()
}

func (f *Drive) readFault() ReadFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.read
}

// SetDiskFull makes every call that writes to the disk (deletes included,
// as on a disk with 0 bytes free) fail with ErrDiskFull while on is true;
// reads go on.
func (f *Drive) SetDiskFull(on bool) { f.full.Store(on) }

// SetReadOnly makes the drive report itself read-only in DiskInfo while on
// is true, as a drive whose file system was remounted read-only does.
// Writes are not refused by this fault alone.
func (f *Drive) SetReadOnly(on bool) { f.rdonly.Store(on) }

// Online reports whether the drive is not set offline (as a circuit
// breaker would after its first failure).
func (f *Drive) Online() bool { return !f.offline.Load() }

func (f *Drive) check() error {
	if f.offline.Load() {
		return fmt.Errorf("storagenode: drive %s (fault injected): %w", f.ID(), storagenode.ErrDriveOffline)
	}
	return nil
}

// checkWrite is check for calls that write to the disk.
func (f *Drive) checkWrite() error {
	if err := f.check(); err != nil {
		return err
	}
	if f.full.Load() {
		return fmt.Errorf("storagenode: drive %s (fault injected): no space left on device: %w", f.ID(), storagenode.ErrDiskFull)
	}
	return nil
}

// faults is the Drive's interceptor.
type faults Drive

func (x *faults) Intercept(ctx context.Context, c *intercept.Call, next func(context.Context) error) error {
	f := (*Drive)(x)
	if c.Op == intercept.OpClose { // closes the wrapped drive, even when offline
		return next(ctx)
	}
	check := f.check
	if c.Op.Writes() {
		check = f.checkWrite
	}
	if err := check(); err != nil {
		return err
	}
	if err := next(ctx); err != nil {
		return err
	}
	switch c.Op {
	case intercept.OpCreateShard:
		c.Writer = &writer{f: f, w: c.Writer}
	case intercept.OpOpenShard:
		c.Reader = &reader{f: f, ref: c.Ref, r: c.Reader}
	case intercept.OpDiskInfo:
		if f.rdonly.Load() {
			c.Info.ReadOnly = true
		}
	}
	return nil
}

// Online answers for the forwarder.
func (x *faults) Online() bool { return (*Drive)(x).Online() }

type writer struct {
	f *Drive
	w storagenode.ShardWriter
}

func (w *writer) Write(p []byte) (int, error) {
	if err := w.f.checkWrite(); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}

func (w *writer) Commit(ctx context.Context) error {
	if err := w.f.checkWrite(); err != nil {
		_ = w.w.Abort()
		return err
	}
	return w.w.Commit(ctx)
}

func (w *writer) Abort() error { return w.w.Abort() }

type reader struct {
	f   *Drive
	ref storagenode.ShardRef
	r   storagenode.ShardReader
}

func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if err := r.f.check(); err != nil {
		return 0, err
	}
	n, err := r.r.ReadAt(p, off)
	if fn := r.f.readFault(); fn != nil {
		n, err = fn(r.ref, p, off, n, err)
	}
	return n, err
}

func (r *reader) HintRange(off, end int64) { storagenode.HintRange(r.r, off, end) }
func (r *reader) Close() error             { return r.r.Close() }
func (r *reader) Size() int64              { return r.r.Size() }
