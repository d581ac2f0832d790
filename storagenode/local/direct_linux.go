package local

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// setDirect switches O_DIRECT on or off on f.
func setDirect(f *os.File, on bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) {
		flags, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil {
			opErr = err
			return
		}
		if on {
			flags |= unix.O_DIRECT
		} else {
			flags &^= unix.O_DIRECT
		}
		_, opErr = unix.FcntlInt(fd, unix.F_SETFL, flags)
	}); err != nil {
		return err
	}
	return opErr
}

// directSupported reports whether dir's file system takes O_DIRECT writes
// (tmpfs, for one, refuses the flag): it writes a block of a probe file
// with O_DIRECT and one byte without, syncs it and removes it.
func directSupported(dir string) bool {
	f, err := os.CreateTemp(dir, "direct-probe-*")
	if err != nil {
		return false
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := alignedBuffer(directAlign)
	if setDirect(f, true) != nil {
		return false
	}
	if _, err := f.Write(buf); err != nil {
		return false
	}
	if setDirect(f, false) != nil {
		return false
	}
	if _, err := f.Write(buf[:1]); err != nil {
		return false
	}
	return f.Sync() == nil
}

// openDirect opens the file f has open (the same inode, whatever has been
// renamed since) once more, for reading with O_DIRECT.
func openDirect(f syscall.Conn) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var path string
	if err := rc.Control(func(fd uintptr) { path = fmt.Sprintf("/proc/self/fd/%d", fd) }); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_RDONLY|unix.O_DIRECT, 0)
}

// isInvalid reports whether err is EINVAL: what a file system that does
// not take O_DIRECT (or a misaligned request) answers.
func isInvalid(err error) bool { return errors.Is(err, unix.EINVAL) }
