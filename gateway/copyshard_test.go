package gateway

import (
	"context"
	"errors"
	"testing"

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
