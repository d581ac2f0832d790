package drivetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

// Run runs the conformance suite. newDrive must return a new, empty, open
// drive for each call.
func Run(t *testing.T, newDrive func(t *testing.T) storagenode.Drive) {
	tests := []struct {
		name string
		fn   func(t *testing.T, d storagenode.Drive)
	}{
		{"BucketLifecycle", testBucketLifecycle},
		{"BucketNames", testBucketNames},
		{"MissingBucket", testMissingBucket},
		{"DeleteBucketRemovesContents", testDeleteBucketRemovesContents},
		{"ShardCommitVisibility", testShardCommitVisibility},
		{"ShardReadAt", testShardReadAt},
		{"ShardAbort", testShardAbort},
		{"ShardAbortDuringWrite", testShardAbortDuringWrite},
		{"ShardOverwriteAndEmpty", testShardOverwriteAndEmpty},
		{"ShardCommitAfterBucketDeleted", testShardCommitAfterBucketDeleted},
		{"DeleteVersion", testDeleteVersion},
		{"DeleteShard", testDeleteShard},
		{"PutMetaIf", testPutMetaIf},
		{"HostileNames", testHostileNames},
		{"PutMetaOrdering", testPutMetaOrdering},
		{"MetaRoundTrip", testMetaRoundTrip},
		{"MetaCopies", testMetaCopies},
		{"TagTimeKept", testTagTimeKept},
		{"LayoutKept", testLayoutKept},
		{"RewriteMeta", testRewriteMeta},
		{"DeleteMeta", testDeleteMeta},
		{"InlineMeta", testInlineMeta},
		{"ListMeta", testListMeta},
		{"ListMetaPaging", testListMetaPaging},
		{"ListMetaBucketIsolation", testListMetaBucketIsolation},
		{"ListEntries", testListEntries},
		{"Uploads", testUploads},
		{"Parts", testParts},
		{"CompleteUpload", testCompleteUpload},
		{"AbortUpload", testAbortUpload},
		{"CompleteUploadOverLeftover", testCompleteUploadOverLeftover},
		{"ConcurrentPutMetaSameKey", testConcurrentPutMetaSameKey},
		{"ConcurrentMixed", testConcurrentMixed},
		{"CanceledContext", testCanceledContext},
		{"Closed", testClosed},
		{"Fence", testFence},
		{"FenceShards", testFenceShards},
		{"Versions", testVersions},
		{"ListVersions", testListVersions},
		{"UploadVersions", testUploadVersions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDrive(t)
			t.Cleanup(func() { _ = d.Close() })
			tc.fn(t, d)
		})
	}
}

// Helpers.

var base = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// at returns a distinct, ordered time for n.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Millisecond) }

func ctx() context.Context { return context.Background() }

func wantErr(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func noErr(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func makeBucket(t *testing.T, d storagenode.Drive, bucket string) {
	t.Helper()
	noErr(t, d.MakeBucket(ctx(), bucket, base), "MakeBucket "+bucket)
}

// meta returns a small record for bucket/key at version n.
func meta(bucket, key string, n int) *storagenode.ObjectMeta {
	vid := fmt.Sprintf("v%06d", n)
	return &storagenode.ObjectMeta{
		Bucket: bucket, Key: key, VersionID: vid, DataDir: vid, ModTime: at(n),
		Size: int64(n), ETag: fmt.Sprintf("etag%d", n),
		EC:     storagenode.ECInfo{Data: 2, Parity: 1, BlockSize: 1 << 20},
		Drives: []string{"d1", "d2", "d3"},
		Parts:  []storagenode.PartInfo{{Number: 1, Size: int64(n), ETag: "p", Name: "part.1"}},
	}
}

func putMeta(t *testing.T, d storagenode.Drive, m *storagenode.ObjectMeta) *storagenode.ObjectMeta {
	t.Helper()
	prev, err := d.PutMeta(ctx(), m)
	noErr(t, err, "PutMeta "+m.Key)
	return prev
}

// norm returns a comparable copy: times in UTC without monotonic reading,
// empty maps and slices as nil (an encoding may not keep the difference).
func norm(m *storagenode.ObjectMeta) *storagenode.ObjectMeta {
	if m == nil {
		return nil
	}
	c := m.Clone()
	c.ModTime = c.ModTime.UTC()
	c.UserMeta = nilIfEmpty(c.UserMeta)
	c.Headers = nilIfEmpty(c.Headers)
	c.Checksums = nilIfEmpty(c.Checksums)
	if len(c.Drives) == 0 {
		c.Drives = nil
	}
	if len(c.Parts) == 0 {
		c.Parts = nil
	}
	return c
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

func sameMeta(t *testing.T, got, want *storagenode.ObjectMeta, what string) {
	t.Helper()
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, dump(g), dump(w))
	}
}

func normUpload(u *storagenode.UploadMeta) *storagenode.UploadMeta {
	c := u.Clone()
	c.Initiated = c.Initiated.UTC()
	c.UserMeta = nilIfEmpty(c.UserMeta)
	c.Headers = nilIfEmpty(c.Headers)
	if len(c.Drives) == 0 {
		c.Drives = nil
	}
	return c
}

func normPart(p *storagenode.PartMeta) *storagenode.PartMeta {
	c := p.Clone()
	c.ModTime = c.ModTime.UTC()
	c.Checksums = nilIfEmpty(c.Checksums)
	return c
}

func dump(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

// writeShard creates and commits a shard holding data, written in chunks of
// the given size.
// WriteShard writes data as the shard ref of d, in writes of chunk bytes,
// and commits it; it fails t on any error. (For the tests and benchmarks
// of implementations, as the suite's own.)
func WriteShard(t testing.TB, d storagenode.Drive, ref storagenode.ShardRef, data []byte, chunk int) {
	t.Helper()
	w, err := d.CreateShard(ctx(), ref)
	noErr(t, err, "CreateShard")
	for p := data; len(p) > 0; {
		n := min(chunk, len(p))
		k, err := w.Write(p[:n])
		if err != nil || k != n {
			t.Fatalf("Write: %d, %v", k, err)
		}
		p = p[n:]
	}
	noErr(t, w.Commit(ctx()), "Commit")
}

// readShard returns the whole content of a committed shard.
func readShard(t *testing.T, d storagenode.Drive, ref storagenode.ShardRef) []byte {
	t.Helper()
	r, err := d.OpenShard(ctx(), ref)
	noErr(t, err, "OpenShard")
	defer r.Close()
	buf := make([]byte, r.Size())
	n, err := r.ReadAt(buf, 0)
	if n != len(buf) || (err != nil && err != io.EOF) {
		t.Fatalf("ReadAt whole shard: %d of %d, %v", n, len(buf), err)
	}
	return buf
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

func sameBytes(t *testing.T, got, want []byte, what string) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes, want %d bytes (contents differ)", what, len(got), len(want))
	}
}
