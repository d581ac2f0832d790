package gateway

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

// versionLine shows a listed version as "key@vid" (+ "*" for a delete
// marker, "!" for the latest).
func versionLine(v s3api.VersionInfo) string {
	s := v.Key + "@" + v.VersionID
	if v.DeleteMarker {
		s += "*"
	}
	if v.IsLatest {
		s += "!"
	}
	return s
}

func listVersionLines(t *testing.T, l *Layer, p s3api.ListVersionsParams) ([]string, s3api.ListVersionsResult) {
	t.Helper()
	res, err := l.ListObjectVersions(context.Background(), "bkt", p)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range res.Versions {
		out = append(out, versionLine(v))
	}
	for _, p := range res.Prefixes {
		out = append(out, "prefix:"+p)
	}
	return out, res
}

// TestListObjectVersions: objects written without versioning are listed
// as their null versions; versions and delete markers the drives hold are
// listed newest first when at least k drives hold them; a key whose
// current version is a delete marker is not in ListObjects; pages of every
// size cover the listing exactly.
func TestListObjectVersions(t *testing.T) {
	ctx := context.Background()
	lc := newListCluster(t, 6, 4, 2, nil)
	l := lc.Layer
	for _, k := range []string{"a", "b/1", "b/2", "c", "v"} {
		if _, err := l.PutObject(ctx, "bkt", k, strings.NewReader(k), int64(len(k)), s3api.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := listVersionLines(t, l, s3api.ListVersionsParams{MaxKeys: 1000})
	if want := []string{"a@null!", "b/1@null!", "b/2@null!", "c@null!", "v@null!"}; !slices.Equal(got, want) {
		t.Fatalf("versions of unversioned objects: %v, want %v", got, want)
	}

	// Versions of "v" written to the drives as a versioned write would:
	// x1 on every drive, a delete marker x2 on every drive, and x3 on one
	// drive only (a write that lost its quorum: not listed).
	base, err := lc.faulty[0].GetMeta(ctx, "bkt", "v")
	if err != nil {
		t.Fatal(err)
	}
	version := func(vid string, n int, marker bool) *storagenode.ObjectMeta {
		m := base.Clone()
		m.VersionID, m.Versioned, m.DeleteMarker = vid, true, marker
		m.ModTime = base.ModTime.Add(time.Duration(n) * time.Second)
		m.Inline = nil
		return m
	}
	for i, d := range lc.faulty {
		for _, m := range []*storagenode.ObjectMeta{version("x1", 1, false), version("x2", 2, true)} {
			if _, err := d.PutMeta(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		if i == 0 {
			if _, err := d.PutMeta(ctx, version("x3", 3, false)); err != nil {
				t.Fatal(err)
			}
		}
	}
	all := []string{"a@null!", "b/1@null!", "b/2@null!", "c@null!", "v@x2*!", "v@x1", "v@null"}
	got, res := listVersionLines(t, l, s3api.ListVersionsParams{MaxKeys: 1000})
	if !slices.Equal(got, all) || res.IsTruncated {
		t.Fatalf("versions: %v (truncated %v), want %v", got, res.IsTruncated, all)
	}
	objs, err := l.ListObjects(ctx, "bkt", s3api.ListParams{MaxKeys: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs.Objects {
		keys = append(keys, o.Key)
	}
	if want := []string{"a", "b/1", "b/2", "c"}; !slices.Equal(keys, want) {
		t.Fatalf("ListObjects with v deleted (delete marker current): %v, want %v", keys, want)
	}

	got, _ = listVersionLines(t, l, s3api.ListVersionsParams{Delimiter: "/", MaxKeys: 1000})
	if want := []string{"a@null!", "c@null!", "v@x2*!", "v@x1", "v@null", "prefix:b/"}; !slices.Equal(got, want) {
		t.Fatalf("versions with delimiter: %v, want %v", got, want)
	}
	got, _ = listVersionLines(t, l, s3api.ListVersionsParams{Prefix: "b/", MaxKeys: 1000})
	if want := []string{"b/1@null!", "b/2@null!"}; !slices.Equal(got, want) {
		t.Fatalf("versions under b/: %v, want %v", got, want)
	}

	// Pages of every size, with and without a delimiter.
	for _, delim := range []string{"", "/"} {
		var want []string
		whole, _ := listVersionLines(t, l, s3api.ListVersionsParams{Delimiter: delim, MaxKeys: 1000})
		// Pages keep listing order, prefixes in their place.
		for size := 1; size <= 4; size++ {
			var pages []string
			p := s3api.ListVersionsParams{Delimiter: delim, MaxKeys: size}
			for range 50 {
				page, r := listVersionLines(t, l, p)
				pages = append(pages, page...)
				if !r.IsTruncated {
					break
				}
				p.KeyMarker, p.VersionIDMarker = r.NextKeyMarker, r.NextVersionIDMarker
			}
			want = whole
			if delim == "" && !slices.Equal(pages, want) {
				t.Fatalf("pages of %d: %v, want %v", size, pages, want)
			}
			if delim != "" && !sameItems(pages, want) {
				t.Fatalf("pages of %d with delimiter: %v, want %v", size, pages, want)
			}
		}
	}

	// A version marker no drive holds: every version of its key follows.
	got, _ = listVersionLines(t, l, s3api.ListVersionsParams{KeyMarker: "v", VersionIDMarker: "gone", MaxKeys: 1000})
	if want := []string{"v@x2*", "v@x1", "v@null"}; !slices.Equal(got, want) {
		t.Fatalf("after a version marker no drive holds: %v, want %v", got, want)
	}
	got, _ = listVersionLines(t, l, s3api.ListVersionsParams{KeyMarker: "v", VersionIDMarker: "x1", MaxKeys: 1000})
	if want := []string{"v@null"}; !slices.Equal(got, want) {
		t.Fatalf("after v@x1: %v, want %v", got, want)
	}
	_, err = l.ListObjectVersions(ctx, "nope", s3api.ListVersionsParams{MaxKeys: 10})
	if !errors.Is(err, s3api.ErrNoSuchBucket) {
		t.Fatalf("versions of a missing bucket: %v", err)
	}
}

// sameItems reports whether a and b hold the same lines, in any order
// (a page's common prefixes come after its versions).
func sameItems(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestListingStorageClass: listings (objects and versions) carry an
// object's storage class, as GET and HEAD do.
func TestListingStorageClass(t *testing.T) {
	ctx := context.Background()
	lc := newListCluster(t, 6, 4, 2, nil)
	l := lc.Layer
	opts := s3api.PutOptions{Headers: map[string]string{s3api.StorageClassHeader: "REDUCED_REDUNDANCY"}}
	if _, err := l.PutObject(ctx, "bkt", "rr", strings.NewReader("x"), 1, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := l.PutObject(ctx, "bkt", "std", strings.NewReader("x"), 1, s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := l.ListObjects(ctx, "bkt", s3api.ListParams{MaxKeys: 10})
	if err != nil || len(res.Objects) != 2 {
		t.Fatalf("list: %+v, %v", res.Objects, err)
	}
	if sc := res.Objects[0].Headers[s3api.StorageClassHeader]; sc != "REDUCED_REDUNDANCY" || res.Objects[1].Headers[s3api.StorageClassHeader] != "" {
		t.Fatalf("storage classes listed: %q and %q", sc, res.Objects[1].Headers[s3api.StorageClassHeader])
	}
	vs, err := l.ListObjectVersions(ctx, "bkt", s3api.ListVersionsParams{MaxKeys: 10})
	if err != nil || len(vs.Versions) != 2 || vs.Versions[0].StorageClass != "REDUCED_REDUNDANCY" || vs.Versions[1].StorageClass != "" {
		t.Fatalf("versions listed: %+v, %v", vs.Versions, err)
	}
}

// TestListObjectVersionsSubset: the listing reads max(k, m+1) drives while
// they agree and every drive from the first version they do not; whatever
// the drives read and wherever the disagreement falls, it lists exactly
// the versions at least k drives hold, in order, on whole pages and on
// pages of every size. The records are spread at random: most versions on
// every drive, some on 5, 4 (still whole), 3, 2 or 1 (not).
func TestListObjectVersionsSubset(t *testing.T) {
	lc := newListCluster(t, 6, 4, 2, nil)
	r := rand.New(rand.NewPCG(7, 7))
	var want []string
	for i := range 80 {
		key := fmt.Sprintf("k%03d", i)
		n := 1 + r.IntN(4)
		var lines []string
		for v := range n {
			rec := record(key, fmt.Sprintf("v%d", v), i*10+v)
			rec.Versioned = true
			holders := 6
			if r.IntN(4) == 0 {
				holders = 1 + r.IntN(5)
			}
			lc.place(t, rec, r.Perm(6)[:holders]...)
			if holders >= 4 {
				lines = append(lines, key+"@"+rec.VersionID)
			}
		}
		slices.Reverse(lines) // newest first
		if len(lines) > 0 {
			lines[0] += "!"
		}
		want = append(want, lines...)
	}
	for try := range 30 {
		got, _ := listVersionLines(t, lc.Layer, s3api.ListVersionsParams{MaxKeys: 1000})
		if !slices.Equal(got, want) {
			t.Fatalf("try %d: %d versions listed, want %d:\n got %v\nwant %v", try, len(got), len(want), got, want)
		}
		size := 1 + r.IntN(9)
		var pages []string
		p := s3api.ListVersionsParams{MaxKeys: size}
		for range 1000 {
			page, res := listVersionLines(t, lc.Layer, p)
			pages = append(pages, page...)
			if !res.IsTruncated {
				break
			}
			p.KeyMarker, p.VersionIDMarker = res.NextKeyMarker, res.NextVersionIDMarker
		}
		if !slices.Equal(pages, want) {
			t.Fatalf("try %d, pages of %d:\n got %v\nwant %v", try, size, pages, want)
		}
	}
}
