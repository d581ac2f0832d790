package local_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

// toFolderLayout moves ref's flat file into its version's folder, where a
// drive of an earlier release (before flat files) kept it.
func toFolderLayout(t *testing.T, dir string, ref storagenode.ShardRef) {
	t.Helper()
	bucketDir := filepath.Join(dir, "data", ref.Bucket)
	if err := os.MkdirAll(filepath.Join(bucketDir, ref.VersionDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(bucketDir, ref.VersionDir+"~"+ref.Name), filepath.Join(bucketDir, ref.VersionDir, ref.Name)); err != nil {
		t.Fatal(err)
	}
}

func readLocalShard(t *testing.T, d storagenode.Drive, ref storagenode.ShardRef) (string, error) {
	t.Helper()
	r, err := d.OpenShard(bg, ref)
	if err != nil {
		return "", err
	}
	defer r.Close()
	buf := make([]byte, r.Size())
	if _, err := r.ReadAt(buf, 0); err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	return string(buf), nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// TestLocalEarlierLayout: a drive written before flat files (a single PUT's
// file in its version's folder) is read, rewritten, deleted and restored
// from the trash by this release: the flat file and the folder are both
// looked for, a flat file written since (a heal) is the one read, and
// every delete removes both.
func TestLocalEarlierLayout(t *testing.T) {
	dir := t.TempDir()
	d, err := local.Open(dir, local.Options{DeleteGrace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	v1 := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: storagenode.SinglePartName}
	v2 := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v2", Name: storagenode.SinglePartName}
	writeLocalShard(t, d, v1, "old one")
	writeLocalShard(t, d, v2, "old two")
	d.Close()
	toFolderLayout(t, dir, v1)
	toFolderLayout(t, dir, v2)
	if d, err = local.Open(dir, local.Options{DeleteGrace: time.Hour}); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	bucketDir := filepath.Join(dir, "data", "bkt")

	for ref, want := range map[storagenode.ShardRef]string{v1: "old one", v2: "old two"} {
		if got, err := readLocalShard(t, d, ref); err != nil || got != want {
			t.Fatalf("%s in the earlier layout: %q, %v", ref, got, err)
		}
	}

	// A heal rewrites v1: the new flat file is the one read.
	writeLocalShard(t, d, v1, "healed one")
	if got, err := readLocalShard(t, d, v1); err != nil || got != "healed one" {
		t.Fatalf("v1 after a rewrite: %q, %v", got, err)
	}
	if !exists(filepath.Join(bucketDir, "v1~part.1")) {
		t.Fatal("the rewrite is not flat")
	}
	// DeleteShard removes both files.
	if err := d.DeleteShard(bg, v1); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(bucketDir, "v1~part.1")) || exists(filepath.Join(bucketDir, "v1", "part.1")) {
		t.Fatal("DeleteShard left a file of v1")
	}
	if _, err := readLocalShard(t, d, v1); !errors.Is(err, storagenode.ErrShardNotFound) {
		t.Fatalf("v1 after DeleteShard: %v", err)
	}

	// DeleteVersion moves v2's folder to the trash, where it is still read,
	// and a record naming v2 brings the folder back.
	if err := d.DeleteVersion(bg, "bkt", "v2"); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(bucketDir, "v2")) {
		t.Fatal("DeleteVersion left v2's folder")
	}
	if got, err := readLocalShard(t, d, v2); err != nil || got != "old two" {
		t.Fatalf("v2 in the trash: %q, %v", got, err)
	}
	m := &storagenode.ObjectMeta{Bucket: "bkt", Key: "k", VersionID: "v2", DataDir: "v2", ModTime: time.Now(),
		EC: storagenode.ECInfo{Data: 1, Parity: 0, BlockSize: 1024}, Drives: []string{d.ID()},
		Parts: []storagenode.PartInfo{{Number: 1, Size: 7, Name: storagenode.SinglePartName}}}
	if _, err := d.PutMeta(bg, m); err != nil {
		t.Fatal(err)
	}
	if !exists(filepath.Join(bucketDir, "v2", "part.1")) {
		t.Fatal("a record naming v2 did not bring its folder back from the trash")
	}

	// A version with both (a heal's flat file beside the earlier folder):
	// DeleteVersion removes both.
	writeLocalShard(t, d, v2, "healed two")
	if err := d.DeleteVersion(bg, "bkt", "v2"); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(bucketDir, "v2")) || exists(filepath.Join(bucketDir, "v2~part.1")) {
		t.Fatal("DeleteVersion left a file of v2")
	}
}

// TestLocalTrashRestoreKeepsNewer: a record naming a version brings its
// flat file back from the trash only where none was written since (a heal
// that rebuilt it): the newer file is never replaced by the older.
func TestLocalTrashRestoreKeepsNewer(t *testing.T) {
	dir := t.TempDir()
	d, err := local.Open(dir, local.Options{DeleteGrace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: storagenode.SinglePartName}
	writeLocalShard(t, d, ref, "trashed")
	if err := d.DeleteVersion(bg, "bkt", "v1"); err != nil {
		t.Fatal(err)
	}
	writeLocalShard(t, d, ref, "rebuilt")
	m := &storagenode.ObjectMeta{Bucket: "bkt", Key: "k", VersionID: "v1", DataDir: "v1", ModTime: time.Now(),
		EC: storagenode.ECInfo{Data: 1, Parity: 0, BlockSize: 1024}, Drives: []string{d.ID()},
		Parts: []storagenode.PartInfo{{Number: 1, Size: 7, Name: storagenode.SinglePartName}}}
	if _, err := d.PutMeta(bg, m); err != nil {
		t.Fatal(err)
	}
	if got, err := readLocalShard(t, d, ref); err != nil || got != "rebuilt" {
		t.Fatalf("after the restore: %q, %v; want the file written since", got, err)
	}
}
