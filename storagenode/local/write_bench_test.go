package local_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

// BenchmarkLocalWritePath measures what one drive does for one PUT of a 4+2
// object: create the shard file in the object's own version directory,
// write it in one call (as ec.Encode hands over a frame), commit it (fsync
// file, rename, fsync the directories) and commit the metadata record
// (fsynced index write). Shards of 4 KiB (a 16 KiB object) and 256 KiB (a
// 1 MiB object: one full stripe); bytes/s count shard bytes. The drive lives
// in t.TempDir(), so the numbers are dominated by that file system's fsync.
// The parallel cases run 8 writers per GOMAXPROCS at once (16 on 2 cores),
// as a busy gateway does.
func BenchmarkLocalWritePath(b *testing.B) {
	for _, size := range []int{4 << 10, 256 << 10} {
		shard := make([]byte, size)
		for i := range shard {
			shard[i] = byte(i * 31)
		}
		put := func(b *testing.B, d *local.Drive, i int) error {
			m := benchMeta(i)
			m.Size = int64(4 * size)
			m.Parts[0].Size = m.Size
			ref := storagenode.ShardRef{Bucket: "bench", VersionDir: m.DataDir, Name: m.Parts[0].Name}
			w, err := d.CreateShard(bg, ref)
			if err != nil {
				return err
			}
			if _, err := w.Write(shard); err != nil {
				_ = w.Abort()
				return err
			}
			if err := w.Commit(bg); err != nil {
				return err
			}
			_, err = d.PutMeta(bg, m)
			return err
		}
		b.Run(fmt.Sprintf("shard=%dKiB", size>>10), func(b *testing.B) {
			d := benchDrive(b)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := put(b, d, i); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("shard=%dKiB-parallel", size>>10), func(b *testing.B) {
			d := benchDrive(b)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.SetParallelism(8)
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := put(b, d, int(n.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
