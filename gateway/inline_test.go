package gateway

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/faultdrive"
)

// TestInlineObjects: objects up to InlineMax keep their shards in the
// records (no shard file anywhere), read back whole, survive m lost drives,
// are healed (missing and corrupt shards), take fallback drives when a
// placement drive is down and move home, and are replaced and deleted
// cleanly.
func TestInlineObjects(t *testing.T) {
	ctx := context.Background()
	tc := newClusterInline(t, 8, 4, 2, 4096, 64<<10)
	for _, size := range []int{0, 1, 4095, 4096, 30_000, 64 << 10} {
		data := randBytes(uint64(size), size)
		key := "size" + string(rune('a'+size%26))
		tc.put(t, key, data)
		meta, err := tc.readMeta(ctx, "bkt", key)
		if err != nil {
			t.Fatal(err)
		}
		if !meta.InlineData || meta.Inline != nil {
			t.Fatalf("%d bytes: InlineData %v, inline bytes in the chosen record %d", size, meta.InlineData, len(meta.Inline))
		}
		for _, d := range tc.drivesByID(meta.Drives) {
			if _, err := d.OpenShard(ctx, storagenode.ShardRef{Bucket: "bkt", VersionDir: meta.DataDir, Name: "part.1"}); !errors.Is(err, storagenode.ErrShardNotFound) {
				t.Fatalf("%d bytes: a shard file exists on %s (%v)", size, d.ID(), err)
			}
		}
		if got, err := tc.get(key, 0, -1); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read back: %v", size, err)
		}
		if size > 100 {
			if got, err := tc.get(key, 17, 50); err != nil || !bytes.Equal(got, data[17:67]) {
				t.Fatalf("%d bytes: range read: %v", size, err)
			}
		}
	}
	// One byte over the limit goes to shard files.
	big := randBytes(7, 64<<10+1)
	tc.put(t, "big", big)
	if m, _ := tc.readMeta(ctx, "bkt", "big"); m.InlineData {
		t.Fatal("an object over InlineMax was stored inline")
	}

	data := randBytes(42, 20_000)
	home, _ := tc.place("bkt", "k")
	byID := map[string]*faultdrive.Drive{}
	for _, f := range tc.faulty {
		byID[f.ID()] = f
	}
	// Written with a placement drive down: a fallback takes its shard.
	byID[home[0].ID()].SetOffline(true)
	tc.put(t, "k", data)
	if n := tc.Stats().PartialWrites.Load(); n != 0 {
		t.Fatalf("inline write with one drive down was partial (%d)", n)
	}
	meta, _ := tc.readMeta(ctx, "bkt", "k")
	if meta.Drives[0] == home[0].ID() {
		t.Fatal("the offline home drive was recorded for shard 0")
	}
	// Fully redundant: two more placement drives may go.
	byID[home[1].ID()].SetOffline(true)
	byID[home[2].ID()].SetOffline(true)
	if got, err := tc.get("k", 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read with 3 home drives down: %v", err)
	}
	for _, i := range []int{0, 1, 2} {
		byID[home[i].ID()].SetOffline(false)
	}
	r, err := tc.HealObject(ctx, "bkt", "k", true)
	if err != nil || r.Repaired != 1 {
		t.Fatalf("heal moving the shard home: %+v %v", r, err)
	}
	meta, _ = tc.readMeta(ctx, "bkt", "k")
	if meta.Drives[0] != home[0].ID() {
		t.Fatalf("shard 0 still on %s, home %s", meta.Drives[0], home[0].ID())
	}

	// Lose two records (drive wiped): degraded read, then heal rebuilds.
	for _, i := range []int{1, 4} {
		if _, err := tc.drivesByID(meta.Drives)[i].DeleteMeta(ctx, "bkt", "k", ""); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := tc.get("k", 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read with 2 records gone: %v", err)
	}
	if r, err := tc.HealObject(ctx, "bkt", "k", false); err != nil || r.Repaired != 2 {
		t.Fatalf("heal of 2 missing records: %+v %v", r, err)
	}
	// Corrupt one inline shard (bitrot in the index): reads rebuild it from
	// parity and count a checksum failure; a deep heal rewrites it.
	d3 := tc.drivesByID(meta.Drives)[3]
	rec, err := d3.GetMeta(ctx, "bkt", "k")
	if err != nil || len(rec.Inline) == 0 {
		t.Fatalf("record on %s: %v", d3.ID(), err)
	}
	rec.Inline[len(rec.Inline)/2] ^= 0x40
	if _, err := d3.PutMeta(ctx, rec); err != nil {
		t.Fatal(err)
	}
	before := tc.Stats().ChecksumFailures.Load()
	if got, err := tc.get("k", 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read with a corrupt inline shard: %v", err)
	}
	if tc.Stats().ChecksumFailures.Load() == before {
		t.Error("a corrupt inline data shard was read without a checksum failure")
	}
	if r, err := tc.HealObject(ctx, "bkt", "k", true); err != nil || r.Repaired != 1 {
		t.Fatalf("deep heal of a corrupt inline shard: %+v %v", r, err)
	}
	if r, err := tc.HealObject(ctx, "bkt", "k", true); err != nil || r.Repaired != 0 || r.Checked != 6 {
		t.Fatalf("heal after repair: %+v %v", r, err)
	}
	// Now any two drives may go again.
	tc.drivesByID(meta.Drives)[0].(*faultdrive.Drive).SetOffline(true)
	tc.drivesByID(meta.Drives)[5].(*faultdrive.Drive).SetOffline(true)
	if got, err := tc.get("k", 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after the heals with 2 drives down: %v", err)
	}
	tc.drivesByID(meta.Drives)[0].(*faultdrive.Drive).SetOffline(false)
	tc.drivesByID(meta.Drives)[5].(*faultdrive.Drive).SetOffline(false)

	// Overwrites across the limit, both ways, then delete.
	tc.put(t, "k", big)
	if got, err := tc.get("k", 0, -1); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("inline replaced by shard files: %v", err)
	}
	tc.put(t, "k", data)
	if got, err := tc.get("k", 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("shard files replaced by inline: %v", err)
	}
	if err := tc.DeleteObject(ctx, "bkt", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.get("k", 0, -1); err == nil {
		t.Fatal("deleted inline object still reads")
	}
}
