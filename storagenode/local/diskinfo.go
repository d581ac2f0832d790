package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/cockroachdb/pebble"
	"github.com/ecstore/ecstore/storagenode"
)

// DiskInfo reports the capacity of the file system holding the drive
// (zeros on a file system other than the operating system's: a drive in
// memory). It fails with ErrDriveOffline when the drive is closed or its
// folder (its identity file) is gone, as when a disk is unmounted or
// removed.
func (d *Drive) DiskInfo(ctx context.Context) (storagenode.DiskInfo, error) {
	if err := d.enter(ctx); err != nil {
		return storagenode.DiskInfo{}, err
	}
	defer d.leave()
	if _, err := d.fs.Stat(filepath.Join(d.dir, formatFile)); err != nil {
		return storagenode.DiskInfo{}, fmt.Errorf("drive %s: %v: %w", d.id, err, storagenode.ErrDriveOffline)
	}
	di := storagenode.DiskInfo{Records: -1, Versions: true, SSE: true}
	if d.opts.onOS() {
		var st syscall.Statfs_t
		if err := syscall.Statfs(d.dir, &st); err != nil {
			return storagenode.DiskInfo{}, fmt.Errorf("drive %s: statfs: %v: %w", d.id, err, storagenode.ErrDriveOffline)
		}
		bs := uint64(st.Bsize)
		di.Total, di.Free, di.Used = st.Blocks*bs, st.Bavail*bs, (st.Blocks-st.Bfree)*bs
		di.ReadOnly = st.Flags&stReadOnly != 0 || !d.takesWrites()
	}
	if storagenode.WantsRecordCount(ctx) {
		n, err := d.countRecords(ctx)
		if err != nil {
			return storagenode.DiskInfo{}, err
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
func (d *Drive) takesWrites() bool {
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
func (d *Drive) countRecords(ctx context.Context) (int64, error) {
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
