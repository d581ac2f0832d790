package meta

import (
	"errors"
	"testing"
)

// TestKeyRegistry: a key id registers once with its check value; the same
// again is a no-op, another check value under the id is refused, and a
// forgotten key can register anew.
func TestKeyRegistry(t *testing.T) {
	ctx := ctxT(t)
	g := openGroup(t, groupMembers(t.TempDir(), 3))
	s := g.Store()
	if err := s.RegisterKey(ctx, "k1", "0011223344556677"); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterKey(ctx, "k1", "0011223344556677"); err != nil {
		t.Fatalf("again: %v", err)
	}
	if err := s.RegisterKey(ctx, "k1", "ffffffffffffffff"); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("another key under k1: %v", err)
	}
	if err := s.RegisterKey(ctx, "k2", "8899aabbccddeeff"); err != nil {
		t.Fatal(err)
	}
	ks := s.Keys()
	if len(ks) != 2 || ks[0].ID != "k1" || ks[0].Check != "0011223344556677" || ks[1].ID != "k2" || ks[0].Registered.IsZero() {
		t.Fatalf("keys: %+v", ks)
	}
	if err := s.ForgetKey(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetKey(ctx, "k1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("forget twice: %v", err)
	}
	if err := s.RegisterKey(ctx, "k1", "ffffffffffffffff"); err != nil {
		t.Fatalf("after forgetting: %v", err)
	}
}

// TestKMSKeys: a named key is created once; a second create of the name is
// refused and keeps the first.
func TestKMSKeys(t *testing.T) {
	ctx := ctxT(t)
	g := openGroup(t, groupMembers(t.TempDir(), 1))
	s := g.Store()
	if err := s.CreateKMSKey(ctx, KMSKey{Name: "app", Sealed: []byte("sealed-1"), SealedBy: "k1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateKMSKey(ctx, KMSKey{Name: "app", Sealed: []byte("sealed-2"), SealedBy: "k1"}); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("second create: %v", err)
	}
	k, ok := s.KMSKey("app")
	if !ok || string(k.Sealed) != "sealed-1" || k.Created.IsZero() || k.SealedBy != "k1" {
		t.Fatalf("key: %+v %v", k, ok)
	}
	if _, ok := s.KMSKey("other"); ok || len(s.KMSKeys()) != 1 {
		t.Fatal("keys")
	}
	if err := s.CreateKMSKey(ctx, KMSKey{Name: "x"}); !errors.Is(err, ErrBadCommand) {
		t.Fatalf("a key without sealed bytes: %v", err)
	}
}

// TestResealKMSKey: a reseal applies only over the sealing it expects.
func TestResealKMSKey(t *testing.T) {
	ctx := ctxT(t)
	g := openGroup(t, groupMembers(t.TempDir(), 1))
	s := g.Store()
	if err := s.CreateKMSKey(ctx, KMSKey{Name: "app", Sealed: []byte("by-k1"), SealedBy: "k1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ResealKMSKey(ctx, "app", []byte("by-k2"), "k2", "k0"); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("wrong expectation: %v", err)
	}
	if err := s.ResealKMSKey(ctx, "app", []byte("by-k2"), "k2", "k1"); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.KMSKey("app"); k.SealedBy != "k2" || string(k.Sealed) != "by-k2" {
		t.Fatalf("after reseal: %+v", k)
	}
	if err := s.ResealKMSKey(ctx, "gone", []byte("x"), "k2", "k1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
}
