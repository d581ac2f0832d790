package meta

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestUsersSealed: users' secrets are stored sealed with a key derived
// from the cluster secret: the copy opens them, another cluster's secret
// or a record moved to another access key does not, and no file of the
// group holds the secret in clear.
func TestUsersSealed(t *testing.T) {
	ctx := ctxT(t)
	root := t.TempDir()
	g := openGroup(t, groupMembers(root, 3))
	s := g.Store()
	sealer, err := NewSealer(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "wJalrXUtnFEMI-plaintext-secret-K7MDENG"
	u := User{AccessKey: "AKIAUSERONE", SealedSecret: sealer.Seal("AKIAUSERONE", secret), Policies: []string{"readonly"}}
	if err := s.PutUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPolicy(ctx, "readonly", json.RawMessage(`{"Version":"2012-10-17","Statement":[]}`)); err != nil {
		t.Fatal(err)
	}
	got, ok := s.User("AKIAUSERONE")
	if !ok || got.Created.IsZero() || len(got.Policies) != 1 {
		t.Fatalf("user: %+v, %v", got, ok)
	}
	if plain, err := sealer.Open(got); err != nil || plain != secret {
		t.Fatalf("open: %q, %v", plain, err)
	}
	other, _ := NewSealer([]byte("another-cluster-secret-entirely!"))
	if _, err := other.Open(got); !errors.Is(err, ErrUnseal) {
		t.Fatalf("another cluster's sealer: %v", err)
	}
	moved := got
	moved.AccessKey = "AKIAUSERTWO"
	if _, err := sealer.Open(moved); !errors.Is(err, ErrUnseal) {
		t.Fatalf("a sealed secret moved to another user: %v", err)
	}
	if p, ok := s.Policy("readonly"); !ok || !bytes.Contains(p, []byte("2012-10-17")) {
		t.Fatalf("policy: %s, %v", p, ok)
	}

	// Nothing on disk holds the secret in clear (the access key is there:
	// the files scanned are the right ones).
	var sawKey bool
	err = filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the secret in clear", path)
		}
		sawKey = sawKey || bytes.Contains(b, []byte("AKIAUSERONE"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sawKey {
		t.Fatal("no file holds the user's access key: the scan looked in the wrong place")
	}

	if err := s.DeleteUser(ctx, "AKIAUSERONE"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "AKIAUSERONE"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := s.DeletePolicy(ctx, "readonly"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Policy("readonly"); ok {
		t.Fatal("deleted policy still there")
	}
}
