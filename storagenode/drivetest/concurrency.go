package drivetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/ecstore/ecstore/storagenode"
)

// testConcurrentPutMetaSameKey races many writers on one key: every PutMeta
// either wins (returning an older prev) or fails with ErrStale, and the
// newest record is the one stored at the end.
func testConcurrentPutMetaSameKey(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	const writers, each = 16, 12
	order := rand.Perm(writers * each)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, n := range order[g*each : (g+1)*each] {
				m := meta("bkt", "hot/key", n+1)
				prev, err := d.PutMeta(ctx(), m)
				switch {
				case errors.Is(err, storagenode.ErrStale):
				case err != nil:
					t.Errorf("PutMeta: %v", err)
					return
				case prev != nil && !m.Newer(prev):
					t.Errorf("PutMeta of version %d replaced the newer version %s", n+1, prev.VersionID)
					return
				default:
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	got, err := d.GetMeta(ctx(), "bkt", "hot/key")
	noErr(t, err, "GetMeta")
	sameMeta(t, got, meta("bkt", "hot/key", writers*each), "record after the race (the newest must win)")
	if wins == 0 {
		t.Fatal("no PutMeta won")
	}
}

// testConcurrentMixed runs writers of metadata, shards and parts against
// concurrent listings.
func testConcurrentMixed(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	noErr(t, d.PutUpload(ctx(), upload("mp", "up", 1)), "PutUpload")
	const workers, keys = 6, 40
	stop := make(chan struct{})
	var listers sync.WaitGroup
	listers.Add(1)
	go func() {
		defer listers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ms, err := d.ListMeta(ctx(), "bkt", "", "", 0)
			if err != nil {
				t.Errorf("ListMeta: %v", err)
				return
			}
			for i := 1; i < len(ms); i++ {
				if ms[i-1].Key >= ms[i].Key {
					t.Errorf("ListMeta out of order: %q then %q", ms[i-1].Key, ms[i].Key)
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range keys {
				if _, err := d.PutMeta(ctx(), meta("bkt", fmt.Sprintf("w%d/k%03d", g, i), i)); err != nil {
					t.Errorf("PutMeta: %v", err)
					return
				}
			}
			for i := range 3 {
				ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: fmt.Sprintf("v%d", g), Name: fmt.Sprintf("part.%d", i)}
				w, err := d.CreateShard(ctx(), ref)
				if err == nil {
					_, err = w.Write(pattern(10000, byte(g*3+i)))
				}
				if err == nil {
					err = w.Commit(ctx())
				}
				if err != nil {
					t.Errorf("shard %s: %v", ref, err)
					return
				}
			}
			if _, err := d.PutPart(ctx(), "bkt", "up", &storagenode.PartMeta{Number: g + 1, ETag: "e"}); err != nil {
				t.Errorf("PutPart: %v", err)
			}
		}()
	}
	wg.Wait()
	close(stop)
	listers.Wait()
	if t.Failed() {
		return
	}
	ms, err := d.ListMeta(ctx(), "bkt", "", "", 0)
	noErr(t, err, "ListMeta")
	if len(ms) != workers*keys {
		t.Fatalf("ListMeta = %d records, want %d", len(ms), workers*keys)
	}
	ps, err := d.ListParts(ctx(), "bkt", "up")
	noErr(t, err, "ListParts")
	if len(ps) != workers {
		t.Fatalf("ListParts = %d parts, want %d", len(ps), workers)
	}
	for g := range workers {
		for i := range 3 {
			ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: fmt.Sprintf("v%d", g), Name: fmt.Sprintf("part.%d", i)}
			sameBytes(t, readShard(t, d, ref), pattern(10000, byte(g*3+i)), "shard "+ref.String())
		}
	}
}

func testCanceledContext(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	putMeta(t, d, meta("bkt", "k", 1))
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	w, err := d.CreateShard(ctx(), ref)
	noErr(t, err, "CreateShard")
	_, _ = w.Write([]byte("data"))

	c, cancel := context.WithCancel(context.Background())
	cancel()
	wantErr(t, w.Commit(c), context.Canceled, "Commit with a canceled context")
	_, err = d.OpenShard(ctx(), ref)
	wantErr(t, err, storagenode.ErrShardNotFound, "OpenShard after a canceled Commit")
	wantErr(t, d.MakeBucket(c, "other", base), context.Canceled, "MakeBucket")
	_, err = d.PutMeta(c, meta("bkt", "k", 2))
	wantErr(t, err, context.Canceled, "PutMeta")
	_, err = d.GetMeta(c, "bkt", "k")
	wantErr(t, err, context.Canceled, "GetMeta")
	_, err = d.ListMeta(c, "bkt", "", "", 0)
	wantErr(t, err, context.Canceled, "ListMeta")
	_, err = d.CreateShard(c, ref)
	wantErr(t, err, context.Canceled, "CreateShard")
	got, err := d.GetMeta(ctx(), "bkt", "k")
	noErr(t, err, "GetMeta")
	sameMeta(t, got, meta("bkt", "k", 1), "record after a canceled PutMeta")
}

func testClosed(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	WriteShard(t, d, ref, []byte("data"), 4)
	putMeta(t, d, meta("bkt", "k", 1))
	noErr(t, d.PutUpload(ctx(), upload("k", "u1", 1)), "PutUpload")
	w, err := d.CreateShard(ctx(), storagenode.ShardRef{Bucket: "bkt", VersionDir: "v2", Name: "part.1"})
	noErr(t, err, "CreateShard")
	_, _ = w.Write([]byte("pending"))

	noErr(t, d.Close(), "Close")
	off := storagenode.ErrDriveOffline
	wantErr(t, w.Commit(ctx()), off, "Commit of a writer created before Close")
	wantErr(t, d.MakeBucket(ctx(), "new", base), off, "MakeBucket")
	wantErr(t, d.DeleteBucket(ctx(), "bkt"), off, "DeleteBucket")
	_, err = d.StatBucket(ctx(), "bkt")
	wantErr(t, err, off, "StatBucket")
	_, err = d.ListBuckets(ctx())
	wantErr(t, err, off, "ListBuckets")
	_, err = d.CreateShard(ctx(), ref)
	wantErr(t, err, off, "CreateShard")
	_, err = d.OpenShard(ctx(), ref)
	wantErr(t, err, off, "OpenShard")
	wantErr(t, d.DeleteVersion(ctx(), "bkt", "v1"), off, "DeleteVersion")
	_, err = d.PutMeta(ctx(), meta("bkt", "k", 2))
	wantErr(t, err, off, "PutMeta")
	_, err = d.GetMeta(ctx(), "bkt", "k")
	wantErr(t, err, off, "GetMeta")
	_, err = d.DeleteMeta(ctx(), "bkt", "k", "")
	wantErr(t, err, off, "DeleteMeta")
	_, err = d.ListMeta(ctx(), "bkt", "", "", 0)
	wantErr(t, err, off, "ListMeta")
	wantErr(t, d.PutUpload(ctx(), upload("k", "u2", 1)), off, "PutUpload")
	_, err = d.GetUpload(ctx(), "bkt", "u1")
	wantErr(t, err, off, "GetUpload")
	wantErr(t, d.DeleteUpload(ctx(), "bkt", "u1"), off, "DeleteUpload")
	_, err = d.ListUploads(ctx(), "bkt")
	wantErr(t, err, off, "ListUploads")
	_, err = d.PutPart(ctx(), "bkt", "u1", &storagenode.PartMeta{Number: 1})
	wantErr(t, err, off, "PutPart")
	_, err = d.ListParts(ctx(), "bkt", "u1")
	wantErr(t, err, off, "ListParts")
	_ = d.Close() // a second Close must not panic
}
