package drivetest

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/ecstore/ecstore/storagenode"
)

func testShardCommitVisibility(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "0b9e-v1", Name: "part.1"}
	data := pattern(300<<10+7, 1)
	w, err := d.CreateShard(ctx(), ref)
	noErr(t, err, "CreateShard")
	for p := data; len(p) > 0; {
		n := min(1000, len(p))
		if k, err := w.Write(p[:n]); err != nil || k != n {
			t.Fatalf("Write = %d, %v", k, err)
		}
		p = p[n:]
	}
	_, err = d.OpenShard(ctx(), ref)
	wantErr(t, err, storagenode.ErrShardNotFound, "OpenShard before Commit")
	noErr(t, w.Commit(ctx()), "Commit")
	sameBytes(t, readShard(t, d, ref), data, "committed shard")

	if err := w.Commit(ctx()); err == nil {
		t.Fatal("second Commit succeeded")
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("Write after Commit succeeded")
	}
	noErr(t, w.Abort(), "Abort after Commit")
	sameBytes(t, readShard(t, d, ref), data, "shard after Abort-after-Commit")

	// Other names in the same version directory are independent.
	_, err = d.OpenShard(ctx(), storagenode.ShardRef{Bucket: "bkt", VersionDir: "0b9e-v1", Name: "part.2"})
	wantErr(t, err, storagenode.ErrShardNotFound, "OpenShard of another name")
	_, err = d.OpenShard(ctx(), storagenode.ShardRef{Bucket: "bkt", VersionDir: "0b9e-v2", Name: "part.1"})
	wantErr(t, err, storagenode.ErrShardNotFound, "OpenShard of another version")
}

func testShardReadAt(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v", Name: "s"}
	data := pattern(3<<20+123, 2)
	WriteShard(t, d, ref, data, 64<<10+1)
	r, err := d.OpenShard(ctx(), ref)
	noErr(t, err, "OpenShard")
	defer r.Close()
	if r.Size() != int64(len(data)) {
		t.Fatalf("Size = %d, want %d", r.Size(), len(data))
	}
	for _, c := range []struct{ off, n int }{{0, 1}, {0, 4096}, {1 << 20, 1 << 20}, {12345, 77}, {len(data) - 10, 10}} {
		buf := make([]byte, c.n)
		n, err := r.ReadAt(buf, int64(c.off))
		if n != c.n || (err != nil && err != io.EOF) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v", c.n, c.off, n, err)
		}
		sameBytes(t, buf, data[c.off:c.off+c.n], "ReadAt range")
	}
	// A read crossing the end returns what there is and io.EOF.
	buf := make([]byte, 100)
	n, err := r.ReadAt(buf, int64(len(data)-40))
	if n != 40 || err != io.EOF {
		t.Fatalf("ReadAt across the end = %d, %v; want 40, io.EOF", n, err)
	}
	sameBytes(t, buf[:n], data[len(data)-40:], "tail")
	n, err = r.ReadAt(buf, int64(len(data)+5))
	if n != 0 || err != io.EOF {
		t.Fatalf("ReadAt past the end = %d, %v; want 0, io.EOF", n, err)
	}
	if _, err := r.ReadAt(buf, -1); err == nil {
		t.Fatal("ReadAt at a negative offset succeeded")
	}

	// Concurrent readers on one ShardReader (io.ReaderAt allows it).
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 4096)
			off := g * 300000
			if n, err := r.ReadAt(b, int64(off)); n != len(b) || (err != nil && err != io.EOF) {
				t.Errorf("concurrent ReadAt = %d, %v", n, err)
				return
			}
			if string(b) != string(data[off:off+4096]) {
				t.Errorf("concurrent ReadAt at %d: wrong bytes", off)
			}
		}()
	}
	wg.Wait()
}

func testShardAbort(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	w, err := d.CreateShard(ctx(), ref)
	noErr(t, err, "CreateShard")
	if _, err := w.Write(pattern(1<<20, 3)); err != nil {
		t.Fatal(err)
	}
	noErr(t, w.Abort(), "Abort")
	noErr(t, w.Abort(), "second Abort")
	if err := w.Commit(ctx()); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}
	_, err = d.OpenShard(ctx(), ref)
	wantErr(t, err, storagenode.ErrShardNotFound, "OpenShard after Abort")

	// Aborting a rewrite leaves the committed file alone.
	WriteShard(t, d, ref, []byte("old"), 10)
	w, err = d.CreateShard(ctx(), ref)
	noErr(t, err, "CreateShard over a committed shard")
	if _, err := w.Write([]byte("new content")); err != nil {
		t.Fatal(err)
	}
	noErr(t, w.Abort(), "Abort")
	sameBytes(t, readShard(t, d, ref), []byte("old"), "shard after aborted rewrite")
}

// testShardAbortDuringWrite: Abort may come while a Write is under way (a
// gateway gives up so on a drive that stalls). The writer ends aborted
// once that Write returns: nothing is committed, Commit fails, and a shard
// written meanwhile through the same drive, which may be handed the aborted
// writer's buffer, reads back whole (under -race, a buffer given back
// while the Write still used it is a reported race).
func testShardAbortDuringWrite(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v0", Name: "part.1"}
	chunk := pattern(1<<20, 5)
	for round := range 10 {
		w, err := d.CreateShard(ctx(), ref)
		noErr(t, err, "CreateShard")
		started := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			close(started)
			for range 8 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		})
		<-started
		noErr(t, w.Abort(), "Abort during Write")
		other := storagenode.ShardRef{Bucket: "bkt", VersionDir: fmt.Sprintf("v%d", round+1), Name: "part.1"}
		data := pattern(3<<20+5, byte(round))
		WriteShard(t, d, other, data, 1<<20)
		wg.Wait()
		sameBytes(t, readShard(t, d, other), data, "shard written beside an aborted one")
		if err := w.Commit(ctx()); err == nil {
			t.Fatal("Commit after an Abort during Write succeeded")
		}
		_, err = d.OpenShard(ctx(), ref)
		wantErr(t, err, storagenode.ErrShardNotFound, "OpenShard of the shard aborted during a Write")
	}
}

func testShardOverwriteAndEmpty(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	WriteShard(t, d, ref, pattern(5000, 4), 333)
	WriteShard(t, d, ref, []byte("shorter"), 3)
	sameBytes(t, readShard(t, d, ref), []byte("shorter"), "overwritten shard")

	empty := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "empty"}
	w, err := d.CreateShard(ctx(), empty)
	noErr(t, err, "CreateShard")
	noErr(t, w.Commit(ctx()), "Commit empty shard")
	r, err := d.OpenShard(ctx(), empty)
	noErr(t, err, "OpenShard empty")
	defer r.Close()
	if r.Size() != 0 {
		t.Fatalf("empty shard Size = %d", r.Size())
	}
	if n, err := r.ReadAt(make([]byte, 1), 0); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt on empty shard = %d, %v; want 0, io.EOF", n, err)
	}

	// Two writers on one ref: the later Commit wins, both succeed.
	w1, err := d.CreateShard(ctx(), ref)
	noErr(t, err, "CreateShard 1")
	w2, err := d.CreateShard(ctx(), ref)
	noErr(t, err, "CreateShard 2")
	_, _ = w1.Write([]byte("one"))
	_, _ = w2.Write([]byte("two"))
	noErr(t, w1.Commit(ctx()), "Commit 1")
	noErr(t, w2.Commit(ctx()), "Commit 2")
	sameBytes(t, readShard(t, d, ref), []byte("two"), "last commit wins")
}

func testShardCommitAfterBucketDeleted(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	w, err := d.CreateShard(ctx(), ref)
	noErr(t, err, "CreateShard")
	_, _ = w.Write([]byte("orphan"))
	noErr(t, d.DeleteBucket(ctx(), "bkt"), "DeleteBucket")
	wantErr(t, w.Commit(ctx()), storagenode.ErrBucketNotFound, "Commit after DeleteBucket")
	makeBucket(t, d, "bkt")
	_, err = d.OpenShard(ctx(), ref)
	wantErr(t, err, storagenode.ErrShardNotFound, "OpenShard of a shard committed into a deleted bucket")
}

func testDeleteVersion(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	for _, v := range []string{"v1", "v2"} {
		for _, n := range []string{"part.1", "part.2", "part.3"} {
			WriteShard(t, d, storagenode.ShardRef{Bucket: "bkt", VersionDir: v, Name: n}, []byte(v+n), 5)
		}
	}
	// A read that started on the version goes on after its deletion.
	early, err := d.OpenShard(ctx(), storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.2"})
	noErr(t, err, "OpenShard")
	defer early.Close()
	noErr(t, d.DeleteVersion(ctx(), "bkt", "v1"), "DeleteVersion")
	buf := make([]byte, len("v1part.2"))
	if n, err := early.ReadAt(buf, 0); n != len(buf) || (err != nil && err != io.EOF) || string(buf) != "v1part.2" {
		t.Fatalf("a reader opened before DeleteVersion: %q, %v", buf[:n], err)
	}
	for _, n := range []string{"part.1", "part.2", "part.3"} {
		// Deleted files may stay readable for a grace period (reads that
		// started on the version open its later parts), never changed.
		ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: n}
		if r, err := d.OpenShard(ctx(), ref); err == nil {
			r.Close()
			sameBytes(t, readShard(t, d, ref), []byte("v1"+n), "a deleted shard in its grace period")
		} else {
			wantErr(t, err, storagenode.ErrShardNotFound, "OpenShard after DeleteVersion")
		}
		sameBytes(t, readShard(t, d, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v2", Name: n}), []byte("v2"+n), "other version")
	}
	noErr(t, d.DeleteVersion(ctx(), "bkt", "v1"), "DeleteVersion twice")
	noErr(t, d.DeleteVersion(ctx(), "bkt", "never"), "DeleteVersion of a missing directory")
	// The version directory can be written again.
	WriteShard(t, d, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}, []byte("again"), 5)
	sameBytes(t, readShard(t, d, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}), []byte("again"), "rewritten version")
}

// hostileNames are names that must never reach the file system.
var hostileNames = []string{
	"", ".", "..", "../x", "../../etc/passwd", "a/b", "/abs", "/", "a\\b", "..\\x",
	"a\x00b", "\x00", "a b", "ä", "x\n", strings.Repeat("a", storagenode.MaxNameLen+1),
	strings.Repeat("../", 50) + "x",
}

func testHostileNames(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	inv := storagenode.ErrInvalidName
	for _, name := range hostileNames {
		if storagenode.ValidName(name) {
			t.Errorf("ValidName(%q) = true", name)
		}
		for _, ref := range []storagenode.ShardRef{
			{Bucket: name, VersionDir: "v1", Name: "part.1"},
			{Bucket: "bkt", VersionDir: name, Name: "part.1"},
			{Bucket: "bkt", VersionDir: "v1", Name: name},
		} {
			_, err := d.CreateShard(ctx(), ref)
			wantErr(t, err, inv, "CreateShard "+ref.String())
			_, err = d.OpenShard(ctx(), ref)
			wantErr(t, err, inv, "OpenShard "+ref.String())
		}
		wantErr(t, d.DeleteVersion(ctx(), "bkt", name), inv, "DeleteVersion "+name)
		wantErr(t, d.DeleteVersion(ctx(), name, "v1"), inv, "DeleteVersion in bucket "+name)
		wantErr(t, d.MakeBucket(ctx(), name, base), inv, "MakeBucket "+name)
		err := d.PutUpload(ctx(), &storagenode.UploadMeta{Bucket: "bkt", Key: "k", UploadID: name})
		wantErr(t, err, inv, "PutUpload id "+name)
		_, err = d.GetUpload(ctx(), "bkt", name)
		wantErr(t, err, inv, "GetUpload id "+name)
		_, err = d.ListParts(ctx(), "bkt", name)
		wantErr(t, err, inv, "ListParts id "+name)
		_, err = d.PutPart(ctx(), "bkt", name, &storagenode.PartMeta{Number: 1})
		wantErr(t, err, inv, "PutPart id "+name)
		wantErr(t, d.DeleteUpload(ctx(), "bkt", name), inv, "DeleteUpload id "+name)
	}
	for _, name := range []string{"part.1", "V1", "a-b_c.d", "0", "...", "..a", strings.Repeat("z", storagenode.MaxNameLen)} {
		if !storagenode.ValidName(name) {
			t.Errorf("ValidName(%q) = false", name)
		}
		WriteShard(t, d, storagenode.ShardRef{Bucket: "bkt", VersionDir: name, Name: name}, []byte(name), 7)
	}

	// Object keys live only in the index: path-like keys are plain keys.
	for i, key := range []string{"../../../../etc/passwd", "/abs/key", "a/../../b", "..", ".", "a\\..\\b", "\x00", strings.Repeat("../", 300)} {
		putMeta(t, d, meta("bkt", key, i))
		got, err := d.GetMeta(ctx(), "bkt", key)
		noErr(t, err, "GetMeta of a path-like key")
		sameMeta(t, got, meta("bkt", key, i), "GetMeta of a path-like key")
	}
	_, err := d.PutMeta(ctx(), meta("bkt", "", 1))
	wantErr(t, err, inv, "PutMeta with an empty key")
	_, err = d.PutMeta(ctx(), meta("bkt", strings.Repeat("k", storagenode.MaxKeyLen+1), 1))
	wantErr(t, err, inv, "PutMeta with a key over MaxKeyLen")
	_, err = d.PutMeta(ctx(), meta("bkt", "bad\xffutf8", 1))
	wantErr(t, err, inv, "PutMeta with a key that is not UTF-8")
	_, err = d.PutMeta(ctx(), nil)
	wantErr(t, err, inv, "PutMeta(nil)")
	_, err = d.PutMeta(ctx(), meta("../bkt", "k", 1))
	wantErr(t, err, inv, "PutMeta in bucket ../bkt")
}
