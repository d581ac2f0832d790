package local

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"

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
				if !bytes.Equal(got, data) {
					t.Fatalf("size %d: read back %d bytes that differ from the %d written", size, len(got), len(data))
				}
				if sr := r.(*shardReader); (sr.direct != nil) != (!buffered && size > directFrom) {
					t.Fatalf("size %d: read with O_DIRECT %v", size, sr.direct != nil)
				}
				// Ranges of every kind: across directFrom, unaligned,
				// larger than a pooled read buffer, up to and past the end.
				offs := []int64{0, 1, directFrom - 5, directFrom, directFrom + 1, int64(size) - 3, int64(size), int64(size) + 5}
				for i := 0; i < 30; i++ {
					offs = append(offs, rng.Int64N(int64(size)+1))
				}
				for _, off := range offs {
					if off < 0 {
						continue
					}
					for _, n := range []int{1, 4095, 4096, 70_000, directReadBuffer + 3, rng.IntN(300_000) + 1} {
						buf := make([]byte, n)
						k, err := r.ReadAt(buf, off)
						want := 0
						if off < int64(size) {
							want = min(n, size-int(off))
						}
						if k != want || (k < n && err != io.EOF) || (k == n && err != nil) {
							t.Fatalf("size %d: ReadAt(%d bytes, %d) = %d, %v; want %d", size, n, off, k, err, want)
						}
						if k > 0 && !bytes.Equal(buf[:k], data[off:off+int64(k)]) {
							t.Fatalf("size %d: ReadAt(%d bytes, %d): wrong bytes", size, n, off)
						}
					}
				}
				r.Close()
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

// TestDirectReadWindows: a drive lends at most directWindows O_DIRECT read
// windows at once; the readers past that read through the page cache, and
// every reader gets the right bytes; a closed reader's window is lent again.
func TestDirectReadWindows(t *testing.T) {
	ctx := context.Background()
	d, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.direct {
		t.Skip("the test folder's file system does not take O_DIRECT")
	}
	if err := d.MakeBucket(ctx, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 3<<20+11)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v", Name: "big"}
	w, err := d.CreateShard(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var readers []*shardReader
	for range directWindows + 2 {
		r, err := d.OpenShard(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		readers = append(readers, r.(*shardReader))
	}
	check := func(r *shardReader) {
		t.Helper()
		buf := make([]byte, 100_000)
		off := int64(2<<20 + 5)
		if n, err := r.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, data[off:off+int64(n)]) {
			t.Fatalf("ReadAt = %d, %v (equal %v)", n, err, bytes.Equal(buf[:n], data[off:off+int64(n)]))
		}
	}
	windowed := 0
	for _, r := range readers {
		check(r)
		if r.winBuf != nil {
			windowed++
		}
	}
	if windowed != directWindows {
		t.Fatalf("%d readers got a window, want %d", windowed, directWindows)
	}
	readers[0].Close()
	last := readers[len(readers)-1]
	last.winBuf = nil // it has none; now one is free
	check(last)
	if last.winBuf == nil {
		t.Fatal("a window freed by Close was not lent again")
	}
	for _, r := range readers[1:] {
		r.Close()
	}
	if n := len(d.windows); n != 0 {
		t.Fatalf("%d window slots still taken after every reader closed", n)
	}
}
