package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/faultdrive"
)

// faultyByID maps the cluster's drives by ID.
func (tc *testCluster) faultyByID() map[string]*faultdrive.Drive {
	out := map[string]*faultdrive.Drive{}
	for _, f := range tc.faulty {
		out[f.ID()] = f
	}
	return out
}

// setOffline switches the drives ids offline (or back).
func (tc *testCluster) setOffline(on bool, ids ...string) {
	byID := tc.faultyByID()
	for _, id := range ids {
		byID[id].SetOffline(on)
	}
}

// putParts uploads parts of the given sizes to an existing upload and
// returns the Complete list and the bytes.
func (tc *testCluster) putParts(t *testing.T, key, id string, first int, seed uint64, sizes ...int) ([]s3api.CompletePart, []byte) {
	t.Helper()
	var parts []s3api.CompletePart
	var all []byte
	for i, n := range sizes {
		p := randBytes(seed+uint64(i), n)
		pi, err := tc.PutObjectPart(context.Background(), "bkt", key, id, first+i, bytes.NewReader(p), int64(n), s3api.PutOptions{})
		if err != nil {
			t.Fatalf("part %d: %v", first+i, err)
		}
		parts = append(parts, s3api.CompletePart{Number: first + i, ETag: pi.ETag})
		all = append(all, p...)
	}
	return parts, all
}

// checkEveryShard checks that every drive of key's record holds an intact
// shard of every part, then reads key byte-exact with two of those drives
// (not in keep) offline.
func (tc *testCluster) checkEveryShard(t *testing.T, key string, want []byte, keep ...string) *storagenode.ObjectMeta {
	t.Helper()
	ctx := context.Background()
	meta, err := tc.readMeta(ctx, "bkt", key)
	if err != nil {
		t.Fatal(err)
	}
	coder, err := tc.coder(meta.EC)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range tc.drivesByID(meta.Drives) {
		for _, p := range meta.Parts {
			if d == nil || !tc.shardOK(ctx, d, coder, meta, p, true) {
				t.Fatalf("%s: shard %d of part %d missing or damaged on %s", key, i, p.Number, meta.Drives[i])
			}
		}
	}
	var others []string
	for _, id := range meta.Drives {
		if !slices.Contains(keep, id) && len(others) < 2 {
			others = append(others, id)
		}
	}
	tc.setOffline(true, others...)
	got, err := tc.get(key, 0, -1)
	tc.setOffline(false, others...)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %s with %v offline: %d bytes, %v; want %d bytes", key, others, len(got), err, len(want))
	}
	return meta
}

// TestPartsUseFallbackDrives: with one, then m, of the upload's drives
// offline while its parts are uploaded, each part's shards go to fallback
// drives as a single PUT's do, so the completed object has k+m shards at
// once: any other m drives may go and it reads back byte-exact, and a heal
// finds nothing to repair. When the drives return, the heal moves the
// shards home.
func TestPartsUseFallbackDrives(t *testing.T) {
	for down := 1; down <= 2; down++ {
		t.Run(fmt.Sprintf("%d down", down), func(t *testing.T) {
			tc := newCluster(t, 9, 4, 2, 64<<10)
			ctx := context.Background()
			home, err := tc.place("bkt", "k")
			if err != nil {
				t.Fatal(err)
			}
			homeIDs := driveIDs(home)
			id, err := tc.NewMultipartUpload(ctx, "bkt", "k", s3api.PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			gone := homeIDs[1 : 1+down]
			tc.setOffline(true, gone...)
			parts, all := tc.putParts(t, "k", id, 1, 3, 5<<20, 5<<20, 1000)
			lp, err := tc.ListParts(ctx, "bkt", "k", id, 0, 100)
			if err != nil || len(lp.Parts) != 3 {
				t.Fatalf("ListParts: %+v, %v", lp, err)
			}
			partials := tc.Stats().PartialWrites.Load()
			if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			if n := tc.Stats().PartialWrites.Load() - partials; n != 0 {
				t.Fatalf("the Complete was partial (%d): the fallbacks hold the shards", n)
			}
			meta := tc.checkEveryShard(t, "k", all)
			for _, g := range gone {
				if slices.Contains(meta.Drives, g) {
					t.Fatalf("the object names offline drive %s: %v", g, meta.Drives)
				}
			}
			res, err := tc.HealObject(ctx, "bkt", "k", true)
			if err != nil || res.Repaired != 0 || res.Unreachable != 0 || res.Lost || res.Away != down {
				t.Fatalf("heal with the homes still down: %+v, %v; want nothing repaired, %d away", res, err, down)
			}
			// The homes return: the heal moves the shards there.
			tc.setOffline(false, gone...)
			res, err = tc.HealObject(ctx, "bkt", "k", false)
			if err != nil || res.Moved != down {
				t.Fatalf("heal after the homes returned: %+v, %v; want %d moved", res, err, down)
			}
			meta = tc.checkEveryShard(t, "k", all)
			if !slices.Equal(meta.Drives, homeIDs) {
				t.Fatalf("after the move the object is on %v, want %v", meta.Drives, homeIDs)
			}
			tc.noUploadLeft(t, id)
		})
	}
}

// noUploadLeft checks that no drive holds a record or a file of upload id.
func (tc *testCluster) noUploadLeft(t *testing.T, id string) {
	t.Helper()
	ctx := context.Background()
	for _, f := range tc.faulty {
		if _, err := f.GetUpload(ctx, "bkt", id); !errors.Is(err, storagenode.ErrUploadNotFound) {
			t.Fatalf("drive %s still holds upload %s: %v", f.ID(), id, err)
		}
	}
}

// partHolders returns the drives holding a shard file of part name of
// upload id.
func (tc *testCluster) partHolders(id, name string) []string {
	var out []string
	for _, f := range tc.faulty {
		r, err := f.OpenShard(context.Background(), storagenode.ShardRef{Bucket: "bkt", VersionDir: id, Name: name})
		if err == nil {
			r.Close()
			out = append(out, f.ID())
		}
	}
	return out
}

// fallbackPart starts an upload of key, takes home drive 1 offline and
// uploads one part: it returns the upload, the part's file name, the
// fallback drive that took the home's shard and the home's ID.
func (tc *testCluster) fallbackPart(t *testing.T, key string) (id, name, fallback, down string) {
	t.Helper()
	ctx := context.Background()
	home, err := tc.place("bkt", key)
	if err != nil {
		t.Fatal(err)
	}
	id, err = tc.NewMultipartUpload(ctx, "bkt", key, s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	down = home[1].ID()
	tc.setOffline(true, down)
	tc.putParts(t, key, id, 1, 7, 3000)
	ps, err := home[0].ListParts(ctx, "bkt", id)
	if err != nil || len(ps) != 1 {
		t.Fatalf("ListParts on %s: %v, %v", home[0].ID(), ps, err)
	}
	name = ps[0].Name
	holders := tc.partHolders(id, name)
	for _, h := range holders {
		if !slices.Contains(driveIDs(home), h) {
			fallback = h
		}
	}
	if len(holders) != 6 || fallback == "" {
		t.Fatalf("the part is on %v with %s down: want 6 drives, one a fallback", holders, down)
	}
	return id, name, fallback, down
}

// TestAbortRemovesFallbackParts: an abort, or the expiry of an abandoned
// upload, removes the part files a fallback drive took, and its records.
func TestAbortRemovesFallbackParts(t *testing.T) {
	for _, how := range []string{"abort", "expiry"} {
		for _, back := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, home back %v", how, back), func(t *testing.T) {
				tc := newCluster(t, 8, 4, 2, 4096)
				ctx := context.Background()
				id, name, fallback, down := tc.fallbackPart(t, "k")
				if back {
					tc.setOffline(false, down)
				}
				switch how {
				case "abort":
					if err := tc.AbortMultipartUpload(ctx, "bkt", "k", id); err != nil {
						t.Fatal(err)
					}
				case "expiry":
					if n, err := tc.AbortStaleUploads(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
						t.Fatalf("AbortStaleUploads: %d, %v", n, err)
					}
				}
				tc.setOffline(false, down)
				if h := tc.partHolders(id, name); len(h) != 0 {
					t.Fatalf("after the %s the part's file is still on %v", how, h)
				}
				if _, err := tc.faultyByID()[fallback].GetUpload(ctx, "bkt", id); !errors.Is(err, storagenode.ErrUploadNotFound) {
					t.Fatalf("fallback %s still holds the upload after the %s: %v", fallback, how, err)
				}
			})
		}
	}
}

// TestCompleteAfterHomeDriveReturns: a part written to a fallback while a
// home drive was down, then the drive back for the next part and the
// Complete: the object is whole on its home drives (the fallback's shard
// copied home), and the fallback keeps nothing of the upload.
func TestCompleteAfterHomeDriveReturns(t *testing.T) {
	tc := newCluster(t, 8, 4, 2, 64<<10)
	ctx := context.Background()
	id, name, fallback, down := tc.fallbackPart(t, "k")
	// Part 1 again, large, while the drive is still down (the replaced
	// upload of part 1 leaves nothing behind), then part 2 with it back.
	parts, all := tc.putParts(t, "k", id, 1, 11, 5<<20)
	if h := tc.partHolders(id, name); len(h) != 0 {
		t.Fatalf("the replaced part's file is still on %v", h)
	}
	tc.setOffline(false, down)
	more, rest := tc.putParts(t, "k", id, 2, 12, 1000)
	parts, all = append(parts, more...), append(all, rest...)
	if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	home, _ := tc.place("bkt", "k")
	meta := tc.checkEveryShard(t, "k", all, down)
	if !slices.Equal(meta.Drives, driveIDs(home)) {
		t.Fatalf("the object is on %v, want its home drives %v", meta.Drives, driveIDs(home))
	}
	res, err := tc.HealObject(ctx, "bkt", "k", true)
	if err != nil || res.Repaired != 0 || res.Moved != 0 || res.Degraded() {
		t.Fatalf("heal: %+v, %v; want nothing to do", res, err)
	}
	tc.noUploadLeft(t, id)
	f := tc.faultyByID()[fallback]
	if _, err := f.GetMeta(ctx, "bkt", "k"); !errors.Is(err, storagenode.ErrObjectNotFound) {
		t.Fatalf("fallback %s holds a record of the object: %v", fallback, err)
	}
	for _, p := range meta.Parts {
		if h := tc.partHolders(id, p.Name); len(h) != 6 || slices.Contains(h, fallback) {
			t.Fatalf("part %d is on %v", p.Number, h)
		}
	}
}

// TestHealUploadWithFallbackParts: the heal of an upload looks for a part's
// shards where its record says they went: with the home drive down there is
// nothing to repair; when it returns it gets the part's record, not a
// rebuilt shard.
func TestHealUploadWithFallbackParts(t *testing.T) {
	tc := newCluster(t, 8, 4, 2, 4096)
	ctx := context.Background()
	id, name, _, down := tc.fallbackPart(t, "k")
	res, err := tc.HealUpload(ctx, "bkt", "k", id, true)
	if err != nil || res.Repaired != 0 || res.Lost || res.Checked != 6 {
		t.Fatalf("heal with the home down: %+v, %v; want 6 shards checked, nothing repaired", res, err)
	}
	tc.setOffline(false, down)
	res, err = tc.HealUpload(ctx, "bkt", "k", id, true)
	if err != nil || res.Repaired != 1 || res.Bytes != 0 || res.Degraded() {
		t.Fatalf("heal with the home back: %+v, %v; want its part record written, no shard", res, err)
	}
	if h := tc.partHolders(id, name); len(h) != 6 || slices.Contains(h, down) {
		t.Fatalf("after the heal the part is on %v", h)
	}
	res, err = tc.HealUpload(ctx, "bkt", "k", id, true)
	if err != nil || res.Repaired != 0 {
		t.Fatalf("second heal: %+v, %v", res, err)
	}
}

// TestCompleteWithFallbackDown: the fallback drive that took a part's shard
// is down at the Complete while the home is back: the shard cannot be
// copied home, so the Complete commits the object with that part one shard
// short and queues the heal, which rebuilds it. Every byte stays readable
// throughout.
func TestCompleteWithFallbackDown(t *testing.T) {
	tc := newCluster(t, 8, 4, 2, 64<<10)
	ctx := context.Background()
	id, _, fallback, down := tc.fallbackPart(t, "k")
	first := randBytes(7, 3000) // fallbackPart's part 1
	tc.setOffline(false, down)
	tc.setOffline(true, fallback)
	parts, err := tc.ListParts(ctx, "bkt", "k", id, 0, 10)
	if err != nil || len(parts.Parts) != 1 {
		t.Fatalf("ListParts: %+v, %v", parts, err)
	}
	cp := []s3api.CompletePart{{Number: 1, ETag: parts.Parts[0].ETag}}
	if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, cp, s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := tc.get("k", 0, -1); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("read: %v", err)
	}
	res, err := tc.HealObject(ctx, "bkt", "k", true)
	if err != nil || res.Repaired != 1 {
		t.Fatalf("heal: %+v, %v; want the missing shard rebuilt", res, err)
	}
	tc.checkEveryShard(t, "k", first, fallback)
	tc.setOffline(false, fallback)
	tc.checkEveryShard(t, "k", first)
}

// commitFaultDrive fails the Commit of every shard file while fail is set
// (a disk that takes the bytes, then fails its fsync).
type commitFaultDrive struct {
	storagenode.Drive
	fail *atomic.Bool
}

func (c *commitFaultDrive) CreateShard(ctx context.Context, ref storagenode.ShardRef) (storagenode.ShardWriter, error) {
	w, err := c.Drive.CreateShard(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &commitFault{ShardWriter: w, fail: c.fail}, nil
}

type commitFault struct {
	storagenode.ShardWriter
	fail *atomic.Bool
}

func (c *commitFault) Commit(ctx context.Context) error {
	if c.fail.Load() {
		_ = c.ShardWriter.Abort()
		return fmt.Errorf("commit (fault injected): %w", storagenode.ErrDiskFull)
	}
	return c.ShardWriter.Commit(ctx)
}

// TestFailedPartKeepsEarlierParts: a part upload that fails after some
// drives committed its shards removes only its own files: the parts
// uploaded before it stay whole (the upload's folder holds them).
func TestFailedPartKeepsEarlierParts(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	ctx := context.Background()
	id, parts, all := tc.startUpload(t, "k", 21, 20_000)
	home, _ := tc.place("bkt", "k")
	fail := &atomic.Bool{}
	var drives []Drive
	for _, d := range tc.topo().drives {
		var dd storagenode.Drive = d
		if slices.Contains(driveIDs(home[3:]), d.ID()) {
			dd = &commitFaultDrive{Drive: d, fail: fail}
		}
		drives = append(drives, Drive{Drive: dd, Node: d.ID()})
	}
	cfg := tc.cfg
	cfg.Drives = drives
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc.Layer = l
	fail.Store(true)
	if _, err := tc.PutObjectPart(ctx, "bkt", "k", id, 2, bytes.NewReader(randBytes(22, 40_000)), 40_000, s3api.PutOptions{}); err == nil {
		t.Fatal("part 2 with 3 of 6 drives failing their commits was acknowledged")
	}
	fail.Store(false)
	if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{}); err != nil {
		t.Fatalf("Complete with part 1 after part 2 failed: %v", err)
	}
	tc.checkEveryShard(t, "k", all)
}

// TestAbortAfterPartUploadedAgain: a part that went to a fallback drive is
// uploaded again once its home is back (no part record names the fallback
// any more): the abort still leaves nothing of the upload on it.
func TestAbortAfterPartUploadedAgain(t *testing.T) {
	tc := newCluster(t, 8, 4, 2, 4096)
	ctx := context.Background()
	id, name, fallback, down := tc.fallbackPart(t, "k")
	tc.setOffline(false, down)
	tc.putParts(t, "k", id, 1, 8, 3000)
	if h := tc.partHolders(id, name); len(h) != 0 {
		t.Fatalf("the replaced part's file is still on %v", h)
	}
	if err := tc.AbortMultipartUpload(ctx, "bkt", "k", id); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.faultyByID()[fallback].GetUpload(ctx, "bkt", id); !errors.Is(err, storagenode.ErrUploadNotFound) {
		t.Fatalf("fallback %s still holds the upload after the abort: %v", fallback, err)
	}
	tc.noUploadLeft(t, id)
}

// noState hides a drive's Online (a remote drive whose breaker has not
// opened yet looks online until a call fails).
type noState struct{ storagenode.Drive }

// TestCompleteWithHomeThatLooksOnline: the home drive is down during the
// parts and the Complete, but nothing says so before a call fails: the
// Complete finds out and keeps the index on the fallback, so the object is
// fully redundant at once.
func TestCompleteWithHomeThatLooksOnline(t *testing.T) {
	tc := newCluster(t, 8, 4, 2, 4096)
	ctx := context.Background()
	var drives []Drive
	for _, d := range tc.topo().drives {
		drives = append(drives, Drive{Drive: noState{d}, Node: d.ID()})
	}
	cfg := tc.cfg
	cfg.Drives = drives
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc.Layer = l
	home, _ := tc.place("bkt", "k")
	id, err := tc.NewMultipartUpload(ctx, "bkt", "k", s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	down := home[2].ID()
	tc.setOffline(true, down)
	parts, all := tc.putParts(t, "k", id, 1, 30, 5<<20, 2000)
	if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	meta := tc.checkEveryShard(t, "k", all, down)
	if slices.Contains(meta.Drives, down) {
		t.Fatalf("the object names the down drive: %v", meta.Drives)
	}
}

// TestPartWithAnUploadDriveGoneFromTheMap: a drive of the upload's list
// left the map since the upload was created: its shard of a new part goes
// to a fallback, and the completed object is whole.
func TestPartWithAnUploadDriveGoneFromTheMap(t *testing.T) {
	tc := newCluster(t, 8, 4, 2, 4096)
	ctx := context.Background()
	home, _ := tc.place("bkt", "k")
	id, err := tc.NewMultipartUpload(ctx, "bkt", "k", s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var kept []Drive
	for _, d := range tc.topo().drives {
		if d.ID() != home[1].ID() {
			kept = append(kept, Drive{Drive: d, Node: d.ID()})
		}
	}
	if err := tc.SetTopology(Topology{Epoch: 2, Drives: kept}); err != nil {
		t.Fatal(err)
	}
	parts, all := tc.putParts(t, "k", id, 1, 50, 3000)
	if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	meta := tc.checkEveryShard(t, "k", all)
	if slices.Contains(meta.Drives, home[1].ID()) {
		t.Fatalf("the object names a drive out of the map: %v", meta.Drives)
	}
}
