package local_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/drivetest"
	"github.com/ecstore/ecstore/storagenode/local"
)

func benchDrive(b *testing.B) *local.Drive {
	d := openLocal(b)
	if err := d.MakeBucket(bg, "bench", time.Now()); err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkLocalShardWrite measures one 1 MiB shard: create, write in 64 KiB
// pieces, commit (fsync file, rename, fsync directory).
func BenchmarkLocalShardWrite(b *testing.B) {
	for _, newDir := range []bool{false, true} {
		name := "SameVersionDir"
		if newDir {
			name = "NewVersionDir"
		}
		b.Run(name, func(b *testing.B) {
			d := benchDrive(b)
			data := make([]byte, 1<<20)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ref := storagenode.ShardRef{Bucket: "bench", VersionDir: "v", Name: fmt.Sprintf("part.%d", i)}
				if newDir {
					ref.VersionDir = fmt.Sprintf("v%d", i)
				}
				i++
				drivetest.WriteShard(b, d, ref, data, 64<<10)
			}
		})
	}
}

func benchMeta(i int) *storagenode.ObjectMeta {
	return &storagenode.ObjectMeta{
		Bucket: "bench", Key: fmt.Sprintf("photos/2025/%08d.jpg", i), VersionID: fmt.Sprintf("%016x", i),
		DataDir: fmt.Sprintf("%016x", i), ModTime: time.Unix(1750000000, int64(i)), Size: 3 << 20,
		ETag: "9b2cf535f27731c974343645a3985328", ContentType: "image/jpeg",
		EC:     storagenode.ECInfo{Data: 4, Parity: 2, BlockSize: 1 << 20},
		Drives: []string{"n1-d1", "n2-d1", "n3-d1", "n4-d1", "n5-d1", "n6-d1"},
		Parts:  []storagenode.PartInfo{{Number: 1, Size: 3 << 20, ETag: "9b2cf535f27731c974343645a3985328", Name: "part.1"}},
	}
}

// BenchmarkLocalPutMeta measures durable (fsynced) metadata writes, one
// writer and many (pebble group-commits concurrent syncs).
func BenchmarkLocalPutMeta(b *testing.B) {
	b.Run("Serial", func(b *testing.B) {
		d := benchDrive(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := d.PutMeta(bg, benchMeta(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Parallel64", func(b *testing.B) {
		d := benchDrive(b)
		b.ReportAllocs()
		b.SetParallelism(32) // 2 cores x 32 = 64 writers
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := d.PutMeta(bg, benchMeta(int(n.Add(1)))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkLocalListMeta measures listing throughput in pages of 1000; the
// custom metric is records per second.
func BenchmarkLocalListMeta(b *testing.B) {
	d := benchDrive(b)
	const n = 20000
	for i := range n {
		if _, err := d.PutMeta(bg, benchMeta(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	records := 0
	after := ""
	start := time.Now()
	for b.Loop() {
		ms, err := d.ListMeta(bg, "bench", "photos/", after, 1000)
		if err != nil {
			b.Fatal(err)
		}
		records += len(ms)
		if len(ms) < 1000 {
			after = ""
		} else {
			after = ms[len(ms)-1].Key
		}
	}
	b.ReportMetric(float64(records)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkLocalGetMeta measures point reads of metadata.
func BenchmarkLocalGetMeta(b *testing.B) {
	d := benchDrive(b)
	const n = 10000
	for i := range n {
		if _, err := d.PutMeta(bg, benchMeta(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := d.GetMeta(bg, "bench", benchMeta(i%n).Key); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
