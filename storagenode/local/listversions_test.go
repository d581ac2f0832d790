package local_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/drivetest"
)

// TestListVersionsSparse: ListVersions over keys of which only some have
// noncurrent versions (the layout its version iterator skips seeks on),
// keys holding 0x00 and keys that are prefixes of others among them, whole
// and in pages of several sizes resumed inside keys, with and without a
// prefix, equals the versions written, newest first.
func TestListVersionsSparse(t *testing.T) {
	ctx := context.Background()
	d := newMem()
	base := time.Unix(1_700_000_000, 0)
	if err := d.MakeBucket(ctx, "bkt", base); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(17, 4))
	var keys []string
	for i := range 300 {
		keys = append(keys, fmt.Sprintf("k%04d", i))
	}
	keys = append(keys, "k0007\x00", "k0007\x00a", "k0007a", "k0100/x", "k01", "k")
	rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	want := map[string][]string{} // "key@vid", newest first
	n := 0
	for _, k := range keys {
		versions := 1
		if rng.IntN(4) == 0 {
			versions += 1 + rng.IntN(4)
		}
		for v := range versions {
			n++
			m := &storagenode.ObjectMeta{Bucket: "bkt", Key: k, VersionID: fmt.Sprintf("v%06d", n), DataDir: fmt.Sprintf("v%06d", n),
				ModTime: base.Add(time.Duration(n) * time.Second), Versioned: true, Size: 1, ETag: "e",
				EC: storagenode.ECInfo{Data: 2, Parity: 1, BlockSize: 1 << 20}, Drives: []string{"d1", "d2", "d3"}}
			id := k + "@" + m.VersionID
			if v == versions-1 && versions > 1 && rng.IntN(3) == 0 {
				m.DeleteMarker, m.Size, m.Drives = true, 0, nil
				id += "*"
			} else {
				m.Parts = []storagenode.PartInfo{{Number: 1, Size: 1, ETag: "p", Name: "part.1"}}
			}
			if _, err := d.PutMeta(ctx, m); err != nil {
				t.Fatal(err)
			}
			want[k] = append([]string{id}, want[k]...)
		}
	}
	list := func(prefix, afterKey, afterVID string, limit int) []storagenode.ObjectEntry {
		t.Helper()
		es, err := d.ListVersions(ctx, "bkt", prefix, afterKey, afterVID, limit)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	ids := drivetest.VersionLines
	for _, prefix := range []string{"", "k0007", "k01", "k02"} {
		var all []string
		sorted := slices.Sorted(func(yield func(string) bool) {
			for k := range want {
				if len(k) >= len(prefix) && k[:len(prefix)] == prefix && !yield(k) {
					return
				}
			}
		})
		for _, k := range sorted {
			all = append(all, want[k]...)
		}
		if got := ids(list(prefix, "", "", 0)); !slices.Equal(got, all) {
			t.Fatalf("prefix %q: listed %d versions, want %d\n got %v\nwant %v", prefix, len(got), len(all), got, all)
		}
		for _, size := range []int{1, 3, 7, 1000} {
			var got []string
			afterKey, afterVID := "", ""
			for range len(all) + 2 {
				page := list(prefix, afterKey, afterVID, size)
				got = append(got, ids(page)...)
				if len(page) < size {
					break
				}
				last := page[len(page)-1]
				afterKey, afterVID = last.Key, last.VersionID
			}
			if !slices.Equal(got, all) {
				t.Fatalf("prefix %q, pages of %d: %d versions, want %d", prefix, size, len(got), len(all))
			}
		}
	}
}
