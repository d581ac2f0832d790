package scrub_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ecstore/ecstore/ec"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
	"github.com/ecstore/ecstore/storagenode/scrub"
)

func TestScrubberFindsAndRemovesCorruptShard(t *testing.T) {
	ctx := context.Background()
	d := local.NewMem("d1")
	if err := d.MakeBucket(ctx, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	c, _ := ec.New(2, 1, ec.WithBlockSize(1024))
	data := bytes.Repeat([]byte("ecstore!"), 1000)
	var shards [3]bytes.Buffer
	if _, _, err := c.Encode(ctx, bytes.NewReader(data), []io.Writer{&shards[0], &shards[1], &shards[2]}, 3); err != nil {
		t.Fatal(err)
	}
	versioned := false
	put := func(key, dir string, shard []byte) {
		w, _ := d.CreateShard(ctx, storagenode.ShardRef{Bucket: "bkt", VersionDir: dir, Name: "part.1"})
		w.Write(shard)
		if err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		m := &storagenode.ObjectMeta{Bucket: "bkt", Key: key, VersionID: dir, DataDir: dir, ModTime: time.Now(), Size: int64(len(data)),
			EC: storagenode.ECInfo{Data: 2, Parity: 1, BlockSize: 1024}, Drives: []string{"d1", "x", "y"},
			Parts: []storagenode.PartInfo{{Number: 1, Size: int64(len(data)), Name: "part.1"}}, Versioned: versioned}
		if _, err := d.PutMeta(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	put("good", "v1", shards[0].Bytes())
	bad := append([]byte{}, shards[0].Bytes()...)
	bad[len(bad)/2] ^= 1
	put("bad", "v2", bad)
	s := &scrub.Scrubber{Drive: d, BytesPerSec: 1 << 30, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := s.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Stats.Shards.Load() != 2 || s.Stats.Corrupt.Load() != 1 || s.Stats.Passes.Load() != 1 {
		t.Fatalf("stats: shards %d corrupt %d passes %d", s.Stats.Shards.Load(), s.Stats.Corrupt.Load(), s.Stats.Passes.Load())
	}
	if _, err := d.OpenShard(ctx, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v2", Name: "part.1"}); err == nil {
		t.Fatal("the corrupt shard is still there")
	}
	if _, err := d.OpenShard(ctx, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}); err != nil {
		t.Fatalf("the good shard was touched: %v", err)
	}

	// Noncurrent versions are scrubbed too: a corrupt one below a good
	// current version of the key.
	versioned = true
	put("ver", "v4", bad)
	put("ver", "v5", shards[0].Bytes())
	if err := s.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Stats.Shards.Load() != 2+3 || s.Stats.Corrupt.Load() != 2 {
		t.Fatalf("second pass: shards %d corrupt %d; want the noncurrent version's corrupt shard found", s.Stats.Shards.Load(), s.Stats.Corrupt.Load())
	}
	if _, err := d.OpenShard(ctx, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v4", Name: "part.1"}); err == nil {
		t.Fatal("the noncurrent version's corrupt shard is still there")
	}
	if _, err := d.OpenShard(ctx, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v5", Name: "part.1"}); err != nil {
		t.Fatalf("the current version's shard was touched: %v", err)
	}
}
