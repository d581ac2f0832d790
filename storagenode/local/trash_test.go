package local_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/drivetest"
	"github.com/ecstore/ecstore/storagenode/local"
)

func writeLocalShard(t *testing.T, d storagenode.Drive, ref storagenode.ShardRef, data string) {
	t.Helper()
	drivetest.WriteShard(t, d, ref, []byte(data), max(len(data), 1))
}

// TestLocalDeleteGrace: a deleted version's files stay readable for
// DeleteGrace (a GET that started on it opens its later parts), then go;
// the trash is emptied on open; a negative grace removes at once.
func TestLocalDeleteGrace(t *testing.T) {
	dir := t.TempDir()
	d, err := local.Open(dir, local.Options{DeleteGrace: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	// One file in the version's folder, one flat beside it.
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.2"}
	flat := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: storagenode.SinglePartName}
	writeLocalShard(t, d, ref, "second part")
	writeLocalShard(t, d, flat, "first part")
	if err := d.DeleteVersion(bg, "bkt", "v1"); err != nil {
		t.Fatal(err)
	}
	for sr, want := range map[storagenode.ShardRef]string{ref: "second part", flat: "first part"} {
		r, err := d.OpenShard(bg, sr)
		if err != nil {
			t.Fatalf("OpenShard within the grace period: %v", err)
		}
		buf := make([]byte, r.Size())
		if _, err := r.ReadAt(buf, 0); err != nil || string(buf) != want {
			t.Fatalf("read within the grace period: %q, %v", buf, err)
		}
		r.Close()
	}
	for _, name := range []string{"v1", "v1~part.1"} {
		if _, err := os.Stat(filepath.Join(dir, "data", "bkt", name)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("data/bkt/%s is still there: %v", name, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := d.OpenShard(bg, ref)
		_, errFlat := d.OpenShard(bg, flat)
		if errors.Is(err, storagenode.ErrShardNotFound) && errors.Is(errFlat, storagenode.ErrShardNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deleted version is still readable 5 s after a 300 ms grace: %v, %v", err, errFlat)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Emptied on open.
	writeLocalShard(t, d, ref, "again")
	if err := d.DeleteVersion(bg, "bkt", "v1"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = local.Open(dir, local.Options{DeleteGrace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.OpenShard(bg, ref); !errors.Is(err, storagenode.ErrShardNotFound) {
		t.Fatalf("a trashed shard survived reopening: %v", err)
	}
	if n := countFiles(t, filepath.Join(dir, "trash")); n != 0 {
		t.Fatalf("%d files in the trash after reopening", n)
	}
	d.Close()

	// Negative: at once.
	d, err = local.Open(dir, local.Options{DeleteGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	writeLocalShard(t, d, ref, "third")
	if err := d.DeleteVersion(bg, "bkt", "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.OpenShard(bg, ref); !errors.Is(err, storagenode.ErrShardNotFound) {
		t.Fatalf("DeleteGrace < 0 kept the files: %v", err)
	}
}

// TestLocalTrashRestoreAndRetrash: a record naming a version in the trash
// brings its files back (they are not swept under it); a version trashed a
// second time keeps its full grace period.
func TestLocalTrashRestoreAndRetrash(t *testing.T) {
	dir := t.TempDir()
	const grace = 600 * time.Millisecond
	d, err := local.Open(dir, local.Options{DeleteGrace: grace})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	writeLocalShard(t, d, ref, "one")
	if err := d.DeleteVersion(bg, "bkt", "v1"); err != nil {
		t.Fatal(err)
	}
	m := &storagenode.ObjectMeta{Bucket: "bkt", Key: "k", VersionID: "v1", DataDir: "v1", ModTime: time.Now(),
		EC: storagenode.ECInfo{Data: 1, Parity: 0, BlockSize: 1024}, Drives: []string{d.ID()},
		Parts: []storagenode.PartInfo{{Number: 1, Size: 3, Name: "part.1"}}}
	if _, err := d.PutMeta(bg, m); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "bkt", "v1~part.1")); err != nil {
		t.Fatalf("a record naming a trashed version did not bring it back: %v", err)
	}
	time.Sleep(2 * grace)
	if _, err := d.OpenShard(bg, ref); err != nil {
		t.Fatalf("the restored version was swept: %v", err)
	}

	// Trashed, then written and trashed again before its first grace ends.
	ref2 := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v2", Name: "part.1"}
	writeLocalShard(t, d, ref2, "two")
	if err := d.DeleteVersion(bg, "bkt", "v2"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(grace / 2)
	writeLocalShard(t, d, ref2, "two again")
	if err := d.DeleteVersion(bg, "bkt", "v2"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(grace * 3 / 4) // past the first grace, within the second
	if _, err := d.OpenShard(bg, ref2); err != nil {
		t.Fatalf("the second trashing was swept with the first one's time: %v", err)
	}
}
