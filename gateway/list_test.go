package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/faultdrive"
	"github.com/ecstore/ecstore/storagenode/intercept"
	"github.com/ecstore/ecstore/storagenode/local"
)

// listCluster is a Layer over n in-memory drives whose listing calls are
// counted per drive.
type listCluster struct {
	*Layer
	faulty []*faultdrive.Drive
	lists  []atomic.Int64
}

// newListCluster builds it; wrap, when not nil, wraps each drive.
func newListCluster(t testing.TB, n, k, m int, wrap func(i int, d storagenode.Drive) storagenode.Drive) *listCluster {
	t.Helper()
	lc := &listCluster{lists: make([]atomic.Int64, n)}
	var drives []Drive
	for i := range n {
		id := fmt.Sprintf("d%d", i)
		f := faultdrive.New(local.NewMem(id))
		lc.faulty = append(lc.faulty, f)
		var d storagenode.Drive = intercept.Observe(f, func(_, op string, _ time.Duration, _ int64, _ bool) {
			if op == intercept.ClassList {
				lc.lists[i].Add(1)
			}
		})
		if wrap != nil {
			d = wrap(i, d)
		}
		drives = append(drives, Drive{Drive: d, Node: id})
	}
	l, err := New(Config{Drives: drives, DataShards: k, ParityShards: m, BlockSize: 4096,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	lc.Layer = l
	if err := l.MakeBucket(context.Background(), "bkt"); err != nil {
		t.Fatal(err)
	}
	return lc
}

// record is a version's metadata record as a PUT writes it (4+2).
func record(key, version string, age int) *storagenode.ObjectMeta {
	return &storagenode.ObjectMeta{
		Bucket: "bkt", Key: key, VersionID: version, DataDir: version,
		ModTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(age) * time.Second),
		Size:    int64(len(version)), ETag: "etag-" + version, EC: storagenode.ECInfo{Data: 4, Parity: 2, BlockSize: 4096},
		Drives: []string{"d0", "d1", "d2", "d3", "d4", "d5"},
	}
}

// place writes rec on the given drives only (a record is all a listing
// reads).
func (lc *listCluster) place(t testing.TB, rec *storagenode.ObjectMeta, drives ...int) {
	t.Helper()
	for _, i := range drives {
		if _, err := lc.faulty[i].PutMeta(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
}

// listAll pages through the bucket and returns "key=etag" per object and
// the prefixes.
func (lc *listCluster) listAll(t testing.TB, p s3api.ListParams) (objs, prefixes []string) {
	t.Helper()
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("listing does not end")
		}
		res, err := lc.ListObjects(context.Background(), "bkt", p)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Objects {
			objs = append(objs, o.Key+"="+o.ETag)
		}
		prefixes = append(prefixes, res.Prefixes...)
		if !res.IsTruncated {
			return objs, prefixes
		}
		p.After = res.NextAfter
	}
}

// fullListing is the reference: every drive's records of every key, and
// the version pick chooses among them.
func (lc *listCluster) fullListing(t testing.TB) []string {
	t.Helper()
	m, err := lc.newMerger(context.Background(), "bkt", "", "", listBatch, false)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for {
		_, e, ok := m.next()
		if !ok {
			return out
		}
		if e != nil {
			out = append(out, e.Key+"="+e.ETag)
		}
	}
}

// TestListSubsetRule: with 6 drives and 4+2 a listing reads 4 drives, and
// still lists exactly the keys whose newest version is on at least k
// drives, with that version, whichever 4 it reads.
func TestListSubsetRule(t *testing.T) {
	lc := newListCluster(t, 6, 4, 2, nil)
	cases := []struct {
		key  string
		put  func(key string)
		want string // listed etag; "" for not listed
	}{
		{"everywhere", func(k string) { lc.place(t, record(k, "v1", 1), 0, 1, 2, 3, 4, 5) }, "etag-v1"},
		{"exactly-k-first", func(k string) { lc.place(t, record(k, "v1", 1), 0, 1, 2, 3) }, "etag-v1"},
		{"exactly-k-last", func(k string) { lc.place(t, record(k, "v1", 1), 2, 3, 4, 5) }, "etag-v1"},
		{"exactly-k-spread", func(k string) { lc.place(t, record(k, "v1", 1), 0, 2, 4, 5) }, "etag-v1"},
		{"stray-on-one", func(k string) { lc.place(t, record(k, "v1", 1), 3) }, ""},
		{"lost-quorum", func(k string) { lc.place(t, record(k, "v1", 1), 0, 1, 5) }, ""},
		{"stale-on-one", func(k string) {
			lc.place(t, record(k, "v1", 1), 4)
			lc.place(t, record(k, "v2", 2), 0, 1, 2, 3, 5)
		}, "etag-v2"},
		{"overwrite-lost-quorum", func(k string) {
			lc.place(t, record(k, "v1", 1), 0, 1, 2, 3)
			lc.place(t, record(k, "v2", 2), 4, 5)
		}, "etag-v1"},
		{"overwrite-on-k", func(k string) {
			lc.place(t, record(k, "v1", 1), 1, 4)
			lc.place(t, record(k, "v2", 2), 0, 2, 3, 5)
		}, "etag-v2"},
		{"overwrite-half-way", func(k string) {
			lc.place(t, record(k, "v1", 1), 0, 1, 2)
			lc.place(t, record(k, "v2", 2), 3, 4, 5)
		}, ""},
		{"stray-newer-on-one", func(k string) {
			lc.place(t, record(k, "v1", 1), 0, 1, 2, 3, 4)
			lc.place(t, record(k, "v9", 9), 5)
		}, "etag-v1"},
	}
	var want []string
	for _, c := range cases {
		c.put(c.key)
		if c.want != "" {
			want = append(want, c.key+"="+c.want)
		}
	}
	slices.Sort(want)
	if got := lc.fullListing(t); !slices.Equal(got, want) {
		t.Fatalf("reference listing = %q, want %q", got, want)
	}
	// The subset is chosen at random: list often enough to meet every one.
	for round := range 60 {
		for _, max := range []int{1, 2, 1000} {
			got, _ := lc.listAll(t, s3api.ListParams{MaxKeys: max})
			if !slices.Equal(got, want) {
				t.Fatalf("round %d, max-keys %d: listed %q, want %q", round, max, got, want)
			}
		}
	}
}

// TestListReadsSubset: a healthy listing reads max(k, m+1) drives when
// every object is on every drive, and all drives otherwise; a drive whose
// breaker is open is not among those read.
func TestListReadsSubset(t *testing.T) {
	for _, tt := range []struct{ n, k, m, read int }{
		{6, 4, 2, 4}, {4, 2, 2, 3}, {5, 3, 2, 3}, {8, 4, 2, 8}, {3, 1, 2, 3}, {6, 2, 4, 5},
	} {
		t.Run(fmt.Sprintf("%d drives %d+%d", tt.n, tt.k, tt.m), func(t *testing.T) {
			lc := newListCluster(t, tt.n, tt.k, tt.m, nil)
			ctx := context.Background()
			for i := range 30 {
				if _, err := lc.PutObject(ctx, "bkt", fmt.Sprintf("k%02d", i), strings.NewReader("x"), 1, s3api.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			for offline := range 2 {
				if offline == 1 {
					lc.faulty[0].SetOffline(true)
				}
				for i := range lc.lists {
					lc.lists[i].Store(0)
				}
				res, err := lc.ListObjects(ctx, "bkt", s3api.ListParams{MaxKeys: 1000})
				if err != nil || len(res.Objects) != 30 {
					t.Fatalf("listing: %d objects, %v", len(res.Objects), err)
				}
				read := 0
				for i := range lc.lists {
					if lc.lists[i].Load() > 0 {
						read++
					}
				}
				if read != tt.read {
					t.Errorf("offline %d: the listing read %d drives, want %d", offline, read, tt.read)
				}
				if offline == 1 && tt.read < tt.n && lc.lists[0].Load() > 0 {
					t.Error("the listing read the drive that is down")
				}
			}
		})
	}
}

// failingList is a drive that looks healthy but fails every listing.
type failingList struct{ storagenode.Drive }

func (failingList) ListEntries(context.Context, string, string, string, int) ([]storagenode.ObjectEntry, error) {
	return nil, errors.New("list: injected failure")
}

// TestListSubsetDriveFails: when a drive read fails, the listing reads the
// others and loses nothing.
func TestListSubsetDriveFails(t *testing.T) {
	lc := newListCluster(t, 6, 4, 2, func(i int, d storagenode.Drive) storagenode.Drive {
		if i == 2 {
			return failingList{d}
		}
		return d
	})
	for i := range 24 {
		// Even keys on every drive, odd ones on exactly k (drive 2 among
		// them or not).
		ds := []int{0, 1, 2, 3, 4, 5}
		if i%2 == 1 {
			ds = []int{i % 6, (i + 1) % 6, (i + 2) % 6, (i + 3) % 6}
		}
		lc.place(t, record(fmt.Sprintf("k%02d", i), "v1", 1), ds...)
	}
	want := lc.fullListing(t)
	if len(want) < 12 {
		t.Fatalf("reference listing has %d keys, want the 12 on every drive at least", len(want))
	}
	for round := range 40 {
		got, _ := lc.listAll(t, s3api.ListParams{MaxKeys: 7})
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: listed %q, want %q", round, got, want)
		}
	}
}

// TestListSubsetMatchesFull: over random record layouts (each key's
// versions on random drives), paged and delimited listings that read a
// subset list what a merge of all drives lists.
func TestListSubsetMatchesFull(t *testing.T) {
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	r := rand.New(rand.NewPCG(7, 11))
	for round := range rounds {
		lc := newListCluster(t, 6, 4, 2, nil)
		for i := range 150 {
			key := fmt.Sprintf("d%d/k%03d", i%3, i)
			// Up to three versions, each on a random set of drives; a drive
			// keeps the newest it was given (as PutMeta does).
			for v := range 1 + r.IntN(3) {
				var ds []int
				for d := range 6 {
					if r.IntN(10) < 7 {
						ds = append(ds, d)
					}
				}
				lc.place(t, record(key, fmt.Sprintf("v%d", v), v), ds...)
			}
		}
		want := lc.fullListing(t)
		for _, max := range []int{1, 3, 50, 1000} {
			got, _ := lc.listAll(t, s3api.ListParams{MaxKeys: max})
			if !slices.Equal(got, want) {
				t.Fatalf("round %d, max-keys %d:\n got %q\nwant %q", round, max, got, want)
			}
		}
		// Delimited: every prefix d0/ d1/ d2/ that holds a listed key.
		var wantPrefixes []string
		for _, o := range want {
			if p := o[:3]; !slices.Contains(wantPrefixes, p) {
				wantPrefixes = append(wantPrefixes, p)
			}
		}
		if _, got := lc.listAll(t, s3api.ListParams{Delimiter: "/", MaxKeys: 1}); !slices.Equal(got, wantPrefixes) {
			t.Fatalf("round %d: prefixes %q, want %q", round, got, wantPrefixes)
		}
	}
}

// BenchmarkListObjects measures 1000-key pages over 6 in-memory drives
// (4+2), every key on every drive: the gateway's merge without the
// storage engine.
func BenchmarkListObjects(b *testing.B) {
	lc := newListCluster(b, 6, 4, 2, nil)
	const n = 20000
	for i := range n {
		lc.place(b, record(fmt.Sprintf("photos/%08d.jpg", i), fmt.Sprintf("v%08d", i), i), 0, 1, 2, 3, 4, 5)
	}
	benchListPages(b, lc.Layer)
}

// benchListPages lists "photos/" in 1000-key pages over and over (from the
// start again after the last page), one page per iteration, and reports
// keys per second.
func benchListPages(b *testing.B, l *Layer) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	after, keys := "", 0
	start := time.Now()
	for b.Loop() {
		res, err := l.ListObjects(ctx, "bkt", s3api.ListParams{Prefix: "photos/", After: after, MaxKeys: 1000})
		if err != nil {
			b.Fatal(err)
		}
		keys += len(res.Objects)
		after = res.NextAfter
		if !res.IsTruncated {
			after = ""
		}
	}
	b.ReportMetric(float64(keys)/time.Since(start).Seconds(), "keys/s")
}

// BenchmarkListObjectsLocal measures 1000-key pages over 6 local drives
// (pebble indexes in temporary folders, 4+2), every key on every drive:
// the listing path of the embedded server without HTTP. The custom metric
// is keys per second; -benchtime sets the pages.
func BenchmarkListObjectsLocal(b *testing.B) {
	const n = 20000
	var drives []Drive
	for i := range 6 {
		d, err := local.Open(b.TempDir(), local.Options{
			ID: fmt.Sprintf("d%d", i), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = d.Close() })
		drives = append(drives, Drive{Drive: d, Node: d.ID()})
	}
	l, err := New(Config{Drives: drives, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := l.MakeBucket(ctx, "bkt"); err != nil {
		b.Fatal(err)
	}
	// Records only (all a listing reads), written by many writers so that
	// the drives group their synced writes.
	var next atomic.Int64
	errs := make(chan error, 64)
	for range 64 {
		go func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				rec := record(fmt.Sprintf("photos/%08d.jpg", i), fmt.Sprintf("v%08d", i), i)
				for _, d := range drives {
					if _, err := d.PutMeta(ctx, rec); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 64 {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	benchListPages(b, l)
}

// limitRecorder records the limits of a drive's ListEntries calls.
type limitRecorder struct {
	storagenode.Drive
	mu     sync.Mutex
	limits []int
}

func (d *limitRecorder) ListEntries(ctx context.Context, bucket, prefix, after string, limit int) ([]storagenode.ObjectEntry, error) {
	d.mu.Lock()
	d.limits = append(d.limits, limit)
	d.mu.Unlock()
	return d.Drive.ListEntries(ctx, bucket, prefix, after, limit)
}

// TestListLaterScansSized: once a page's first scan (the page and one key)
// falls short because some keys are deleted (delete markers current), the
// next scan of each drive asks for about what the page still needs, not
// for another listBatch.
func TestListLaterScansSized(t *testing.T) {
	var recs []*limitRecorder
	lc := newListCluster(t, 6, 4, 2, func(_ int, d storagenode.Drive) storagenode.Drive {
		r := &limitRecorder{Drive: d}
		recs = append(recs, r)
		return r
	})
	for i := range 1100 {
		rec := record(fmt.Sprintf("k%04d", i), "v", i)
		rec.DeleteMarker = i%20 == 5 // 55 keys deleted
		lc.place(t, rec, 0, 1, 2, 3, 4, 5)
	}
	res, err := lc.Layer.ListObjects(context.Background(), "bkt", s3api.ListParams{MaxKeys: 1000})
	if err != nil || len(res.Objects) != 1000 || !res.IsTruncated {
		t.Fatalf("page: %d objects, truncated %v, %v", len(res.Objects), res.IsTruncated, err)
	}
	for i, r := range recs {
		for j, limit := range r.limits {
			if j == 0 && limit != 1001 || j > 0 && limit > 200 {
				t.Errorf("drive %d scanned with limits %v; want 1001, then about the 56 keys still needed", i, r.limits)
				break
			}
		}
	}
}
