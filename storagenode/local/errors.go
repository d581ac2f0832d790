package local

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/ecstore/ecstore/storagenode"
)

// errf wraps err with the package prefix and an operation description. A
// "no space left on device" error additionally wraps ErrDiskFull, so callers
// can test for either with errors.Is.
func errf(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if errors.Is(err, syscall.ENOSPC) && !errors.Is(err, storagenode.ErrDiskFull) {
		return fmt.Errorf("storagenode: %s: %w: %w", msg, storagenode.ErrDiskFull, err)
	}
	return fmt.Errorf("storagenode: %s: %w", msg, err)
}
