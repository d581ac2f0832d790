package gateway

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

// splitKey cuts a DELETE of key after n-k+1 record removals (the first
// drives in placement order), as crash point delete.split does; drop also
// removes the shard files of the drives without a record.
func splitKey(t *testing.T, l *Layer, key string, drop bool) {
	t.Helper()
	ctx := context.Background()
	placed, err := l.place("bkt", key)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range placed[:len(placed)-l.k+1] {
		m, err := d.DeleteMeta(ctx, "bkt", key, "")
		if err != nil {
			t.Fatal(err)
		}
		if drop && !m.InlineData {
			for _, p := range m.Parts { // for good: DeleteVersion keeps them in the trash a while
				if err := d.DeleteShard(ctx, storagenode.ShardRef{Bucket: "bkt", VersionDir: m.DataDir, Name: p.Name}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if _, _, err := readVersion(l, key, ""); !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("GET of the split key: %v, want 503 (read quorum)", err)
	}
}

// TestHealSplit: a key whose only version's record is on 3 of its 6
// drives (a DELETE cut between its record removals) reads 503, and the
// heal settles it once the in-flight window has passed by finishing the
// delete: NoSuchKey, and no drive holds a record. Shard files or inline
// shards, and the heal walk's dangling pass, alike; a version younger
// than the window is left as it is.
func TestHealSplit(t *testing.T) {
	ctx := context.Background()
	l := versioningLayer(t, true)
	rep := NewRepair(l)
	records := func(key string) int {
		n := 0
		for _, d := range l.topo().drives {
			if _, err := d.GetMeta(ctx, "bkt", key); err == nil {
				n++
			}
		}
		return n
	}
	settled := func(key string) {
		t.Helper()
		if _, _, err := readVersion(l, key, ""); !errors.Is(err, s3api.ErrNoSuchKey) {
			t.Fatalf("GET %s after the heal: %v, want NoSuchKey", key, err)
		}
		if n := records(key); n != 0 {
			t.Fatalf("after the heal %d drives hold a record of %s, want none", n, key)
		}
	}

	big := bytes.Repeat([]byte("b"), 300<<10)
	putVersion(t, l, "files", big)
	splitKey(t, l, "files", false)
	if _, err := rep.HealObject(ctx, "bkt", "files", false); !errors.Is(err, ErrWriteConflict) {
		t.Fatalf("heal of a split younger than the in-flight window: %v, want it left (conflict)", err)
	}
	if n := records("files"); n != 3 {
		t.Fatalf("a heal inside the window changed the records: %d, want 3", n)
	}
	l.cfg.InFlightWindow = time.Nanosecond
	if _, err := rep.HealObject(ctx, "bkt", "files", false); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("heal of a split key: %v, want the delete finished (not found)", err)
	}
	settled("files")

	putVersion(t, l, "inline", []byte("inline"))
	splitKey(t, l, "inline", false)
	if _, err := rep.HealObject(ctx, "bkt", "inline", false); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("heal of a split inline object: %v, want the delete finished", err)
	}
	settled("inline")

	// The heal walk's dangling pass settles a split key too.
	putVersion(t, l, "walked", big)
	splitKey(t, l, "walked", true)
	w := rep.Healer()
	if err := w.Start(ctx, false, 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.Status().Running && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	settled("walked")
}

// TestHealSplitUnreachable: a split key whose drives do not all answer is
// left alone: a drive that does not answer may hold what decides it.
func TestHealSplitUnreachable(t *testing.T) {
	ctx := context.Background()
	g := newTwoGateways(t, 6, 4, 2)
	g.a.cfg.InFlightWindow = time.Nanosecond
	big := bytes.Repeat([]byte("u"), 300<<10)
	if _, err := g.a.PutObject(ctx, "bkt", "k", bytes.NewReader(big), int64(len(big)), s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	placed, err := g.a.place("bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range placed[:3] {
		if _, err := d.DeleteMeta(ctx, "bkt", "k", ""); err != nil {
			t.Fatal(err)
		}
	}
	g.bViews[placed[5].ID()].SetOffline(true) // B cannot reach a drive that holds the record
	g.b.cfg.InFlightWindow = time.Nanosecond
	if _, err := NewRepair(g.b).HealObject(ctx, "bkt", "k", false); !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("heal with a drive unreachable: %v, want it left (read quorum)", err)
	}
	for _, d := range placed[3:] {
		if _, err := d.GetMeta(ctx, "bkt", "k"); err != nil {
			t.Fatalf("a record was removed by a heal that could not judge: %v", err)
		}
	}
	if _, err := NewRepair(g.a).HealObject(ctx, "bkt", "k", false); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("heal through A, which reaches every drive: %v, want the delete finished", err)
	}
	if _, err := readAll(g.b, "k"); !errors.Is(err, s3api.ErrNoSuchKey) {
		t.Fatalf("after the heal: %v, want NoSuchKey", err)
	}
}
