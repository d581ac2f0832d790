package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

// memCatalog is a Catalog in memory. pending buckets are those another
// gateway created that this copy has not seen yet: Sync makes them
// visible.
type memCatalog struct {
	mu        sync.Mutex
	buckets   map[string]s3api.BucketInfo
	pending   map[string]s3api.BucketInfo
	syncs     atomic.Int64
	changeErr error // CreateBucket, DeleteBucket and PutSetting fail with it
	// settings by bucket; pendingSet are changes another gateway made
	// that this copy has not seen yet (Sync applies them).
	settings   map[string]s3api.BucketSettings
	pendingSet map[string]s3api.BucketSettings
}

func newMemCatalog() *memCatalog {
	return &memCatalog{buckets: map[string]s3api.BucketInfo{}, pending: map[string]s3api.BucketInfo{},
		settings: map[string]s3api.BucketSettings{}, pendingSet: map[string]s3api.BucketSettings{}}
}

func (c *memCatalog) Settings(name string) (s3api.BucketSettings, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.buckets[name]; !ok {
		return s3api.BucketSettings{}, false
	}
	return c.settings[name], true
}

func (c *memCatalog) PutSetting(_ context.Context, name string, s s3api.Setting, doc []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.changeErr != nil {
		return c.changeErr
	}
	if _, ok := c.buckets[name]; !ok {
		return ErrBucketNotFound
	}
	set := c.settings[name]
	set.Docs[s] = bytes.Clone(doc)
	c.settings[name] = set
	return nil
}

func (c *memCatalog) Bucket(name string) (s3api.BucketInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.buckets[name]
	return b, ok
}

func (c *memCatalog) Buckets() []s3api.BucketInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []s3api.BucketInfo
	for _, b := range c.buckets {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c *memCatalog) CreateBucket(_ context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.changeErr != nil {
		return c.changeErr
	}
	if _, ok := c.buckets[name]; ok {
		return ErrBucketExists
	}
	c.buckets[name] = s3api.BucketInfo{Name: name, Created: time.Now().UTC()}
	return nil
}

func (c *memCatalog) DeleteBucket(_ context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.changeErr != nil {
		return c.changeErr
	}
	if _, ok := c.buckets[name]; !ok {
		return ErrBucketNotFound
	}
	delete(c.buckets, name)
	delete(c.settings, name)
	return nil
}

func (c *memCatalog) Sync(context.Context) error {
	c.syncs.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	for n, b := range c.pending {
		c.buckets[n] = b
	}
	clear(c.pending)
	for n, set := range c.pendingSet {
		c.settings[n] = set
	}
	clear(c.pendingSet)
	return nil
}

// statCounter counts a drive's StatBucket calls.
type statCounter struct {
	storagenode.Drive
	stats *atomic.Int64
}

func (d statCounter) StatBucket(ctx context.Context, bucket string) (storagenode.BucketInfo, error) {
	d.stats.Add(1)
	return d.Drive.StatBucket(ctx, bucket)
}

func catalogLayer(t testing.TB, n int, cat Catalog) (*Layer, []storagenode.Drive, *atomic.Int64) {
	t.Helper()
	var stats atomic.Int64
	var drives []Drive
	var raw []storagenode.Drive
	for i := range n {
		d := local.NewMem(fmt.Sprintf("d%d", i))
		raw = append(raw, d)
		drives = append(drives, Drive{Drive: statCounter{d, &stats}, Node: d.ID()})
	}
	cfg := Config{Drives: drives, DataShards: 4, ParityShards: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if cat != nil {
		cfg.Catalog = cat
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, raw, &stats
}

// TestCatalogBuckets: with a Catalog the catalog decides which buckets
// exist; the drives get their records first and lose them last, and the
// data path asks no drive whether the bucket exists.
func TestCatalogBuckets(t *testing.T) {
	ctx := context.Background()
	cat := newMemCatalog()
	l, drives, stats := catalogLayer(t, 6, cat)

	if err := l.MakeBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	if _, ok := cat.Bucket("bkt"); !ok {
		t.Fatal("MakeBucket did not commit to the catalog")
	}
	for _, d := range drives {
		if _, err := d.StatBucket(ctx, "bkt"); err != nil {
			t.Fatalf("drive %s has no record of the new bucket: %v", d.ID(), err)
		}
	}
	if err := l.MakeBucket(ctx, "bkt"); !errors.Is(err, s3api.ErrBucketAlreadyOwnedByYou) {
		t.Fatalf("second MakeBucket: %v", err)
	}

	stats.Store(0)
	for i := range 5 {
		if _, err := l.PutObject(ctx, "bkt", fmt.Sprint("k", i), bytes.NewReader([]byte("x")), 1, s3api.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := stats.Load(); n != 0 {
		t.Fatalf("5 PUTs asked drives %d times whether the bucket exists; the catalog should answer", n)
	}

	// A bucket another gateway created, not in this copy yet: the miss
	// is confirmed with a Sync, which brings it.
	cat.mu.Lock()
	cat.pending["fresh"] = s3api.BucketInfo{Name: "fresh", Created: time.Now()}
	cat.mu.Unlock()
	before := cat.syncs.Load()
	if _, err := l.HeadBucket(ctx, "fresh"); err != nil {
		t.Fatalf("HeadBucket of a bucket the copy has not seen yet: %v", err)
	}
	if cat.syncs.Load() == before {
		t.Fatal("a miss was not confirmed with a Sync")
	}
	if _, err := l.HeadBucket(ctx, "never"); !errors.Is(err, s3api.ErrNoSuchBucket) {
		t.Fatalf("HeadBucket of a missing bucket: %v", err)
	}

	// Not empty, then empty.
	if err := l.DeleteBucket(ctx, "bkt"); !errors.Is(err, s3api.ErrBucketNotEmpty) {
		t.Fatalf("DeleteBucket of a bucket with objects: %v", err)
	}
	for i := range 5 {
		if err := l.DeleteObject(ctx, "bkt", fmt.Sprint("k", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.DeleteBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	if _, ok := cat.Bucket("bkt"); ok {
		t.Fatal("DeleteBucket left the bucket in the catalog")
	}
	for _, d := range drives {
		if _, err := d.StatBucket(ctx, "bkt"); !errors.Is(err, storagenode.ErrBucketNotFound) {
			t.Fatalf("drive %s kept the deleted bucket's record: %v", d.ID(), err)
		}
	}

	// The store cannot commit: 503, and nothing visible changes.
	cat.changeErr = fmt.Errorf("%w: no majority", ErrUnavailable)
	if err := l.MakeBucket(ctx, "ccc"); !errors.Is(err, s3api.ErrServiceUnavailable) {
		t.Fatalf("MakeBucket without the store: %v", err)
	}
	if bs, _ := l.ListBuckets(ctx); len(bs) != 1 || bs[0].Name != "fresh" {
		t.Fatalf("buckets: %v", bs)
	}
}

// BenchmarkPutBucketTable is issue 16's PutObject metadata cost: a 1 KiB
// PUT (inline: one record write on each of its 6 drives) in a cluster of
// 6, 60 and 600 in-memory drives, with the bucket table on the drives
// (before the metadata store: every PUT asks every drive) and in a
// Catalog (one lookup in the local copy).
func BenchmarkPutBucketTable(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	for _, n := range []int{6, 60, 600} {
		for _, table := range []string{"drives", "catalog"} {
			b.Run(fmt.Sprintf("drives=%d/table=%s", n, table), func(b *testing.B) {
				var cat Catalog
				if table == "catalog" {
					cat = newMemCatalog()
				}
				l, _, stats := catalogLayer(b, n, cat)
				ctx := context.Background()
				if err := l.MakeBucket(ctx, "bkt"); err != nil {
					b.Fatal(err)
				}
				stats.Store(0)
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				i := 0
				for b.Loop() {
					if _, err := l.PutObject(ctx, "bkt", fmt.Sprint("k", i%1000), bytes.NewReader(body), int64(len(body)), s3api.PutOptions{}); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(stats.Load())/float64(b.N), "bucket-checks/op")
			})
		}
	}
}
