package local

import (
	"bytes"
	"context"
	"fmt"
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
