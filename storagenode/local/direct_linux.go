package local

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// createFile creates a new file in dir, named as createTemp names it,
// for writing (as os.CreateTemp: mode 0600, never an existing file).
func createFile(dir, pattern string) (*os.File, string, error) {
	name := filepath.Join(dir, tempName(pattern))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", err
	}
	return f, name, nil
}

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
	f, name, err := createFile(dir, "direct-probe-*")
	if err != nil {
		return false
	}
	defer os.Remove(name)
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
