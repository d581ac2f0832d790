package rpc_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/drivetest"
	"github.com/ecstore/ecstore/storagenode/rpc"
)

// remoteBench serves a fresh drive of the given kind ("Mem" or "Local")
// over loopback and returns the Client for it, with bucket "bench".
func remoteBench(b *testing.B, kind string) *rpc.Client {
	var d storagenode.Drive
	if kind == "Local" {
		d = openLocal(b)
	} else {
		d = newMem()
	}
	if err := d.MakeBucket(bg, "bench", time.Now()); err != nil {
		b.Fatal(err)
	}
	return remote(b, serve(b, rpcOpts(nil), d).URL, d.ID(), rpcOpts(nil))
}

// BenchmarkRemoteShardWrite measures one 1 MiB shard through the internode
// API over loopback: CreateShard (a round trip for the go-ahead), 16 writes
// of 64 KiB streamed with the body MAC, Commit. Local adds the drive's fsyncs
// (compare BenchmarkLocalShardWrite); Parallel runs 8 streams at once, as a
// gateway does to a node holding several shards.
func BenchmarkRemoteShardWrite(b *testing.B) {
	data := make([]byte, 1<<20)
	for _, kind := range []string{"Mem", "Local"} {
		b.Run(kind, func(b *testing.B) {
			r := remoteBench(b, kind)
			ref := storagenode.ShardRef{Bucket: "bench", VersionDir: "v", Name: "part.1"}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				drivetest.WriteShard(b, r, ref, data, 64<<10)
			}
		})
	}
	b.Run("Mem-Parallel8", func(b *testing.B) {
		r := remoteBench(b, "Mem")
		var n atomic.Int64
		b.SetBytes(int64(len(data)))
		b.SetParallelism(4) // 2 cores x 4
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ref := storagenode.ShardRef{Bucket: "bench", VersionDir: "v", Name: fmt.Sprintf("part.%d", n.Add(1))}
			for pb.Next() {
				drivetest.WriteShard(b, r, ref, data, 64<<10)
			}
		})
	})
}

// BenchmarkRemoteShardRead measures reading a 1 MiB shard over loopback:
// ReadAt of the whole shard on an open reader (one request), and
// Open+ReadAt+Close (two requests, as a gateway's first read of a shard).
func BenchmarkRemoteShardRead(b *testing.B) {
	data := make([]byte, 1<<20)
	buf := make([]byte, len(data))
	for _, kind := range []string{"Mem", "Local"} {
		r := remoteBench(b, kind)
		ref := storagenode.ShardRef{Bucket: "bench", VersionDir: "v", Name: "part.1"}
		drivetest.WriteShard(b, r, ref, data, 64<<10)
		b.Run(kind+"-ReadAt", func(b *testing.B) {
			sr, err := r.OpenShard(bg, ref)
			if err != nil {
				b.Fatal(err)
			}
			defer sr.Close()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if n, err := sr.ReadAt(buf, 0); n != len(buf) || err != nil {
					b.Fatal(n, err)
				}
			}
		})
		b.Run(kind+"-OpenReadAt", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				sr, err := r.OpenShard(bg, ref)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := sr.ReadAt(buf, 0); n != len(buf) || err != nil {
					b.Fatal(n, err)
				}
				_ = sr.Close()
			}
		})
	}
}

// BenchmarkRemoteGetMeta measures one metadata round trip (sign, send,
// verify, drive lookup, JSON both ways).
func BenchmarkRemoteGetMeta(b *testing.B) {
	r := remoteBench(b, "Mem")
	if _, err := r.PutMeta(bg, benchMeta(1)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.GetMeta(bg, "bench", benchMeta(1).Key); err != nil {
			b.Fatal(err)
		}
	}
}
