package storagenode_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

func writeLocalShard(t *testing.T, d storagenode.Drive, ref storagenode.ShardRef, data string) {
	t.Helper()
	w, err := d.CreateShard(bg, ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(bg); err != nil {
		t.Fatal(err)
	}
}

// TestLocalDeleteGrace: a deleted version's files stay readable for
// DeleteGrace (a GET that started on it opens its later parts), then go;
// the trash is emptied on open; a negative grace removes at once.
func TestLocalDeleteGrace(t *testing.T) {
	dir := t.TempDir()
	d, err := storagenode.OpenLocal(dir, storagenode.LocalOptions{DeleteGrace: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.2"}
	writeLocalShard(t, d, ref, "second part")
	if err := d.DeleteVersion(bg, "bkt", "v1"); err != nil {
		t.Fatal(err)
	}
	r, err := d.OpenShard(bg, ref)
	if err != nil {
		t.Fatalf("OpenShard within the grace period: %v", err)
	}
	buf := make([]byte, r.Size())
	if _, err := r.ReadAt(buf, 0); err != nil || string(buf) != "second part" {
		t.Fatalf("read within the grace period: %q, %v", buf, err)
	}
	r.Close()
	if _, err := os.Stat(filepath.Join(dir, "data", "bkt", "v1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the version folder is still under data/: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := d.OpenShard(bg, ref)
		if errors.Is(err, storagenode.ErrShardNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deleted version is still readable 5 s after a 300 ms grace: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Emptied on open.
	writeLocalShard(t, d, ref, "again")
	if err := d.DeleteVersion(bg, "bkt", "v1"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = storagenode.OpenLocal(dir, storagenode.LocalOptions{DeleteGrace: time.Hour})
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
	d, err = storagenode.OpenLocal(dir, storagenode.LocalOptions{DeleteGrace: -1})
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
