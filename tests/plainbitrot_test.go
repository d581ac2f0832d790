package tests

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestPlainClusterBitrot: over plain HTTP internode a node sends shard
// reads from the file with sendfile, checking nothing itself; the gateway
// must still catch a flipped byte in any shard file of a node's drive and
// serve the right bytes. Two files at a time are corrupted (the most 4+2
// can rebuild), in three pairs that cover all six, so every data shard (the
// ones a healthy GET reads) is read corrupt once.
func TestPlainClusterBitrot(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster; skipped with -short")
	}
	parallelHeavy(t, 20*time.Second)
	ctx := testCtx(t, 2*time.Minute)
	c := StartPlainCluster(t, 6, 1, 3, 1)
	g := c.Gateway(0)
	mc := g.Minio(t)
	const bucket = "plainrot"
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := randData(91, 9<<20+4321)
	if _, err := mc.PutObject(ctx, bucket, "victim", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, n := range c.Nodes {
		dirs = append(dirs, n.Dirs...)
	}
	files, originals := readShardFiles(t, dirs, bucket)
	write := func(f string, b []byte) {
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := metricValue(t, g.Server, "ecstore_checksum_failures_total")
	for i := range 3 {
		pair := []string{files[i], files[i+3]}
		for _, f := range pair {
			b := append([]byte{}, originals[f]...)
			b[len(b)/2] ^= 0x5a // far past the first 4 KiB, which the node reads itself
			write(f, b)
		}
		got, err := getAll(ctx, mc, bucket, "victim", minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("GET with %v corrupt: %v", pair, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("GET with %v corrupt returned wrong bytes (%d of %d)", pair, len(got), len(data))
		}
		for _, f := range pair {
			write(f, originals[f])
		}
	}
	if after := metricValue(t, g.Server, "ecstore_checksum_failures_total"); after <= before {
		t.Fatalf("ecstore_checksum_failures_total %v before and %v after reading corrupt data shards: the gateway did not see them", before, after)
	}
}
