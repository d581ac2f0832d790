package storagenode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// DiskInfo is a drive's capacity as its file system reports it.
type DiskInfo struct {
	// Total is the file system's size in bytes.
	Total uint64 `json:"total"`
	// Free is the space the drive's process may still use.
	Free uint64 `json:"free"`
	// Used is Total minus the file system's free blocks.
	Used uint64 `json:"used"`
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
	return DiskInfo{Total: st.Blocks * bs, Free: st.Bavail * bs, Used: (st.Blocks - st.Bfree) * bs}, nil
}

// DiskInfo reports the inner drive's capacity (a MemDrive has none: zeros).
func (d *MemDrive) DiskInfo(ctx context.Context) (DiskInfo, error) {
	unlock, err := d.lock(ctx, false)
	if err != nil {
		return DiskInfo{}, err
	}
	unlock()
	return DiskInfo{}, nil
}

// DiskInfo fails while the drive is set offline, else asks the inner drive.
func (f *FaultyDrive) DiskInfo(ctx context.Context) (DiskInfo, error) {
	if err := f.check(); err != nil {
		return DiskInfo{}, err
	}
	return DiskInfoOf(ctx, f.Drive)
}

// DiskInfo asks the inner drive, through the breaker.
func (b *Breaker) DiskInfo(ctx context.Context) (DiskInfo, error) {
	return guard(b, func() (DiskInfo, error) { return DiskInfoOf(ctx, b.Drive) })
}

// DiskInfo asks the node for the drive's capacity.
func (d *RemoteDrive) DiskInfo(ctx context.Context) (DiskInfo, error) {
	if err := d.check(ctx, "disk info"); err != nil {
		return DiskInfo{}, err
	}
	var res DiskInfo
	if err := d.get(ctx, "disk info", mDiskInfo, nil, &res); err != nil {
		return DiskInfo{}, err
	}
	return res, nil
}
