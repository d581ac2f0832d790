package local_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

var bg = context.Background()

func TestLocalIdentity(t *testing.T) {
	dir := t.TempDir()
	d, err := local.Open(dir, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := d.ID()
	if id == "" {
		t.Fatal("empty generated ID")
	}
	d.Close()
	b, err := os.ReadFile(filepath.Join(dir, "drive.json"))
	if err != nil || !strings.Contains(string(b), id) {
		t.Fatalf("drive.json = %q, %v; want it to hold %s", b, err, id)
	}

	// Reopen: the ID is kept, whether or not the caller states it.
	for _, opt := range []string{"", id} {
		d, err := local.Open(dir, local.Options{ID: opt})
		if err != nil {
			t.Fatalf("reopen with ID %q: %v", opt, err)
		}
		if d.ID() != id {
			t.Fatalf("reopened drive has ID %q, want %q", d.ID(), id)
		}
		d.Close()
	}
	_, err = local.Open(dir, local.Options{ID: "someone-else"})
	if err == nil || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "someone-else") {
		t.Fatalf("open with another ID: err = %v, want a refusal naming both IDs", err)
	}

	// A chosen ID on first open.
	d, err = local.Open(t.TempDir(), local.Options{ID: "node1-d1"})
	if err != nil {
		t.Fatal(err)
	}
	if d.ID() != "node1-d1" {
		t.Fatalf("ID = %q, want node1-d1", d.ID())
	}
	d.Close()

	for _, bad := range []string{"has space", "ctl\x01", strings.Repeat("x", 257)} {
		if _, err := local.Open(t.TempDir(), local.Options{ID: bad}); err == nil {
			t.Errorf("OpenLocal accepted ID %q", bad)
		}
	}
}

func TestLocalRefusesBadFormatFile(t *testing.T) {
	for _, content := range []string{"not json", `{"format":"other","version":1,"id":"x"}`, `{"format":"ecstore-drive","version":99,"id":"x"}`} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "drive.json"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if d, err := local.Open(dir, local.Options{}); err == nil {
			d.Close()
			t.Errorf("OpenLocal accepted drive.json %q", content)
		}
	}
}

func TestLocalDoubleOpen(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir)
	defer d.Close()
	if d2, err := local.Open(dir, local.Options{}); err == nil {
		d2.Close()
		t.Fatal("a folder was opened twice")
	}
	// The refused open must not have emptied tmp/ under the running drive.
	w, err := d.CreateShard(bg, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v", Name: "n"})
	if !errors.Is(err, storagenode.ErrBucketNotFound) {
		t.Fatalf("CreateShard without bucket: %v, %v", w, err)
	}
}

func mustOpen(t *testing.T, dir string) *local.Drive {
	t.Helper()
	d, err := local.Open(dir, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLocalPersistence(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir)
	created := time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)
	if err := d.MakeBucket(bg, "bkt", created); err != nil {
		t.Fatal(err)
	}
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	w, _ := d.CreateShard(bg, ref)
	w.Write([]byte("durable"))
	if err := w.Commit(bg); err != nil {
		t.Fatal(err)
	}
	m := &storagenode.ObjectMeta{Bucket: "bkt", Key: "a/b", VersionID: "v1", DataDir: "v1", ModTime: created}
	if _, err := d.PutMeta(bg, m); err != nil {
		t.Fatal(err)
	}
	if err := d.PutUpload(bg, &storagenode.UploadMeta{Bucket: "bkt", Key: "mp", UploadID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.PutPart(bg, "bkt", "u1", &storagenode.PartMeta{Number: 3}); err != nil {
		t.Fatal(err)
	}
	d.Close()

	d = mustOpen(t, dir)
	defer d.Close()
	if bi, err := d.StatBucket(bg, "bkt"); err != nil || !bi.Created.Equal(created) {
		t.Fatalf("StatBucket after reopen = %+v, %v", bi, err)
	}
	r, err := d.OpenShard(bg, ref)
	if err != nil || r.Size() != 7 {
		t.Fatalf("OpenShard after reopen: %v", err)
	}
	r.Close()
	if got, err := d.GetMeta(bg, "bkt", "a/b"); err != nil || got.VersionID != "v1" {
		t.Fatalf("GetMeta after reopen = %+v, %v", got, err)
	}
	if ps, err := d.ListParts(bg, "bkt", "u1"); err != nil || len(ps) != 1 || ps[0].Number != 3 {
		t.Fatalf("ListParts after reopen = %v, %v", ps, err)
	}
}

func TestLocalLayoutAndTmp(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir)
	if err := d.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	w, _ := d.CreateShard(bg, ref)
	w.Write([]byte("x"))
	if n := countFiles(t, filepath.Join(dir, "tmp")); n != 1 {
		t.Fatalf("tmp/ holds %d files during a write, want 1", n)
	}
	if err := w.Commit(bg); err != nil {
		t.Fatal(err)
	}
	// A single PUT's file is flat: no folder of its own.
	if b, err := os.ReadFile(filepath.Join(dir, "data", "bkt", "v1~part.1")); err != nil || string(b) != "x" {
		t.Fatalf("data/bkt/v1~part.1 = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "bkt", "v1")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("data/bkt/v1 for a flat file: %v", err)
	}
	w, _ = d.CreateShard(bg, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.2"})
	w.Write([]byte("y"))
	w.Abort()
	if n := countFiles(t, filepath.Join(dir, "tmp")); n != 0 {
		t.Fatalf("tmp/ holds %d files after commit and abort, want 0", n)
	}
	for _, p := range []string{"drive.json", "index", "data", "tmp"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("layout: %v", err)
		}
	}

	// Crash leftovers: an unfinished writer and a stray file; both are
	// gone after the next open.
	w, _ = d.CreateShard(bg, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v2", Name: "part.1"})
	w.Write([]byte("unfinished"))
	os.WriteFile(filepath.Join(dir, "tmp", "stray"), []byte("x"), 0o644)
	d.Close()
	d = mustOpen(t, dir)
	defer d.Close()
	if n := countFiles(t, filepath.Join(dir, "tmp")); n != 0 {
		t.Fatalf("tmp/ holds %d files after reopen, want 0", n)
	}
	if _, err := d.OpenShard(bg, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v2", Name: "part.1"}); !errors.Is(err, storagenode.ErrShardNotFound) {
		t.Fatalf("unfinished shard after reopen: %v", err)
	}
	if err := d.DeleteBucket(bg, "bkt"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "bkt")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("data/bkt after DeleteBucket: %v", err)
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// TestLocalHostileNamesStayInside tries names that could escape the drive
// folder and checks that nothing was created, changed or removed outside it,
// and that inside data/ only validated names appear.
func TestLocalHostileNamesStayInside(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "drive")
	sibling := filepath.Join(parent, "sibling")
	os.MkdirAll(filepath.Join(sibling, "v1"), 0o755)
	os.WriteFile(filepath.Join(parent, "canary"), []byte("c"), 0o644)
	os.WriteFile(filepath.Join(sibling, "v1", "part.1"), []byte("s"), 0o644)
	before := tree(t, parent, dir)

	d := mustOpen(t, dir)
	defer d.Close()
	if err := d.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	hostile := []string{"..", ".", "../x", "../../x", "../sibling", "a/b", "/tmp/abs", "/", "a\x00b", "\x00",
		`..\x`, "x/../../..", strings.Repeat("a", 4096), strings.Repeat("../", 100) + "etc", "sibling/../.."}
	for _, h := range hostile {
		for _, ref := range []storagenode.ShardRef{
			{Bucket: h, VersionDir: "v1", Name: "part.1"},
			{Bucket: "bkt", VersionDir: h, Name: "part.1"},
			{Bucket: "bkt", VersionDir: "v1", Name: h},
			{Bucket: h, VersionDir: h, Name: h},
		} {
			if w, err := d.CreateShard(bg, ref); !errors.Is(err, storagenode.ErrInvalidName) {
				if err == nil {
					w.Write([]byte("escaped"))
					w.Commit(bg)
				}
				t.Errorf("CreateShard(%q): %v, want ErrInvalidName", ref, err)
			}
			if r, err := d.OpenShard(bg, ref); !errors.Is(err, storagenode.ErrInvalidName) {
				if err == nil {
					r.Close()
				}
				t.Errorf("OpenShard(%q): %v, want ErrInvalidName", ref, err)
			}
		}
		for _, pair := range [][2]string{{"bkt", h}, {h, "v1"}, {h, h}} {
			if err := d.DeleteVersion(bg, pair[0], pair[1]); !errors.Is(err, storagenode.ErrInvalidName) {
				t.Errorf("DeleteVersion(%q, %q): %v, want ErrInvalidName", pair[0], pair[1], err)
			}
		}
		if err := d.MakeBucket(bg, h, time.Now()); !errors.Is(err, storagenode.ErrInvalidName) {
			t.Errorf("MakeBucket(%q): %v", h, err)
		}
		if err := d.DeleteBucket(bg, h); !errors.Is(err, storagenode.ErrInvalidName) {
			t.Errorf("DeleteBucket(%q): %v", h, err)
		}
		if err := d.PutUpload(bg, &storagenode.UploadMeta{Bucket: "bkt", Key: h + "k", UploadID: h}); !errors.Is(err, storagenode.ErrInvalidName) {
			t.Errorf("PutUpload(id %q): %v", h, err)
		}
		if err := d.DeleteUpload(bg, "bkt", h); !errors.Is(err, storagenode.ErrInvalidName) {
			t.Errorf("DeleteUpload(id %q): %v", h, err)
		}
		// Keys are index entries only, never paths.
		if len(h) <= storagenode.MaxKeyLen && h != "" {
			m := &storagenode.ObjectMeta{Bucket: "bkt", Key: h, VersionID: "v1", DataDir: "v1"}
			if _, err := d.PutMeta(bg, m); err != nil {
				t.Errorf("PutMeta(key %q): %v", h, err)
			}
			if _, err := d.DeleteMeta(bg, "bkt", h, ""); err != nil {
				t.Errorf("DeleteMeta(key %q): %v", h, err)
			}
		}
	}
	if err := d.DeleteBucket(bg, "bkt"); err != nil {
		t.Fatal(err)
	}
	if after := tree(t, parent, dir); !slices.Equal(before, after) {
		t.Fatalf("files outside the drive folder changed:\nbefore %q\n after %q", before, after)
	}
	// Nothing at all is left under data/.
	if n := countFiles(t, filepath.Join(dir, "data")); n != 0 {
		t.Fatalf("data/ holds %d entries after deleting the only bucket", n)
	}
}

// tree lists every path under root except those under skip, with file
// contents, so that changes show up.
func tree(t *testing.T, root, skip string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return fs.SkipDir
		}
		s := p
		if e.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s += "=" + string(b)
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Also the root's parent must not gain entries next to root.
	es, err := os.ReadDir(filepath.Dir(root))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		out = append(out, "../"+e.Name())
	}
	return out
}

func TestLocalDeleteVersionAndRecreate(t *testing.T) {
	d := openLocal(t)
	if err := d.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	w, _ := d.CreateShard(bg, ref)
	w.Write([]byte("x"))
	w.Commit(bg)
	if err := d.DeleteVersion(bg, "bkt", "v1"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"v1", "v1~part.1"} {
		if _, err := os.Stat(filepath.Join(d.Dir(), "data", "bkt", name)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("data/bkt/%s after DeleteVersion: %v", name, err)
		}
	}
}

// TestLocalReserve: with less free space than the reserve, writes are
// refused with ErrDiskFull before they reach the index or a file, reads
// and deletes still work.
func TestLocalReserve(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := local.Open(dir, local.Options{ID: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.MakeBucket(ctx, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	m := &storagenode.ObjectMeta{Bucket: "bkt", Key: "k", VersionID: "v1", DataDir: "v1", ModTime: time.Now(),
		EC: storagenode.ECInfo{Data: 1, Parity: 0, BlockSize: 1024}, Drives: []string{"d1"}}
	if _, err := d.PutMeta(ctx, m); err != nil {
		t.Fatal(err)
	}
	d.Close()
	full, err := local.Open(dir, local.Options{ID: "d1", ReserveBytes: 1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	m2 := *m
	m2.VersionID, m2.DataDir, m2.ModTime = "v2", "v2", m.ModTime.Add(time.Second)
	m2.InlineData, m2.Inline = true, []byte("an inline shard")
	if _, err := full.PutMeta(ctx, &m2); !errors.Is(err, storagenode.ErrDiskFull) {
		t.Errorf("PutMeta of an inline object below the reserve: %v, want ErrDiskFull", err)
	}
	// A record of data already on the disk (or a delete's undo) needs only
	// the small margin deletes need.
	if _, err := full.DeleteMeta(ctx, "bkt", "k", ""); err != nil {
		t.Errorf("DeleteMeta below the reserve: %v", err)
	}
	if _, err := full.PutMeta(ctx, m); err != nil {
		t.Errorf("putting a record back below the reserve: %v", err)
	}
	if _, err := full.CreateShard(ctx, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v2", Name: "part.1"}); !errors.Is(err, storagenode.ErrDiskFull) {
		t.Errorf("CreateShard below the reserve: %v, want ErrDiskFull", err)
	}
	if got, err := full.GetMeta(ctx, "bkt", "k"); err != nil || got.VersionID != "v1" {
		t.Errorf("GetMeta below the reserve: %v, %v", got, err)
	}
}
