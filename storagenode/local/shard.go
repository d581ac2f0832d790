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
	"sync/atomic"
	"syscall"

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
		f, err := os.CreateTemp(d.tmp, "shard-*")
		if err != nil {
			return nil, errf(err, "create shard %s", ref)
		}
		name := f.Name()
		dw := &directWriter{f: f, buf: d.dbufs.get(), from: d.directFrom, cold: storagenode.ColdShard(ctx)}
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

// localShardWriter writes one shard file. Write and Commit are not safe
// for concurrent use; Abort may come while one of them is under way (the
// gateway's timeoutWriter gives up on a slow Write so): the writer is then
// aborted as that call returns, not before, since the call still uses the
// write buffer that an abort gives back to the drive's pool.
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

	mu       sync.Mutex  // held by Write, Commit and the abort; guards the fields above
	aborting atomic.Bool // Abort was called
}

// Write writes p to the temporary file.
func (w *shardWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	n, err := w.write(p)
	w.mu.Unlock()
	w.abortIfAsked()
	return n, err
}

// abortIfAsked aborts the writer for an Abort that came while a Write or
// Commit held w.mu. Abort sets aborting before it tries the lock, and the
// call checks it after its unlock: one of the two sees the other.
func (w *shardWriter) abortIfAsked() {
	if w.aborting.Load() && w.mu.TryLock() {
		_ = w.abort()
		w.mu.Unlock()
	}
}

func (w *shardWriter) write(p []byte) (int, error) {
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
	w.mu.Lock()
	err := w.commitOrAbort(ctx)
	w.mu.Unlock()
	w.abortIfAsked() // a no-op after a commit
	return err
}

func (w *shardWriter) commitOrAbort(ctx context.Context) error {
	if w.done {
		return fmt.Errorf("storagenode: commit shard %s: %w", w.ref, fs.ErrClosed)
	}
	err := w.commit(ctx)
	if err != nil {
		_ = w.abort()
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
	bucketUnsynced, err := d.mkdirDurable(bucketDir)
	if err != nil {
		return errf(err, "commit shard %s", w.ref)
	}
	// A flat file enters the bucket's folder; any other, its version's.
	dir, target, versionUnsynced := bucketDir, filepath.Join(bucketDir, flatName(w.ref.VersionDir)), false
	if !isFlat(w.ref.Name) {
		dir = filepath.Join(bucketDir, w.ref.VersionDir)
		target = filepath.Join(dir, w.ref.Name)
		if versionUnsynced, err = d.mkdirDurable(dir); err != nil {
			return errf(err, "commit shard %s", w.ref)
		}
	}
	release, err := d.holdFence(ctx)
	if err != nil {
		return err
	}
	err = d.fs.Rename(w.name, target)
	release()
	if err != nil {
		return errf(err, "commit shard %s", w.ref)
	}
	w.done = true
	// Make the new entries durable. The directories are synced at once:
	// the writer reports success only when all are, and concurrent syncs
	// share the file system's journal commits (one wait instead of up to
	// three in a row).
	dirs := []string{dir}
	if versionUnsynced {
		dirs = append(dirs, bucketDir)
	}
	if bucketUnsynced {
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
	if versionUnsynced {
		d.parentSynced(dir)
	}
	if bucketUnsynced {
		d.parentSynced(bucketDir)
	}
	return nil
}

// mkdirDurable creates dir if missing (its parent exists) and reports
// whether the caller must sync the parent folder for dir's entry to be
// durable: dir was created here, or by another commit that has not synced
// the parent yet. Without the second case, a commit that found the folder
// a concurrent one had just made (two parts of an upload on one drive)
// acknowledged its file before the folder's own entry was durable.
func (d *Drive) mkdirDurable(dir string) (bool, error) {
	d.dirMu.Lock()
	defer d.dirMu.Unlock()
	created, err := mkdir(d.fs, dir)
	if err != nil {
		return false, err
	}
	if created {
		if d.unsynced == nil {
			d.unsynced = map[string]bool{}
		}
		d.unsynced[dir] = true
	}
	return d.unsynced[dir], nil
}

// parentSynced notes that dir's entry in its parent folder is durable.
func (d *Drive) parentSynced(dir string) {
	d.dirMu.Lock()
	delete(d.unsynced, dir)
	d.dirMu.Unlock()
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
// During a Write it only asks that Write to abort as it returns; a Commit
// under way ends as it would have (committed, or failed and aborted).
func (w *shardWriter) Abort() error {
	w.aborting.Store(true)
	if !w.mu.TryLock() {
		return nil // the call under way aborts (abortIfAsked)
	}
	defer w.mu.Unlock()
	return w.abort()
}

// abort removes the temporary file and gives the buffer back. w.mu is held.
func (w *shardWriter) abort() error {
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
	// Where the file may be, in order: flat, in its version's folder (the
	// only place before flat files), then the same in the trash (deleted or
	// replaced while a read was on it).
	var f vfs.File
	var err error
	for _, p := range [...]string{d.flatPath(ref), filepath.Join(d.data, ref.Bucket, ref.VersionDir, ref.Name), d.bin.flatPath(ref), d.bin.path(ref)} {
		if p == "" {
			continue
		}
		if f, err = d.fs.Open(p); !errors.Is(err, fs.ErrNotExist) {
			break
		}
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
	r := &shardReader{f: f, size: st.Size(), os: d.fs == vfs.Default, from: d.directFrom}
	if sc, ok := f.(syscall.Conn); ok && d.direct && r.size > r.from {
		r.dr = &directReader{file: sc, size: r.size}
	}
	return r, nil
}

// localShardReader is a shard file opened for reading.
type shardReader struct {
	f    vfs.File
	size int64
	os   bool // f is a file of the operating system (vfs.Default)
	// dr reads the bytes from from on with O_DIRECT (directread.go): set
	// for a file larger than from on a drive that writes such files with
	// O_DIRECT.
	dr   *directReader
	from int64 // the drive's directFrom
}

// HintRange implements storagenode.RangeHinter: O_DIRECT reads stop at
// the range's end.
func (r *shardReader) HintRange(_, end int64) {
	if r.dr != nil {
		r.dr.hint(end)
	}
}

// ReaderFrom implements storagenode.FileReader for a file of the operating
// system: vfs.Default's files embed an *os.File, whose SyscallConn lets
// io.Copy to a TCP connection use sendfile.
func (r *shardReader) ReaderFrom(off int64) (io.Reader, bool) {
	if !r.os || off < 0 {
		return nil, false
	}
	f, ok := r.f.(interface {
		io.ReadSeeker
		syscall.Conn
	})
	if !ok {
		return nil, false
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, false
	}
	return f, true
}

// ReadAt refuses a negative offset (which the in-memory file system does
// not check). Bytes from r.from on are read with O_DIRECT where the drive
// wrote them so (dr), the others through the page cache.
func (r *shardReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("storagenode: read shard at %d: negative offset", off)
	}
	if r.dr == nil || off+int64(len(p)) <= r.from {
		return r.f.ReadAt(p, off)
	}
	n := 0
	if off < r.from {
		m, err := r.f.ReadAt(p[:r.from-off], off)
		if n = m; err != nil {
			return n, err
		}
	}
	m, err := r.dr.readAt(p[n:], off+int64(n))
	if errors.Is(err, errDirectUnavailable) {
		m, err = r.f.ReadAt(p[n:], off+int64(n))
	}
	return n + m, err
}

func (r *shardReader) Close() error {
	if r.dr != nil {
		_ = r.dr.close()
	}
	return r.f.Close()
}
func (r *shardReader) Size() int64 { return r.size }

// DeleteShard removes ref's file, flat or in its version's folder (both,
// when a heal wrote a flat file beside the folder of an earlier release).
func (d *Drive) DeleteShard(ctx context.Context, ref storagenode.ShardRef) error {
	if err := d.startWrite(ctx, storagenode.CheckRef(ref), true); err != nil {
		return err
	}
	defer d.leave()
	dir := filepath.Join(d.data, ref.Bucket, ref.VersionDir)
	for _, p := range [...]string{d.flatPath(ref), filepath.Join(dir, ref.Name)} {
		if p == "" {
			continue
		}
		if err := d.fs.Remove(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return errf(err, "delete shard %s", ref)
		}
		if err := syncDir(d.fs, filepath.Dir(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return errf(err, "delete shard %s", ref)
		}
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
	return d.removeVersion(bucket, versionDir, func(path, name string) error { return d.bin.moveIn(path, bucket, name) })
}

// removeVersion removes a version's inline shard, then its flat file and
// its folder (data/<bucket>/<name>, either may be missing) with remove, and
// syncs the bucket folder.
func (d *Drive) removeVersion(bucket, versionDir string, remove func(path, name string) error) error {
	if err := d.db.Delete(inlineKey(bucket, versionDir), pebble.Sync); err != nil {
		return fmt.Errorf("inline shard: %w", err)
	}
	bucketDir := filepath.Join(d.data, bucket)
	removed := false
	for _, name := range [...]string{flatName(versionDir), versionDir} {
		p := filepath.Join(bucketDir, name)
		if _, err := d.lstat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := remove(p, name); err != nil {
			return err
		}
		removed = true
	}
	if !removed {
		return nil
	}
	if err := syncDir(d.fs, bucketDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Flat shard files. The one shard file of a single PUT
// (storagenode.SinglePartName) is kept beside the version folders as
// data/<bucket>/<versionDir>~part.1, not in a folder of its own: a PUT then
// creates one inode per drive, not two, and syncs one folder, not two.
// Every other file, and every file written before this layout (which
// OpenShard, DeleteShard and removeVersion still find), is in
// data/<bucket>/<versionDir>/. ValidName never allows flatSep, so a flat
// file's name is never a version folder's.
const flatSep = "~"

// isFlat reports whether a shard file of this name is kept flat.
func isFlat(name string) bool { return name == storagenode.SinglePartName }

// flatName is the name of versionDir's flat file in its bucket's folder.
func flatName(versionDir string) string {
	return versionDir + flatSep + storagenode.SinglePartName
}

// flatPath is where ref's file is when flat; "" for a name never flat.
func (d *Drive) flatPath(ref storagenode.ShardRef) string {
	if !isFlat(ref.Name) {
		return ""
	}
	return filepath.Join(d.data, ref.Bucket, flatName(ref.VersionDir))
}

// lstat is os.Lstat on the operating system's file system (a link is not
// followed), Stat on others (which have none).
func (d *Drive) lstat(name string) (fs.FileInfo, error) {
	if d.fs == vfs.Default {
		return os.Lstat(name)
	}
	return d.fs.Stat(name)
}
