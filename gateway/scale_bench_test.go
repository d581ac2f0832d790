package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode/local"
)

// scaleLayout is the cluster shape of the scale benchmarks: nodes of
// perNode in-memory drives each, dealt round robin over 3 zones and listed
// node by node, as a cluster map lists them.
type scaleLayout struct{ nodes, perNode int }

// scaleLayouts are the clusters of issue 18's target 4: 6 drives (6 nodes
// of 1), 60 (30 nodes of 2) and 600 (100 nodes of 6), in 3 zones.
var scaleLayouts = []scaleLayout{{6, 1}, {30, 2}, {100, 6}}

func (s scaleLayout) drives() int { return s.nodes * s.perNode }

// scaleLayer builds a 4+2 Layer over s with a Catalog (the bucket check is
// one lookup, no drive is asked) and bucket "bkt". It returns the map's
// drives by ID, and a count of the drives' StatBucket calls.
func scaleLayer(b *testing.B, s scaleLayout) (*Layer, map[string]Drive, *atomic.Int64) {
	b.Helper()
	var stats atomic.Int64
	byID := map[string]Drive{}
	var drives []Drive
	for n := range s.nodes {
		zone, node := fmt.Sprintf("z%d", n%3), fmt.Sprintf("n%03d", n)
		for i := range s.perNode {
			d := local.NewMem(fmt.Sprintf("%s-%s-d%d", zone, node, i))
			b.Cleanup(func() { d.Close() })
			drives = append(drives, Drive{Drive: statCounter{d, &stats}, Node: node, Zone: zone})
			byID[d.ID()] = drives[len(drives)-1]
		}
	}
	l, err := New(Config{Drives: drives, DataShards: 4, ParityShards: 2, Catalog: newMemCatalog(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	if err := l.MakeBucket(context.Background(), "bkt"); err != nil {
		b.Fatal(err)
	}
	stats.Store(0)
	runtime.GC() // the setup's garbage is not the loop's to collect
	return l, byID, &stats
}

// BenchmarkPutObjectScale is issue 18's target 4: PutObject's metadata
// work must not grow with the cluster. Each op PUTs a new key of 4 KiB
// through Layer.PutObject (the S3 handler's call) into a cluster of 6, 60
// or 600 in-memory drives; the body is stored inline (one record write on
// each of the 6 placed drives, no shard file), so the op is the metadata
// path: bucket lookup in the Catalog, placement over every drive, erasure
// coding of 4 KiB, 6 record writes.
//
// Two costs of the harness, not of the gateway, differ with the size: at
// 6 drives every drive indexes every object, so its index flushes and
// compacts during the run (at 60 and 600 no drive fills a memtable); at
// 600 the process holds 600 drive indexes (about 140 MB of heap that each
// GC cycle marks, 3,000 goroutines). The gateway's own growth is clearest
// between 60 and 600.
func BenchmarkPutObjectScale(b *testing.B) {
	benchPutScale(b, 4<<10, true)
}

// BenchmarkPutLargeObjectScale is BenchmarkPutObjectScale with 1 MiB
// bodies, written to shard files (create, stream, commit on 6 drives)
// before the records. Every object stays in memory: run it with a few
// hundred iterations (-benchtime 200x).
func BenchmarkPutLargeObjectScale(b *testing.B) {
	benchPutScale(b, 1<<20, false)
}

func benchPutScale(b *testing.B, size int, inline bool) {
	body := randBytes(18, size)
	for _, s := range scaleLayouts {
		b.Run(fmt.Sprintf("drives=%d", s.drives()), func(b *testing.B) {
			l, byID, stats := scaleLayer(b, s)
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(size))
			n := 0
			for b.Loop() {
				if _, err := l.PutObject(ctx, "bkt", scaleKey(n), bytes.NewReader(body), int64(size), s3api.PutOptions{}); err != nil {
					b.Fatal(err)
				}
				n++
			}
			if c := stats.Load(); c != 0 {
				b.Fatalf("%d PUTs asked the drives %d times whether the bucket exists; the Catalog should answer", n, c)
			}
			checkScalePuts(b, l, byID, n, body, inline)
		})
	}
}

func scaleKey(i int) string { return fmt.Sprintf("obj-%08d", i) }

// checkScalePuts checks, outside the timed loop, that the benchmark did
// what it claims on up to 100 of its n keys: each reads back whole, is
// stored inline or not as expected, on 6 drives of 6 nodes, 2 in each
// zone; and the keys are spread over the cluster rather than piled on a
// few drives.
func checkScalePuts(b *testing.B, l *Layer, byID map[string]Drive, n int, body []byte, inline bool) {
	b.Helper()
	ctx := context.Background()
	step := max(1, n/100)
	used := map[string]bool{}
	sampled := 0
	for i := 0; i < n; i += step {
		key := scaleKey(i)
		meta, err := l.readMeta(ctx, "bkt", key)
		if err != nil {
			b.Fatalf("%s: %v", key, err)
		}
		if meta.InlineData != inline {
			b.Fatalf("%s: inline %v, want %v", key, meta.InlineData, inline)
		}
		perZone, nodes := map[string]int{}, map[string]bool{}
		for _, id := range meta.Drives {
			used[id] = true
			perZone[byID[id].Zone]++
			nodes[byID[id].Node] = true
		}
		if len(meta.Drives) != 6 || len(nodes) != 6 || len(perZone) != 3 || perZone["z0"] != 2 || perZone["z1"] != 2 {
			b.Fatalf("%s: drives %v: want 6 drives on 6 nodes, 2 per zone", key, meta.Drives)
		}
		obj, err := l.OpenObject(ctx, "bkt", key)
		if err != nil {
			b.Fatalf("%s: open: %v", key, err)
		}
		var got bytes.Buffer
		if err := obj.Read(ctx, &got, 0, int64(len(body))); err != nil || !bytes.Equal(got.Bytes(), body) {
			b.Fatalf("%s: read back %d bytes: %v", key, got.Len(), err)
		}
		sampled++
	}
	if want := min(len(byID), 6*sampled) / 2; len(used) < want {
		b.Fatalf("%d keys landed on %d drives of %d; want at least %d", sampled, len(used), len(byID), want)
	}
}
