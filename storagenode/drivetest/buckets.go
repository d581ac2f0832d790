package drivetest

import (
	"strings"
	"testing"

	"github.com/ecstore/ecstore/storagenode"
)

func testBucketLifecycle(t *testing.T, d storagenode.Drive) {
	bs, err := d.ListBuckets(ctx())
	noErr(t, err, "ListBuckets on empty drive")
	if len(bs) != 0 {
		t.Fatalf("new drive lists buckets %v", bs)
	}
	_, err = d.StatBucket(ctx(), "alpha")
	wantErr(t, err, storagenode.ErrBucketNotFound, "StatBucket before MakeBucket")

	for i, b := range []string{"charlie", "alpha", "bravo.b", "bravo"} {
		noErr(t, d.MakeBucket(ctx(), b, at(i)), "MakeBucket "+b)
	}
	wantErr(t, d.MakeBucket(ctx(), "alpha", at(9)), storagenode.ErrBucketExists, "MakeBucket twice")

	bi, err := d.StatBucket(ctx(), "alpha")
	noErr(t, err, "StatBucket")
	if bi.Name != "alpha" || !bi.Created.Equal(at(1)) {
		t.Fatalf("StatBucket = %+v, want alpha created %v (the first MakeBucket's time)", bi, at(1))
	}
	bs, err = d.ListBuckets(ctx())
	noErr(t, err, "ListBuckets")
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
	}
	if got, want := strings.Join(names, ","), "alpha,bravo,bravo.b,charlie"; got != want {
		t.Fatalf("ListBuckets = %s, want %s (sorted by name)", got, want)
	}

	noErr(t, d.DeleteBucket(ctx(), "bravo"), "DeleteBucket")
	_, err = d.StatBucket(ctx(), "bravo")
	wantErr(t, err, storagenode.ErrBucketNotFound, "StatBucket after DeleteBucket")
	wantErr(t, d.DeleteBucket(ctx(), "bravo"), storagenode.ErrBucketNotFound, "DeleteBucket twice")
	if _, err := d.StatBucket(ctx(), "bravo.b"); err != nil {
		t.Fatalf("deleting bravo touched bravo.b: %v", err)
	}
	noErr(t, d.MakeBucket(ctx(), "bravo", at(5)), "MakeBucket after DeleteBucket")
}

func testBucketNames(t *testing.T, d storagenode.Drive) {
	valid := []string{"abc", "a.b-c", "0bucket", "my-bucket.2025", strings.Repeat("a", 63), "a-b"}
	invalid := []string{"", "ab", strings.Repeat("a", 64), "ABC", "aBc", "a..b", "-abc", "abc-", ".abc", "abc.",
		"a_b", "a b", "a/b", "../abc", "abc\x00", "äbc", "a\\b"}
	for _, b := range valid {
		if !storagenode.ValidBucketName(b) {
			t.Errorf("ValidBucketName(%q) = false", b)
		}
		noErr(t, d.MakeBucket(ctx(), b, base), "MakeBucket "+b)
	}
	for _, b := range invalid {
		if storagenode.ValidBucketName(b) {
			t.Errorf("ValidBucketName(%q) = true", b)
		}
		wantErr(t, d.MakeBucket(ctx(), b, base), storagenode.ErrInvalidName, "MakeBucket "+b)
		_, err := d.StatBucket(ctx(), b)
		wantErr(t, err, storagenode.ErrInvalidName, "StatBucket "+b)
		wantErr(t, d.DeleteBucket(ctx(), b), storagenode.ErrInvalidName, "DeleteBucket "+b)
	}
}

func testMissingBucket(t *testing.T, d storagenode.Drive) {
	const b = "missing"
	nf := storagenode.ErrBucketNotFound
	_, err := d.PutMeta(ctx(), meta(b, "k", 1))
	wantErr(t, err, nf, "PutMeta")
	_, err = d.GetMeta(ctx(), b, "k")
	wantErr(t, err, nf, "GetMeta")
	_, err = d.DeleteMeta(ctx(), b, "k", "")
	wantErr(t, err, nf, "DeleteMeta")
	_, err = d.ListMeta(ctx(), b, "", "", 10)
	wantErr(t, err, nf, "ListMeta")
	err = d.PutUpload(ctx(), &storagenode.UploadMeta{Bucket: b, Key: "k", UploadID: "u1"})
	wantErr(t, err, nf, "PutUpload")
	_, err = d.GetUpload(ctx(), b, "u1")
	wantErr(t, err, nf, "GetUpload")
	_, err = d.ListUploads(ctx(), b)
	wantErr(t, err, nf, "ListUploads")
	_, err = d.ListParts(ctx(), b, "u1")
	wantErr(t, err, nf, "ListParts")
	_, err = d.PutPart(ctx(), b, "u1", &storagenode.PartMeta{Number: 1})
	wantErr(t, err, nf, "PutPart")
	wantErr(t, d.DeleteUpload(ctx(), b, "u1"), nf, "DeleteUpload")
	_, err = d.CreateShard(ctx(), storagenode.ShardRef{Bucket: b, VersionDir: "v1", Name: "part.1"})
	wantErr(t, err, nf, "CreateShard")
	_, err = d.OpenShard(ctx(), storagenode.ShardRef{Bucket: b, VersionDir: "v1", Name: "part.1"})
	wantErr(t, err, storagenode.ErrShardNotFound, "OpenShard")
	noErr(t, d.DeleteVersion(ctx(), b, "v1"), "DeleteVersion in a missing bucket")
}

func testDeleteBucketRemovesContents(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "doomed")
	makeBucket(t, d, "doomed-not")
	for _, b := range []string{"doomed", "doomed-not"} {
		putMeta(t, d, meta(b, "obj", 1))
		putMeta(t, d, meta(b, "dir/obj", 2))
		WriteShard(t, d, storagenode.ShardRef{Bucket: b, VersionDir: "v1", Name: "part.1"}, []byte("shard"), 4)
		noErr(t, d.PutUpload(ctx(), &storagenode.UploadMeta{Bucket: b, Key: "mp", UploadID: "up1", Initiated: base}), "PutUpload")
		_, err := d.PutPart(ctx(), b, "up1", &storagenode.PartMeta{Number: 1, Size: 5, ETag: "e", Name: "part.1"})
		noErr(t, err, "PutPart")
	}
	noErr(t, d.DeleteBucket(ctx(), "doomed"), "DeleteBucket")
	makeBucket(t, d, "doomed")
	if ms, err := d.ListMeta(ctx(), "doomed", "", "", 0); err != nil || len(ms) != 0 {
		t.Fatalf("recreated bucket lists %d records, %v", len(ms), err)
	}
	_, err := d.GetMeta(ctx(), "doomed", "obj")
	wantErr(t, err, storagenode.ErrObjectNotFound, "GetMeta in recreated bucket")
	_, err = d.OpenShard(ctx(), storagenode.ShardRef{Bucket: "doomed", VersionDir: "v1", Name: "part.1"})
	wantErr(t, err, storagenode.ErrShardNotFound, "OpenShard in recreated bucket")
	if us, err := d.ListUploads(ctx(), "doomed"); err != nil || len(us) != 0 {
		t.Fatalf("recreated bucket lists %d uploads, %v", len(us), err)
	}
	_, err = d.ListParts(ctx(), "doomed", "up1")
	wantErr(t, err, storagenode.ErrUploadNotFound, "ListParts in recreated bucket")

	// The neighbour with a longer name is untouched.
	if ms, err := d.ListMeta(ctx(), "doomed-not", "", "", 0); err != nil || len(ms) != 2 {
		t.Fatalf("neighbour bucket lists %d records, %v; want 2", len(ms), err)
	}
	sameBytes(t, readShard(t, d, storagenode.ShardRef{Bucket: "doomed-not", VersionDir: "v1", Name: "part.1"}), []byte("shard"), "neighbour shard")
	if ps, err := d.ListParts(ctx(), "doomed-not", "up1"); err != nil || len(ps) != 1 {
		t.Fatalf("neighbour bucket lists %d parts, %v; want 1", len(ps), err)
	}
}
