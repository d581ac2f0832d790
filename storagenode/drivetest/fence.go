package drivetest

import (
	"testing"

	"github.com/ecstore/ecstore/storagenode"
)

// testFence: a write whose context carries a fencing token lower than one
// the drive has seen for the same job is refused (ErrStaleToken) and
// changes nothing; equal and higher tokens pass; other jobs and unfenced
// writes are not affected; reads are not checked.
func testFence(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "fence")
	m := meta("fence", "k", 1)
	fenced := func(job string, token uint64) *storagenode.ObjectMeta {
		c := *m
		c.ModTime = at(int(token))
		c.VersionID = "v" + job + string(rune('a'+token))
		return &c
	}
	_, err := d.PutMeta(storagenode.WithFence(ctx(), "heal", 5), fenced("heal", 5))
	noErr(t, err, "write with token 5")
	_, err = d.PutMeta(storagenode.WithFence(ctx(), "heal", 7), fenced("heal", 7))
	noErr(t, err, "write with token 7")
	_, err = d.PutMeta(storagenode.WithFence(ctx(), "heal", 7), fenced("heal", 8))
	noErr(t, err, "another write with token 7")
	stale := fenced("heal", 9)
	_, err = d.PutMeta(storagenode.WithFence(ctx(), "heal", 5), stale)
	wantErr(t, err, storagenode.ErrStaleToken, "write with token 5 after 7")
	got, err := d.GetMeta(storagenode.WithFence(ctx(), "heal", 1), "fence", "k")
	noErr(t, err, "read with a stale token")
	if got.VersionID == stale.VersionID {
		t.Fatal("a refused write changed the record")
	}
	err = d.DeleteVersion(storagenode.WithFence(ctx(), "heal", 6), "fence", "some-dir")
	wantErr(t, err, storagenode.ErrStaleToken, "delete with a stale token")
	_, err = d.PutMeta(storagenode.WithFence(ctx(), "expiry", 1), fenced("expiry", 10))
	noErr(t, err, "another job's first token")
	_, err = d.PutMeta(ctx(), fenced("none", 11))
	noErr(t, err, "unfenced write")
}

// testFenceShards: a shard stream is checked again when it commits, so a
// holder that lost its job's lease while it streamed does not rename its
// file over the one a later token committed since; a shard delete is a
// write and is fenced too.
func testFenceShards(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "fences")
	ref := storagenode.ShardRef{Bucket: "fences", VersionDir: "v1", Name: "part.1"}
	old := storagenode.WithFence(ctx(), "move", 3)
	w, err := d.CreateShard(old, ref)
	noErr(t, err, "stream with token 3")
	_, err = w.Write(pattern(1000, 1))
	noErr(t, err, "write with token 3")

	now := storagenode.WithFence(ctx(), "move", 4)
	w2, err := d.CreateShard(now, ref)
	noErr(t, err, "stream with token 4")
	_, err = w2.Write(pattern(1000, 2))
	noErr(t, err, "write with token 4")
	noErr(t, w2.Commit(now), "commit with token 4")

	wantErr(t, w.Commit(old), storagenode.ErrStaleToken, "commit with token 3 after one with 4")
	sameBytes(t, readShard(t, d, ref), pattern(1000, 2), "the shard after a stale commit")

	wantErr(t, d.DeleteShard(old, ref), storagenode.ErrStaleToken, "delete shard with a stale token")
	sameBytes(t, readShard(t, d, ref), pattern(1000, 2), "the shard after a stale delete")
	noErr(t, d.DeleteShard(now, ref), "delete shard with the current token")
	_, err = d.OpenShard(ctx(), ref)
	wantErr(t, err, storagenode.ErrShardNotFound, "open a deleted shard")
}
