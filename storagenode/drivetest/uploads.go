package drivetest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/ecstore/ecstore/storagenode"
)

func upload(key, id string, n int) *storagenode.UploadMeta {
	return &storagenode.UploadMeta{
		Bucket: "bkt", Key: key, UploadID: id, Initiated: at(n), ContentType: "text/plain",
		UserMeta: map[string]string{"a": "b"}, Headers: map[string]string{"Cache-Control": "max-age=1"},
		EC: storagenode.ECInfo{Data: 2, Parity: 2, BlockSize: 1 << 20}, Drives: []string{"d1", "d2", "d3", "d4"},
	}
}

func sameUpload(t *testing.T, got, want *storagenode.UploadMeta, what string) {
	t.Helper()
	if g, w := normUpload(got), normUpload(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, dump(g), dump(w))
	}
}

func testUploads(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	_, err := d.GetUpload(ctx(), "bkt", "u1")
	wantErr(t, err, storagenode.ErrUploadNotFound, "GetUpload before PutUpload")
	wantErr(t, d.DeleteUpload(ctx(), "bkt", "u1"), storagenode.ErrUploadNotFound, "DeleteUpload before PutUpload")

	// (Key, Initiated) order differs from id order on purpose.
	ups := []*storagenode.UploadMeta{
		upload("b/key", "u1", 1), upload("a/key", "u2", 5), upload("a/key", "u3", 2), upload("a key", "u4", 9), upload("ä", "u0", 0),
	}
	for _, u := range ups {
		noErr(t, d.PutUpload(ctx(), u), "PutUpload")
	}
	got, err := d.GetUpload(ctx(), "bkt", "u2")
	noErr(t, err, "GetUpload")
	sameUpload(t, got, ups[1], "GetUpload")
	got.UserMeta["a"] = "changed"
	got, _ = d.GetUpload(ctx(), "bkt", "u2")
	sameUpload(t, got, ups[1], "GetUpload after changing a returned copy")

	list, err := d.ListUploads(ctx(), "bkt")
	noErr(t, err, "ListUploads")
	var ids []string
	for _, u := range list {
		ids = append(ids, u.UploadID)
	}
	if fmt.Sprint(ids) != "[u4 u3 u2 u1 u0]" {
		t.Fatalf("ListUploads order = %v, want [u4 u3 u2 u1 u0] (by key, then initiated)", ids)
	}

	// PutUpload again replaces the record.
	repl := upload("b/key", "u1", 1)
	repl.ContentType = "image/png"
	noErr(t, d.PutUpload(ctx(), repl), "PutUpload replace")
	got, _ = d.GetUpload(ctx(), "bkt", "u1")
	sameUpload(t, got, repl, "replaced upload")

	noErr(t, d.DeleteUpload(ctx(), "bkt", "u3"), "DeleteUpload")
	_, err = d.GetUpload(ctx(), "bkt", "u3")
	wantErr(t, err, storagenode.ErrUploadNotFound, "GetUpload after DeleteUpload")
	list, _ = d.ListUploads(ctx(), "bkt")
	if len(list) != 4 {
		t.Fatalf("ListUploads after a delete = %d uploads, want 4", len(list))
	}
	// Uploads and objects are separate namespaces.
	if ms, err := d.ListMeta(ctx(), "bkt", "", "", 0); err != nil || len(ms) != 0 {
		t.Fatalf("uploads appear in ListMeta: %d, %v", len(ms), err)
	}
	if _, err := d.GetMeta(ctx(), "bkt", "a/key"); err == nil {
		t.Fatal("an upload's key is visible to GetMeta")
	}
}

func testParts(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	_, err := d.PutPart(ctx(), "bkt", "u1", &storagenode.PartMeta{Number: 1})
	wantErr(t, err, storagenode.ErrUploadNotFound, "PutPart without upload")
	_, err = d.ListParts(ctx(), "bkt", "u1")
	wantErr(t, err, storagenode.ErrUploadNotFound, "ListParts without upload")

	noErr(t, d.PutUpload(ctx(), upload("k", "u1", 1)), "PutUpload")
	noErr(t, d.PutUpload(ctx(), upload("k", "u10", 1)), "PutUpload") // "u1" is a prefix of "u10"
	ps, err := d.ListParts(ctx(), "bkt", "u1")
	noErr(t, err, "ListParts")
	if len(ps) != 0 {
		t.Fatalf("new upload has %d parts", len(ps))
	}
	part := func(n int, etag string) *storagenode.PartMeta {
		return &storagenode.PartMeta{Number: n, Size: int64(n) << 20, ETag: etag, Name: fmt.Sprintf("part.%d", n),
			ModTime: at(n), Checksums: map[string]string{"CRC32": "AAAAAA=="}, Drives: []string{"d0", "fallback"}}
	}
	for _, n := range []int{10, 2, 10000, 1, 100, 9, 11} {
		prev, err := d.PutPart(ctx(), "bkt", "u1", part(n, "first"))
		noErr(t, err, "PutPart")
		if prev != nil {
			t.Fatalf("first PutPart %d returned prev %s", n, dump(prev))
		}
	}
	_, err = d.PutPart(ctx(), "bkt", "u10", part(5, "other upload"))
	noErr(t, err, "PutPart in u10")
	prev, err := d.PutPart(ctx(), "bkt", "u1", part(2, "second"))
	noErr(t, err, "PutPart replace")
	if prev == nil || !reflect.DeepEqual(normPart(prev), normPart(part(2, "first"))) {
		t.Fatalf("PutPart replace returned prev %s, want the first part 2", dump(prev))
	}
	for _, n := range []int{0, -1, storagenode.MaxPartNumber + 1} {
		_, err := d.PutPart(ctx(), "bkt", "u1", part(n, "bad"))
		wantErr(t, err, storagenode.ErrInvalidName, fmt.Sprintf("PutPart number %d", n))
	}
	_, err = d.PutPart(ctx(), "bkt", "u1", nil)
	wantErr(t, err, storagenode.ErrInvalidName, "PutPart(nil)")

	ps, err = d.ListParts(ctx(), "bkt", "u1")
	noErr(t, err, "ListParts")
	var nums []int
	for _, p := range ps {
		nums = append(nums, p.Number)
	}
	if fmt.Sprint(nums) != "[1 2 9 10 11 100 10000]" {
		t.Fatalf("ListParts numbers = %v, want [1 2 9 10 11 100 10000]", nums)
	}
	if !reflect.DeepEqual(normPart(ps[1]), normPart(part(2, "second"))) {
		t.Fatalf("ListParts part 2 = %s", dump(ps[1]))
	}

	noErr(t, d.DeleteUpload(ctx(), "bkt", "u1"), "DeleteUpload")
	_, err = d.ListParts(ctx(), "bkt", "u1")
	wantErr(t, err, storagenode.ErrUploadNotFound, "ListParts after DeleteUpload")
	noErr(t, d.PutUpload(ctx(), upload("k", "u1", 2)), "PutUpload again")
	ps, err = d.ListParts(ctx(), "bkt", "u1")
	noErr(t, err, "ListParts of a re-created upload")
	if len(ps) != 0 {
		t.Fatalf("DeleteUpload left %d part records", len(ps))
	}
	ps, err = d.ListParts(ctx(), "bkt", "u10")
	noErr(t, err, "ListParts u10")
	if len(ps) != 1 || ps[0].ETag != "other upload" {
		t.Fatalf("DeleteUpload(u1) touched u10's parts: %s", dump(ps))
	}
}
