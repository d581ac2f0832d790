package local

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/ecstore/ecstore/storagenode"
)

// SetInfo is the identity of the drive set a local drive belongs to, kept
// in its drive.json (format version 2). A process that opens a group of
// drive folders (the embedded server) forms the set once and checks every
// later start against it, so that empty or foreign folders are never taken
// silently for members.
type SetInfo struct {
	// ID is the set's UUID, made when the set was formed.
	ID string `json:"id"`
	// Drives are the IDs of the set's drives, in order.
	Drives []string `json:"drives"`
}

// Format is what a drive folder's drive.json says.
type Format struct {
	// Version is the format version: 1 (no set identity, written by ecstore
	// before set identities) or 2.
	Version int
	// ID is the drive's identity.
	ID string
	// Set is the set the drive belongs to; nil when it has joined none.
	Set *SetInfo
}

// ReadFormat reads the drive.json of folder dir without opening the
// drive. found is false, with a nil error, when dir or its drive.json does
// not exist: an unformatted folder. A drive.json that cannot be read or
// decoded, or a dir that is not a folder, is an error.
func ReadFormat(dir string) (f Format, found bool, err error) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return f, false, fmt.Errorf("storagenode: drive folder %s is not a folder", dir)
	}
	fi, found, err := readFormat(vfs.Default, dir)
	if err != nil || !found {
		return f, found, err
	}
	return fi.public(), true, nil
}

func (fi formatInfo) public() Format {
	f := Format{Version: fi.Version, ID: fi.ID}
	if fi.Set != nil {
		s := *fi.Set
		s.Drives = slices.Clone(s.Drives)
		f.Set = &s
	}
	return f
}

// Format returns what the drive's drive.json says.
func (d *Drive) Format() Format {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.format.public()
}

// JoinSet records in drive.json that the drive belongs to set s (replacing
// any set it belonged to), in format version 2.
func (d *Drive) JoinSet(s SetInfo) error {
	if s.ID == "" || !slices.Contains(s.Drives, d.id) {
		return fmt.Errorf("storagenode: drive %s: join set %q of drives %v: the set must have an id and name this drive", d.id, s.ID, s.Drives)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("storagenode: drive %s: %w", d.id, storagenode.ErrDriveOffline)
	}
	if err := d.home.check(d.id, 0); err != nil {
		return err
	}
	fi := d.format
	fi.Version = formatVersion
	fi.Set = &SetInfo{ID: s.ID, Drives: slices.Clone(s.Drives)}
	if err := writeFormat(d.fs, d.dir, fi); err != nil {
		return fmt.Errorf("storagenode: drive %s: %w", d.id, err)
	}
	d.format = fi
	if !d.opts.onOS() {
		return nil
	}
	return d.home.remember(d.dir)
}

// homeCheckAge is how old the last check that the drive's folder is still
// its own may be before a call checks again: an fstat and a stat of
// drive.json at most once a millisecond per drive, whatever the rate of
// calls. A failed check is not cached. (Index writes are also confirmed
// after they are synced: see confirm.)
const homeCheckAge = time.Millisecond

// driveHome watches that a drive's folder is still its own. The drive holds
// its drive.json open (so that the file's inode cannot be reused while the
// drive lives), and a check compares it with what the folder's path holds:
//   - the held file was unlinked (the folder was emptied or removed under
//     the running process): the drive is lost, every later call fails with
//     ErrDriveOffline until the drive is opened again, whatever comes back
//     at the path (the index the drive holds open is gone with it);
//   - the path holds no drive.json, or another file (the folder was renamed
//     away, replaced or unmounted): the drive is offline while that lasts,
//     and back when the path holds its own drive.json again.
//
// Without it a drive whose files were unlinked would go on taking writes
// into its open index, and lose them at the next start.
type driveHome struct {
	path string   // dir/drive.json
	f    *os.File // drive.json, held open
	fd   int      // f's descriptor
	log  *slog.Logger
	// start is the monotonic base of lastOK.
	start  time.Time
	lastOK atomic.Int64 // when the last good check began, since start
	lost   atomic.Pointer[error]
	away   atomic.Bool // the last check failed (for logging the changes)
}

// remember holds the drive.json of dir as the drive's own (replacing the
// one held before).
func (h *driveHome) remember(dir string) error {
	path := filepath.Join(dir, formatFile)
	f, err := os.Open(path)
	if err != nil {
		return errf(err, "open drive %s", dir)
	}
	if h.f != nil {
		_ = h.f.Close()
	}
	h.path, h.f, h.fd = path, f, int(f.Fd())
	if h.start.IsZero() {
		h.start = time.Now()
	}
	h.lastOK.Store(int64(time.Since(h.start)))
	return nil
}

// release closes the held drive.json.
func (h *driveHome) release() {
	if h.f != nil {
		_ = h.f.Close()
	}
}

// check fails with ErrDriveOffline while the drive's folder is not its own,
// checking again when the last good check is older than maxAge.
func (h *driveHome) check(id string, maxAge time.Duration) error {
	if p := h.lost.Load(); p != nil {
		return *p
	}
	if h.f == nil { // a drive not on the operating system's file system
		return nil
	}
	now := time.Since(h.start)
	if now-time.Duration(h.lastOK.Load()) < maxAge && !h.away.Load() {
		return nil
	}
	var held, cur syscall.Stat_t
	ferr := syscall.Fstat(h.fd, &held)
	if ferr == nil && held.Nlink == 0 {
		return h.removed(id)
	}
	perr := syscall.Stat(h.path, &cur)
	var err error
	switch {
	case ferr != nil:
		err = fmt.Errorf("storagenode: drive %s: %s: %v: %w", id, h.path, ferr, storagenode.ErrDriveOffline)
	case perr != nil:
		err = fmt.Errorf("storagenode: drive %s: its folder holds no drive.json (renamed away, replaced or unmounted?): %v: %w", id, perr, storagenode.ErrDriveOffline)
	case cur.Dev != held.Dev || cur.Ino != held.Ino:
		err = fmt.Errorf("storagenode: drive %s: %s is not the drive's own (the folder was replaced): %w", id, h.path, storagenode.ErrDriveOffline)
	default:
		if h.away.Swap(false) && h.log != nil {
			h.log.Warn("drive folder back: the drive is online again", "drive", id, "path", h.path)
		}
		if now > time.Duration(h.lastOK.Load()) {
			h.lastOK.Store(int64(now))
		}
		return nil
	}
	if !h.away.Swap(true) && h.log != nil {
		h.log.Error("drive offline: its folder is not the one it opened", "drive", id, "err", err)
	}
	return err
}

// confirm is called after a synced index write, before the write is
// acknowledged: it fails with ErrDriveOffline when the drive's drive.json
// was removed by then (one fstat, no cache). A write that went into files
// removed just before it (after the cached check that let it in) is then
// reported failed, instead of acknowledged and lost at the next start.
// (A folder renamed away keeps its files: writes into it are not lost.)
func (h *driveHome) confirm(id string) error {
	if p := h.lost.Load(); p != nil {
		return *p
	}
	if h.f == nil {
		return nil
	}
	var held syscall.Stat_t
	if err := syscall.Fstat(h.fd, &held); err == nil && held.Nlink == 0 {
		return h.removed(id)
	}
	return nil
}

// removed marks the drive lost: its drive.json was unlinked.
func (h *driveHome) removed(id string) error {
	err := fmt.Errorf("storagenode: drive %s: its drive.json was removed (the folder was emptied or removed under the running process); the drive stays offline until it is opened again: %w", id, storagenode.ErrDriveOffline)
	if h.lost.CompareAndSwap(nil, &err) && h.log != nil {
		h.log.Error("drive lost: its folder was emptied or removed; the drive is offline until the process restarts", "drive", id, "path", h.path)
	}
	return *h.lost.Load()
}
