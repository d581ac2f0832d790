package gateway

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/ecstore/ecstore/ec"
	"github.com/ecstore/ecstore/storagenode"
)

// TestCopyShardKeepsUnverifiedCopy: a moved shard's copy that cannot be
// read back (the target went away, or the job was stopped) is left where
// it is, because its name may by then hold a shard another mover committed
// (a rebalance whose lease passed to another gateway while this one was
// stopped: CI lost a shard that way); a copy read back corrupt is
// removed.
func TestCopyShardKeepsUnverifiedCopy(t *testing.T) {
	tc, drives, faulty := growCluster(t, 7, 6, 0)
	ctx := context.Background()
	data := randBytes(7, 300_000) // above the inline limit: shard files
	tc.put(t, "k", data)
	meta, err := drives[0].GetMeta(ctx, "bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	coder, err := tc.coder(meta.EC)
	if err != nil {
		t.Fatal(err)
	}
	from := tc.drivesByID(meta.Drives)[0]
	to := faulty[6]
	p := meta.Parts[0]
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: meta.DataDir, Name: p.Name}
	present := func() bool {
		r, err := to.OpenShard(ctx, ref)
		if err == nil {
			r.Close()
			return true
		}
		if !errors.Is(err, storagenode.ErrShardNotFound) {
			t.Fatalf("open the copy: %v", err)
		}
		return false
	}

	// The read-back fails, not on a checksum: the copy stays.
	to.SetReadFault(func(_ storagenode.ShardRef, _ []byte, _ int64, _ int, _ error) (int, error) {
		return 0, storagenode.ErrDriveOffline
	})
	if _, err := tc.copyShard(ctx, coder, from, to, ref, p.DataSize()); err == nil {
		t.Fatal("copyShard succeeded with a copy it could not read back")
	}
	to.SetReadFault(nil)
	if !present() {
		t.Fatal("a copy that could not be read back was deleted")
	}

	// The read-back finds a bad checksum: the copy goes.
	to.SetReadFault(func(_ storagenode.ShardRef, b []byte, _ int64, n int, err error) (int, error) {
		if n > 0 {
			b[0] ^= 0xff
		}
		return n, err
	})
	if _, err := tc.copyShard(ctx, coder, from, to, ref, p.DataSize()); err == nil {
		t.Fatal("copyShard succeeded with a corrupt copy")
	}
	to.SetReadFault(nil)
	if present() {
		t.Fatal("a copy read back corrupt was kept")
	}

	// And a good copy verifies.
	if _, err := tc.copyShard(ctx, coder, from, to, ref, p.DataSize()); err != nil {
		t.Fatalf("copyShard: %v", err)
	}
	if !present() {
		t.Fatal("the good copy is missing")
	}
}

// TestFailedMoveKeepsAnotherMoversShard: two movers of one shard (the
// rebalance, and a heal queued on another gateway, which is not fenced
// against it): the other finished first (its copy on the new drive, every
// record naming it, the old copy deleted); this one, working from the
// record it read before, cannot copy the old copy nor rebuild the shard.
// Its clean-up must not delete the version's files on the new drive,
// which the records now name.
func TestFailedMoveKeepsAnotherMoversShard(t *testing.T) {
	tc, drives, faulty := growCluster(t, 7, 6, 0)
	ctx := context.Background()
	tc.put(t, "k", randBytes(8, 300_000))
	tc.put(t, "k2", randBytes(9, 300_000)) // on d0..d5 too, before d6 joins
	spy := &deleteSpy{Drive: drives[6].Drive}
	drives[6].Drive = spy
	stale, coder := seventhDrive(t, tc, drives, "k")
	// The other mover moves shard 0 to d6.
	h := tc.drivesByID([]string{"d6"})[0]
	var res HealResult
	if !tc.moveShard(ctx, stale.Clone(), coder, &res, 0, h) {
		t.Fatal("the first move failed")
	}
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: stale.DataDir, Name: stale.Parts[0].Name}
	// This mover: the old copy's drive is down (the trash there would
	// still serve it), and with two more drives down the shard cannot be
	// rebuilt.
	for _, id := range stale.Drives[:3] {
		faulty[slices.IndexFunc(drives, func(d Drive) bool { return d.ID() == id })].SetOffline(true)
	}
	if tc.moveShard(ctx, stale.Clone(), coder, &res, 0, h) {
		t.Fatal("the second move succeeded without a source")
	}
	// (A deleted shard stays readable from the drive's trash for a while:
	// the deletes are counted.)
	if n := spy.deletes.Load(); n != 0 {
		t.Fatalf("the failed move deleted the version's files on %s, which the records name (%d deletes)", h.ID(), n)
	}
	r, err := h.OpenShard(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()

	// Where no record names the drive, the failed move's files go.
	m2, err := tc.drivesByID(stale.Drives[3:4])[0].GetMeta(ctx, "bkt", "k2") // a drive still up
	if err != nil {
		t.Fatal(err)
	}
	if tc.moveShard(ctx, m2, coder, &res, slices.Index(m2.Drives, stale.Drives[0]), h) {
		t.Fatal("a move from a drive that is down succeeded without enough sources")
	}
	if spy.deletes.Load() == 0 {
		t.Fatal("a failed move left its files on a drive no record names")
	}
}

// deleteSpy counts DeleteVersion calls.
type deleteSpy struct {
	storagenode.Drive
	deletes atomic.Int32
}

func (s *deleteSpy) DeleteVersion(ctx context.Context, bucket, dir string) error {
	s.deletes.Add(1)
	return s.Drive.DeleteVersion(ctx, bucket, dir)
}

// TestMoveAfterDeleteDoesNotResurrect: a move working from a record read
// before a DELETE (through another gateway) committed must not put the
// version's records back: the deleted key would read again, from the
// files the delete moved to the drives' trash (the chaos test saw a GET
// return the bytes of a version deleted and replaced before).
func TestMoveAfterDeleteDoesNotResurrect(t *testing.T) {
	tc, drives, _ := growCluster(t, 7, 6, 0)
	ctx := context.Background()
	tc.put(t, "k", randBytes(10, 300_000))
	stale, coder := seventhDrive(t, tc, drives, "k")
	if err := tc.DeleteObject(ctx, "bkt", "k"); err != nil {
		t.Fatal(err)
	}
	h := tc.drivesByID([]string{"d6"})[0]
	var res HealResult
	if tc.moveShard(ctx, stale, coder, &res, 0, h) {
		t.Error("a move of a deleted version succeeded")
	}
	if _, err := tc.readMeta(ctx, "bkt", "k"); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("the deleted key after a stale move: %v, want not found", err)
	}
}

// seventhDrive adds the seventh of drives (growCluster's) to tc's map and
// returns key's record and coder, as a mover reads them.
func seventhDrive(t *testing.T, tc *testCluster, drives []Drive, key string) (*storagenode.ObjectMeta, *ec.Coder) {
	t.Helper()
	if err := tc.SetTopology(Topology{Epoch: 2, Drives: drives, Prior: [][]Drive{drives[:6]}}); err != nil {
		t.Fatal(err)
	}
	meta, err := tc.readMeta(context.Background(), "bkt", key)
	if err != nil {
		t.Fatal(err)
	}
	coder, err := tc.coder(meta.EC)
	if err != nil {
		t.Fatal(err)
	}
	return meta, coder
}

// TestSettleRecordsKeepsMovedShard: a heal's settleRecords removes a
// record of the version on a placement drive its drive list does not name
// (a stray copy), but not one a move through another gateway put there
// since the heal read the list (a higher Layout): that is the shard.
func TestSettleRecordsKeepsMovedShard(t *testing.T) {
	tc, data, stale, coder := movingCluster(t, 10)
	ctx := context.Background()
	lookup, err := tc.lookupDrives(tc.topo(), "bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(lookup, func(d storagenode.Drive) bool { return d.ID() == "d6" }) {
		t.Skip("d6 is not among k's placement drives")
	}
	h := tc.drivesByID([]string{"d6"})[0]
	var res HealResult
	if !tc.moveShard(ctx, stale.Clone(), coder, &res, 0, h) {
		t.Fatal("the move failed")
	}
	tc.settleRecords(ctx, stale)
	if m, err := h.GetMeta(ctx, "bkt", "k"); err != nil || m.Drives[0] != "d6" {
		t.Fatalf("d6's record after a heal that read the list before the move: %v, %v", m, err)
	}
	r, err := h.OpenShard(ctx, storagenode.ShardRef{Bucket: "bkt", VersionDir: stale.DataDir, Name: stale.Parts[0].Name})
	if err != nil {
		t.Fatalf("the moved shard after the heal: %v", err)
	}
	r.Close()
	wantObject(t, tc, "k", data, "k after the heal")
}

// TestMoveOverAnotherMoveFails: two movers read the same drive list; the
// first moves shard 0 to d6 (and drops d0's copy), the second, from the
// list it read, moves shard 1 to d0. Its records are written only over
// the list it read (the Layout): it fails, and the records keep the first
// move's list, so the object reads back whole.
func TestMoveOverAnotherMoveFails(t *testing.T) {
	tc, data, stale, coder := movingCluster(t, 11)
	ctx := context.Background()
	first := stale.Clone()
	var res HealResult
	if !tc.moveShard(ctx, first, coder, &res, 0, tc.drivesByID([]string{"d6"})[0]) {
		t.Fatal("the first move failed")
	}
	second := stale.Clone()
	if tc.moveShard(ctx, second, coder, &res, 1, tc.drivesByID(stale.Drives[:1])[0]) {
		t.Fatal("a move over a drive list that another move changed succeeded")
	}
	for _, d := range tc.drivesByID(first.Drives[2:]) {
		m, err := d.GetMeta(ctx, "bkt", "k")
		if err != nil || !slices.Equal(m.Drives, first.Drives) {
			t.Fatalf("%s: record %v, %v; want the first move's list %v", d.ID(), m, err, first.Drives)
		}
	}
	wantObject(t, tc, "k", data, "k after the two moves")
}

// TestMoveOverALaggingDrive: a drive that missed an earlier move's record
// (its record's Layout is lower than the others') does not refuse a later
// move made from a read of the others (for a noncurrent version no heal
// rewrites it first): the move takes it along.
func TestMoveOverALaggingDrive(t *testing.T) {
	tc, data, stale, coder := movingCluster(t, 12)
	ctx := context.Background()
	raised := stale.Clone()
	raised.Layout = 1
	for _, d := range tc.drivesByID(stale.Drives[1:]) { // not the first: it lags
		if _, err := d.RewriteMeta(ctx, raised, storagenode.AnyLayout); err != nil {
			t.Fatal(err)
		}
	}
	meta, err := tc.readMeta(ctx, "bkt", "k")
	if err != nil || meta.Layout != 1 {
		t.Fatalf("merged record: %+v, %v; want Layout 1", meta, err)
	}
	var res HealResult
	if !tc.moveShard(ctx, meta, coder, &res, 1, tc.drivesByID([]string{"d6"})[0]) {
		t.Fatal("a move over a drive that missed an earlier move's record failed")
	}
	lagging, err := tc.drivesByID(stale.Drives[:1])[0].GetMeta(ctx, "bkt", "k")
	if err != nil || lagging.Layout != 2 || lagging.Drives[1] != "d6" {
		t.Fatalf("the lagging drive's record after the move: %+v, %v", lagging, err)
	}
	wantObject(t, tc, "k", data, "k after the move")
}

// movingCluster is growCluster's 7-drive cluster with a 300,000-byte
// object "k" (of seed) put on the first six and the seventh drive added:
// it returns the object's bytes, and its record and coder as a mover
// reads them.
func movingCluster(t *testing.T, seed uint64) (*testCluster, []byte, *storagenode.ObjectMeta, *ec.Coder) {
	t.Helper()
	tc, drives, _ := growCluster(t, 7, 6, 0)
	data := randBytes(seed, 300_000)
	tc.put(t, "k", data)
	stale, coder := seventhDrive(t, tc, drives, "k")
	return tc, data, stale, coder
}

// wantObject fails t unless key reads back as data (when: after what).
func wantObject(t *testing.T, tc *testCluster, key string, data []byte, when string) {
	t.Helper()
	if got, err := tc.get(key, 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%s: %d bytes, %v", when, len(got), err)
	}
}
