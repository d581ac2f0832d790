package local

import (
	"os"

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
