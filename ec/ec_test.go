package ec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// randData returns n pseudo-random bytes.
func randData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// encodeFiles encodes data and returns the k+m shard files.
func encodeFiles(t testing.TB, c *Coder, data []byte) [][]byte {
	t.Helper()
	bufs := make([]*bytes.Buffer, c.DataShards()+c.ParityShards())
	ws := make([]io.Writer, len(bufs))
	for i := range bufs {
		bufs[i] = new(bytes.Buffer)
		ws[i] = bufs[i]
	}
	n, errs, err := c.Encode(context.Background(), bytes.NewReader(data), ws, len(ws))
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if n != int64(len(data)) {
		t.Fatalf("Encode read %d bytes, want %d", n, len(data))
	}
	files := make([][]byte, len(bufs))
	for i, b := range bufs {
		if errs[i] != nil {
			t.Fatalf("shard %d: %v", i, errs[i])
		}
		files[i] = b.Bytes()
	}
	return files
}

// readersOf returns a ReaderAt per file, nil for the indexes in missing.
func readersOf(files [][]byte, missing ...int) []io.ReaderAt {
	rs := make([]io.ReaderAt, len(files))
	for i, f := range files {
		if !slices.Contains(missing, i) {
			rs[i] = bytes.NewReader(f)
		}
	}
	return rs
}

func decodeRange(c *Coder, rs []io.ReaderAt, size, off, n int64) ([]byte, Report, error) {
	var out bytes.Buffer
	rep, err := c.Decode(context.Background(), &out, rs, size, off, n)
	return out.Bytes(), rep, err
}

// noLeak fails the test if goroutines started during it outlive it.
func noLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(),
					buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

type config struct{ k, m, block int }

func (c config) String() string { return fmt.Sprintf("%d+%d/B%d", c.k, c.m, c.block) }

func mustNew(t testing.TB, cfg config) *Coder {
	t.Helper()
	c, err := New(cfg.k, cfg.m, WithBlockSize(cfg.block))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNew(t *testing.T) {
	good := []struct{ k, m, b int }{{1, 0, 1}, {4, 2, DefaultBlockSize}, {128, 128, 4096}, {255, 1, 1000}, {256, 0, 10}}
	for _, g := range good {
		c, err := New(g.k, g.m, WithBlockSize(g.b))
		if err != nil {
			t.Errorf("New(%d, %d, %d): %v", g.k, g.m, g.b, err)
			continue
		}
		if c.DataShards() != g.k || c.ParityShards() != g.m || c.BlockSize() != g.b {
			t.Errorf("New(%d, %d, %d) = %d+%d/%d", g.k, g.m, g.b, c.DataShards(), c.ParityShards(), c.BlockSize())
		}
	}
	c, err := New(4, 2)
	if err != nil || c.BlockSize() != DefaultBlockSize {
		t.Errorf("New(4, 2) block size %v, %v; want %d", c.BlockSize(), err, DefaultBlockSize)
	}
	bad := []struct{ k, m, b int }{{0, 2, 100}, {-1, 0, 100}, {4, -1, 100}, {200, 57, 100}, {4, 2, 0}, {4, 2, -5}}
	for _, b := range bad {
		if _, err := New(b.k, b.m, WithBlockSize(b.b)); err == nil {
			t.Errorf("New(%d, %d, %d) succeeded", b.k, b.m, b.b)
		}
	}
}

func TestShardFileSize(t *testing.T) {
	c := mustNew(t, config{4, 2, 1000}) // full stripe: 8+250 bytes per shard
	for _, tc := range []struct{ size, want int64 }{
		{0, 0}, {-1, 0}, {1, 9}, {4, 9}, {5, 10}, {999, 258}, {1000, 258},
		{1001, 267}, {2000, 516}, {3017, 774 + 8 + 5},
	} {
		if got := c.ShardFileSize(tc.size); got != tc.want {
			t.Errorf("ShardFileSize(%d) = %d, want %d", tc.size, got, tc.want)
		}
	}
	c = mustNew(t, config{3, 1, 1000}) // ceil(1000/3) = 334
	if got := c.ShardFileSize(2500); got != 2*342+8+167 {
		t.Errorf("3+1 ShardFileSize(2500) = %d", got)
	}
}

func roundTripConfigs() []config {
	return []config{
		{4, 2, 64 << 10}, {2, 2, 64 << 10}, {3, 1, 1000}, {6, 3, 1000}, {1, 0, 64 << 10},
		{3, 0, 1000}, {1, 1, 1000}, {10, 4, 4096}, {5, 3, 7}, {17, 3, 1000}, {4, 2, DefaultBlockSize},
	}
}

func TestRoundTrip(t *testing.T) {
	noLeak(t)
	for _, cfg := range roundTripConfigs() {
		c := mustNew(t, cfg)
		b := cfg.block
		sizes := []int{0, 1, b - 1, b, b + 1, 3*b + 17}
		if b >= 1000 {
			sizes = append(sizes, 3<<20+5)
		}
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%v/%d", cfg, size), func(t *testing.T) {
				data := randData(size, uint64(size))
				files := encodeFiles(t, c, data)
				for i, f := range files {
					if int64(len(f)) != c.ShardFileSize(int64(size)) {
						t.Fatalf("shard %d: %d bytes, ShardFileSize %d", i, len(f), c.ShardFileSize(int64(size)))
					}
				}
				// Systematic: the data shards hold the object bytes in order.
				if size > 0 {
					per := (min(size, b) + cfg.k - 1) / cfg.k
					first := files[0][ChecksumSize : ChecksumSize+min(per, size)]
					if !bytes.Equal(first, data[:len(first)]) {
						t.Fatal("shard 0 does not start with the object's first bytes")
					}
				}
				got, rep, err := decodeRange(c, readersOf(files), int64(size), 0, int64(size))
				if err != nil {
					t.Fatal(err)
				}
				if rep.Degraded() {
					t.Errorf("healthy decode reported %+v", rep)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("decoded %d bytes differ from the %d written", len(got), len(data))
				}
				for i, f := range files {
					if err := c.VerifyShard(bytes.NewReader(f), int64(size)); err != nil {
						t.Errorf("VerifyShard(shard %d): %v", i, err)
					}
				}
			})
		}
	}
}

// TestConcurrentUse runs encodes and decodes on one Coder at once.
func TestConcurrentUse(t *testing.T) {
	noLeak(t)
	c := mustNew(t, config{4, 2, 4096})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := randData(50_000+g*1000, uint64(g))
			files := encodeFiles(t, c, data)
			got, _, err := decodeRange(c, readersOf(files, g), int64(len(data)), 0, int64(len(data)))
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("goroutine %d: %v", g, err)
			}
		}()
	}
	wg.Wait()
}

func TestReportDegraded(t *testing.T) {
	if (Report{}).Degraded() {
		t.Error("empty report degraded")
	}
	if !(Report{Missing: []int{1}}).Degraded() || !(Report{Corrupt: []int{0}}).Degraded() {
		t.Error("report with missing or corrupt shards not degraded")
	}
}
