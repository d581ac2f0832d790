package storagenode

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"
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

// DriveFormat is what a drive folder's drive.json says.
type DriveFormat struct {
	// Version is the format version: 1 (no set identity, written by ecstore
	// before set identities) or 2.
	Version int
	// ID is the drive's identity.
	ID string
	// Set is the set the drive belongs to; nil when it has joined none.
	Set *SetInfo
}

// ReadDriveFormat reads the drive.json of folder dir without opening the
// drive. found is false, with a nil error, when dir or its drive.json does
// not exist: an unformatted folder. A drive.json that cannot be read or
// decoded, or a dir that is not a folder, is an error.
func ReadDriveFormat(dir string) (f DriveFormat, found bool, err error) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return f, false, fmt.Errorf("storagenode: drive folder %s is not a folder", dir)
	}
	fi, found, err := readFormat(dir)
	if err != nil || !found {
		return f, found, err
	}
	return fi.public(), true, nil
}

func (fi formatInfo) public() DriveFormat {
	f := DriveFormat{Version: fi.Version, ID: fi.ID}
	if fi.Set != nil {
		s := *fi.Set
		s.Drives = slices.Clone(s.Drives)
		f.Set = &s
	}
	return f
}

// Format returns what the drive's drive.json says.
func (d *LocalDrive) Format() DriveFormat {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.format.public()
}

// JoinSet records in drive.json that the drive belongs to set s (replacing
// any set it belonged to), in format version 2.
func (d *LocalDrive) JoinSet(s SetInfo) error {
	if s.ID == "" || !slices.Contains(s.Drives, d.id) {
		return fmt.Errorf("storagenode: drive %s: join set %q of drives %v: the set must have an id and name this drive", d.id, s.ID, s.Drives)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("storagenode: drive %s: %w", d.id, ErrDriveOffline)
	}
	if err := d.home.check(d.id, 0); err != nil {
		return err
	}
	fi := d.format
	fi.Version = formatVersion
	fi.Set = &SetInfo{ID: s.ID, Drives: slices.Clone(s.Drives)}
	if err := writeFormat(d.dir, fi); err != nil {
		return fmt.Errorf("storagenode: drive %s: %w", d.id, err)
	}
	d.format = fi
	return d.home.remember(d.dir)
}

// homeCheckAge is how old the last check that the drive's folder is still
// its own may be before a call checks again: a stat of drive.json at most
// once a millisecond per drive, whatever the rate of calls.
const homeCheckAge = time.Millisecond

// driveHome watches that a drive's folder is still its own: drive.json is
// the file the drive wrote or read at open (same device, inode, size and
// modification time). When it is not (the folder was emptied, removed,
// replaced or unmounted under the running process), the drive is lost: every later call fails with
// ErrDriveOffline until the drive is opened again. Without it a drive whose
// files were unlinked would go on taking writes into its open index.
type driveHome struct {
	path   string      // dir/drive.json
	info   os.FileInfo // of drive.json when opened
	start  time.Time   // monotonic base of checked
	log    *slog.Logger
	lost   atomic.Pointer[error]
	lastOK atomic.Int64 // time of the last good check, since start
}

// sameFile: the same file (device and inode), not rewritten since (a
// file system may give a new file the inode number of one just removed).
func sameFile(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// remember records the drive.json of dir as the drive's own.
func (h *driveHome) remember(dir string) error {
	h.path = filepath.Join(dir, formatFile)
	fi, err := os.Stat(h.path)
	if err != nil {
		return errf(err, "open drive %s", dir)
	}
	h.info = fi
	if h.start.IsZero() {
		h.start = time.Now()
	}
	h.lastOK.Store(int64(time.Since(h.start)))
	return nil
}

// check fails with ErrDriveOffline when the drive is lost, checking again
// when the last good check is older than maxAge.
func (h *driveHome) check(id string, maxAge time.Duration) error {
	if p := h.lost.Load(); p != nil {
		return *p
	}
	if h.info == nil { // a drive made without OpenLocal
		return nil
	}
	now := time.Since(h.start)
	if now-time.Duration(h.lastOK.Load()) < maxAge {
		return nil
	}
	fi, err := os.Stat(h.path)
	switch {
	case err != nil:
		err = fmt.Errorf("storagenode: drive %s: its identity file is gone (%v): the folder was removed, emptied or unmounted; the drive stays offline until it is opened again: %w", id, err, ErrDriveOffline)
	case !sameFile(fi, h.info):
		err = fmt.Errorf("storagenode: drive %s: %s is no longer the file the drive opened: the folder was replaced; the drive stays offline until it is opened again: %w", id, h.path, ErrDriveOffline)
	default:
		if now > time.Duration(h.lastOK.Load()) {
			h.lastOK.Store(int64(now))
		}
		return nil
	}
	if h.lost.CompareAndSwap(nil, &err) && h.log != nil {
		h.log.Error("drive lost: its folder is no longer the one opened; the drive is offline until the process restarts", "drive", id, "err", err)
	}
	return *h.lost.Load()
}
