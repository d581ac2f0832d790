package meta

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func groupMembers(root string, n int) []GroupMember {
	var ms []GroupMember
	for i := range n {
		ms = append(ms, GroupMember{ID: fmt.Sprintf("drive%d", i+1), Dir: filepath.Join(root, fmt.Sprintf("d%d", i+1), "meta")})
	}
	return ms
}

func openGroup(t *testing.T, ms []GroupMember) *Group {
	t.Helper()
	g, err := OpenGroup(GroupConfig{Members: ms})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// TestGroupSurvivesLostFolders: the embedded server's group keeps its
// table through the loss of any two of five member folders (wiped, as a
// replaced drive is, or offline), and a wiped member is caught up.
func TestGroupSurvivesLostFolders(t *testing.T) {
	root := t.TempDir()
	ms := groupMembers(root, 5)
	g := openGroup(t, ms)
	ctx := ctxT(t)
	if err := g.Store().CreateBucket(ctx, "alpha", "me"); err != nil {
		t.Fatal(err)
	}
	// Read your writes on the member calls go through.
	if _, ok := g.Store().Bucket("alpha"); !ok {
		t.Fatal("bucket not in the home copy after CreateBucket returned")
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}

	// The home member's folder and another are wiped (replaced drives).
	for _, i := range []int{0, 3} {
		if err := os.RemoveAll(ms[i].Dir); err != nil {
			t.Fatal(err)
		}
	}
	g = openGroup(t, ms)
	if err := g.Store().Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Store().Bucket("alpha"); !ok {
		t.Fatal("bucket lost with two wiped member folders")
	}
	if err := g.Store().CreateBucket(ctx, "beta", "me"); err != nil {
		t.Fatal(err)
	}
	// Every member holds both (the wiped ones were caught up).
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range g.Members() {
		for {
			_, a := s.Bucket("alpha")
			_, b := s.Bucket("beta")
			if a && b {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("member %s was not caught up", s.cfg.ID)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}

	// Two members offline: changes still commit.
	ms[1].Offline, ms[4].Offline = true, true
	g = openGroup(t, ms)
	if err := g.Store().DeleteBucket(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Store().Bucket("alpha"); ok {
		t.Fatal("deleted bucket still in the home copy")
	}
}

// TestGroupImportOnce: ImportBuckets takes the buckets once; a second
// import (another start) changes nothing.
func TestGroupImportOnce(t *testing.T) {
	g := openGroup(t, groupMembers(t.TempDir(), 3))
	ctx := ctxT(t)
	s := g.Store()
	if s.Imported() {
		t.Fatal("a new group says it imported")
	}
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.ImportBuckets(ctx, []Bucket{{Name: "old", Created: created}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportBuckets(ctx, []Bucket{{Name: "other"}}); err != nil {
		t.Fatal(err)
	}
	if b, ok := s.Bucket("old"); !ok || !b.Created.Equal(created) {
		t.Fatalf("imported bucket: %+v %v", b, ok)
	}
	if _, ok := s.Bucket("other"); ok {
		t.Fatal("a second import changed the table")
	}
	if !s.Imported() {
		t.Fatal("Imported false after the import")
	}
}
