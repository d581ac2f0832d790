package local_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

// emptyFolder removes everything inside dir, as `rm -rf dir/*` does under a
// running process.
func emptyFolder(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLocalDriveLostFolder: a drive whose folder is emptied or replaced
// under it goes offline for every call, writes of inline records included,
// and stays offline even when drive.json comes back.
func TestLocalDriveLostFolder(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(t *testing.T, dir string)
	}{
		{"emptied", emptyFolder},
		{"drive.json replaced", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "drive.json")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil { // same content, another file
				t.Fatal(err)
			}
		}},
		{"folder replaced", func(t *testing.T, dir string) {
			if err := os.Rename(dir, dir+".old"); err != nil {
				t.Fatal(err)
			}
			if err := os.CopyFS(dir, os.DirFS(dir+".old")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			d, err := local.Open(dir, local.Options{ID: "d1"})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if err := d.MakeBucket(bg, "bkt", time.Now()); err != nil {
				t.Fatal(err)
			}
			m := testMeta("bkt", "k", 1)
			m.Inline = []byte("small object stored in the index")
			if _, err := d.PutMeta(bg, m); err != nil {
				t.Fatal(err)
			}
			tc.lose(t, dir)
			time.Sleep(5 * time.Millisecond) // past the cached check's age

			m2 := testMeta("bkt", "k2", 2)
			m2.Inline = []byte("written after the folder was lost")
			checks := map[string]error{}
			_, checks["PutMeta"] = d.PutMeta(bg, m2)
			checks["MakeBucket"] = d.MakeBucket(bg, "bkt2", time.Now())
			_, checks["GetMeta"] = d.GetMeta(bg, "bkt", "k")
			_, checks["CreateShard"] = d.CreateShard(bg, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v", Name: "part.1"})
			_, checks["DiskInfo"] = d.DiskInfo(bg)
			for op, err := range checks {
				if !errors.Is(err, storagenode.ErrDriveOffline) {
					t.Errorf("%s after the folder was lost: err = %v, want ErrDriveOffline", op, err)
				}
			}
			if err := checks["PutMeta"]; err != nil && !strings.Contains(err.Error(), "d1") {
				t.Errorf("error %q does not name the drive", err)
			}
		})
	}
}

// TestLocalDriveLostAtOnce: a write right after the folder is emptied,
// within the age of the cached check, still fails: index writes are
// confirmed by a check begun after they were synced.
func TestLocalDriveLostAtOnce(t *testing.T) {
	for i := range 20 {
		dir := filepath.Join(t.TempDir(), "d")
		d, err := local.Open(dir, local.Options{ID: "d1", IndexCacheSize: 1 << 20, IndexMemTableSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.MakeBucket(bg, "bkt", time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, "drive.json")); err != nil {
			t.Fatal(err)
		}
		m := testMeta("bkt", "k", 1)
		m.Inline = []byte("small")
		if _, err := d.PutMeta(bg, m); !errors.Is(err, storagenode.ErrDriveOffline) {
			t.Fatalf("try %d: PutMeta at once after drive.json was removed: %v, want ErrDriveOffline", i, err)
		}
		d.Close()
	}
}

// TestLocalDriveFolderAway: a folder renamed away takes the drive offline
// while it is away; renamed back (the same files), the drive is online
// again. A folder emptied and then restored from a copy is not the drive's
// own: it stays offline.
func TestLocalDriveFolderAway(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	d, err := local.Open(dir, local.Options{ID: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := os.Rename(dir, dir+".away"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if err := d.MakeBucket(bg, "bkt", time.Now()); !errors.Is(err, storagenode.ErrDriveOffline) {
		t.Fatalf("MakeBucket with the folder away: %v, want ErrDriveOffline", err)
	}
	if err := os.Rename(dir+".away", dir); err != nil {
		t.Fatal(err)
	}
	if err := d.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatalf("MakeBucket with the folder back: %v", err)
	}

	// Emptied, then restored from a copy taken before: lost for good.
	backup := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(backup, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	emptyFolder(t, dir)
	time.Sleep(2 * time.Millisecond)
	if _, err := d.ListBuckets(bg); !errors.Is(err, storagenode.ErrDriveOffline) {
		t.Fatalf("ListBuckets with the folder emptied: %v, want ErrDriveOffline", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(dir, os.DirFS(backup)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if _, err := d.ListBuckets(bg); !errors.Is(err, storagenode.ErrDriveOffline) {
		t.Fatalf("ListBuckets with the folder restored from a copy: %v, want ErrDriveOffline", err)
	}
}

// TestLocalDriveFolderKept: calls go on working while the folder is intact,
// including after the cached check's age.
func TestLocalDriveFolderKept(t *testing.T) {
	d, err := local.Open(t.TempDir(), local.Options{ID: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i := range 3 {
		if err := d.MakeBucket(bg, "bkt"+string(rune('a'+i)), time.Now()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestLocalFormatVersions: a drive.json of format 1 (written before set
// identities) opens, joins a set and is then of format 2; unknown formats
// are refused.
func TestLocalFormatVersions(t *testing.T) {
	dir := t.TempDir()
	v1 := "{\n  \"format\": \"ecstore-drive\",\n  \"version\": 1,\n  \"id\": \"drive2\"\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "drive.json"), []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	f, found, err := local.ReadFormat(dir)
	if err != nil || !found || f.Version != 1 || f.ID != "drive2" || f.Set != nil {
		t.Fatalf("ReadDriveFormat(v1) = %+v, %v, %v", f, found, err)
	}
	d, err := local.Open(dir, local.Options{ID: "drive2"})
	if err != nil {
		t.Fatal(err)
	}
	set := local.SetInfo{ID: "7f0c6b1e-set", Drives: []string{"drive1", "drive2", "drive3"}}
	if err := d.JoinSet(local.SetInfo{ID: "x", Drives: []string{"drive1"}}); err == nil {
		t.Error("JoinSet of a set that does not name the drive succeeded")
	}
	if err := d.JoinSet(set); err != nil {
		t.Fatal(err)
	}
	// The drive stays online after rewriting its own drive.json.
	time.Sleep(2 * time.Millisecond)
	if err := d.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatalf("MakeBucket after JoinSet: %v", err)
	}
	d.Close()
	f, found, err = local.ReadFormat(dir)
	if err != nil || !found || f.Version != 2 || f.Set == nil || f.Set.ID != set.ID || len(f.Set.Drives) != 3 {
		t.Fatalf("ReadDriveFormat after JoinSet = %+v, %v, %v", f, found, err)
	}

	for name, content := range map[string]string{
		"future version":   `{"format":"ecstore-drive","version":3,"id":"drive2"}`,
		"other format":     `{"format":"other","version":1,"id":"drive2"}`,
		"corrupt":          `{"format":"ecstore-drive",`,
		"set in version 1": `{"format":"ecstore-drive","version":1,"id":"drive2","set":{"id":"s","drives":["drive2"]}}`,
		"set without me":   `{"format":"ecstore-drive","version":2,"id":"drive2","set":{"id":"s","drives":["drive1"]}}`,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "drive.json"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := local.ReadFormat(dir); err == nil {
			t.Errorf("%s: ReadDriveFormat accepted %s", name, content)
		}
		if d, err := local.Open(dir, local.Options{}); err == nil {
			d.Close()
			t.Errorf("%s: OpenLocal accepted %s", name, content)
		}
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := local.ReadFormat(file); err == nil {
		t.Error("ReadDriveFormat of a file succeeded")
	}
	if _, found, err := local.ReadFormat(filepath.Join(t.TempDir(), "none")); found || err != nil {
		t.Errorf("ReadDriveFormat of a missing folder = %v, %v; want not found, no error", found, err)
	}
}

func testMeta(bucket, key string, n int) *storagenode.ObjectMeta {
	v := "v" + string(rune('0'+n))
	return &storagenode.ObjectMeta{Bucket: bucket, Key: key, VersionID: v, DataDir: v, ModTime: time.Unix(1750000000, int64(n)),
		Size: 32, InlineData: true, EC: storagenode.ECInfo{Data: 1, Parity: 0, BlockSize: 1 << 20}, Drives: []string{"d1"}}
}
