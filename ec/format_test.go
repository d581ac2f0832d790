package ec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/klauspost/reedsolomon"
	"github.com/zeebo/xxh3"
)

// TestFormat parses shard files by the format documented in doc.go, without
// the decoder: frames of [XXH3-64 big-endian][block], data blocks holding the
// stripe's bytes zero padded, parity blocks from reedsolomon.
func TestFormat(t *testing.T) {
	if FormatVersion != 2 || ChecksumSize != 8 {
		t.Fatalf("format version %d with %d checksum bytes: update this test and doc.go", FormatVersion, ChecksumSize)
	}
	for _, cfg := range []config{{4, 2, 1000}, {3, 1, 1000}, {5, 3, 7}, {6, 0, 64}, {4, 2, 1 << 16}} {
		enc, err := reedsolomon.New(cfg.k, cfg.m)
		if err != nil {
			t.Fatal(err)
		}
		c := mustNew(t, cfg)
		b := cfg.block
		for _, size := range []int{1, b - 1, b, b + 1, 3*b + 17, 5*b - 3} {
			t.Run(fmt.Sprintf("%v/%d", cfg, size), func(t *testing.T) {
				// Encode two objects so the second one reuses dirty buffers.
				encodeFiles(t, c, bytes.Repeat([]byte{0xee}, 4*b))
				data := randData(size, uint64(size))
				files := encodeFiles(t, c, data)
				off := 0
				for s := 0; s*b < size; s++ {
					n := min(b, size-s*b)
					per := (n + cfg.k - 1) / cfg.k
					blocks := make([][]byte, cfg.k+cfg.m)
					for i := range blocks {
						f := files[i][off : off+ChecksumSize+per]
						blocks[i] = f[ChecksumSize:]
						if got, want := binary.BigEndian.Uint64(f), xxh3.Hash(blocks[i]); got != want {
							t.Fatalf("stripe %d shard %d: checksum %016x, want %016x", s, i, got, want)
						}
					}
					want := make([]byte, cfg.k*per)
					copy(want, data[s*b:s*b+n])
					if got := bytes.Join(blocks[:cfg.k], nil); !bytes.Equal(got, want) {
						t.Fatalf("stripe %d: data blocks are not the stripe's bytes zero padded", s)
					}
					parity := make([][]byte, cfg.k+cfg.m)
					copy(parity, blocks[:cfg.k])
					for i := cfg.k; i < len(parity); i++ {
						parity[i] = make([]byte, per)
					}
					if err := enc.Encode(parity); err != nil {
						t.Fatal(err)
					}
					for i := cfg.k; i < len(parity); i++ {
						if !bytes.Equal(parity[i], blocks[i]) {
							t.Fatalf("stripe %d: parity block %d differs from reedsolomon's", s, i)
						}
					}
					off += ChecksumSize + per
				}
				for i, f := range files {
					if len(f) != off {
						t.Fatalf("shard %d: %d bytes, frames end at %d", i, len(f), off)
					}
				}
			})
		}
	}
}
