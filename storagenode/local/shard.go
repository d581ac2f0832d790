package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/ecstore/ecstore/storagenode"
)

// CreateShard opens a temporary file in tmp/ behind a write buffer. The
// bucket must exist (ErrBucketNotFound). Nothing is visible under the final
// name until Commit, which checks the bucket again.
func (d *Drive) CreateShard(ctx context.Context, ref storagenode.ShardRef) (storagenode.ShardWriter, error) {
	if err := d.startWrite(ctx, storagenode.CheckRef(ref), false); err != nil {
		return nil, err
	}
	defer d.leave()
	if err := d.bucketMissing(d.db, ref.Bucket, "create shard"); err != nil {
		return nil, err
	}
	if d.direct {
		f, name, err := createFile(d.tmp, "shard-*")
		if err != nil {
			return nil, errf(err, "create shard %s", ref)
		}
		dw := &directWriter{f: f, buf: d.dbufs.get()}
		return &shardWriter{d: d, ref: ref, f: f, name: name, dw: dw}, nil
	}
	f, name, err := createTemp(d.fs, d.tmp, "shard-*")
	if err != nil {
		return nil, errf(err, "create shard %s", ref)
	}
	var fw io.Writer = f
	if d.fs != vfs.Default {
		fw = &copyWriter{w: f}
	}
	bw, _ := d.bufs.Get().(*bufio.Writer)
	if bw == nil {
		bw = bufio.NewWriterSize(fw, d.opts.WriteBufferSize)
	} else {
		bw.Reset(fw)
	}
	return &shardWriter{d: d, ref: ref, f: f, name: name, bw: bw}, nil
}

// localShardWriter writes one shard file. Not safe for concurrent use.
type shardWriter struct {
	d    *Drive
	ref  storagenode.ShardRef
	f    tempFile
	name string        // the temporary file's
	shut bool          // f is closed (a second Close panics on the in-memory file system)
	bw   *bufio.Writer // in front of f; or
	dw   *directWriter // f was opened with O_DIRECT (Drive.direct)
	err  error         // first write error; sticky
	done bool          // committed or aborted
}

func (w *shardWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("storagenode: write shard %s: %w", w.ref, fs.ErrClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	var n int
	var err error
	if w.dw != nil {
		n, err = w.dw.Write(p)
	} else {
		n, err = w.bw.Write(p)
	}
	if err != nil {
		w.err = errf(err, "write shard %s", w.ref)
	}
	return n, w.err
}

// Commit flushes and fsyncs the file, renames it to
// data/<bucket>/<versionDir>/<name> (replacing a file of that name) and
// fsyncs the directories it changed. On failure the temporary file is
// removed and the writer is done.
func (w *shardWriter) Commit(ctx context.Context) error {
	if w.done {
		return fmt.Errorf("storagenode: commit shard %s: %w", w.ref, fs.ErrClosed)
	}
	err := w.commit(ctx)
	if err != nil {
		_ = w.Abort()
	}
	return err
}

func (w *shardWriter) commit(ctx context.Context) error {
	if w.err != nil {
		return w.err
	}
	var err error
	if w.dw != nil {
		err = w.dw.finish()
	} else {
		err = w.bw.Flush()
	}
	if err != nil {
		return errf(err, "commit shard %s", w.ref)
	}
	w.release()
	if err := w.f.Sync(); err != nil {
		return errf(err, "commit shard %s", w.ref)
	}
	w.shut = true
	if err := w.f.Close(); err != nil {
		return errf(err, "commit shard %s", w.ref)
	}
	d := w.d
	if err := d.enter(ctx); err != nil {
		return err
	}
	defer d.leave()
	bl := d.buckets.get(w.ref.Bucket)
	bl.RLock()
	defer bl.RUnlock()
	if err := d.bucketMissing(d.db, w.ref.Bucket, "commit shard"); err != nil {
		return err
	}
	bucketDir := filepath.Join(d.data, w.ref.Bucket)
	versionDir := filepath.Join(bucketDir, w.ref.VersionDir)
	newBucket, err := mkdir(d.fs, bucketDir)
	if err != nil {
		return errf(err, "commit shard %s", w.ref)
	}
	newVersion, err := mkdir(d.fs, versionDir)
	if err != nil {
		return errf(err, "commit shard %s", w.ref)
	}
	if err := d.fs.Rename(w.name, filepath.Join(versionDir, w.ref.Name)); err != nil {
		return errf(err, "commit shard %s", w.ref)
	}
	w.done = true
	// Make the new entries durable. The directories are synced at once:
	// the writer reports success only when all are, and concurrent syncs
	// share the file system's journal commits (one wait instead of up to
	// three in a row).
	dirs := []string{versionDir}
	if newVersion {
		dirs = append(dirs, bucketDir)
	}
	if newBucket {
		dirs = append(dirs, d.data)
	}
	errs := make([]error, len(dirs))
	var wg sync.WaitGroup
	for i, dir := range dirs[1:] {
		wg.Go(func() { errs[i+1] = syncDir(d.fs, dir) })
	}
	errs[0] = syncDir(d.fs, dirs[0])
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return errf(err, "commit shard %s: sync %s", w.ref, dirs[i])
		}
	}
	return nil
}

// copyWriter writes a copy of what it is given: pebble's in-memory file
// system, built with its invariants (as under -race), scrambles the slice
// it is given after writing it, which io.Writer forbids (the caller's
// bytes would change under it).
type copyWriter struct {
	w   io.Writer
	buf []byte
}

func (c *copyWriter) Write(p []byte) (int, error) {
	c.buf = append(c.buf[:0], p...)
	return c.w.Write(c.buf)
}

// mkdir creates dir if missing (its parent exists) and reports whether it
// did.
func mkdir(fsys vfs.FS, dir string) (bool, error) {
	if fsys == vfs.Default {
		err := os.Mkdir(dir, 0o755)
		if err == nil || !errors.Is(err, fs.ErrExist) {
			return err == nil, err
		}
		return false, nil
	}
	if _, err := fsys.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return true, fsys.MkdirAll(dir, 0o755)
}

// release returns the write buffer to the drive's pool.
func (w *shardWriter) release() {
	if w.bw != nil {
		w.bw.Reset(nil)
		w.d.bufs.Put(w.bw)
		w.bw = nil
	}
	if w.dw != nil && w.dw.buf != nil {
		w.d.dbufs.put(w.dw.buf)
		w.dw.buf = nil
	}
}

// Abort removes the temporary file. It is a no-op after Commit or Abort.
func (w *shardWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.release()
	if !w.shut { // may be closed by a failed Commit
		_ = w.f.Close()
	}
	if err := w.d.fs.Remove(w.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errf(err, "abort shard %s", w.ref)
	}
	return nil
}

// OpenShard opens a committed shard file; ErrShardNotFound if there is none.
func (d *Drive) OpenShard(ctx context.Context, ref storagenode.ShardRef) (storagenode.ShardReader, error) {
	if err := d.start(ctx, storagenode.CheckRef(ref)); err != nil {
		return nil, err
	}
	defer d.leave()
	name := filepath.Join(d.data, ref.Bucket, ref.VersionDir, ref.Name)
	f, err := d.fs.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		// Deleted or replaced while a read was on it: still in the trash?
		name = d.bin.path(ref)
		f, err = d.fs.Open(name)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("storagenode: open shard %s: %w", ref, storagenode.ErrShardNotFound)
	}
	if err != nil {
		return nil, errf(err, "open shard %s", ref)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, errf(err, "open shard %s", ref)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("storagenode: open shard %s: not a regular file: %w", ref, storagenode.ErrShardNotFound)
	}
	r := &shardReader{f: f, size: st.Size()}
	if d.direct && r.size > directFrom {
		// The part past directFrom was written around the page cache:
		// it is read so too (a failed open only loses that).
		if df, err := openDirect(name); err == nil {
			r.direct, r.bufs, r.windows = df, d.rbufs, d.windows
		}
	}
	return r, nil
}

// localShardReader is a shard file opened for reading.
type shardReader struct {
	f    vfs.File
	size int64
	// direct, when set, is the file opened again with O_DIRECT, for the
	// bytes past directFrom (readDirect), in buffers from bufs.
	direct  *os.File
	bufs    *directBuffers
	windows chan struct{} // the drive's window slots (Drive.windows)

	mu     sync.Mutex // guards the window
	winBuf []byte     // from bufs, returned at Close
	win    []byte     // winBuf's bytes read, from winOff
	winOff int64
}

// ReadAt refuses a negative offset (which the in-memory file system does
// not check).
func (r *shardReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("storagenode: read shard at %d: negative offset", off)
	}
	if r.direct == nil || off+int64(len(p)) <= directFrom {
		return r.f.ReadAt(p, off)
	}
	n := 0
	if off < directFrom {
		k, err := r.f.ReadAt(p[:directFrom-off], off)
		if err != nil {
			return k, err
		}
		n, p, off = k, p[k:], directFrom
	}
	k, err := r.readWindow(p, off)
	return n + k, err
}

// readWindow reads p at off (past directFrom) through the reader's window:
// a sequential reader's next range is usually in it already; else the
// window is refilled with directReadBuffer bytes from off's block (one
// large O_DIRECT read instead of one per frame, as readahead would do).
// Without a window (all of the drive's are taken) it reads through the
// page cache.
func (r *shardReader) readWindow(p []byte, off int64) (int, error) {
	if !r.holdWindow() {
		return r.f.ReadAt(p, off)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if off < r.winOff || off+int64(len(p)) > r.winOff+int64(len(r.win)) {
		start := off &^ (directAlign - 1)
		if off+int64(len(p)) > start+int64(len(r.winBuf)) {
			return readDirect(r.direct, r.bufs, p, off) // larger than a window
		}
		n, err := r.direct.ReadAt(r.winBuf, start)
		if err != nil && err != io.EOF {
			r.win = nil
			return 0, err
		}
		r.winOff, r.win = start, r.winBuf[:n]
	}
	skip := int(off - r.winOff)
	if skip >= len(r.win) {
		return 0, io.EOF
	}
	c := copy(p, r.win[skip:])
	if c < len(p) {
		return c, io.EOF
	}
	return c, nil
}

// holdWindow reports whether the reader has a window, taking one of the
// drive's slots for it on first use.
func (r *shardReader) holdWindow() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.winBuf != nil {
		return true
	}
	select {
	case r.windows <- struct{}{}:
		r.winBuf = r.bufs.get()
		return true
	default:
		return false
	}
}

func (r *shardReader) Close() error {
	if r.direct != nil {
		r.direct.Close()
		r.mu.Lock()
		if r.winBuf != nil {
			r.bufs.put(r.winBuf)
			r.winBuf, r.win = nil, nil
			<-r.windows
		}
		r.mu.Unlock()
	}
	return r.f.Close()
}

func (r *shardReader) Size() int64 { return r.size }

// DeleteVersion removes data/<bucket>/<versionDir> and everything in it.
func (d *Drive) DeleteShard(ctx context.Context, ref storagenode.ShardRef) error {
	if err := d.start(ctx, storagenode.CheckRef(ref)); err != nil {
		return err
	}
	defer d.leave()
	dir := filepath.Join(d.data, ref.Bucket, ref.VersionDir)
	if err := d.fs.Remove(filepath.Join(dir, ref.Name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return errf(err, "delete shard %s", ref)
	}
	if err := syncDir(d.fs, dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errf(err, "delete shard %s", ref)
	}
	return nil
}

// DeleteVersion removes a version directory and every shard file in it.
func (d *Drive) DeleteVersion(ctx context.Context, bucket, versionDir string) error {
	if err := d.startWrite(ctx, storagenode.CheckVersionDir(bucket, versionDir), true); err != nil {
		return err
	}
	defer d.leave()
	if err := d.removeVersionDir(bucket, versionDir); err != nil {
		return errf(err, "delete version %s/%s", bucket, versionDir)
	}
	return nil
}

// removeVersionDir removes a version directory's inline shard and shard
// files, durably: the files go to the trash, where reads that started on
// them still find them for a while (trash.go).
func (d *Drive) removeVersionDir(bucket, versionDir string) error {
	return d.removeVersion(bucket, versionDir, func(dir string) error { return d.bin.moveIn(dir, bucket, versionDir) })
}

// removeVersion removes a version directory's inline shard, then its
// folder with remove, and syncs the bucket folder.
func (d *Drive) removeVersion(bucket, versionDir string, remove func(dir string) error) error {
	if err := d.db.Delete(inlineKey(bucket, versionDir), pebble.Sync); err != nil {
		return fmt.Errorf("inline shard: %w", err)
	}
	bucketDir := filepath.Join(d.data, bucket)
	dir := filepath.Join(bucketDir, versionDir)
	if _, err := d.lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := remove(dir); err != nil {
		return err
	}
	if err := syncDir(d.fs, bucketDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// lstat is os.Lstat on the operating system's file system (a link is not
// followed), Stat on others (which have none).
func (d *Drive) lstat(name string) (fs.FileInfo, error) {
	if d.fs == vfs.Default {
		return os.Lstat(name)
	}
	return d.fs.Stat(name)
}
