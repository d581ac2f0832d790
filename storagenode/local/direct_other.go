//go:build !linux

package local

import (
	"errors"
	"os"
)

var errNoDirect = errors.New("O_DIRECT is not used on this system")

func setDirect(f *os.File, on bool) error { return errNoDirect }

func directSupported(dir string) bool { return false }
