//go:build !linux

package local

import (
	"errors"
	"os"
	"syscall"
)

var errNoDirect = errors.New("O_DIRECT is not used on this system")

func setDirect(f *os.File, on bool) error { return errNoDirect }

func directSupported(dir string) bool { return false }

func openDirect(syscall.Conn) (*os.File, error) { return nil, errNoDirect }

func isInvalid(err error) bool { return false }
