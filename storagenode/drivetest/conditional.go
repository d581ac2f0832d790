package drivetest

import (
	"sync"
	"testing"

	"github.com/ecstore/ecstore/storagenode"
)

func testDeleteShard(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	a := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1.aaaa"}
	b := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1.bbbb"}
	WriteShard(t, d, a, []byte("first"), 5)
	WriteShard(t, d, b, []byte("second"), 6)
	noErr(t, d.DeleteShard(ctx(), a), "DeleteShard")
	_, err := d.OpenShard(ctx(), a)
	wantErr(t, err, storagenode.ErrShardNotFound, "OpenShard after DeleteShard")
	sameBytes(t, readShard(t, d, b), []byte("second"), "the other shard of the version")
	noErr(t, d.DeleteShard(ctx(), a), "DeleteShard twice")
	noErr(t, d.DeleteShard(ctx(), storagenode.ShardRef{Bucket: "bkt", VersionDir: "never", Name: "x"}), "DeleteShard of a missing file")
	for _, n := range hostileNames {
		err := d.DeleteShard(ctx(), storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: n})
		wantErr(t, err, storagenode.ErrInvalidName, "DeleteShard of a hostile name "+n)
	}
}

func testPutMetaIf(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	m1 := meta("bkt", "k", 1)
	if _, err := d.PutMetaIf(ctx(), m1, ""); err != nil {
		t.Fatalf("create-only PutMetaIf on an empty key: %v", err)
	}
	_, err := d.PutMetaIf(ctx(), meta("bkt", "k", 2), "")
	wantErr(t, err, storagenode.ErrConflict, "create-only PutMetaIf on an existing key")
	_, err = d.PutMetaIf(ctx(), meta("bkt", "k", 2), "some-other-version")
	wantErr(t, err, storagenode.ErrConflict, "PutMetaIf expecting the wrong version")
	got, err := d.GetMeta(ctx(), "bkt", "k")
	noErr(t, err, "GetMeta")
	sameMeta(t, got, m1, "record after refused conditional writes")
	m2 := meta("bkt", "k", 2)
	prev, err := d.PutMetaIf(ctx(), m2, m1.VersionID)
	noErr(t, err, "PutMetaIf expecting the stored version")
	sameMeta(t, prev, m1, "prev of a successful PutMetaIf")
	// The ordering rule still applies.
	_, err = d.PutMetaIf(ctx(), meta("bkt", "k", 1), m2.VersionID)
	wantErr(t, err, storagenode.ErrStale, "PutMetaIf of an older record")

	// Racing creates: exactly one wins.
	const racers = 16
	var wg sync.WaitGroup
	wins := make(chan int, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.PutMetaIf(ctx(), meta("bkt", "race", i+1), ""); err == nil {
				wins <- i
			}
		}()
	}
	wg.Wait()
	close(wins)
	if n := len(wins); n != 1 {
		t.Fatalf("%d of %d racing create-only writes won, want exactly 1", n, racers)
	}
}
