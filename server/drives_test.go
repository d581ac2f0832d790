package server

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// setFixture is six drive folders of an embedded server (4+2).
type setFixture struct {
	t    *testing.T
	dirs []string
	ids  []string
	log  syncBuffer
}

func newSetFixture(t *testing.T) *setFixture {
	f := &setFixture{t: t}
	root := t.TempDir()
	for i := 1; i <= 6; i++ {
		f.dirs = append(f.dirs, filepath.Join(root, fmt.Sprintf("drive%d", i)))
		f.ids = append(f.ids, fmt.Sprintf("drive%d", i))
	}
	return f
}

// open opens the set; the drives are closed at the end of the call, after
// check sees them.
func (f *setFixture) open(adopt bool, check func([]storagenode.Drive)) error {
	f.t.Helper()
	drives, err := openSet(driveSet{
		Dirs: f.dirs, IDs: f.ids, Quorum: startQuorum(6, 4, 2), AdoptEmpty: adopt,
		Log: slog.New(slog.NewTextHandler(&f.log, nil)),
		Open: func(dir, id string) (*local.Drive, error) {
			return local.Open(dir, local.Options{ID: id, IndexCacheSize: 1 << 20, IndexMemTableSize: 1 << 20})
		},
	})
	if err != nil {
		return err
	}
	defer func() {
		for _, d := range drives {
			d.Close()
		}
	}()
	if len(drives) != 6 {
		f.t.Fatalf("openSet returned %d drives, want 6", len(drives))
	}
	for i, d := range drives {
		if d.ID() != f.ids[i] {
			f.t.Fatalf("drive %d has ID %s, want %s", i, d.ID(), f.ids[i])
		}
	}
	if check != nil {
		check(drives)
	}
	return nil
}

// setIDs returns the set id in each folder's drive.json ("" for none).
func (f *setFixture) setIDs() []string {
	out := make([]string, len(f.dirs))
	for i, dir := range f.dirs {
		if fm, found, err := local.ReadFormat(dir); err == nil && found && fm.Set != nil {
			out[i] = fm.Set.ID
		}
	}
	return out
}

func (f *setFixture) empty(i ...int) {
	for _, i := range i {
		if err := os.RemoveAll(f.dirs[i]); err != nil {
			f.t.Fatal(err)
		}
		if err := os.MkdirAll(f.dirs[i], 0o755); err != nil {
			f.t.Fatal(err)
		}
	}
}

func offline(drives []storagenode.Drive) []string {
	var out []string
	for _, d := range drives {
		if _, ok := d.(*storagenode.OfflineDrive); ok {
			out = append(out, d.ID())
		}
	}
	return out
}

func TestOpenSetNewAndReopen(t *testing.T) {
	f := newSetFixture(t)
	if err := f.open(false, func(d []storagenode.Drive) {
		if off := offline(d); len(off) > 0 {
			t.Errorf("new store: offline drives %v", off)
		}
	}); err != nil {
		t.Fatal(err)
	}
	ids := f.setIDs()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("set ids after the first start: %v, want one id on every drive", ids)
		}
	}
	if err := f.open(false, nil); err != nil {
		t.Fatal(err)
	}
	if again := f.setIDs(); again[0] != ids[0] {
		t.Fatalf("set id changed on reopen: %s -> %s", ids[0], again[0])
	}
	if strings.Contains(f.log.String(), "adopted") {
		t.Errorf("a new store logged an adoption:\n%s", f.log.String())
	}
}

// TestOpenSetUpgrade: folders of drive.json format 1 (no set) form a set.
func TestOpenSetUpgrade(t *testing.T) {
	f := newSetFixture(t)
	for i, dir := range f.dirs {
		// As the previous release formatted them: index and drive.json v1.
		d, err := local.Open(dir, local.Options{ID: f.ids[i], IndexCacheSize: 1 << 20, IndexMemTableSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.MakeBucket(t.Context(), "kept", time.Now()); err != nil {
			t.Fatal(err)
		}
		d.Close()
		v1 := fmt.Sprintf("{\n  \"format\": \"ecstore-drive\",\n  \"version\": 1,\n  \"id\": %q\n}\n", f.ids[i])
		if err := os.WriteFile(filepath.Join(dir, "drive.json"), []byte(v1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.empty(5) // and one replaced while the old binary ran
	if err := f.open(false, func(d []storagenode.Drive) {
		for _, d := range d[:5] {
			if _, err := d.StatBucket(t.Context(), "kept"); err != nil {
				t.Errorf("drive %s lost its bucket in the upgrade: %v", d.ID(), err)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	ids := f.setIDs()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("set ids after the upgrade: %v, want one id on every drive", ids)
		}
	}
	if !strings.Contains(f.log.String(), "upgrade") || !strings.Contains(f.log.String(), "drive6") {
		t.Errorf("log does not tell of the upgrade and the adopted drive6:\n%s", f.log.String())
	}
}

func TestOpenSetEmptyFolders(t *testing.T) {
	f := newSetFixture(t)
	if err := f.open(false, nil); err != nil {
		t.Fatal(err)
	}
	set := f.setIDs()[0]

	// Three of six replaced by empty folders: below the quorum of 4.
	backup := filepath.Join(t.TempDir(), "drive5")
	if err := os.CopyFS(backup, os.DirFS(f.dirs[4])); err != nil {
		t.Fatal(err)
	}
	f.empty(0, 2, 4)
	err := f.open(false, nil)
	if err == nil {
		t.Fatal("started with 3 of 6 drive folders empty")
	}
	for _, want := range []string{f.dirs[0], f.dirs[2], f.dirs[4], "--adopt-empty-drives"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not name %s", err, want)
		}
	}
	for _, i := range []int{0, 2, 4} {
		if _, found, _ := local.ReadFormat(f.dirs[i]); found {
			t.Errorf("the refused start formatted %s", f.dirs[i])
		}
	}

	// Two: drive5 is put back; drive1 and drive3 are adopted, logged,
	// and join the set.
	if err := os.RemoveAll(f.dirs[4]); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(f.dirs[4], os.DirFS(backup)); err != nil {
		t.Fatal(err)
	}
	f.log = syncBuffer{}
	if err := f.open(false, func(d []storagenode.Drive) {
		if off := offline(d); len(off) > 0 {
			t.Errorf("offline drives %v", off)
		}
	}); err != nil {
		t.Fatalf("start with 2 of 6 empty: %v", err)
	}
	for _, want := range []string{"adopted as a replacement", "drive1", "drive3"} {
		if !strings.Contains(f.log.String(), want) {
			t.Errorf("log does not say %q:\n%s", want, f.log.String())
		}
	}
	for i, id := range f.setIDs() {
		if id != set {
			t.Errorf("%s: set %q, want %q", f.dirs[i], id, set)
		}
	}

	// Three empty again, with --adopt-empty-drives: starts, says so.
	f.empty(0, 2, 4)
	f.log = syncBuffer{}
	if err := f.open(true, nil); err != nil {
		t.Fatalf("--adopt-empty-drives: %v", err)
	}
	if !strings.Contains(f.log.String(), "level=ERROR") {
		t.Errorf("forced adoption not logged at ERROR:\n%s", f.log.String())
	}
}

func TestOpenSetUnusableFolders(t *testing.T) {
	f := newSetFixture(t)
	if err := f.open(false, nil); err != nil {
		t.Fatal(err)
	}
	// A file where drive2's folder was, a corrupt drive.json in drive4.
	if err := os.RemoveAll(f.dirs[1]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.dirs[1], []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dirs[3], "drive.json"), []byte("{corrupt"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.open(false, func(d []storagenode.Drive) {
		if off := offline(d); strings.Join(off, ",") != "drive2,drive4" {
			t.Errorf("offline drives %v, want drive2 and drive4", off)
		}
		if _, err := d[1].GetMeta(t.Context(), "b", "k"); !errors.Is(err, storagenode.ErrDriveOffline) {
			t.Errorf("offline drive answers %v", err)
		}
	}); err != nil {
		t.Fatalf("start with 2 unusable folders of 6: %v", err)
	}
	log := f.log.String()
	for _, want := range []string{"level=ERROR", f.dirs[1], "not a folder", f.dirs[3], "drive.json"} {
		if !strings.Contains(log, want) {
			t.Errorf("log does not say %q:\n%s", want, log)
		}
	}

	// A third: an index that does not open (a file where index/ was).
	if err := os.RemoveAll(filepath.Join(f.dirs[5], "index")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dirs[5], "index"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := f.open(false, nil)
	if err == nil {
		t.Fatal("started with 3 of 6 drives unusable")
	}
	for _, want := range []string{f.dirs[1], f.dirs[3], f.dirs[5], "3 of 6"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not name %s", err, want)
		}
	}
}

// TestOpenSetForeignDrive: a drive of another set (or another position) is
// offline, never a member.
func TestOpenSetForeignDrive(t *testing.T) {
	f, g := newSetFixture(t), newSetFixture(t)
	if err := f.open(false, nil); err != nil {
		t.Fatal(err)
	}
	if err := g.open(false, nil); err != nil {
		t.Fatal(err)
	}
	// drive3 of f replaced by g's drive3; drive5 and drive6 swapped.
	if err := os.RemoveAll(f.dirs[2]); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(g.dirs[2], f.dirs[2]); err != nil {
		t.Fatal(err)
	}
	if err := f.open(false, func(d []storagenode.Drive) {
		if off := offline(d); strings.Join(off, ",") != "drive3" {
			t.Errorf("offline drives %v, want drive3", off)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.log.String(), "belongs to drive set") {
		t.Errorf("log does not name the other set:\n%s", f.log.String())
	}
	tmp := f.dirs[4] + ".tmp"
	os.Rename(f.dirs[4], tmp)
	os.Rename(f.dirs[5], f.dirs[4])
	os.Rename(tmp, f.dirs[5])
	if err := f.open(false, nil); err == nil || !strings.Contains(err.Error(), "names drive") {
		t.Fatalf("start with 3 foreign or swapped drives: %v, want a refusal", err)
	}
}

func TestOpenNodeDrives(t *testing.T) {
	root := t.TempDir()
	dirs := []string{filepath.Join(root, "d1"), filepath.Join(root, "d2"), filepath.Join(root, "d3")}
	ids := []string{"n1-d1", "n1-d2", "n1-d3"}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	open := func(dir, id string) (*local.Drive, error) {
		return local.Open(dir, local.Options{ID: id, IndexCacheSize: 1 << 20, IndexMemTableSize: 1 << 20})
	}
	closeAll := func(ds []storagenode.Drive) {
		for _, d := range ds {
			d.Close()
		}
	}
	ds, err := openNodeDrives(dirs, ids, log, open)
	if err != nil {
		t.Fatal(err)
	}
	closeAll(ds)
	if strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a new node logged warnings:\n%s", logs.String())
	}

	// d2 a file, d3 emptied: d2 offline (ERROR), d3 adopted (WARN).
	os.RemoveAll(dirs[1])
	os.WriteFile(dirs[1], nil, 0o644)
	os.RemoveAll(dirs[2])
	ds, err = openNodeDrives(dirs, ids, log, open)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(ds)
	if off := offline(ds); strings.Join(off, ",") != "n1-d2" {
		t.Errorf("offline drives %v, want n1-d2", off)
	}
	for _, want := range []string{"level=ERROR", dirs[1], "level=WARN", "adopted", dirs[2]} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log does not say %q:\n%s", want, logs.String())
		}
	}

	// No drive usable: refused.
	bad := []string{dirs[1], dirs[1]}
	if _, err := openNodeDrives(bad, ids[:2], log, open); err == nil || !strings.Contains(err.Error(), dirs[1]) {
		t.Errorf("node with no usable drive: %v, want a refusal naming the folders", err)
	}
}
