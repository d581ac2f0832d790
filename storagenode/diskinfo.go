package storagenode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/cockroachdb/pebble"
)

// DiskInfo is a drive's capacity as its file system reports it.
type DiskInfo struct {
	// Total is the file system's size in bytes.
	Total uint64 `json:"total"`
	// Free is the space the drive's process may still use.
	Free uint64 `json:"free"`
	// Used is Total minus the file system's free blocks.
	Used uint64 `json:"used"`
	// Records is the number of object records the drive holds (one per
	// shard of an object), when asked for with WithRecordCount; else -1.
	Records int64 `json:"records"`
	// ReadOnly is set when the drive takes no writes: its file system is
	// mounted read-only (as after errors), a file cannot be created in its
	// folder, or a fault marks it so. It still serves reads.
	ReadOnly bool `json:"readOnly,omitempty"`
}

type recordCountKey struct{}

// WithRecordCount makes DiskInfo calls under ctx count the drive's object
// records too: a scan of its index keys, fine for a status page, too much
// for every metrics scrape.
func WithRecordCount(ctx context.Context) context.Context {
	return context.WithValue(ctx, recordCountKey{}, true)
}

// WantsRecordCount reports whether ctx asks DiskInfo for the record count
// (WithRecordCount).
func WantsRecordCount(ctx context.Context) bool {
	v, _ := ctx.Value(recordCountKey{}).(bool)
	return v
}

// DiskInfoer is implemented by drives that can report their capacity. A
// drive that answers DiskInfo is reachable and has its folder in place, so
// health checks use it as a liveness probe too.
type DiskInfoer interface {
	DiskInfo(ctx context.Context) (DiskInfo, error)
}

// DiskInfoOf asks d for its capacity; errors.ErrUnsupported if d cannot tell.
func DiskInfoOf(ctx context.Context, d Drive) (DiskInfo, error) {
	if di, ok := d.(DiskInfoer); ok {
		return di.DiskInfo(ctx)
	}
	return DiskInfo{}, fmt.Errorf("disk info of drive %s: %w", d.ID(), errors.ErrUnsupported)
}

// DiskInfo reports the capacity of the file system holding the drive. It
// fails with ErrDriveOffline when the drive is closed or its folder (its
// identity file) is gone, as when a disk is unmounted or removed.
func (d *LocalDrive) DiskInfo(ctx context.Context) (DiskInfo, error) {
	if err := d.enter(ctx); err != nil {
		return DiskInfo{}, err
	}
	defer d.leave()
	if _, err := os.Stat(filepath.Join(d.dir, formatFile)); err != nil {
		return DiskInfo{}, fmt.Errorf("drive %s: %v: %w", d.id, err, ErrDriveOffline)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.dir, &st); err != nil {
		return DiskInfo{}, fmt.Errorf("drive %s: statfs: %v: %w", d.id, err, ErrDriveOffline)
	}
	bs := uint64(st.Bsize)
	di := DiskInfo{Total: st.Blocks * bs, Free: st.Bavail * bs, Used: (st.Blocks - st.Bfree) * bs, Records: -1}
	di.ReadOnly = st.Flags&stReadOnly != 0 || !d.takesWrites()
	if WantsRecordCount(ctx) {
		n, err := d.countRecords(ctx)
		if err != nil {
			return DiskInfo{}, err
		}
		di.Records = n
	}
	return di, nil
}

// stReadOnly is the read-only bit of Statfs_t.Flags (ST_RDONLY on Linux,
// MNT_RDONLY on the BSDs and macOS).
const stReadOnly = 0x1

// takesWrites reports whether a file can be created (and removed) in the
// drive's tmp folder: false on a read-only file system (EROFS), or a folder
// the process may not write (EACCES), whatever the mount flags say.
func (d *LocalDrive) takesWrites() bool {
	f, err := os.CreateTemp(d.tmp, "probe-*")
	if err != nil {
		return false
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(name) == nil
}

// countRecords counts the object records of every bucket: a scan of keys,
// values unread.
func (d *LocalDrive) countRecords(ctx context.Context) (int64, error) {
	lower := []byte{'o', sep}
	it, err := d.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return 0, errf(err, "count records")
	}
	var n int64
	for ok := it.First(); ok; ok = it.Next() {
		n++
		if n%4096 == 0 && ctx.Err() != nil {
			_ = it.Close()
			return 0, ctx.Err()
		}
	}
	if err := it.Close(); err != nil {
		return 0, errf(err, "count records")
	}
	return n, nil
}

// DiskInfo reports the inner drive's capacity (a MemDrive has none: zeros).
func (d *MemDrive) DiskInfo(ctx context.Context) (DiskInfo, error) {
	unlock, err := d.lock(ctx, false)
	if err != nil {
		return DiskInfo{}, err
	}
	defer unlock()
	di := DiskInfo{Records: -1}
	if WantsRecordCount(ctx) {
		di.Records = 0
		for _, b := range d.buckets {
			di.Records += int64(len(b.objects))
		}
	}
	return di, nil
}
