package gateway

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

// coldRecorder records, per drive, whether CreateShard was told the shard
// is cold (storagenode.WithColdShard).
type coldRecorder struct {
	storagenode.Drive
	mu   *sync.Mutex
	cold map[string]bool
}

func (d coldRecorder) CreateShard(ctx context.Context, ref storagenode.ShardRef) (storagenode.ShardWriter, error) {
	d.mu.Lock()
	d.cold[d.ID()] = storagenode.ColdShard(ctx)
	d.mu.Unlock()
	return d.Drive.CreateShard(ctx, ref)
}

// TestParityShardsCold: a PUT creates its parity shards, which a healthy
// GET never reads, with the cold hint, and its data shards without it.
func TestParityShardsCold(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	cold := map[string]bool{}
	var drives []Drive
	for _, id := range []string{"d0", "d1", "d2", "d3", "d4", "d5"} {
		drives = append(drives, Drive{Drive: coldRecorder{local.NewMem(id), &mu, cold}, Node: id})
	}
	l, err := New(Config{Drives: drives, DataShards: 4, ParityShards: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.MakeBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: shard files, not inline
	if _, err := l.PutObject(ctx, "bkt", "k", bytes.NewReader(data), int64(len(data)), s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := drives[0].Drive.GetMeta(ctx, "bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(cold) != 6 || len(m.Drives) != 6 {
		t.Fatalf("%d shards created, record names %d drives; want 6", len(cold), len(m.Drives))
	}
	for i, id := range m.Drives {
		if want := i >= m.EC.Data; cold[id] != want {
			t.Errorf("shard %d on %s: cold %v, want %v", i, id, cold[id], want)
		}
	}
	if got, err := readAll(l, "k"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GET: %d bytes, %v", len(got), err)
	}
}
