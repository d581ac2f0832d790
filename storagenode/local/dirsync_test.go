package local

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/ecstore/ecstore/storagenode"
)

// syncCounter counts the syncs of each folder.
type syncCounter struct {
	vfs.FS
	mu    sync.Mutex
	syncs map[string]int
}

func (c *syncCounter) OpenDir(name string) (vfs.File, error) {
	f, err := c.FS.OpenDir(name)
	if err != nil {
		return nil, err
	}
	return &countedDir{File: f, c: c, name: filepath.Clean(name)}, nil
}

func (c *syncCounter) count(dir string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.syncs[filepath.Clean(dir)]
}

type countedDir struct {
	vfs.File
	c    *syncCounter
	name string
}

func (f *countedDir) Sync() error {
	f.c.mu.Lock()
	f.c.syncs[f.name]++
	f.c.mu.Unlock()
	return f.File.Sync()
}

// TestCommitSyncsAFolderAnotherCommitMade: a shard commit that finds its
// version folder just made by a concurrent commit, which has not synced the
// bucket folder yet, syncs the bucket folder itself before it answers, so
// that its file's folder is durable when it is acknowledged; once one
// commit has synced it, the next ones do not again.
func TestCommitSyncsAFolderAnotherCommitMade(t *testing.T) {
	ctx := context.Background()
	fsys := &syncCounter{FS: vfs.NewMem(), syncs: map[string]int{}}
	d, err := Open("/drive", Options{ID: "d1", FS: fsys, WriteBufferSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.MakeBucket(ctx, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	bucketDir := filepath.Join(d.data, "bkt")
	write := func(versionDir, name string) {
		t.Helper()
		ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: versionDir, Name: name}
		w, err := d.CreateShard(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("shard bytes of " + name)); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	write("v0", "part.2") // the bucket's folder now exists, synced into data/
	if isFlat("part.2") {
		t.Fatal("part.2 is a flat name; the test needs a file in a version folder")
	}
	// A concurrent commit of part.3 has made the version folder and not
	// yet synced the bucket folder (it stands between its mkdir and its
	// syncs).
	if need, err := d.mkdirDurable(filepath.Join(bucketDir, "v1")); err != nil || !need {
		t.Fatalf("mkdirDurable of a new folder = %v, %v; want true", need, err)
	}
	before := fsys.count(bucketDir)
	write("v1", "part.2")
	if got := fsys.count(bucketDir) - before; got != 1 {
		t.Fatalf("the commit into a folder another commit made and had not synced synced the bucket folder %d times, want 1", got)
	}
	before = fsys.count(bucketDir)
	write("v1", "part.4")
	if got := fsys.count(bucketDir) - before; got != 0 {
		t.Fatalf("a commit into a folder already synced synced the bucket folder %d times, want 0", got)
	}
}
