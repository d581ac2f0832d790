package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/google/uuid"
)

// Names inside a drive folder.
const (
	formatFile = "drive.json"
	indexDir   = "index"
	dataDir    = "data"
	tmpDir     = "tmp"

	formatName    = "ecstore-drive"
	formatVersion = 2 // 2: with the set identity (SetInfo); 1 is read as 2 without a set
)

// Options configures Open. The zero value is ready to use; each
// field's comment states its default.
type Options struct {
	// ID is the drive's identity in the cluster map. Default: the ID stored
	// in the folder's drive.json, or a new random UUID on first open. When set
	// and drive.json holds a different ID, Open refuses to open the
	// drive (it belongs to someone else). At most 256 bytes, no spaces or
	// control characters.
	ID string
	// WriteBufferSize is the size of the buffer in front of each shard file
	// being written, so that many small writes are cheap (with O_DIRECT,
	// rounded up to a multiple of 4 KiB). Default 1 MiB (O_DIRECT
	// writes of 1 MiB ran a 64 MiB PUT 16% faster than writes of 256 KiB).
	WriteBufferSize int
	// BufferedWrites writes shard files through the page cache. By
	// default a drive on the operating system's file system writes them
	// with O_DIRECT when the file system takes it (see direct.go), which
	// spares the CPU the copy into the page cache (a later read of the
	// file comes from the disk).
	BufferedWrites bool
	// DirectSmallShards writes every shard file with O_DIRECT from its
	// first block, and reads it back so, where by default the first
	// directFrom bytes of a file go through the page cache (small
	// objects stay there for the GETs that follow). A storage node sets
	// it: there the copy into the page cache was a third of a 1 MiB PUT's
	// CPU on the nodes, while a GET over the network gained little from
	// the cache (BENCHMARKS.md, issue 18, seventh round). Ignored with
	// BufferedWrites.
	DirectSmallShards bool
	// IndexCacheSize is the size in bytes of the index's block cache.
	// Default 32 MiB.
	IndexCacheSize int64
	// IndexMemTableSize is the size in bytes of the index's memtable (the
	// write buffer in front of its sorted files). Default 16 MiB.
	IndexMemTableSize uint64
	// Logger receives the drive's log messages: index background errors
	// (Error), slow disk and write stall warnings (Warn), and the index's
	// informational messages (Debug). Default: slog.Default().
	Logger *slog.Logger
	// OnIndexFatal, when set, is called once when the index meets an error
	// it cannot go on from (a failed write-ahead log write): processes set
	// it to exit, so that a restart replays the log. Whatever it does, the
	// drive answers ErrDriveOffline from then on.
	OnIndexFatal func(err error)
	// ReserveBytes: new shards, inline objects, upload and part records
	// and buckets are refused with ErrDiskFull while less than this is
	// free, so the index never meets a full disk in the middle of a write.
	// Deletes, and records of data already on the disk (a Complete, a
	// heal's record, a failed delete's undo), need only 1 MiB. Default: 1% of the file system,
	// at least 16 MiB and at most 1 GiB.
	ReserveBytes int64
	// DeleteGrace is how long the shard files of a deleted or replaced
	// version stay readable for the reads that started on it (they wait in
	// the folder's trash/). Default 15 minutes; negative: removed at once.
	DeleteGrace time.Duration
	// FS is the file system the folder is on, shard files and index
	// alike. Default vfs.Default, the operating system's; vfs.NewMem()
	// keeps the drive in memory (NewMem). Only on the operating system's
	// does the drive watch its folder (drive.json held open), report disk
	// capacity and keep ReserveBytes free.
	FS vfs.FS
}

// EnsureDefaults fills the unset fields of o with their defaults.
func (o *Options) EnsureDefaults() {
	if o.WriteBufferSize <= 0 {
		o.WriteBufferSize = 1 << 20
	}
	if o.IndexCacheSize <= 0 {
		o.IndexCacheSize = 32 << 20
	}
	if o.IndexMemTableSize == 0 {
		o.IndexMemTableSize = 16 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DeleteGrace == 0 {
		o.DeleteGrace = 15 * time.Minute
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
}

// onOS reports whether the drive is on the operating system's file system.
func (o *Options) onOS() bool { return o.FS == vfs.Default }

// Validate reports options that cannot work.
func (o *Options) Validate() error {
	if o.ID != "" {
		if err := validDriveID(o.ID); err != nil {
			return err
		}
	}
	if o.WriteBufferSize < 0 {
		return fmt.Errorf("storagenode: WriteBufferSize %d is negative", o.WriteBufferSize)
	}
	if o.IndexCacheSize < 0 {
		return fmt.Errorf("storagenode: IndexCacheSize %d is negative", o.IndexCacheSize)
	}
	return nil
}

func validDriveID(id string) error {
	if id == "" || len(id) > 256 || strings.IndexFunc(id, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar
	}) >= 0 {
		return fmt.Errorf("storagenode: drive ID %q: want 1 to 256 bytes without spaces or control characters", id)
	}
	return nil
}

// formatInfo is the content of drive.json.
type formatInfo struct {
	Format  string   `json:"format"`
	Version int      `json:"version"`
	ID      string   `json:"id"`
	Set     *SetInfo `json:"set,omitempty"` // since version 2
}

// Drive is a storagenode.Drive in a folder of a file system: shard files
// under data/, the metadata index in a pebble database under index/. See the
// package documentation for the layout and the durability rules.
type Drive struct {
	id   string
	fs   vfs.FS // opts.FS
	dir  string // absolute
	data string // dir/data
	tmp  string // dir/tmp
	bin  *trash // dir/trash
	opts Options
	db   *pebble.DB

	format formatInfo // drive.json; guarded by mu (JoinSet writes it)
	// fenceMu orders the fencing checks (checkFence).
	fenceMu sync.Mutex
	home    driveHome // the folder is still ours (see local_identity.go)

	// mu guards closed; every method holds it for reading while it works,
	// so Close waits for calls in flight.
	mu     sync.RWMutex
	closed bool
	failed atomic.Bool // the index met a fatal error

	buckets bucketLocks // per-bucket: MakeBucket/DeleteBucket exclusive, writers shared
	keys    keyLocks    // per-record: read-check-write of PutMeta, DeleteMeta, PutPart ...
	bufs    sync.Pool   // *bufio.Writer of opts.WriteBufferSize
	// direct: shard files are written with O_DIRECT (see direct.go), from
	// dbufs' buffers.
	direct bool
	dbufs  *directBuffers
	// directFrom is the offset from which shard files are written and
	// read with O_DIRECT: the constant directFrom, or 0 with
	// Options.DirectSmallShards.
	directFrom int64

	// unsynced holds the folders a shard commit created whose entries in
	// their parent folders are not durable yet (mkdirDurable); dirMu
	// guards it and orders the creations.
	dirMu    sync.Mutex
	unsynced map[string]bool
}

var _ storagenode.Drive = (*Drive)(nil)

// Open opens (creating if needed) the drive in folder dir. It refuses a
// folder whose drive.json names another ID than opts.ID, and a folder that is
// already open (in this or another process). It empties dir/tmp, which holds
// only leftovers of writes interrupted by a crash.
func Open(dir string, opts Options) (*Drive, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.EnsureDefaults()
	fsys, abs := opts.FS, dir
	if opts.onOS() {
		var err error
		if abs, err = filepath.Abs(dir); err != nil {
			return nil, errf(err, "open drive %s", dir)
		}
	}
	if err := fsys.MkdirAll(abs, 0o755); err != nil {
		return nil, errf(err, "open drive %s", abs)
	}

	fi, found, err := readFormat(fsys, abs)
	if err != nil {
		return nil, err
	}
	if found && opts.ID != "" && fi.ID != opts.ID {
		return nil, fmt.Errorf("storagenode: open drive %s: folder belongs to drive %q, not %q", abs, fi.ID, opts.ID)
	}

	d := &Drive{
		fs:   fsys,
		dir:  abs,
		data: filepath.Join(abs, dataDir),
		tmp:  filepath.Join(abs, tmpDir),
		opts: opts,
	}
	if d.opts.ReserveBytes == 0 && opts.onOS() {
		var st syscall.Statfs_t
		if err := syscall.Statfs(abs, &st); err == nil {
			d.opts.ReserveBytes = min(max(int64(st.Blocks)*int64(st.Bsize)/100, 16<<20), 1<<30)
		}
	}
	db, err := openIndex(filepath.Join(abs, indexDir), &opts, d.indexFatal)
	if err != nil {
		return nil, errf(err, "open drive %s: index", abs)
	}
	d.db = db
	fail := func(err error) (*Drive, error) {
		d.home.release()
		_ = db.Close()
		return nil, err
	}

	// The index lock is ours now: nobody else writes to this folder.
	if found {
		d.id = fi.ID
	} else {
		d.id = opts.ID
		if d.id == "" {
			d.id = uuid.NewString()
		}
		fi = formatInfo{Format: formatName, Version: formatVersion, ID: d.id}
		if err := writeFormat(fsys, abs, fi); err != nil {
			return fail(err)
		}
	}
	d.format = fi
	d.home.log = opts.Logger
	if opts.onOS() {
		if err := d.home.remember(abs); err != nil {
			return fail(err)
		}
	}
	if err := fsys.RemoveAll(d.tmp); err != nil {
		return fail(errf(err, "open drive %s: clear tmp", abs))
	}
	for _, p := range []string{d.tmp, d.data} {
		if err := fsys.MkdirAll(p, 0o755); err != nil {
			return fail(errf(err, "open drive %s", abs))
		}
	}
	if err := syncDir(fsys, abs); err != nil {
		return fail(errf(err, "open drive %s", abs))
	}
	if d.bin, err = openTrash(fsys, filepath.Join(abs, trashDir), d.opts.DeleteGrace); err != nil {
		return fail(errf(err, "open drive %s: trash", abs))
	}
	if opts.onOS() && !opts.BufferedWrites {
		d.direct = directSupported(d.tmp)
		d.dbufs = newDirectBuffers(opts.WriteBufferSize)
		d.directFrom = directFrom
		if opts.DirectSmallShards {
			d.directFrom = 0
		}
	}
	return d, nil
}

func openIndex(path string, o *Options, onFatal func(error)) (*pebble.DB, error) {
	cache := pebble.NewCache(o.IndexCacheSize)
	defer cache.Unref()
	po := &pebble.Options{
		Cache:              cache,
		MemTableSize:       o.IndexMemTableSize,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             indexLogger{o.Logger, onFatal},
		EventListener:      indexEvents(o.Logger, path),
		Levels:             make([]pebble.LevelOptions, 7),
		FS:                 o.FS,
	}
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	return pebble.Open(path, po)
}

// indexLogger adapts slog to pebble's logger.
type indexLogger struct {
	l       *slog.Logger
	onFatal func(error)
}

func (l indexLogger) Infof(format string, args ...any) {
	if l.l.Enabled(context.Background(), slog.LevelDebug) {
		l.l.Debug("storagenode: index: " + fmt.Sprintf(format, args...))
	}
}

// Fatalf reports an index invariant violation; pebble does not expect it to
// return.
func (l indexLogger) Fatalf(format string, args ...any) {
	msg := "storagenode: index: fatal: " + fmt.Sprintf(format, args...)
	l.l.Error(msg)
	if l.onFatal != nil {
		l.onFatal(errors.New(msg))
	}
	panic(msg)
}

// indexFatal takes the drive offline for good after a fatal index error
// and tells the process (OnIndexFatal), once.
func (d *Drive) indexFatal(err error) {
	if d.failed.Swap(true) {
		return
	}
	if d.opts.OnIndexFatal != nil {
		d.opts.OnIndexFatal(err)
	}
}

// checkSpace refuses a write that would eat into the reserve (deletes, which
// free space, only need a little).
func (d *Drive) checkSpace(deleting bool) error {
	need := d.opts.ReserveBytes
	if deleting {
		need = min(need, 1<<20)
	}
	if need <= 0 || !d.opts.onOS() {
		return nil
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.dir, &st); err != nil {
		return nil // the write itself will tell
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free < need && d.bin.grace > 0 {
		// Space before slow readers: the trash goes now.
		d.bin.empty()
		if err := syscall.Statfs(d.dir, &st); err == nil {
			free = int64(st.Bavail) * int64(st.Bsize)
		}
	}
	if free < need {
		return fmt.Errorf("storagenode: drive %s: %d bytes free, below the %d kept in reserve: %w", d.id, free, need, storagenode.ErrDiskFull)
	}
	return nil
}

func indexEvents(l *slog.Logger, path string) *pebble.EventListener {
	return &pebble.EventListener{
		BackgroundError: func(err error) {
			l.Error("storagenode: index background error", "index", path, "err", err)
		},
		DiskSlow: func(info pebble.DiskSlowInfo) {
			l.Warn("storagenode: slow disk", "index", path, "info", info.String())
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			l.Warn("storagenode: index write stall", "index", path, "reason", info.Reason)
		},
	}
}

func readFormat(fsys vfs.FS, dir string) (formatInfo, bool, error) {
	var fi formatInfo
	b, err := readFile(fsys, filepath.Join(dir, formatFile))
	if errors.Is(err, fs.ErrNotExist) {
		return fi, false, nil
	}
	if err != nil {
		return fi, false, errf(err, "open drive %s: read %s", dir, formatFile)
	}
	if err := json.Unmarshal(b, &fi); err != nil {
		return fi, false, fmt.Errorf("storagenode: open drive %s: %s: %w: %v", dir, formatFile, storagenode.ErrCorrupt, err)
	}
	if fi.Format != formatName || fi.Version < 1 || fi.Version > formatVersion || validDriveID(fi.ID) != nil ||
		(fi.Set != nil && (fi.Version < 2 || fi.Set.ID == "" || !slices.Contains(fi.Set.Drives, fi.ID))) {
		return fi, false, fmt.Errorf("storagenode: open drive %s: %s: unknown format %q version %d id %q",
			dir, formatFile, fi.Format, fi.Version, fi.ID)
	}
	return fi, true, nil
}

// writeFormat writes drive.json atomically and durably.
func writeFormat(fsys vfs.FS, dir string, fi formatInfo) error {
	b, err := json.MarshalIndent(fi, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	f, tmp, err := createTemp(fsys, dir, formatFile+".tmp-*")
	if err != nil {
		return errf(err, "write %s", formatFile)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, filepath.Join(dir, formatFile))
	}
	if err != nil {
		_ = fsys.Remove(tmp)
		return errf(err, "write %s", formatFile)
	}
	if err := syncDir(fsys, dir); err != nil {
		return errf(err, "write %s", formatFile)
	}
	return nil
}

// syncDir fsyncs a directory, making the entries created or renamed in it
// durable.
func syncDir(fsys vfs.FS, dir string) error {
	f, err := fsys.OpenDir(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readFile reads a whole file.
func readFile(fsys vfs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// tempFile is a file being written under a temporary name: an *os.File
// or a vfs.File.
type tempFile interface {
	io.Writer
	Sync() error
	Close() error
}

// createTemp creates a new file in dir for writing, its name pattern with
// the last "*" replaced by a random string, as os.CreateTemp does (which
// it is on the operating system's file system: mode 0600, never an
// existing file). It returns the file and its name.
func createTemp(fsys vfs.FS, dir, pattern string) (tempFile, string, error) {
	if fsys == vfs.Default {
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			return nil, "", err
		}
		return f, f.Name(), nil
	}
	i := strings.LastIndex(pattern, "*")
	name := filepath.Join(dir, pattern[:i]+uuid.NewString()+pattern[i+1:])
	f, err := fsys.Create(name)
	return f, name, err
}

// ID returns the drive's identity (stored in drive.json).
func (d *Drive) ID() string { return d.id }

// Dir returns the drive's folder (absolute).
func (d *Drive) Dir() string { return d.dir }

// Close waits for the calls in flight, then closes the index. Later calls
// fail with ErrDriveOffline; a second Close returns nil. Shard readers and
// writers obtained before stay usable until closed, but Commit fails.
func (d *Drive) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	d.bin.close()
	d.home.release()
	if err := d.db.Close(); err != nil {
		return errf(err, "close drive %s", d.id)
	}
	return nil
}

// enter starts a call: it fails when the drive is closed or ctx is done.
// On success the caller must call d.leave().
func (d *Drive) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storagenode: drive %s: %w", d.id, err)
	}
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return fmt.Errorf("storagenode: drive %s: %w", d.id, storagenode.ErrDriveOffline)
	}
	if d.failed.Load() {
		d.mu.RUnlock()
		return fmt.Errorf("storagenode: drive %s: index failed (restart the process to recover it): %w", d.id, storagenode.ErrDriveOffline)
	}
	if err := d.home.check(d.id, homeCheckAge); err != nil {
		d.mu.RUnlock()
		return err
	}
	return nil
}

func (d *Drive) leave() { d.mu.RUnlock() }

// start starts a call whose names were checked with checked's outcome (a
// storagenode.Check function's: a bad name is refused before any I/O),
// then enters. On success the caller must call d.leave().
func (d *Drive) start(ctx context.Context, checked error) error {
	if checked != nil {
		return checked
	}
	return d.enter(ctx)
}

// startWrite is start for a call that writes to the disk, with the space
// check (deleting: the small margin deletes need).
func (d *Drive) startWrite(ctx context.Context, checked error, deleting bool) error {
	if err := d.start(ctx, checked); err != nil {
		return err
	}
	if err := d.checkSpace(deleting); err != nil {
		d.leave()
		return err
	}
	if err := d.checkFence(ctx); err != nil {
		d.leave()
		return err
	}
	return nil
}

// enterBucket starts a call that writes records into an existing bucket:
// enter, the space check (deleting: the small margin deletes need), the
// bucket's lock shared, and ErrBucketNotFound when the bucket is absent. On
// success the caller must call the returned end.
func (d *Drive) enterBucket(ctx context.Context, bucket, op string, deleting bool) (end func(), err error) {
	if err := d.startWrite(ctx, nil, deleting); err != nil {
		return nil, err
	}
	bl := d.buckets.get(bucket)
	bl.RLock()
	if err := d.bucketMissing(d.db, bucket, op); err != nil {
		bl.RUnlock()
		d.leave()
		return nil, err
	}
	return func() { bl.RUnlock(); d.leave() }, nil
}

// confirm is called after a synced index write, before it is acknowledged:
// see driveHome.confirm.
func (d *Drive) confirm() error { return d.home.confirm(d.id) }
