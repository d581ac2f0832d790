package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, s string) *Map {
	t.Helper()
	m, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestKeeperAdopt: a keeper adopts only newer maps, stores each in all its
// files before it answers, comes back on the newest stored one after a
// restart, and accepts callers on the map it replaced for the grace period
// only.
func TestKeeperAdopt(t *testing.T) {
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")}
	m3 := mustParse(t, sample)
	k, err := NewKeeper(m3, paths)
	if err != nil {
		t.Fatal(err)
	}
	adopted := 0
	k.OnAdopt = func(*Map) { adopted++ }
	k.Grace = 200 * time.Millisecond
	id3 := k.MapID()
	if id3 != m3.ID() || !k.MapAccepted(id3) || k.MapAccepted("e2-000000000000") || k.MapAccepted("") {
		t.Fatalf("keeper on %s: accepts its own map only", id3)
	}

	m4 := m3.Clone()
	m4.Epoch = 4
	m4.Nodes[0].Drives[0].Weight = 3
	if ok, err := k.Adopt(m4, false); !ok || err != nil {
		t.Fatalf("adopt epoch 4: %v %v", ok, err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustParse(t, string(data)); got.ID() != m4.ID() {
			t.Fatalf("%s holds %s, want %s", p, got.ID(), m4.ID())
		}
	}
	if !k.MapAccepted(id3) || !k.MapAccepted(m4.ID()) {
		t.Fatal("within the grace period both maps are accepted")
	}
	time.Sleep(250 * time.Millisecond)
	if k.MapAccepted(id3) {
		t.Fatal("the replaced map is still accepted after the grace period")
	}

	// Same map again: no change. Older or same epoch with other content:
	// refused, unless replace (same epoch only).
	if ok, err := k.Adopt(m4.Clone(), false); ok || err != nil {
		t.Fatalf("same map again: %v %v", ok, err)
	}
	if _, err := k.Adopt(m3, true); !errors.Is(err, ErrStaleMap) {
		t.Fatalf("older map: %v, want ErrStaleMap", err)
	}
	other := m4.Clone()
	other.Nodes[1].Drives[0].Weight = 2
	if _, err := k.Adopt(other, false); !errors.Is(err, ErrStaleMap) {
		t.Fatalf("same epoch, other content: %v, want ErrStaleMap", err)
	}
	if ok, err := k.Adopt(other, true); !ok || err != nil {
		t.Fatalf("same epoch with replace: %v %v", ok, err)
	}
	if adopted != 2 {
		t.Fatalf("OnAdopt called %d times, want 2", adopted)
	}

	// A map that fails Check or Validate is never stored.
	k.Check = func(m *Map) error {
		if m.Node("n9") == nil {
			return errors.New("n9 missing")
		}
		return nil
	}
	m5 := other.Clone()
	m5.Epoch = 5
	if _, err := k.Adopt(m5, false); err == nil {
		t.Fatal("a map failing Check was adopted")
	}
	bad := other.Clone()
	bad.Epoch = 6
	bad.Nodes[2].Draining = true // 4+2 on 4 drives not draining: too few
	k.Check = nil
	if _, err := k.Adopt(bad, false); err == nil {
		t.Fatal("a map with too few drives not draining was adopted")
	}

	// A restart, even with the old map given, comes back on the newest.
	k2, err := NewKeeper(m3, paths)
	if err != nil {
		t.Fatal(err)
	}
	if k2.MapID() != other.ID() {
		t.Fatalf("after a restart: %s, want %s", k2.MapID(), other.ID())
	}

	// Follow takes the authority's map whatever its epoch, and stores it.
	renum := other.Clone()
	renum.Epoch = 2
	if ok, err := k2.Follow(renum); !ok || err != nil || k2.MapID() != renum.ID() {
		t.Fatalf("follow a renumbered map: %v %v, on %s", ok, err, k2.MapID())
	}
	if ok, err := k2.Follow(renum.Clone()); ok || err != nil {
		t.Fatalf("follow the same map again: %v %v", ok, err)
	}
	for _, p := range paths {
		if data, err := os.ReadFile(p); err != nil || mustParse(t, string(data)).ID() != renum.ID() {
			t.Fatalf("%s after follow: %v", p, err)
		}
	}
}

// TestKeeperWithoutMap: a node started without a map accepts every caller
// until it is given one.
func TestKeeperWithoutMap(t *testing.T) {
	k, err := NewKeeper(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k.MapData() != nil || !k.MapAccepted("e7-abcdef012345") || !k.MapAccepted("") {
		t.Fatal("a keeper without a map must accept every caller")
	}
	if err := k.AdoptMap(mustParse(t, sample).Encode(), false); err != nil {
		t.Fatal(err)
	}
	if k.MapAccepted("") || k.Map().Epoch != 3 {
		t.Fatal("after adopting a map, callers without one are refused")
	}
}

// TestMapIDStable: the new fields are omitted when unset, so the ID of a
// map written before elastic clusters does not change.
func TestMapIDStable(t *testing.T) {
	m := mustParse(t, sample)
	if got := string(m.Encode()); got == "" || strings.Contains(got, "prior") || strings.Contains(got, "draining") || strings.Contains(got, "removed") {
		t.Fatalf("encoding of a plain map: %s", got)
	}
	c := m.Clone()
	if c.ID() != m.ID() {
		t.Fatal("Clone changed the ID")
	}
	c.Nodes[0].Removed = true
	if c.ID() == m.ID() {
		t.Fatal("a removed node did not change the ID")
	}
}
