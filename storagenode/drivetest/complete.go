package drivetest

import (
	"testing"

	"github.com/ecstore/ecstore/storagenode"
)

// completed returns the record of upload id of key, completed at n, made
// of the listed part files.
func completed(key, id string, n int, parts ...string) *storagenode.ObjectMeta {
	m := meta("bkt", key, n)
	m.VersionID, m.DataDir = id, id
	m.Parts = nil
	for i, p := range parts {
		m.Parts = append(m.Parts, storagenode.PartInfo{Number: i + 1, Size: 1, ETag: "p", Name: p})
	}
	return m
}

// startUpload records upload id of key with one part file per name.
func startUpload(t *testing.T, d storagenode.Drive, key, id string, names ...string) {
	t.Helper()
	noErr(t, d.PutUpload(ctx(), upload(key, id, 1)), "PutUpload")
	for i, name := range names {
		WriteShard(t, d, storagenode.ShardRef{Bucket: "bkt", VersionDir: id, Name: name}, pattern(100, byte(i)), 64)
		_, err := d.PutPart(ctx(), "bkt", id, &storagenode.PartMeta{Number: i + 1, Size: 100, ETag: "p", Name: name, ModTime: at(1)})
		noErr(t, err, "PutPart")
	}
}

func shardExists(d storagenode.Drive, id, name string) bool {
	r, err := d.OpenShard(ctx(), storagenode.ShardRef{Bucket: "bkt", VersionDir: id, Name: name})
	if err != nil {
		return false
	}
	_ = r.Close()
	return true
}

func testCompleteUpload(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	startUpload(t, d, "k", "u1", "part.1.a", "part.2.b")
	// A part file no record names (an earlier upload of part 2).
	WriteShard(t, d, storagenode.ShardRef{Bucket: "bkt", VersionDir: "u1", Name: "part.2.a"}, pattern(100, 9), 64)
	prev := putMeta(t, d, meta("bkt", "k", 1))
	_ = prev

	m := completed("k", "u1", 5, "part.1.a", "part.2.b")
	got, err := d.CompleteUpload(ctx(), m, nil)
	noErr(t, err, "CompleteUpload")
	sameMeta(t, got, meta("bkt", "k", 1), "CompleteUpload's prev")
	stored, err := d.GetMeta(ctx(), "bkt", "k")
	noErr(t, err, "GetMeta after CompleteUpload")
	sameMeta(t, stored, m, "record after CompleteUpload")
	_, err = d.GetUpload(ctx(), "bkt", "u1")
	wantErr(t, err, storagenode.ErrUploadNotFound, "GetUpload after CompleteUpload (retired in the same batch)")
	_, err = d.ListParts(ctx(), "bkt", "u1")
	wantErr(t, err, storagenode.ErrUploadNotFound, "ListParts after CompleteUpload")
	if !shardExists(d, "u1", "part.1.a") || !shardExists(d, "u1", "part.2.b") {
		t.Fatal("CompleteUpload removed a part file the record names")
	}
	if shardExists(d, "u1", "part.2.a") {
		t.Fatal("CompleteUpload left a part file the record does not name")
	}

	// The upload's record cannot come back beside its object.
	wantErr(t, d.PutUpload(ctx(), upload("k", "u1", 1)), storagenode.ErrUploadCompleted, "PutUpload of a completed upload")

	// A duplicate Complete changes nothing and says the upload is done.
	_, err = d.CompleteUpload(ctx(), completed("k", "u1", 9, "part.1.a", "part.2.b"), nil)
	wantErr(t, err, storagenode.ErrUploadCompleted, "duplicate CompleteUpload")
	stored, _ = d.GetMeta(ctx(), "bkt", "k")
	sameMeta(t, stored, m, "record after a duplicate CompleteUpload")

	// An abort after the Complete committed leaves the object's files.
	wantErr(t, d.AbortUpload(ctx(), "bkt", "k", "u1"), storagenode.ErrUploadNotFound, "AbortUpload of a completed upload")
	if !shardExists(d, "u1", "part.1.a") {
		t.Fatal("AbortUpload removed the files of a completed object")
	}

	// A Complete of an upload that is gone (aborted) fails.
	_, err = d.CompleteUpload(ctx(), completed("k", "u2", 10, "part.1"), nil)
	wantErr(t, err, storagenode.ErrUploadNotFound, "CompleteUpload without an upload")

	// Compare-and-set, as PutMetaIf.
	startUpload(t, d, "k", "u3", "part.1")
	none := ""
	_, err = d.CompleteUpload(ctx(), completed("k", "u3", 11, "part.1"), &none)
	wantErr(t, err, storagenode.ErrConflict, "create-only CompleteUpload over a record")
	if _, err := d.GetUpload(ctx(), "bkt", "u3"); err != nil {
		t.Fatalf("a refused CompleteUpload retired the upload: %v", err)
	}
	cur := "u1"
	_, err = d.CompleteUpload(ctx(), completed("k", "u3", 11, "part.1"), &cur)
	noErr(t, err, "CompleteUpload expecting the stored version")

	// A part uploaded again while the Complete was on its way: refused,
	// nothing changes.
	startUpload(t, d, "k", "u5", "part.1.a", "part.2.a")
	_, err = d.PutPart(ctx(), "bkt", "u5", &storagenode.PartMeta{Number: 2, Size: 100, ETag: "q", Name: "part.2.b", ModTime: at(2)})
	noErr(t, err, "PutPart again")
	_, err = d.CompleteUpload(ctx(), completed("k", "u5", 40, "part.1.a", "part.2.a"), nil)
	wantErr(t, err, storagenode.ErrPartReplaced, "CompleteUpload naming a replaced part")
	if _, err := d.GetUpload(ctx(), "bkt", "u5"); err != nil {
		t.Fatalf("a refused CompleteUpload retired the upload: %v", err)
	}
	_, err = d.CompleteUpload(ctx(), completed("k", "u5", 40, "part.1.a", "part.2.b"), nil)
	noErr(t, err, "CompleteUpload naming the current parts")

	// A newer record wins: the upload is retired all the same.
	startUpload(t, d, "k", "u4", "part.1")
	putMeta(t, d, meta("bkt", "k", 50))
	_, err = d.CompleteUpload(ctx(), completed("k", "u4", 20, "part.1"), nil)
	wantErr(t, err, storagenode.ErrStale, "CompleteUpload older than the stored record")
	_, err = d.GetUpload(ctx(), "bkt", "u4")
	wantErr(t, err, storagenode.ErrUploadNotFound, "GetUpload after a stale CompleteUpload")
	stored, _ = d.GetMeta(ctx(), "bkt", "k")
	sameMeta(t, stored, meta("bkt", "k", 50), "record after a stale CompleteUpload")
}

func testAbortUpload(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	startUpload(t, d, "k", "u1", "part.1", "part.2")
	noErr(t, d.AbortUpload(ctx(), "bkt", "k", "u1"), "AbortUpload")
	_, err := d.GetUpload(ctx(), "bkt", "u1")
	wantErr(t, err, storagenode.ErrUploadNotFound, "GetUpload after AbortUpload")
	if shardExists(d, "u1", "part.1") || shardExists(d, "u1", "part.2") {
		t.Fatal("AbortUpload left the upload's part files")
	}
	wantErr(t, d.AbortUpload(ctx(), "bkt", "k", "u1"), storagenode.ErrUploadNotFound, "second AbortUpload")

	// A store where a crash left both an object record naming the upload's
	// folder and the upload record (written before Complete retired the
	// upload in the same batch): the abort must keep the object's data.
	startUpload(t, d, "k", "u2", "part.1")
	putMeta(t, d, completed("k", "u2", 5, "part.1"))
	noErr(t, d.AbortUpload(ctx(), "bkt", "k", "u2"), "AbortUpload of an upload a record references")
	_, err = d.GetUpload(ctx(), "bkt", "u2")
	wantErr(t, err, storagenode.ErrUploadNotFound, "GetUpload after AbortUpload")
	if !shardExists(d, "u2", "part.1") {
		t.Fatal("AbortUpload removed data a committed record references")
	}
	// Another key's record naming the folder does not count (the key is the
	// upload's): unrelated uploads' files go.
	startUpload(t, d, "other", "u3", "part.1")
	putMeta(t, d, completed("k", "u3", 6, "part.1"))
	noErr(t, d.AbortUpload(ctx(), "bkt", "other", "u3"), "AbortUpload")
	if shardExists(d, "u3", "part.1") {
		t.Fatal("AbortUpload kept files for a record of another key")
	}
	wantErr(t, d.AbortUpload(ctx(), "nobkt", "k", "u9"), storagenode.ErrBucketNotFound, "AbortUpload in a missing bucket")
	_, err = d.CompleteUpload(ctx(), &storagenode.ObjectMeta{Bucket: "nobkt", Key: "k", VersionID: "u9", DataDir: "u9"}, nil)
	wantErr(t, err, storagenode.ErrBucketNotFound, "CompleteUpload in a missing bucket")
}

// testCompleteUploadOverLeftover: a store written before CompleteUpload
// existed may hold a completed object's record beside its upload record.
func testCompleteUploadOverLeftover(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	startUpload(t, d, "k", "u1", "part.1")
	m := completed("k", "u1", 5, "part.1")
	putMeta(t, d, m)
	_, err := d.CompleteUpload(ctx(), completed("k", "u1", 9, "part.1"), nil)
	wantErr(t, err, storagenode.ErrUploadCompleted, "CompleteUpload over its own committed record")
	stored, _ := d.GetMeta(ctx(), "bkt", "k")
	sameMeta(t, stored, m, "record after CompleteUpload over its own record")
	_, err = d.GetUpload(ctx(), "bkt", "u1")
	wantErr(t, err, storagenode.ErrUploadNotFound, "the leftover upload record")
	if !shardExists(d, "u1", "part.1") {
		t.Fatal("the object's part file is gone")
	}
}
