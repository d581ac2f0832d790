package local

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/ecstore/ecstore/storagenode"
)

// The trash keeps a deleted or replaced version's shard files readable by
// the reads that started on it: a GET that opened a version goes on reading
// its parts one after the other, and must not find them gone when an
// overwrite or a DELETE commits meanwhile. DeleteVersion moves the version's
// folder and flat file from data/<bucket>/ to trash/<bucket>/ (a rename
// each); OpenShard looks there when a file is gone from data/; a sweeper
// removes what has been there longer than Options.DeleteGrace. The trash
// is emptied when the drive opens (no read survives a restart of its
// process) and at once when the disk runs below its reserve (space before
// slow readers).
type trash struct {
	fs    vfs.FS
	dir   string // drive/trash
	grace time.Duration

	mu      sync.Mutex
	entries []trashEntry         // in the order they were moved in
	latest  map[string]time.Time // path -> when it last moved in (absent: gone or restored)
	stop    chan struct{}
	wg      sync.WaitGroup
}

type trashEntry struct {
	path string
	at   time.Time
}

const trashDir = "trash"

// openTrash empties dir and starts the sweeper (none when grace <= 0).
func openTrash(fsys vfs.FS, dir string, grace time.Duration) (*trash, error) {
	if err := fsys.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	t := &trash{fs: fsys, dir: dir, grace: grace, latest: map[string]time.Time{}, stop: make(chan struct{})}
	if grace > 0 {
		t.wg.Add(1)
		go t.sweeper()
	}
	return t, nil
}

// close stops the sweeper and waits for it.
func (t *trash) close() {
	close(t.stop)
	t.wg.Wait()
}

func (t *trash) sweeper() {
	defer t.wg.Done()
	tick := time.NewTicker(min(max(t.grace/4, 10*time.Millisecond), 30*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case now := <-tick.C:
			t.sweep(now.Add(-t.grace))
		}
	}
}

// sweep removes the entries moved in before cutoff (not those moved in
// again since, or taken back out).
func (t *trash) sweep(cutoff time.Time) {
	t.mu.Lock()
	n := 0
	for n < len(t.entries) && !t.entries[n].at.After(cutoff) {
		n++
	}
	var gone []string
	for _, e := range t.entries[:n] {
		if at, ok := t.latest[e.path]; ok && at.Equal(e.at) {
			delete(t.latest, e.path)
			gone = append(gone, e.path)
		}
	}
	t.entries = t.entries[n:]
	t.mu.Unlock()
	for _, p := range gone {
		_ = t.fs.RemoveAll(p)
	}
}

// empty removes everything in the trash now.
func (t *trash) empty() { t.sweep(time.Now().Add(time.Hour)) }

// moveIn moves path (data/<bucket>/<name>: a version's folder or flat
// file) to the trash, or removes it at once without a grace period. A
// missing path is not an error.
func (t *trash) moveIn(path, bucket, name string) error {
	if t.grace <= 0 {
		return t.fs.RemoveAll(path)
	}
	dst := filepath.Join(t.dir, bucket, name)
	if err := t.fs.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	// What was deleted before under that name (a version healed back and
	// deleted again) gives way.
	if err := t.fs.RemoveAll(dst); err != nil {
		return err
	}
	err := rename(t.fs, path, dst)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	now := time.Now()
	t.mu.Lock()
	t.entries = append(t.entries, trashEntry{path: dst, at: now})
	t.latest[dst] = now
	t.mu.Unlock()
	return nil
}

// restore moves version's flat file and folder back from the trash to
// bucketDir (data/<bucket>) if they are there: a record naming the version
// was written again (a failed write's undo put back the record of a version
// this drive had already replaced, say, or a heal found the files in the
// trash good). Without it the files would be swept away under a record
// that names them. Neither replaces what was written since: a flat file
// comes back only where there is none, a folder only where there is none or
// an empty one. Best effort: what cannot be moved back stays in the trash,
// and the heal rebuilds it later.
func (t *trash) restore(bucket, version, bucketDir string) {
	for _, name := range [...]string{flatName(version), version} {
		src := filepath.Join(t.dir, bucket, name)
		t.mu.Lock()
		at, ok := t.latest[src]
		delete(t.latest, src)
		t.mu.Unlock()
		if !ok {
			continue
		}
		if t.moveBack(src, filepath.Join(bucketDir, name), name != version) == nil {
			continue
		}
		t.mu.Lock()
		t.latest[src] = at // swept in its turn
		t.mu.Unlock()
	}
}

// moveBack moves src out of the trash to dst, never over a file (link, then
// unlink: link fails where dst exists) nor a folder that is not empty.
func (t *trash) moveBack(src, dst string, file bool) error {
	if err := t.fs.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if !file {
		return rename(t.fs, src, dst)
	}
	if err := t.fs.Link(src, dst); err != nil {
		return err
	}
	return t.fs.Remove(src)
}

// path is where ref's file is while in the trash in its version's folder.
func (t *trash) path(ref storagenode.ShardRef) string {
	return filepath.Join(t.dir, ref.Bucket, ref.VersionDir, ref.Name)
}

// flatPath is where ref's file is while in the trash as a flat file; ""
// for a name never flat.
func (t *trash) flatPath(ref storagenode.ShardRef) string {
	if !isFlat(ref.Name) {
		return ""
	}
	return filepath.Join(t.dir, ref.Bucket, flatName(ref.VersionDir))
}

// removeBucket removes a deleted bucket's trash.
func (t *trash) removeBucket(bucket string) error {
	return t.fs.RemoveAll(filepath.Join(t.dir, bucket))
}

// rename is fs.Rename with the rule of POSIX that the in-memory file
// system lacks: a folder does not replace a folder that is not empty (a
// version restored from the trash must not replace shard files written
// since).
func rename(fsys vfs.FS, oldname, newname string) error {
	if fsys != vfs.Default {
		if names, err := fsys.List(newname); err == nil && len(names) > 0 {
			return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: syscall.ENOTEMPTY}
		}
	}
	return fsys.Rename(oldname, newname)
}
