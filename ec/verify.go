package ec

import (
	"fmt"
	"io"
)

// VerifyShard reads a whole shard file, as written by Encode for an object
// of objectSize bytes, and checks every frame's checksum. It works the same
// for data and parity shards. A checksum mismatch, a file cut short or a
// file longer than ShardFileSize(objectSize) gives an error wrapping
// ErrCorrupt that names the first bad stripe; other read errors are
// returned wrapped as they are. It is meant for background scrubbing.
func (c *Coder) VerifyShard(r io.ReaderAt, objectSize int64) error {
	if objectSize < 0 {
		return fmt.Errorf("ec: verify: negative object size %d", objectSize)
	}
	b := int64(c.blockSize)
	stripes := (objectSize + b - 1) / b
	buf := make([]byte, c.stride)
	for s := int64(0); s < stripes; s++ {
		_, per := c.stripeLen(s, objectSize)
		f := buf[:ChecksumSize+per]
		n, err := r.ReadAt(f, s*int64(c.stride))
		switch {
		case n == len(f):
		case err == nil || err == io.EOF || err == io.ErrUnexpectedEOF:
			return fmt.Errorf("ec: verify: stripe %d: shard file too short: %w", s, ErrCorrupt)
		default:
			return fmt.Errorf("ec: verify: stripe %d: %w", s, err)
		}
		if !frameOK(f) {
			return fmt.Errorf("ec: verify: stripe %d: %w", s, ErrCorrupt)
		}
	}
	var one [1]byte
	if n, _ := r.ReadAt(one[:], c.ShardFileSize(objectSize)); n > 0 {
		return fmt.Errorf("ec: verify: shard file longer than %d bytes: %w", c.ShardFileSize(objectSize), ErrCorrupt)
	}
	return nil
}
