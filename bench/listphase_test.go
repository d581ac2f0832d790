package bench

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// versionedSet makes, under prefix in a versioned bucket, the keys
// key(prefix, 0..19): keys i%4 == 0 overwritten twice more (two noncurrent
// versions), keys i%5 == 1 ending in a delete marker. That is 34 versions
// and delete markers, of which 16 keys are current objects.
func versionedSet(t *testing.T, cfg Config, prefix string) (entries, current int64) {
	t.Helper()
	ctx := context.Background()
	cfg.EnsureDefaults()
	c, err := newClient(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if _, err := c.ensureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err := c.do(ctx, "PutBucketVersioning", http.MethodPut, "", url.Values{"versioning": {""}},
		[]byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for i := range int64(20) {
		puts := 1
		if i%4 == 0 {
			puts = 3
		}
		for range puts {
			if err := c.put(ctx, key(prefix, i), []byte("x")); err != nil {
				t.Fatal(err)
			}
			entries++
		}
		if i%5 == 1 {
			if err := c.del(ctx, key(prefix, i)); err != nil {
				t.Fatal(err)
			}
			entries++
		} else {
			current++
		}
	}
	return entries, current
}

// TestListVersionsPhase walks a small versioned data set in pages of 4
// (a key's versions split over pages) with both list phases: on the run's
// own objects, and as an existing data set that Run must not write into.
func TestListVersionsPhase(t *testing.T) {
	endpoint := startServer(t)
	cfg := testConfig(endpoint)
	cfg.pageKeys = 4
	entries, current := versionedSet(t, cfg, "vset")
	if entries != 34 || current != 16 {
		t.Fatalf("data set of %d entries, %d current", entries, current)
	}

	// As if the run had written the 16 current objects (of the 20 keys,
	// those without a delete marker): one walk of ceil(34/4) pages finds
	// each version and delete marker once, and the keys whose latest
	// entry is a version.
	cfg.Prefix, cfg.Concurrency = "vset", 1
	cfg.EnsureDefaults()
	r, err := newRunner(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.c.close()
	ctx := context.Background()
	r.live = make([]int64, current)
	res := r.runPhase(ctx, PhaseListVersions, 0, 9, false)
	if res.Ops != 9 || res.Errors != 0 || res.Objects != entries {
		t.Fatalf("listversions walk: %+v; want 9 pages, %d entries, no error", res, entries)
	}
	res = r.runPhase(ctx, PhaseList, 0, 4, false)
	if res.Ops != 4 || res.Errors != 0 || res.Objects != current {
		t.Fatalf("list walk: %+v; want 4 pages, %d keys, no error", res, current)
	}
	r.live = make([]int64, current+1)
	res = r.runPhase(ctx, PhaseListVersions, 0, 9, false)
	if res.Errors != 1 || res.ErrorCodes[CodeListMismatch] != 1 || !strings.Contains(res.ErrorSamples[CodeListMismatch], "found 16 objects, 17 were written") {
		t.Fatalf("listversions walk missing an object: %+v; want one ListMismatch", res)
	}

	// The same prefix through Run: an existing data set, walked without a
	// write, every walk (c2: two workers, which walk 36 pages between
	// them) finding what the first found.
	var log bytes.Buffer
	rc := testConfig(endpoint)
	rc.pageKeys, rc.Prefix, rc.Keep, rc.Log, rc.Concurrency = 4, "vset", true, &log, 2
	rc.Phases, rc.Ops = []Phase{PhaseListVersions}, 36
	results, err := Run(ctx, rc)
	if err != nil || len(results) != 1 {
		t.Fatalf("Run: %v, %+v", err, results)
	}
	if res := results[0]; res.Ops != 36 || res.Errors != 0 || res.Objects < 3*entries {
		t.Errorf("listversions over an existing data set: %+v; want 36 pages, at least %d entries, no error", res, 3*entries)
	}
	rc.Phases, rc.Ops, rc.Concurrency = []Phase{PhaseList}, 16, 1
	results, err = Run(ctx, rc)
	if err != nil || len(results) != 1 {
		t.Fatalf("Run: %v, %+v", err, results)
	}
	if res := results[0]; res.Ops != 16 || res.Errors != 0 || res.Objects != 4*current {
		t.Errorf("list over an existing data set: %+v; want 16 pages, %d keys, no error", res, 4*current)
	}
	if !strings.Contains(log.String(), "already holds objects") {
		t.Errorf("no note of the existing data set:\n%s", log.String())
	}
	r.live = make([]int64, current)
	res = r.runPhase(ctx, PhaseListVersions, 0, 9, false)
	if res.Objects != entries || res.Errors != 0 {
		t.Errorf("after the runs, the prefix holds %d versions and delete markers, want %d (untouched): %+v", res.Objects, entries, res)
	}
}
