package storagenode

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrCorrupt marks a record in a drive's index that cannot be decoded. The
// caller should treat the record as missing on this drive and queue a heal.
// (Shard data corruption is detected by the ec checksums, not by the drive.)
var ErrCorrupt = errors.New("storagenode: corrupt record")

// errf wraps err with the package prefix and an operation description. A
// "no space left on device" error additionally wraps ErrDiskFull, so callers
// can test for either with errors.Is.
func errf(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if errors.Is(err, syscall.ENOSPC) && !errors.Is(err, ErrDiskFull) {
		return fmt.Errorf("storagenode: %s: %w: %w", msg, ErrDiskFull, err)
	}
	return fmt.Errorf("storagenode: %s: %w", msg, err)
}
