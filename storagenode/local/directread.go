package local

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"syscall"
)

// The bytes of a shard file from directFrom on (from its first byte on a
// drive with Options.DirectSmallShards) were written past the page cache
// (directWriter), so a GET finds them on the disk, not in memory.
// Reading them through the page cache costs a copy into freshly allocated
// cache pages and another out, and fills the cache with data no one asked
// to keep (the issue's lever "reading cold large objects without polluting
// the page cache"). directReader reads them with O_DIRECT instead, a
// directReadSize aligned block at a time, into a buffer that the reads of
// the frames inside it are served from. The bytes before directFrom, which
// were written through the cache and may still be there, are read as
// before. O_DIRECT reads are coherent with the page cache: the kernel
// writes dirty pages of the range back before it reads (the file's last,
// partial block was written without O_DIRECT).
const directReadSize = 1 << 20

// directReadBufs are the readers' aligned buffers.
var directReadBufs = newDirectBuffers(directReadSize)

// directReader serves ReadAt at offsets from the drive's directFrom on, from a second
// descriptor of the file opened with O_DIRECT when first needed. It is
// safe for concurrent use (io.ReaderAt).
type directReader struct {
	file syscall.Conn // the file, open through the page cache
	size int64

	mu     sync.Mutex
	f      *os.File // O_DIRECT, opened on the first read
	failed bool     // O_DIRECT refused: the caller reads through the cache
	buf    []byte   // aligned, directReadSize; nil when none is held
	bufOff int64    // file offset of buf[0]
	bufLen int      // valid bytes in buf
	end    int64    // the reads' range hint (0: none): fills stop there
	closed bool     // close was called: reads fail
}

// errDirectUnavailable: the file could not be read with O_DIRECT; the
// caller falls back to the page cache.
var errDirectUnavailable = errors.New("O_DIRECT read unavailable")

// readAt reads len(p) bytes at off (off >= the drive's directFrom) or up to the end of
// the file (io.EOF).
func (r *directReader) readAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, fmt.Errorf("storagenode: read shard: %w", fs.ErrClosed)
	}
	if r.failed {
		return 0, errDirectUnavailable
	}
	n := 0
	for n < len(p) {
		if off >= r.size {
			return n, io.EOF
		}
		if off < r.bufOff || off >= r.bufOff+int64(r.bufLen) {
			if err := r.fill(off); err != nil {
				if n == 0 && errors.Is(err, errDirectUnavailable) {
					return 0, err
				}
				return n, err
			}
			if r.bufLen == 0 || off >= r.bufOff+int64(r.bufLen) {
				return n, io.ErrUnexpectedEOF // the file is shorter than it was
			}
		}
		c := copy(p[n:], r.buf[off-r.bufOff:r.bufLen])
		n += c
		off += int64(c)
	}
	return n, nil
}

// fill reads the aligned block holding off into the buffer, up to the
// range hint's end when there is one (never less than one aligned block).
func (r *directReader) fill(off int64) error {
	if r.f == nil {
		f, err := openDirect(r.file)
		if err != nil {
			r.failed = true
			return fmt.Errorf("%w: %w", errDirectUnavailable, err)
		}
		r.f = f
	}
	if r.buf == nil {
		r.buf = directReadBufs.get()
	}
	start := off &^ (directAlign - 1)
	want := int64(len(r.buf))
	if r.end > off {
		want = min(want, (r.end-start+directAlign-1)&^(directAlign-1))
	}
	r.bufOff, r.bufLen = start, 0
	for int64(r.bufLen) < want {
		n, err := r.f.ReadAt(r.buf[r.bufLen:want], start+int64(r.bufLen))
		r.bufLen += n
		if errors.Is(err, io.EOF) || n == 0 && err == nil {
			return nil // the last block: a short read at the end of the file
		}
		if err != nil {
			if r.bufLen == 0 && isInvalid(err) {
				r.failed = true
				return fmt.Errorf("%w: %w", errDirectUnavailable, err)
			}
			return err
		}
		if r.bufLen&(directAlign-1) != 0 {
			return nil // a short read that is not a whole block: the end of the file
		}
	}
	return nil
}

// hint sets the end of the range the reads to come fall in.
func (r *directReader) hint(end int64) {
	r.mu.Lock()
	r.end = end
	r.mu.Unlock()
}

// close closes the descriptor and gives the buffer back.
func (r *directReader) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed, r.bufLen = true, 0
	if r.buf != nil {
		directReadBufs.put(r.buf)
		r.buf = nil
	}
	if r.f != nil {
		err := r.f.Close()
		r.f = nil
		return err
	}
	return nil
}
