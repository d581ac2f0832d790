package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/faultdrive"
	"github.com/ecstore/ecstore/storagenode/local"
)

// testCluster is a Layer over n in-memory drives that can be taken offline.
type testCluster struct {
	*Layer
	*Repair
	faulty []*faultdrive.Drive
}

// newCluster builds a layer over n in-memory drives that stores every
// object in shard files (inline objects are tested on their own).
func newCluster(t *testing.T, n, k, m, blockSize int) *testCluster {
	t.Helper()
	return newClusterInline(t, n, k, m, blockSize, -1)
}

func newClusterInline(t *testing.T, n, k, m, blockSize int, inlineMax int64) *testCluster {
	t.Helper()
	tc := &testCluster{}
	var drives []Drive
	for i := range n {
		id := fmt.Sprintf("d%d", i)
		f := faultdrive.New(local.NewMem(id))
		tc.faulty = append(tc.faulty, f)
		drives = append(drives, Drive{Drive: f, Node: id})
	}
	l, err := New(Config{Drives: drives, DataShards: k, ParityShards: m, BlockSize: blockSize, InlineMax: inlineMax,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tc.Layer, tc.Repair = l, NewRepair(l)
	if err := l.MakeBucket(context.Background(), "bkt"); err != nil {
		t.Fatal(err)
	}
	return tc
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

func (tc *testCluster) put(t *testing.T, key string, data []byte) s3api.ObjectInfo {
	t.Helper()
	info, err := tc.PutObject(context.Background(), "bkt", key, bytes.NewReader(data), int64(len(data)), s3api.PutOptions{})
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
	return info
}

func (tc *testCluster) get(key string, off, n int64) ([]byte, error) {
	obj, err := tc.OpenObject(context.Background(), "bkt", key)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		n = obj.Info().Size - off
	}
	var buf bytes.Buffer
	err = obj.Read(context.Background(), &buf, off, n)
	return buf.Bytes(), err
}

func TestPutGetRoundTrip(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	for _, size := range []int{0, 1, 4095, 4096, 4097, 3*4096 + 17, 100_000} {
		key := fmt.Sprintf("obj-%d", size)
		data := randBytes(uint64(size), size)
		info := tc.put(t, key, data)
		if info.ETag != md5hex(data) || info.Size != int64(size) {
			t.Fatalf("size %d: info %+v, want etag %s", size, info, md5hex(data))
		}
		got, err := tc.get(key, 0, -1)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: read back %d bytes, err %v", size, len(got), err)
		}
		if size > 10 {
			got, err := tc.get(key, 3, int64(size-7))
			if err != nil || !bytes.Equal(got, data[3:size-4]) {
				t.Fatalf("size %d: range read wrong, err %v", size, err)
			}
		}
	}
}

func TestDegradedReadsAndQuorum(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	data := randBytes(7, 50_000)
	tc.put(t, "k", data)
	// Any two drives offline: still readable, byte for byte.
	for a := range 6 {
		for b := a + 1; b < 6; b++ {
			tc.faulty[a].SetOffline(true)
			tc.faulty[b].SetOffline(true)
			got, err := tc.get("k", 0, -1)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("drives %d,%d offline: err %v, equal %v", a, b, err, bytes.Equal(got, data))
			}
			tc.faulty[a].SetOffline(false)
			tc.faulty[b].SetOffline(false)
		}
	}
	// Three offline: a clean error, no data.
	for i := range 3 {
		tc.faulty[i].SetOffline(true)
	}
	got, err := tc.get("k", 0, -1)
	if err == nil || len(got) != 0 {
		t.Fatalf("3 drives offline: got %d bytes, err %v; want an error and no bytes", len(got), err)
	}
	if !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("3 drives offline: err %v, want ErrReadQuorum (ServiceUnavailable)", err)
	}
	// Writes need the write quorum (4 of 6): with 3 offline they fail...
	if _, err := tc.PutObject(context.Background(), "bkt", "new", bytes.NewReader(data), int64(len(data)), s3api.PutOptions{}); err == nil {
		t.Fatal("put with 3 of 6 drives offline succeeded")
	}
	// ...and with 2 offline they succeed and read back.
	tc.faulty[2].SetOffline(false)
	tc.put(t, "new", data)
	for i := range 3 {
		tc.faulty[i].SetOffline(false)
	}
	if got, err := tc.get("new", 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after degraded write: err %v", err)
	}
}

func TestOverwriteAndDelete(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	v1, v2 := randBytes(1, 9000), randBytes(2, 12000)
	tc.put(t, "k", v1)
	tc.put(t, "k", v2)
	if got, _ := tc.get("k", 0, -1); !bytes.Equal(got, v2) {
		t.Fatal("overwrite: read the old version")
	}
	// The old version's shards are gone from every drive.
	for _, f := range tc.faulty {
		metas, _ := f.ListMeta(context.Background(), "bkt", "", "", 10)
		if len(metas) != 1 {
			t.Fatalf("drive %s holds %d records, want 1", f.ID(), len(metas))
		}
	}
	if err := tc.DeleteObject(context.Background(), "bkt", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.get("k", 0, -1); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("after delete: err %v, want NoSuchKey", err)
	}
	if err := tc.DeleteObject(context.Background(), "bkt", "k"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := tc.OpenObject(context.Background(), "nobucket", "k"); !errors.Is(err, ErrBucketNotFound) {
		t.Fatalf("missing bucket: err %v", err)
	}
}

func TestBadBodyLeavesNothing(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	old := randBytes(3, 5000)
	tc.put(t, "k", old)
	data := randBytes(4, 20000)
	// Truncated body: fewer bytes than declared.
	_, err := tc.PutObject(context.Background(), "bkt", "k", bytes.NewReader(data[:100]), int64(len(data)), s3api.PutOptions{})
	if !errors.Is(err, ErrIncompleteBody) {
		t.Fatalf("truncated body: err %v", err)
	}
	// Failing reader (a failed signature check, say).
	bad := io.MultiReader(bytes.NewReader(data[:9000]), iotestErrReader{s3api.ErrSignatureDoesNotMatch})
	_, err = tc.PutObject(context.Background(), "bkt", "k", bad, int64(len(data)), s3api.PutOptions{})
	if !errors.Is(err, s3api.ErrSignatureDoesNotMatch) {
		t.Fatalf("failing body: err %v", err)
	}
	// Wrong Content-MD5.
	sum := md5.Sum([]byte("other"))
	_, err = tc.PutObject(context.Background(), "bkt", "k", bytes.NewReader(data), int64(len(data)), s3api.PutOptions{ContentMD5: sum[:]})
	if !errors.Is(err, ErrBadDigest) {
		t.Fatalf("bad md5: err %v", err)
	}
	if got, err := tc.get("k", 0, -1); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("old version damaged by failed writes: err %v", err)
	}
}

type iotestErrReader struct{ err error }

func (e iotestErrReader) Read([]byte) (int, error) { return 0, e.err }

func TestListObjects(t *testing.T) {
	tc := newCluster(t, 8, 4, 2, 4096)
	keys := []string{"a", "a/b", "a/b/c", "a/c", "b", "b/x/y", "c d", "c/é", "c//x", "c/x/", "z"}
	for _, k := range keys {
		tc.put(t, k, []byte(k))
	}
	sort.Strings(keys)
	list := func(p s3api.ListParams) (objs, prefixes []string) {
		var res s3api.ListResult
		for {
			var err error
			res, err = tc.ListObjects(context.Background(), "bkt", p)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range res.Objects {
				objs = append(objs, o.Key)
			}
			prefixes = append(prefixes, res.Prefixes...)
			if !res.IsTruncated {
				return
			}
			p.After = res.NextAfter
		}
	}
	tests := []struct {
		p            s3api.ListParams
		objs, prefix string
	}{
		{s3api.ListParams{MaxKeys: 1000}, strings.Join(keys, ","), ""},
		{s3api.ListParams{MaxKeys: 2}, strings.Join(keys, ","), ""},
		{s3api.ListParams{Delimiter: "/", MaxKeys: 1000}, "a,b,c d,z", "a/,b/,c/"},
		{s3api.ListParams{Delimiter: "/", MaxKeys: 1}, "a,b,c d,z", "a/,b/,c/"},
		{s3api.ListParams{Prefix: "a/", Delimiter: "/", MaxKeys: 1000}, "a/b,a/c", "a/b/"},
		{s3api.ListParams{Prefix: "c/", Delimiter: "/", MaxKeys: 1}, "c/é", "c//,c/x/"},
		{s3api.ListParams{Prefix: "b", MaxKeys: 1000}, "b,b/x/y", ""},
		{s3api.ListParams{After: "b", MaxKeys: 1000}, "b/x/y,c d,c//x,c/x/,c/é,z", ""},
	}
	for i, tt := range tests {
		objs, prefixes := list(tt.p)
		if strings.Join(objs, ",") != tt.objs || strings.Join(prefixes, ",") != tt.prefix {
			t.Errorf("case %d %+v: got objs %q prefixes %q; want %q %q", i, tt.p, objs, prefixes, tt.objs, tt.prefix)
		}
	}
	// A key deleted while a drive was offline stays hidden when it returns.
	tc.faulty[0].SetOffline(true)
	for _, k := range keys {
		if err := tc.DeleteObject(context.Background(), "bkt", k); err != nil {
			t.Fatal(err)
		}
	}
	tc.faulty[0].SetOffline(false)
	if objs, _ := list(s3api.ListParams{MaxKeys: 1000}); len(objs) != 0 {
		t.Fatalf("deleted keys listed: %q", objs)
	}
	if err := tc.DeleteBucket(context.Background(), "bkt"); err != nil {
		t.Fatalf("delete emptied bucket: %v", err)
	}
}

func TestMultipart(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 64<<10)
	ctx := context.Background()
	id, err := tc.NewMultipartUpload(ctx, "bkt", "mp", s3api.PutOptions{ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := randBytes(10, 5<<20), randBytes(11, 1234)
	var parts []s3api.CompletePart
	for i, p := range [][]byte{p1, p2} {
		// Upload part 1 twice: the second upload replaces the first.
		if i == 0 {
			if _, err := tc.PutObjectPart(ctx, "bkt", "mp", id, 1, bytes.NewReader(p2), int64(len(p2)), s3api.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		pi, err := tc.PutObjectPart(ctx, "bkt", "mp", id, i+1, bytes.NewReader(p), int64(len(p)), s3api.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, s3api.CompletePart{Number: i + 1, ETag: pi.ETag})
	}
	lp, err := tc.ListParts(ctx, "bkt", "mp", id, 0, 1000)
	if err != nil || len(lp.Parts) != 2 || lp.Parts[0].Size != int64(len(p1)) {
		t.Fatalf("list parts: %+v, %v", lp, err)
	}
	if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "mp", id, []s3api.CompletePart{{Number: 1, ETag: "bad"}}, s3api.PutOptions{}); !errors.Is(err, ErrInvalidPart) {
		t.Fatalf("bad etag: %v", err)
	}
	if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "mp", id, []s3api.CompletePart{parts[1], parts[0]}, s3api.PutOptions{}); !errors.Is(err, ErrInvalidPartOrder) {
		t.Fatalf("bad order: %v", err)
	}
	info, err := tc.CompleteMultipartUpload(ctx, "bkt", "mp", id, parts, s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := md5.New()
	for _, p := range [][]byte{p1, p2} {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	if want := hex.EncodeToString(h.Sum(nil)) + "-2"; info.ETag != want {
		t.Fatalf("etag %s, want %s", info.ETag, want)
	}
	all := append(append([]byte{}, p1...), p2...)
	got, err := tc.get("mp", 0, -1)
	if err != nil || !bytes.Equal(got, all) {
		t.Fatalf("read multipart: err %v", err)
	}
	// A range across the part boundary.
	got, err = tc.get("mp", int64(len(p1))-10, 20)
	if err != nil || !bytes.Equal(got, all[len(p1)-10:len(p1)+10]) {
		t.Fatalf("range across parts: err %v", err)
	}
	if _, err := tc.ListParts(ctx, "bkt", "mp", id, 0, 1000); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("upload still listed after complete: %v", err)
	}
	// Small non-last parts are refused; abort removes the upload.
	id2, _ := tc.NewMultipartUpload(ctx, "bkt", "mp2", s3api.PutOptions{})
	a, _ := tc.PutObjectPart(ctx, "bkt", "mp2", id2, 1, bytes.NewReader(p2), int64(len(p2)), s3api.PutOptions{})
	b, _ := tc.PutObjectPart(ctx, "bkt", "mp2", id2, 2, bytes.NewReader(p2), int64(len(p2)), s3api.PutOptions{})
	if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "mp2", id2, []s3api.CompletePart{{Number: 1, ETag: a.ETag}, {Number: 2, ETag: b.ETag}}, s3api.PutOptions{}); !errors.Is(err, ErrPartTooSmall) {
		t.Fatalf("small part: %v", err)
	}
	if err := tc.AbortMultipartUpload(ctx, "bkt", "mp2", id2); err != nil {
		t.Fatal(err)
	}
	if err := tc.AbortMultipartUpload(ctx, "bkt", "mp2", id2); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("second abort: %v", err)
	}
}

// TestCompleteObjectSize: a Complete stating the object's size
// (x-amz-mp-object-size) is refused with InvalidRequest before it commits
// when the listed parts add up to another size, and the upload stays.
func TestCompleteObjectSize(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 64<<10)
	ctx := context.Background()
	id, err := tc.NewMultipartUpload(ctx, "bkt", "sized", s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(12, 1234)
	p, err := tc.PutObjectPart(ctx, "bkt", "sized", id, 1, bytes.NewReader(data), int64(len(data)), s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parts := []s3api.CompletePart{{Number: 1, ETag: p.ETag}}
	size := func(n int64) s3api.PutOptions { return s3api.PutOptions{ObjectSize: &n} }
	for _, wrong := range []int64{0, 1233, 1235} {
		if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "sized", id, parts, size(wrong)); !errors.Is(err, s3api.ErrInvalidRequest) {
			t.Errorf("Complete stating %d bytes of 1234: %v, want InvalidRequest", wrong, err)
		}
	}
	if _, err := tc.get("sized", 0, -1); err == nil {
		t.Fatal("a refused Complete committed the object")
	}
	if lp, err := tc.ListParts(ctx, "bkt", "sized", id, 0, 1000); err != nil || len(lp.Parts) != 1 {
		t.Fatalf("the upload after refused Completes: %+v, %v", lp, err)
	}
	info, err := tc.CompleteMultipartUpload(ctx, "bkt", "sized", id, parts, size(1234))
	if err != nil || info.Size != 1234 {
		t.Fatalf("Complete stating the right size: %+v, %v", info, err)
	}
	if got, err := tc.get("sized", 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after Complete: %v", err)
	}
}

func TestConcurrentWritersOneKey(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	var wg sync.WaitGroup
	versions := map[string][]byte{}
	var mu sync.Mutex
	for i := range 8 {
		data := randBytes(uint64(100+i), 10_000+i)
		mu.Lock()
		versions[md5hex(data)] = data
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := tc.PutObject(context.Background(), "bkt", "hot", bytes.NewReader(data), int64(len(data)), s3api.PutOptions{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := tc.get("hot", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := versions[md5hex(got)]; !ok {
		t.Fatal("read a version no writer wrote")
	}
}

func TestConfigValidate(t *testing.T) {
	var drives []Drive
	for i := range 5 {
		drives = append(drives, Drive{Drive: local.NewMem(fmt.Sprintf("d%d", i))})
	}
	_, err := New(Config{Drives: drives, DataShards: 4, ParityShards: 2})
	if err == nil || !strings.Contains(err.Error(), "needs at least 6 drives") {
		t.Fatalf("4+2 on 5 drives: %v", err)
	}
}

func TestHealObject(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	ctx := context.Background()
	data := randBytes(42, 30_000)
	// Written while drive 0 is offline: 5 shards.
	tc.faulty[0].SetOffline(true)
	tc.put(t, "k", data)
	tc.faulty[0].SetOffline(false)
	r, err := tc.HealObject(ctx, "bkt", "k", true)
	if err != nil || r.Repaired != 1 || r.Bytes == 0 {
		t.Fatalf("heal after offline write: %+v, %v", r, err)
	}
	// Now any two other drives may go: drive 0's rebuilt shard is needed.
	tc.faulty[1].SetOffline(true)
	tc.faulty[2].SetOffline(true)
	if got, err := tc.get("k", 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read with the healed shard: %v", err)
	}
	tc.faulty[1].SetOffline(false)
	tc.faulty[2].SetOffline(false)
	// A healthy object needs nothing.
	if r, err := tc.HealObject(ctx, "bkt", "k", true); err != nil || r.Repaired != 0 || r.Checked != 6 {
		t.Fatalf("heal of a healthy object: %+v, %v", r, err)
	}
	// Bitrot: corrupt one shard file in place; a deep heal finds and fixes it.
	meta, err := tc.faulty[3].GetMeta(ctx, "bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: meta.DataDir, Name: meta.Parts[0].Name}
	rd, err := tc.faulty[3].OpenShard(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	orig := make([]byte, rd.Size())
	if _, err := rd.ReadAt(orig, 0); err != nil {
		t.Fatal(err)
	}
	rd.Close()
	bad := append([]byte{}, orig...)
	bad[len(bad)/2] ^= 0xff
	w, _ := tc.faulty[3].CreateShard(ctx, ref)
	w.Write(bad)
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := tc.HealObject(ctx, "bkt", "k", false); err != nil || r.Repaired != 0 {
		t.Fatalf("shallow heal must not read blocks: %+v, %v", r, err)
	}
	if r, err := tc.HealObject(ctx, "bkt", "k", true); err != nil || r.Repaired != 1 {
		t.Fatalf("deep heal of a corrupt shard: %+v, %v", r, err)
	}
	rd, _ = tc.faulty[3].OpenShard(ctx, ref)
	fixed := make([]byte, rd.Size())
	rd.ReadAt(fixed, 0)
	rd.Close()
	if !bytes.Equal(fixed, orig) {
		t.Fatal("deep heal did not restore the shard file byte for byte")
	}
	// Three shards gone: lost, reported, nothing written.
	for i := range 3 {
		tc.faulty[i].SetOffline(true)
	}
	if _, err := tc.HealObject(ctx, "bkt", "k", true); err == nil {
		t.Fatal("heal with 3 of 6 drives offline claimed success")
	}
}

func TestConditionalWrites(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	ctx := context.Background()
	put := func(key string, data []byte, opts s3api.PutOptions) error {
		_, err := tc.PutObject(ctx, "bkt", key, bytes.NewReader(data), int64(len(data)), opts)
		return err
	}
	create := s3api.PutOptions{IfNoneMatch: "*"}
	if err := put("c", []byte("one"), create); err != nil {
		t.Fatalf("create-only on a new key: %v", err)
	}
	if err := put("c", []byte("two"), create); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("create-only on an existing key: %v", err)
	}
	if got, _ := tc.get("c", 0, -1); string(got) != "one" {
		t.Fatalf("refused write changed the object: %q", got)
	}
	if err := put("c", []byte("three"), s3api.PutOptions{IfMatch: `"` + md5hex([]byte("nope")) + `"`}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("if-match with a wrong etag: %v", err)
	}
	if err := put("c", []byte("three"), s3api.PutOptions{IfMatch: md5hex([]byte("one"))}); err != nil {
		t.Fatalf("if-match with the right etag: %v", err)
	}
	if err := put("missing", []byte("x"), s3api.PutOptions{IfMatch: "abc"}); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("if-match on a missing key: %v", err)
	}
	// A drive that missed the object must not spoil conditional writes.
	tc.faulty[0].SetOffline(true)
	if err := put("d", []byte("v1"), s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	tc.faulty[0].SetOffline(false)
	if err := put("d", []byte("v2"), s3api.PutOptions{IfMatch: md5hex([]byte("v1"))}); err != nil {
		t.Fatalf("if-match with a drive that missed the last write: %v", err)
	}
	// Racing creates: exactly one wins, and the object is the winner's.
	for round := range 5 {
		key := fmt.Sprintf("race-%d", round)
		const racers = 6
		var wg sync.WaitGroup
		results := make([]error, racers)
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = put(key, []byte(fmt.Sprintf("writer %d", i)), create)
			}()
		}
		wg.Wait()
		winner := -1
		for i, err := range results {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: writers %d and %d both won", round, winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, ErrPreconditionFailed) && !errors.Is(err, ErrWriteConflict):
				t.Fatalf("round %d: writer %d: %v", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer won", round)
		}
		if got, _ := tc.get(key, 0, -1); string(got) != fmt.Sprintf("writer %d", winner) {
			t.Fatalf("round %d: object is %q, winner was %d", round, got, winner)
		}
	}
}

func TestHealerWalk(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	ctx := context.Background()
	tc.faulty[5].SetOffline(true)
	var total int64
	for i := range 20 {
		data := randBytes(uint64(i), 1000*i)
		total += int64(len(data))
		tc.put(t, fmt.Sprintf("obj-%02d", i), data)
	}
	tc.faulty[5].SetOffline(false)
	// Drain what the write path queued, so the walk is what repairs.
	h := tc.Healer()
	if err := h.Start(ctx, false, 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Start(ctx, false, 0); !errors.Is(err, ErrHealRunning) && err != nil {
		t.Fatalf("second start: %v", err)
	}
	if err := h.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	st := h.Status()
	if st.Running || st.ObjectsTotal != 20 || st.ObjectsScanned != 20 || st.ObjectsRepaired != 20 || st.BytesScanned != total || st.Error != "" {
		t.Fatalf("status after heal: %+v", st)
	}
	// Every object now survives the loss of any two other drives.
	tc.faulty[0].SetOffline(true)
	tc.faulty[1].SetOffline(true)
	for i := range 20 {
		if got, err := tc.get(fmt.Sprintf("obj-%02d", i), 0, -1); err != nil || !bytes.Equal(got, randBytes(uint64(i), 1000*i)) {
			t.Fatalf("obj-%02d after heal with drives 0,1 offline: %v", i, err)
		}
	}
	// A second walk finds nothing to do.
	tc.faulty[0].SetOffline(false)
	tc.faulty[1].SetOffline(false)
	_ = h.Start(ctx, true, 0)
	_ = h.Wait(ctx)
	if st := h.Status(); st.ObjectsRepaired != 0 || st.ObjectsScanned != 20 {
		t.Fatalf("second walk: %+v", st)
	}
}

// slowDrive delays every shard write by delay.
type slowDrive struct {
	storagenode.Drive
	delay time.Duration
}

type slowWriter struct {
	storagenode.ShardWriter
	delay time.Duration
}

func (s *slowDrive) CreateShard(ctx context.Context, ref storagenode.ShardRef) (storagenode.ShardWriter, error) {
	w, err := s.Drive.CreateShard(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &slowWriter{ShardWriter: w, delay: s.delay}, nil
}

func (s *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(s.delay)
	return s.ShardWriter.Write(p)
}

func TestSlowDriveDoesNotStallPut(t *testing.T) {
	var drives []Drive
	for i := range 6 {
		var d storagenode.Drive = local.NewMem(fmt.Sprintf("d%d", i))
		if i == 2 {
			d = &slowDrive{Drive: d, delay: 5 * time.Second}
		}
		drives = append(drives, Drive{Drive: d, Node: fmt.Sprintf("d%d", i)})
	}
	l, err := New(Config{Drives: drives, DataShards: 4, ParityShards: 2, BlockSize: 64 << 10,
		SlowWriteTimeout: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := l.MakeBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	data := randBytes(5, 1<<20)
	start := time.Now()
	if _, err := l.PutObject(ctx, "bkt", "k", bytes.NewReader(data), int64(len(data)), s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("PUT with one slow drive took %v; the slow drive must be dropped after 200ms", d)
	}
	if l.Stats().PartialWrites.Load() != 1 {
		t.Fatalf("partial writes %d, want 1", l.Stats().PartialWrites.Load())
	}
	obj, err := l.OpenObject(ctx, "bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := obj.Read(ctx, &buf, 0, int64(len(data))); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("read after a write that dropped the slow drive: %v", err)
	}
}

func TestHealResumesAfterRestart(t *testing.T) {
	state := filepath.Join(t.TempDir(), "heal.json")
	mems := make([]*local.Drive, 6)
	faulty := make([]*faultdrive.Drive, 6)
	newLayer := func() (*Layer, *Repair) {
		var drives []Drive
		for i := range 6 {
			var d storagenode.Drive = faulty[i]
			if i == 5 {
				d = &slowDrive{Drive: d, delay: 5 * time.Millisecond}
			}
			drives = append(drives, Drive{Drive: d, Node: fmt.Sprintf("d%d", i)})
		}
		l, err := New(Config{Drives: drives, DataShards: 4, ParityShards: 2, BlockSize: 4096,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		r := NewRepair(l)
		r.Healer().SetStateFile(state)
		r.Healer().saveEvery = 0 // save after every object
		return l, r
	}
	for i := range mems {
		mems[i] = local.NewMem(fmt.Sprintf("d%d", i))
		faulty[i] = faultdrive.New(mems[i])
	}
	ctx := context.Background()
	l, r := newLayer()
	if err := l.MakeBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	faulty[5].SetOffline(true)
	const n = 60
	for i := range n {
		data := randBytes(uint64(i), 5000)
		if _, err := l.PutObject(ctx, "bkt", fmt.Sprintf("k%03d", i), bytes.NewReader(data), int64(len(data)), s3api.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	faulty[5].SetOffline(false)
	if err := r.Healer().Start(ctx, false, 0); err != nil {
		t.Fatal(err)
	}
	for r.Healer().Status().ObjectsScanned < 10 {
		time.Sleep(time.Millisecond)
	}
	r.Healer().Stop() // the process stops mid-heal
	if st := r.Healer().Status(); st.ObjectsScanned >= n {
		t.Fatalf("heal finished before the stop (%d objects); slow it down", st.ObjectsScanned)
	}
	// A new process over the same drives resumes from the saved cursor.
	l2, r2 := newLayer()
	resumed, err := r2.Healer().Resume(ctx)
	if err != nil || !resumed {
		t.Fatalf("resume: %v %v", resumed, err)
	}
	if err := r2.Healer().Wait(ctx); err != nil {
		t.Fatal(err)
	}
	st := r2.Healer().Status()
	// The counters go on from the last save: the objects healed after it
	// (the batch in flight at the stop, up to walkParallel of them) are
	// walked again but need nothing the second time.
	if st.Running || st.Error != "" || st.ObjectsScanned < n || st.ObjectsScanned > n+1 || st.ObjectsRepaired < n-walkParallel {
		t.Fatalf("resumed heal: %+v; want all %d objects scanned and repaired", st, n)
	}
	faulty[0].SetOffline(true)
	faulty[1].SetOffline(true)
	for i := range n {
		obj, err := l2.OpenObject(ctx, "bkt", fmt.Sprintf("k%03d", i))
		if err != nil {
			t.Fatalf("k%03d after the resumed heal, drives 0 and 1 offline: %v", i, err)
		}
		var buf bytes.Buffer
		if err := obj.Read(ctx, &buf, 0, 5000); err != nil || !bytes.Equal(buf.Bytes(), randBytes(uint64(i), 5000)) {
			t.Fatalf("k%03d after the resumed heal: %v", i, err)
		}
	}
	faulty[0].SetOffline(false)
	faulty[1].SetOffline(false)
	// Nothing left to resume.
	if _, r3 := newLayer(); func() bool { resumed, _ := r3.Healer().Resume(ctx); return resumed }() {
		t.Fatal("a finished heal was resumed again")
	}
}

func TestDegradedWriteUsesFallbackAndMovesHome(t *testing.T) {
	tc := newCluster(t, 8, 4, 2, 4096)
	ctx := context.Background()
	home, err := tc.place("bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*faultdrive.Drive{}
	for _, f := range tc.faulty {
		byID[f.ID()] = f
	}
	down := byID[home[1].ID()]
	down.SetOffline(true)
	data := randBytes(9, 50_000)
	tc.put(t, "k", data)
	if n := tc.Stats().PartialWrites.Load(); n != 0 {
		t.Fatalf("a write with one placement drive down was partial (%d): the fallback must take the shard", n)
	}
	// Fully redundant at once: two more placement drives may go.
	byID[home[2].ID()].SetOffline(true)
	byID[home[3].ID()].SetOffline(true)
	if got, err := tc.get("k", 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read with the home drive and 2 more down: %v", err)
	}
	byID[home[2].ID()].SetOffline(false)
	byID[home[3].ID()].SetOffline(false)
	// The home drive returns: the heal moves the shard back.
	down.SetOffline(false)
	r, err := tc.HealObject(ctx, "bkt", "k", false)
	if err != nil || r.Repaired != 1 {
		t.Fatalf("heal after the home drive returned: %+v %v", r, err)
	}
	meta, err := down.GetMeta(ctx, "bkt", "k")
	if err != nil {
		t.Fatalf("home drive has no record after the move: %v", err)
	}
	for i, id := range meta.Drives {
		if id != home[i].ID() {
			t.Fatalf("after the move shard %d is on %s, home is %s", i, id, home[i].ID())
		}
	}
	holders := 0
	for _, f := range tc.faulty {
		if _, err := f.GetMeta(ctx, "bkt", "k"); err == nil {
			holders++
		}
	}
	if holders != 6 {
		t.Fatalf("%d drives hold a record after the move, want 6 (the fallback's copy removed)", holders)
	}
	byID[home[0].ID()].SetOffline(true)
	byID[home[4].ID()].SetOffline(true)
	if got, err := tc.get("k", 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after the move with 2 drives down: %v", err)
	}
	byID[home[0].ID()].SetOffline(false)
	byID[home[4].ID()].SetOffline(false)
	// Deleting removes every copy.
	if err := tc.DeleteObject(ctx, "bkt", "k"); err != nil {
		t.Fatal(err)
	}
	for _, f := range tc.faulty {
		if _, err := f.GetMeta(ctx, "bkt", "k"); err == nil {
			t.Fatalf("drive %s still holds the deleted object", f.ID())
		}
	}
}

func TestAbortStaleUploads(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	ctx := context.Background()
	old, err := tc.NewMultipartUpload(ctx, "bkt", "old", s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.PutObjectPart(ctx, "bkt", "old", old, 1, bytes.NewReader([]byte("abc")), 3, s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Now()
	time.Sleep(10 * time.Millisecond)
	fresh, err := tc.NewMultipartUpload(ctx, "bkt", "fresh", s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := tc.AbortStaleUploads(ctx, cutoff)
	if err != nil || n != 1 {
		t.Fatalf("aborted %d (%v), want 1", n, err)
	}
	if _, err := tc.ListParts(ctx, "bkt", "old", old, 0, 100); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("the stale upload survived: %v", err)
	}
	if _, err := tc.ListParts(ctx, "bkt", "fresh", fresh, 0, 100); err != nil {
		t.Fatalf("the fresh upload was aborted: %v", err)
	}
}

func TestHealWaitsForReturningDrive(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go tc.RunHealer(ctx)
	tc.faulty[4].SetOffline(true)
	tc.faulty[5].SetOffline(true)
	data := randBytes(11, 20_000)
	tc.put(t, "k", data) // partial: queued, healed at once, but the drives are down
	deadline := time.Now().Add(5 * time.Second)
	for {
		tc.healq.mu.Lock()
		n := len(tc.healq.pending)
		tc.healq.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the heal of a partial write did not wait for the drives")
		}
		time.Sleep(10 * time.Millisecond)
	}
	tc.faulty[4].SetOffline(false)
	tc.faulty[5].SetOffline(false)
	tc.DriveOnline()
	for tc.Stats().ShardsHealed.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("shards healed %d after the drives returned, want 2", tc.Stats().ShardsHealed.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	tc.faulty[0].SetOffline(true)
	tc.faulty[1].SetOffline(true)
	if got, err := tc.get("k", 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after the returning drives were healed, 2 others down: %v", err)
	}
}

func TestHealRemovesDanglingRecords(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	ctx := context.Background()
	tc.put(t, "gone", randBytes(1, 3000))
	tc.put(t, "kept", randBytes(2, 3000))
	tc.faulty[0].SetOffline(true)
	if err := tc.DeleteObject(ctx, "bkt", "gone"); err != nil {
		t.Fatal(err)
	}
	tc.faulty[0].SetOffline(false)          // drive 0 still holds "gone"
	tc.cfg.InFlightWindow = time.Nanosecond // the record is a leftover now, not a write in flight
	h := tc.Healer()
	if err := h.Start(ctx, false, 0); err != nil {
		t.Fatal(err)
	}
	h.Wait(ctx)
	if st := h.Status(); st.DanglingRemoved != 1 || st.Error != "" {
		t.Fatalf("heal status %+v, want 1 dangling record removed", st)
	}
	if _, err := tc.faulty[0].GetMeta(ctx, "bkt", "gone"); !errors.Is(err, storagenode.ErrObjectNotFound) {
		t.Fatalf("the stray record is still on drive 0: %v", err)
	}
	// With two other drives down the deleted key is plainly absent.
	tc.faulty[1].SetOffline(true)
	tc.faulty[2].SetOffline(true)
	if _, err := tc.get("gone", 0, -1); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("deleted key with 2 drives down: %v, want NoSuchKey", err)
	}
	if _, err := tc.get("kept", 0, -1); err != nil {
		t.Fatalf("the other object: %v", err)
	}
}
