package local

import (
	"fmt"
	"os"
	"sync"
	"unsafe"
)

// Large shard files are written with O_DIRECT where the file system takes
// it (directSupported): once a file holds directFrom bytes, the rest goes
// from the writer's aligned buffer to the disk without a copy into the
// page cache, which was most of a large PUT's CPU time, and the final
// fsync has few dirty pages left to write back. Smaller files (objects up
// to about 4 MiB under 4+2) stay in the page cache, where their next GET
// finds them, unless they are cold (storagenode.WithColdShard: parity,
// which a healthy GET never reads): those go past the cache from the first
// block. The last, partial block is written after O_DIRECT is
// switched off again (O_DIRECT needs whole blocks), so the file has its
// exact length. The bytes written with O_DIRECT are read back with it too
// (directread.go).
const (
	// directAlign is the alignment of O_DIRECT buffers, offsets and
	// lengths: 4 KiB covers every logical block size in use (512 B or 4
	// KiB).
	directAlign = 4096
	// directFrom is the size of a shard file from which its writes
	// bypass the page cache (by default: Options.DirectSmallShards
	// bypasses it from the first block).
	directFrom = 1 << 20
)

// directWriter buffers a shard file's bytes in an aligned buffer, writes
// it through the page cache until the file holds from bytes (directFrom,
// or 0 on a drive with Options.DirectSmallShards) and with O_DIRECT after
// that. Not safe for concurrent use.
type directWriter struct {
	f       *os.File
	buf     []byte // aligned; len(buf) is a multiple of directAlign
	n       int    // bytes buffered
	written int64  // bytes written to f
	direct  bool   // f has O_DIRECT set
	from    int64  // the drive's directFrom: the size from which writes bypass the cache
	cold    bool   // storagenode.ColdShard: O_DIRECT from the first block
}

// bypass reports whether the next whole blocks go past the page cache.
func (w *directWriter) bypass() bool { return w.cold || w.written >= w.from }

func (w *directWriter) Write(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		c := copy(w.buf[w.n:], p)
		w.n += c
		p = p[c:]
		total += c
		if w.n == len(w.buf) {
			if err := w.flushFull(); err != nil {
				// The failed buffer held the last min(total, len(buf))
				// bytes of p (and bytes of earlier calls before them).
				return total - min(total, len(w.buf)), err
			}
		}
	}
	return total, nil
}

// flushFull writes the full buffer, switching O_DIRECT on first when the
// file has grown to directFrom (written is then a multiple of the
// buffer's size, so aligned).
func (w *directWriter) flushFull() error {
	if !w.direct && w.bypass() {
		if err := w.directOn(); err != nil {
			return err
		}
	}
	if _, err := w.f.Write(w.buf); err != nil {
		return err
	}
	w.written += int64(len(w.buf))
	w.n = 0
	return nil
}

// directOn switches O_DIRECT on for the writes that follow.
func (w *directWriter) directOn() error {
	if err := setDirect(w.f, true); err != nil {
		return fmt.Errorf("switch O_DIRECT on: %w", err)
	}
	w.direct = true
	return nil
}

// finish writes what is buffered: the whole blocks with O_DIRECT when it
// is on or due (a cold file's), the rest without.
func (w *directWriter) finish() error {
	if !w.direct && w.bypass() && w.n >= directAlign {
		if err := w.directOn(); err != nil {
			return err
		}
	}
	whole := 0
	if w.direct {
		whole = w.n &^ (directAlign - 1)
	}
	if whole > 0 {
		if _, err := w.f.Write(w.buf[:whole]); err != nil {
			return err
		}
	}
	if whole < w.n {
		if w.direct {
			if err := setDirect(w.f, false); err != nil {
				return fmt.Errorf("switch O_DIRECT off for the last block: %w", err)
			}
			w.direct = false
		}
		if _, err := w.f.Write(w.buf[whole:w.n]); err != nil {
			return err
		}
	}
	w.written += int64(w.n)
	w.n = 0
	return nil
}

// directBuffers hands out aligned buffers of one size.
type directBuffers struct {
	size int // a multiple of directAlign
	pool sync.Pool
}

func newDirectBuffers(size int) *directBuffers {
	size = (size + directAlign - 1) &^ (directAlign - 1)
	return &directBuffers{size: size}
}

func (b *directBuffers) get() []byte {
	if p, ok := b.pool.Get().(*[]byte); ok {
		return *p
	}
	return alignedBuffer(b.size)
}

func (b *directBuffers) put(buf []byte) { b.pool.Put(&buf) }

// alignedBuffer is a buffer of size bytes whose first byte is at an
// address that is a multiple of directAlign.
func alignedBuffer(size int) []byte {
	raw := make([]byte, size+directAlign)
	off := 0
	if r := int(uintptr(unsafe.Pointer(&raw[0])) & (directAlign - 1)); r != 0 {
		off = directAlign - r
	}
	return raw[off : off+size : off+size]
}
