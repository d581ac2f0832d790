package local

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ecstore/ecstore/storagenode"
)

// TestDirectShardWrites writes shard files of sizes around the block and
// buffer edges, in chunks of random sizes, through a drive that uses
// O_DIRECT (and one told not to), and reads every byte back.
func TestDirectShardWrites(t *testing.T) {
	ctx := context.Background()
	for _, buffered := range []bool{false, true} {
		t.Run(fmt.Sprintf("buffered=%v", buffered), func(t *testing.T) {
			// 5000 rounds up to 8192 for O_DIRECT.
			d, err := Open(t.TempDir(), Options{WriteBufferSize: 5000, BufferedWrites: buffered})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if !buffered && !d.direct {
				t.Skip("the test folder's file system does not take O_DIRECT")
			}
			if buffered && d.direct {
				t.Fatal("BufferedWrites set, yet the drive writes with O_DIRECT")
			}
			if err := d.MakeBucket(ctx, "bkt", time.Now()); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for _, size := range []int{0, 1, 4095, 4096, 4097, 8191, 8192, 8193, 3*8192 + 5, 100_000, directFrom - 1, directFrom, directFrom + 8191, directFrom + 8192, 3<<20 + 5, 5 << 20} {
				data := make([]byte, size)
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v", Name: fmt.Sprintf("part.%d", size)}
				w, err := d.CreateShard(ctx, ref)
				if err != nil {
					t.Fatal(err)
				}
				for rest := data; len(rest) > 0; {
					n := min(len(rest), 1+rng.IntN(20_000))
					if k, err := w.Write(rest[:n]); err != nil || k != n {
						t.Fatalf("size %d: Write(%d) = %d, %v", size, n, k, err)
					}
					rest = rest[n:]
				}
				if sw := w.(*shardWriter); !buffered {
					// Past directFrom and a full buffer more, the file
					// is written with O_DIRECT; below directFrom not.
					direct := fileFlags(t, sw.f.(*os.File))&unix.O_DIRECT != 0
					if want := size >= directFrom+8192; direct != want {
						t.Fatalf("size %d: O_DIRECT set %v, want %v", size, direct, want)
					}
				}
				if err := w.Commit(ctx); err != nil {
					t.Fatalf("size %d: commit: %v", size, err)
				}
				r, err := d.OpenShard(ctx, ref)
				if err != nil {
					t.Fatal(err)
				}
				got := make([]byte, r.Size())
				if _, err := r.ReadAt(got, 0); err != nil && size > 0 {
					t.Fatalf("size %d: read back: %v", size, err)
				}
				r.Close()
				if !bytes.Equal(got, data) {
					t.Fatalf("size %d: read back %d bytes that differ from the %d written", size, len(got), len(data))
				}
			}

			// An aborted shard leaves nothing in tmp/.
			w, err := d.CreateShard(ctx, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v", Name: "aborted"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(make([]byte, 10_000)); err != nil {
				t.Fatal(err)
			}
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
			if left, _ := os.ReadDir(d.tmp); len(left) != 0 {
				t.Fatalf("tmp/ holds %d files after an abort", len(left))
			}
		})
	}
}

func fileFlags(t *testing.T, f *os.File) int {
	t.Helper()
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	return flags
}

// residentPages counts the pages of the file at path in the page cache.
func residentPages(t *testing.T, path string) (resident, total int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	for _, v := range vec {
		if v&1 != 0 {
			resident++
		}
	}
	return resident, len(vec)
}

// TestColdShardPastCache: a cold shard (storagenode.WithColdShard) smaller
// than directFrom is written past the page cache, all but its last partial
// block; one without the hint stays in the cache. Both read back whole.
func TestColdShardPastCache(t *testing.T) {
	ctx := context.Background()
	d := directDrive(t)
	data := make([]byte, 300_000) // 73 pages and a part
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, cold := range []bool{true, false} {
		ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: fmt.Sprintf("cold-%v", cold), Name: storagenode.SinglePartName}
		wctx := ctx
		if cold {
			wctx = storagenode.WithColdShard(ctx)
		}
		commitShard(t, d, wctx, ref, data)
		resident, total := residentPages(t, d.flatPath(ref))
		if cold && resident > 1 {
			t.Errorf("cold shard: %d of %d pages in the page cache, want at most the last", resident, total)
		}
		if !cold && resident != total {
			t.Errorf("shard without the hint: %d of %d pages in the page cache, want all", resident, total)
		}
		r, err := d.OpenShard(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, r.Size())
		if _, err := r.ReadAt(got, 0); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if !bytes.Equal(got, data) {
			t.Fatalf("cold %v: read back %d bytes that differ", cold, len(got))
		}
	}
}

// TestDirectSmallShards: a drive with Options.DirectSmallShards writes
// shard files of every size past the page cache (all but a last partial
// block) and reads them back with O_DIRECT, byte for byte, at offsets
// around the blocks' edges.
func TestDirectSmallShards(t *testing.T) {
	ctx := context.Background()
	d := directDriveWith(t, Options{DirectSmallShards: true})
	rng := rand.New(rand.NewPCG(5, 6))
	for _, size := range []int{1, 4095, 4096, 4097, 100_000, 262_160, directFrom + 5} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: fmt.Sprintf("v%d", size), Name: storagenode.SinglePartName}
		commitShard(t, d, ctx, ref, data)
		if resident, total := residentPages(t, d.flatPath(ref)); resident > 1 {
			t.Errorf("size %d: %d of %d pages in the page cache, want at most the last", size, resident, total)
		}
		r, err := d.OpenShard(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if r.(*shardReader).dr == nil {
			t.Fatalf("size %d: no O_DIRECT reader", size)
		}
		for _, off := range []int{0, 1, 4095, 4096, size / 2, size - 1} {
			for _, n := range []int{1, 4096, size} {
				if off < 0 || off >= size {
					continue
				}
				p := make([]byte, n)
				got, err := r.ReadAt(p, int64(off))
				want := min(n, size-off)
				if got != want || !bytes.Equal(p[:got], data[off:off+got]) || (want < n) != (err == io.EOF) {
					t.Fatalf("size %d: ReadAt(%d bytes at %d) = %d, %v; want %d bytes equal to the written", size, n, off, got, err, want)
				}
			}
		}
		if f := r.(*shardReader).dr.f; f == nil || fileFlags(t, f)&unix.O_DIRECT == 0 {
			t.Fatalf("size %d: the reads did not use an O_DIRECT descriptor", size)
		}
		r.Close()
	}
}

// TestDirectShardReads reads shard files larger than directFrom back at
// offsets and lengths around directFrom, the read buffer's and the
// blocks' edges and the end of the file, with and without a range hint,
// concurrently too: every byte must be the one written, a read past the
// end must say io.EOF, and the bytes past directFrom must come through
// the O_DIRECT descriptor.
func TestDirectShardReads(t *testing.T) {
	ctx := context.Background()
	d := directDrive(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{directFrom + 1, directFrom + 4097, 3*directReadSize + 12345, 5 << 20} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v", Name: fmt.Sprintf("part.%d", size)}
		commitShard(t, d, ctx, ref, data)
		r, err := d.OpenShard(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		sr := r.(*shardReader)
		if sr.dr == nil {
			t.Fatalf("size %d: no O_DIRECT reader", size)
		}
		check := func(off, n int) {
			t.Helper()
			p := make([]byte, n)
			got, err := r.ReadAt(p, int64(off))
			want := min(n, max(size-off, 0))
			if got != want || !bytes.Equal(p[:got], data[off:off+got]) {
				t.Fatalf("size %d: ReadAt(%d bytes at %d) = %d, %v; want %d bytes equal to the written", size, n, off, got, err, want)
			}
			if want < n && err != io.EOF {
				t.Fatalf("size %d: ReadAt(%d bytes at %d) past the end: %v, want io.EOF", size, n, off, err)
			}
			if want == n && err != nil {
				t.Fatalf("size %d: ReadAt(%d bytes at %d): %v", size, n, off, err)
			}
		}
		edges := []int{0, 1, directFrom - 4096, directFrom - 1, directFrom, directFrom + 1, directFrom + directReadSize - 1, directFrom + directReadSize, size - 4097, size - 4096, size - 1, size}
		for _, off := range edges {
			for _, n := range []int{1, 100, 4096, 262_160, directReadSize + 7, 3 * directReadSize} {
				if off >= 0 && off <= size {
					check(off, n)
				}
			}
		}
		// Sequential frames as the decoder reads them, under a hint.
		r.(storagenode.RangeHinter).HintRange(directFrom, int64(size))
		for off := 0; off < size; off += 262_160 {
			check(off, 262_160)
		}
		// Concurrent readers of the same file.
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for off := g * 4097; off < size; off += 100_003 {
					p := make([]byte, 70_000)
					n, _ := r.ReadAt(p, int64(off))
					if !bytes.Equal(p[:n], data[off:off+n]) || n != min(70_000, size-off) {
						t.Errorf("size %d: concurrent ReadAt at %d: %d bytes, differ", size, off, n)
						return
					}
				}
			})
		}
		wg.Wait()
		if sr.dr.f == nil || fileFlags(t, sr.dr.f)&unix.O_DIRECT == 0 {
			t.Fatalf("size %d: the reads past directFrom did not use an O_DIRECT descriptor", size)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		// A read after Close fails, also where the O_DIRECT buffer held
		// the bytes (it panicked on the buffer given back).
		for _, off := range []int64{directFrom + 5, int64(size) - 10} {
			if n, err := r.ReadAt(make([]byte, 8), off); err == nil {
				t.Fatalf("size %d: ReadAt at %d after Close = %d, nil; want an error", size, off, n)
			}
		}
	}
}

// TestDirectWriteCountOnError: a Write whose buffer flush fails reports
// how many of its own bytes were taken, never a negative count, also when
// the failed buffer held bytes of earlier Writes.
func TestDirectWriteCountOnError(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "shard-*")
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // every flush fails
	for _, c := range []struct{ before, p int }{{0, 8192}, {100, 8092}, {100, 10_000}, {100, 20_000}, {0, 3 * 8192}} {
		w := &directWriter{f: f, buf: alignedBuffer(8192), from: directFrom}
		if c.before > 0 {
			if n, err := w.Write(make([]byte, c.before)); n != c.before || err != nil {
				t.Fatalf("buffered Write(%d) = %d, %v", c.before, n, err)
			}
		}
		// The first flush fails, and every byte of p written so far is in it.
		if n, err := w.Write(make([]byte, c.p)); err == nil || n != 0 {
			t.Errorf("Write(%d) after %d buffered = %d, %v; want 0 and an error", c.p, c.before, n, err)
		}
	}
}

// directDrive opens a drive in a test folder, with a bucket "bkt"; it
// skips the test where the folder's file system does not take O_DIRECT.
func directDrive(t *testing.T) *Drive {
	t.Helper()
	return directDriveWith(t, Options{})
}

// directDriveWith is directDrive with opts.
func directDriveWith(t *testing.T, opts Options) *Drive {
	t.Helper()
	d, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if !d.direct {
		t.Skip("the test folder's file system does not take O_DIRECT")
	}
	if err := d.MakeBucket(context.Background(), "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	return d
}

// commitShard writes data as the shard file ref in one Write and commits
// it (ctx is CreateShard's: its hints).
func commitShard(t *testing.T, d *Drive, ctx context.Context, ref storagenode.ShardRef, data []byte) {
	t.Helper()
	w, err := d.CreateShard(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
}
