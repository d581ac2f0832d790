package ec

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestVerifyShard(t *testing.T) {
	c := mustNew(t, config{4, 2, 1000})
	size := int64(3017)
	files := encodeFiles(t, c, randData(int(size), 30))
	for i, f := range files {
		if err := c.VerifyShard(bytes.NewReader(f), size); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	tests := []struct {
		name   string
		damage func([]byte) []byte
		stripe string
	}{
		{"block byte", func(f []byte) []byte { flip(c, f, 1, ChecksumSize+100); return f }, "stripe 1"},
		{"checksum byte", func(f []byte) []byte { flip(c, f, 0, 3); return f }, "stripe 0"},
		{"last stripe", func(f []byte) []byte { f[len(f)-1] ^= 1; return f }, "stripe 3"},
		{"two stripes", func(f []byte) []byte { flip(c, f, 2, 9); flip(c, f, 3, 1); return f }, "stripe 2"},
		{"truncated", func(f []byte) []byte { return f[:len(f)-1] }, "stripe 3"},
		{"empty", func(f []byte) []byte { return nil }, "stripe 0"},
		{"trailing bytes", func(f []byte) []byte { return append(f, 0) }, "longer"},
	}
	for _, tc := range tests {
		for _, shard := range []int{0, 5} {
			f := tc.damage(bytes.Clone(files[shard]))
			err := c.VerifyShard(bytes.NewReader(f), size)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.stripe) {
				t.Errorf("%s, shard %d: err %v, want ErrCorrupt naming %q", tc.name, shard, err, tc.stripe)
			}
		}
	}
	// A read error is not corruption.
	err := c.VerifyShard(&countingReaderAt{fail: true, mu: new(sync.Mutex), calls: new([]readCall)}, size)
	if !errors.Is(err, errDiskGone) || errors.Is(err, ErrCorrupt) {
		t.Errorf("read error: %v", err)
	}
	if err := c.VerifyShard(bytes.NewReader(nil), 0); err != nil {
		t.Errorf("empty object: %v", err)
	}
}
