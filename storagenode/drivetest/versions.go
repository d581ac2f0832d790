package drivetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/ecstore/ecstore/storagenode"
)

// vmeta is meta's record as a version with an S3 version id.
func vmeta(key string, n int) *storagenode.ObjectMeta {
	m := meta("bkt", key, n)
	m.Versioned = true
	return m
}

// marker is a delete marker of key at n.
func marker(key string, n int) *storagenode.ObjectMeta {
	m := vmeta(key, n)
	m.DeleteMarker, m.Size, m.Parts, m.Drives = true, 0, nil, nil
	return m
}

// versionIDs lists the versions of the bucket's keys under prefix as
// "key@vid" (DeleteMarker: "key@vid*"), in the drive's order.
func versionIDs(t *testing.T, d storagenode.Drive, prefix, afterKey, afterVersion string, limit int) []string {
	t.Helper()
	es, err := d.ListVersions(ctx(), "bkt", prefix, afterKey, afterVersion, limit)
	noErr(t, err, "ListVersions")
	return VersionLines(es)
}

// VersionLines writes listing entries as "key@vid" ("key@vid*" for a
// delete marker), for comparisons in tests.
func VersionLines(es []storagenode.ObjectEntry) []string {
	var out []string
	for _, e := range es {
		s := e.Key + "@" + e.VersionID
		if e.DeleteMarker {
			s += "*"
		}
		out = append(out, s)
	}
	return out
}

func wantIDs(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("versions %v, want %v", got, want)
	}
}

// testVersions: a key's versions are kept newest first, the newest being
// current (GetMeta, ListMeta); a null version replaces the null version
// only; a version written again (a retry, a heal) is not duplicated; a
// delete marker is a version; removing the current version makes the next
// newest current.
func testVersions(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	for _, n := range []int{1, 2, 3} {
		if prev := putMeta(t, d, vmeta("k", n)); prev != nil {
			t.Fatalf("PutMeta of version %d replaced %s", n, dump(prev))
		}
	}
	wantIDs(t, versionIDs(t, d, "", "", "", 0), "k@v000003", "k@v000002", "k@v000001")
	cur, err := d.GetMeta(ctx(), "bkt", "k")
	noErr(t, err, "GetMeta")
	sameMeta(t, cur, vmeta("k", 3), "current version")
	old, err := d.GetVersion(ctx(), "bkt", "k", "v000001")
	noErr(t, err, "GetVersion of a noncurrent version")
	sameMeta(t, old, vmeta("k", 1), "noncurrent version")
	_, err = d.GetVersion(ctx(), "bkt", "k", "null")
	wantErr(t, err, storagenode.ErrObjectNotFound, "GetVersion null without a null version")
	_, err = d.GetVersion(ctx(), "bkt", "k", "nope")
	wantErr(t, err, storagenode.ErrObjectNotFound, "GetVersion of an unknown version")
	ms, err := d.ListMeta(ctx(), "bkt", "", "", 0)
	noErr(t, err, "ListMeta")
	if len(ms) != 1 || ms[0].VersionID != "v000003" {
		t.Fatalf("ListMeta lists %d records (first %s), want the current version only", len(ms), dump(ms))
	}

	// Null versions: the newest becomes current; the next one replaces it
	// (and only it), wherever it is.
	if prev := putMeta(t, d, meta("bkt", "k", 4)); prev != nil {
		t.Fatalf("the first null version replaced %s", dump(prev))
	}
	putMeta(t, d, vmeta("k", 5))
	sameMeta(t, putMeta(t, d, meta("bkt", "k", 6)), meta("bkt", "k", 4), "the null version a null version replaces")
	wantIDs(t, versionIDs(t, d, "", "", "", 0), "k@v000006", "k@v000005", "k@v000003", "k@v000002", "k@v000001")
	null, err := d.GetVersion(ctx(), "bkt", "k", "null")
	noErr(t, err, "GetVersion null")
	sameMeta(t, null, meta("bkt", "k", 6), "the null version")
	_, err = d.PutMeta(ctx(), meta("bkt", "k", 4))
	wantErr(t, err, storagenode.ErrStale, "PutMeta of a null version older than the stored one")

	// A heal writes an old version: it goes in its place; again: no copy.
	putMeta(t, d, vmeta("k", 0))
	sameMeta(t, putMeta(t, d, vmeta("k", 0)), vmeta("k", 0), "prev of the same version written again")
	sameMeta(t, putMeta(t, d, vmeta("k", 2)), vmeta("k", 2), "prev of a noncurrent version written again")
	wantIDs(t, versionIDs(t, d, "", "", "", 0), "k@v000006", "k@v000005", "k@v000003", "k@v000002", "k@v000001", "k@v000000")

	// A delete marker is the current version; removing it brings the
	// version below back.
	putMeta(t, d, marker("k", 7))
	cur, err = d.GetMeta(ctx(), "bkt", "k")
	noErr(t, err, "GetMeta of a delete marker")
	if !cur.DeleteMarker || cur.VersionID != "v000007" {
		t.Fatalf("current version %s, want the delete marker", dump(cur))
	}
	es, err := d.ListEntries(ctx(), "bkt", "", "", 0)
	noErr(t, err, "ListEntries")
	if len(es) != 1 || !es[0].DeleteMarker || !es[0].Versioned {
		t.Fatalf("ListEntries %+v, want the delete marker's entry", es)
	}
	removed, err := d.DeleteMeta(ctx(), "bkt", "k", "v000007")
	noErr(t, err, "DeleteMeta of the delete marker")
	if !removed.DeleteMarker {
		t.Fatalf("DeleteMeta removed %s", dump(removed))
	}
	cur, _ = d.GetMeta(ctx(), "bkt", "k")
	sameMeta(t, cur, meta("bkt", "k", 6), "current version after removing the delete marker")

	// Removing a noncurrent version; the current one ("").
	_, err = d.DeleteMeta(ctx(), "bkt", "k", "v000002")
	noErr(t, err, "DeleteMeta of a noncurrent version")
	_, err = d.DeleteMeta(ctx(), "bkt", "k", "v000002")
	wantErr(t, err, storagenode.ErrObjectNotFound, "DeleteMeta of a removed version")
	removed, err = d.DeleteMeta(ctx(), "bkt", "k", "")
	noErr(t, err, "DeleteMeta of the current version")
	sameMeta(t, removed, meta("bkt", "k", 6), "the removed current version")
	wantIDs(t, versionIDs(t, d, "", "", "", 0), "k@v000005", "k@v000003", "k@v000001", "k@v000000")
	cur, _ = d.GetMeta(ctx(), "bkt", "k")
	sameMeta(t, cur, vmeta("k", 5), "current version after removing the current one")

	// A version older than the current one, written by a heal to a drive
	// that lost the key's other versions, is current there; the newer
	// versions then take their places above it.
	putMeta(t, d, vmeta("h", 1))
	putMeta(t, d, vmeta("h", 3))
	putMeta(t, d, vmeta("h", 2))
	wantIDs(t, versionIDs(t, d, "h", "", "", 0), "h@v000003", "h@v000002", "h@v000001")

	// Conditional writes compare with the current version; a delete
	// marker counts as none.
	_, err = d.PutMetaIf(ctx(), vmeta("k", 8), "")
	wantErr(t, err, storagenode.ErrConflict, "PutMetaIf expecting no version over a current one")
	putMeta(t, d, marker("k", 8))
	_, err = d.PutMetaIf(ctx(), vmeta("k", 9), "")
	noErr(t, err, "PutMetaIf expecting no version over a delete marker")
	_, err = d.PutMetaIf(ctx(), vmeta("k", 10), "v000008")
	wantErr(t, err, storagenode.ErrConflict, "PutMetaIf expecting the delete marker's version")

	// DeleteBucket takes every version along.
	noErr(t, d.DeleteBucket(ctx(), "bkt"), "DeleteBucket")
	makeBucket(t, d, "bkt")
	wantIDs(t, versionIDs(t, d, "", "", "", 0))
}

// testListVersions: key order (byte order, keys holding 0x00 included),
// newest first within a key, prefixes, and paging inside a key.
func testListVersions(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	keys := []string{"a", "a\x00b", "ab", "b/1", "b/2"}
	n := 1
	for _, k := range keys {
		for range 3 {
			putMeta(t, d, vmeta(k, n))
			n++
		}
	}
	putMeta(t, d, marker("b/2", n))
	all := versionIDs(t, d, "", "", "", 0)
	var want []string
	n = 1
	for _, k := range keys {
		want = append(want, k+"@"+vmeta(k, n+2).VersionID, k+"@"+vmeta(k, n+1).VersionID, k+"@"+vmeta(k, n).VersionID)
		n += 3
	}
	want = slices.Insert(want, len(want)-3, "b/2@"+marker("b/2", n).VersionID+"*")
	wantIDs(t, all, want...)
	wantIDs(t, versionIDs(t, d, "b/", "", "", 0), want[9:]...)
	wantIDs(t, versionIDs(t, d, "a", "", "", 0), want[:9]...)

	// Pages of every size cover the list exactly, resuming inside a key.
	for size := 1; size <= 5; size++ {
		var got []string
		afterKey, afterVersion := "", ""
		for range 100 {
			page := versionIDs(t, d, "", afterKey, afterVersion, size)
			if len(page) > size {
				t.Fatalf("page of %d for limit %d", len(page), size)
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			last := strings.TrimSuffix(page[len(page)-1], "*")
			i := strings.LastIndexByte(last, '@')
			afterKey, afterVersion = last[:i], last[i+1:]
		}
		wantIDs(t, got, want...)
	}
	// After a key: none of its versions. After a version the drive does
	// not hold: all of the key's. After the null version.
	wantIDs(t, versionIDs(t, d, "", "ab", "", 0), want[9:]...)
	wantIDs(t, versionIDs(t, d, "", "ab", "gone", 0), want[6:]...)
	putMeta(t, d, meta("bkt", "ab", 0)) // the oldest version of "ab": null
	wantIDs(t, versionIDs(t, d, "ab", "ab", "null", 0))
	wantIDs(t, versionIDs(t, d, "ab", "ab", vmeta("ab", 7).VersionID, 0), "ab@v000000")
}

// testUploadVersions: a completed upload whose version is no longer
// current still owns its files: a duplicate Complete, PutUpload and
// AbortUpload see it.
func testUploadVersions(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	startUpload(t, d, "k", "u1", "part.1.a")
	m := completed("k", "u1", 5, "part.1.a")
	m.Versioned = true
	prev, err := d.CompleteUpload(ctx(), m, nil)
	noErr(t, err, "CompleteUpload")
	if prev != nil {
		t.Fatalf("a versioned Complete replaced %s", dump(prev))
	}
	putMeta(t, d, vmeta("k", 6)) // the upload's version is noncurrent now
	_, err = d.CompleteUpload(ctx(), m, nil)
	wantErr(t, err, storagenode.ErrUploadCompleted, "duplicate CompleteUpload of a noncurrent version")
	wantErr(t, d.PutUpload(ctx(), upload("k", "u1", 1)), storagenode.ErrUploadCompleted, "PutUpload of an upload completed as a noncurrent version")
	wantErr(t, d.AbortUpload(ctx(), "bkt", "k", "u1"), storagenode.ErrUploadNotFound, "AbortUpload of a completed upload")
	if !shardExists(d, "u1", "part.1.a") {
		t.Fatal("AbortUpload removed the files of a noncurrent version")
	}
	wantIDs(t, versionIDs(t, d, "", "", "", 0), "k@v000006", "k@u1")
}
