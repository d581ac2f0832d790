package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

// callHook runs fn once, when armed, before the first call of a pass
// after its first read: the seventh GetMeta (a second read of the six
// drives) or the first DeleteMeta, whichever comes first; the other calls
// of that moment wait for it. Calls fn makes itself are not held.
type callHook struct {
	fn    func(ctx context.Context)
	gets  atomic.Int32
	fired atomic.Bool
	done  chan struct{}
}

type inHook struct{}

func (h *callHook) before(ctx context.Context, get bool) {
	if h.fn == nil || ctx.Value(inHook{}) != nil {
		return
	}
	if get && h.gets.Add(1) <= 6 {
		return
	}
	if h.fired.CompareAndSwap(false, true) {
		h.fn(context.WithValue(ctx, inHook{}, true))
		close(h.done)
	}
	<-h.done
}

type hookedDrive struct {
	storagenode.Drive
	h *callHook
}

func (d *hookedDrive) GetMeta(ctx context.Context, bucket, key string) (*storagenode.ObjectMeta, error) {
	d.h.before(ctx, true)
	return d.Drive.GetMeta(ctx, bucket, key)
}

func (d *hookedDrive) DeleteMeta(ctx context.Context, bucket, key, vid string) (*storagenode.ObjectMeta, error) {
	d.h.before(ctx, false)
	return d.Drive.DeleteMeta(ctx, bucket, key, vid)
}

// hookedLayer is memLayer with its drives calling h.
func hookedLayer(t *testing.T, h *callHook) (*Layer, []*local.Drive) {
	t.Helper()
	h.done = make(chan struct{})
	return memLayer(t, func(d storagenode.Drive) storagenode.Drive { return &hookedDrive{Drive: d, h: h} })
}

// memLayer is a 4+2 layer (shard files only) over six in-memory drives,
// each wrapped by wrap, with bucket "bkt"; it returns the drives under the
// wrappers too.
func memLayer(t *testing.T, wrap func(storagenode.Drive) storagenode.Drive) (*Layer, []*local.Drive) {
	t.Helper()
	var drives []Drive
	var under []*local.Drive
	for i := range 6 {
		d := local.NewMem(fmt.Sprintf("d%d", i))
		under = append(under, d)
		drives = append(drives, Drive{Drive: wrap(d), Node: d.ID()})
	}
	l, err := New(Config{Drives: drives, DataShards: 4, ParityShards: 2, BlockSize: 4096, InlineMax: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.MakeBucket(context.Background(), "bkt"); err != nil {
		t.Fatal(err)
	}
	return l, under
}

// strand leaves the current version of key on the first keep drives only,
// as a delete that the others took and these missed.
func strand(t *testing.T, under []*local.Drive, key string, keep int) {
	t.Helper()
	ctx := context.Background()
	for _, d := range under[keep:] {
		if _, err := d.DeleteMeta(ctx, "bkt", key, ""); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCleanDanglingDeletesOnlyWhatItRead: the dangling pass removes the
// records its read found, by version, not whatever a drive holds when it
// gets there: a PUT of the key acknowledged in between is kept. (It reread
// each drive and deleted what it found, which removed such a PUT's
// records.)
func TestCleanDanglingDeletesOnlyWhatItRead(t *testing.T) {
	h := &callHook{}
	l, under := hookedLayer(t, h)
	ctx := context.Background()
	old := randBytes(1, 20_000)
	if _, err := l.PutObject(ctx, "bkt", "k", bytes.NewReader(old), int64(len(old)), s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	strand(t, under, "k", 2)
	// A new PUT of the key lands just after the pass read the drives.
	fresh := randBytes(2, 30_000)
	h.fn = func(ctx context.Context) {
		if _, err := l.PutObject(ctx, "bkt", "k", bytes.NewReader(fresh), int64(len(fresh)), s3api.PutOptions{}); err != nil {
			t.Errorf("the PUT in between: %v", err)
		}
	}
	if _, err := l.cleanDanglingOlder(ctx, "bkt", "k", 0); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(l, "k")
	if err != nil {
		t.Fatalf("the PUT acknowledged while the dangling pass ran: %v", err)
	}
	if !bytes.Equal(got, fresh) {
		t.Fatal("the key does not read as the PUT acknowledged while the dangling pass ran")
	}
	for _, d := range under {
		if m, err := d.GetMeta(ctx, "bkt", "k"); err != nil || m.Size != int64(len(fresh)) {
			t.Errorf("%s: %v %v, want the new version's record", d.ID(), m, err)
		}
	}
}

// TestCleanDanglingSparesYoungRecords: records younger than the in-flight
// window may be a key's first PUT on its way to its other drives: the
// pass leaves them; once older, they go.
func TestCleanDanglingSparesYoungRecords(t *testing.T) {
	tc, under := hookedLayer(t, &callHook{})
	ctx := context.Background()
	data := randBytes(3, 3000)
	if _, err := tc.PutObject(ctx, "bkt", "k", bytes.NewReader(data), int64(len(data)), s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	strand(t, under, "k", 2)
	if removed, err := tc.cleanDangling(ctx, "bkt", "k"); err != nil || removed {
		t.Fatalf("cleanDangling of records just written: removed %v, %v; want them left", removed, err)
	}
	for _, d := range under[:2] {
		if _, err := d.GetMeta(ctx, "bkt", "k"); err != nil {
			t.Fatalf("%s: %v", d.ID(), err)
		}
	}
	if removed, err := tc.cleanDanglingOlder(ctx, "bkt", "k", 0); err != nil || !removed {
		t.Fatalf("cleanDangling of leftovers: removed %v, %v", removed, err)
	}
	for _, d := range under {
		if _, err := d.GetMeta(ctx, "bkt", "k"); !errors.Is(err, storagenode.ErrObjectNotFound) {
			t.Fatalf("%s: %v, want the leftover removed", d.ID(), err)
		}
	}
}

// settleHook holds each drive's first PutMeta (or PutMetaIf, RewriteMeta) until six
// GetMetas were answered, then runs fn once before it; calls fn makes
// itself pass.
type settleHook struct {
	fn    func(ctx context.Context)
	gets  atomic.Int32
	ready chan struct{}
	fired atomic.Bool
	done  chan struct{}
}

func (h *settleHook) get(ctx context.Context) {
	if h.fn != nil && ctx.Value(inHook{}) == nil && h.gets.Add(1) == 6 {
		close(h.ready)
	}
}

func (h *settleHook) put(ctx context.Context) {
	if h.fn == nil || ctx.Value(inHook{}) != nil {
		return
	}
	<-h.ready
	if h.fired.CompareAndSwap(false, true) {
		h.fn(context.WithValue(ctx, inHook{}, true))
		close(h.done)
	}
	<-h.done
}

type settleDrive struct {
	storagenode.Drive
	h *settleHook
}

func (d *settleDrive) GetMeta(ctx context.Context, bucket, key string) (*storagenode.ObjectMeta, error) {
	m, err := d.Drive.GetMeta(ctx, bucket, key)
	d.h.get(ctx)
	return m, err
}

func (d *settleDrive) PutMeta(ctx context.Context, m *storagenode.ObjectMeta) (*storagenode.ObjectMeta, error) {
	d.h.put(ctx)
	return d.Drive.PutMeta(ctx, m)
}

func (d *settleDrive) PutMetaIf(ctx context.Context, m *storagenode.ObjectMeta, expect string) (*storagenode.ObjectMeta, error) {
	d.h.put(ctx)
	return d.Drive.PutMetaIf(ctx, m, expect)
}

func (d *settleDrive) RewriteMeta(ctx context.Context, m *storagenode.ObjectMeta, layout int64) (*storagenode.ObjectMeta, error) {
	d.h.put(ctx)
	return d.Drive.RewriteMeta(ctx, m, layout)
}

// settleLayer is memLayer with settleDrive's hook on every drive and a
// 20,000-byte object "k" (of seed) put.
func settleLayer(t *testing.T, seed uint64) (*Layer, []*local.Drive, *settleHook) {
	t.Helper()
	h := &settleHook{ready: make(chan struct{}), done: make(chan struct{})}
	l, under := memLayer(t, func(d storagenode.Drive) storagenode.Drive { return &settleDrive{Drive: d, h: h} })
	data := randBytes(seed, 20_000)
	if _, err := l.PutObject(context.Background(), "bkt", "k", bytes.NewReader(data), int64(len(data)), s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	return l, under, h
}

// TestSettleRecordsAfterDelete: settleRecords rewrites the records whose
// drive list differs from the quorum's; a DELETE (through another
// gateway) between its reads and its writes must not be undone by them.
func TestSettleRecordsAfterDelete(t *testing.T) {
	l, under, h := settleLayer(t, 4)
	ctx := context.Background()
	meta, err := l.readMeta(ctx, "bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	// Every drive's record names another drive list (as after a move
	// that one drive missed, seen from the others): all are rewritten.
	for _, d := range under {
		odd := *meta
		odd.Drives = append([]string{"elsewhere"}, meta.Drives[1:]...)
		if _, err := d.PutMeta(ctx, &odd); err != nil {
			t.Fatal(err)
		}
	}
	h.fn = func(ctx context.Context) {
		if err := l.DeleteObject(ctx, "bkt", "k"); err != nil {
			t.Errorf("the DELETE in between: %v", err)
		}
	}
	l.settleRecords(ctx, meta)
	if _, err := l.readMeta(ctx, "bkt", "k"); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("the key deleted while settleRecords ran: %v, want not found", err)
	}
}

// TestTagsAfterDelete: a tag change (or a retention or legal-hold change,
// through the same updateRecord) rewrites the records of the version it
// read; a DELETE through another gateway between its reads and its
// writes must not be undone by them, and the change answers NoSuchKey.
func TestTagsAfterDelete(t *testing.T) {
	l, _, h := settleLayer(t, 5)
	ctx := context.Background()
	h.fn = func(ctx context.Context) {
		if err := l.DeleteObject(ctx, "bkt", "k"); err != nil {
			t.Errorf("the DELETE in between: %v", err)
		}
	}
	_, err := l.PutObjectTags(ctx, "bkt", "k", "", []s3api.Tag{{Key: "a", Value: "b"}})
	if !errors.Is(err, ErrObjectNotFound) {
		t.Errorf("the tag change after the DELETE: %v, want not found", err)
	}
	if _, err := l.readMeta(ctx, "bkt", "k"); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("the key deleted while its tags changed: %v, want not found", err)
	}
}

// TestTagsAfterMove: a tag change rewrites the records of the version it
// read; a move of one of its shards (through another gateway) between its
// reads and its writes must keep its drive list (the record's Layout), or
// the records would name the drive the shard left.
func TestTagsAfterMove(t *testing.T) {
	l, under, h := settleLayer(t, 6)
	ctx := context.Background()
	meta, err := l.readMeta(ctx, "bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	moved := meta.Clone()
	moved.Drives[0] = "elsewhere" // as a move's record names its new drive
	moved.Layout = meta.Layout + 1
	h.fn = func(ctx context.Context) {
		for _, d := range under {
			if _, err := d.PutMetaIf(ctx, moved, moved.VersionID); err != nil {
				t.Errorf("the move's record: %v", err)
			}
		}
	}
	if _, err := l.PutObjectTags(ctx, "bkt", "k", "", []s3api.Tag{{Key: "a", Value: "b"}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range under {
		m, err := d.GetMeta(ctx, "bkt", "k")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(m.Drives, moved.Drives) || len(m.Tags) != 1 {
			t.Errorf("drive %s: drives %v with %d tags, want the move's %v with the new tag", d.ID(), m.Drives, len(m.Tags), moved.Drives)
		}
	}
}

// TestMergeRecords: of two drives' records of one version, the read takes
// the tags of the later TagTime and the drive list of the higher Layout,
// and changes neither record.
func TestMergeRecords(t *testing.T) {
	rec := func(tagTime, layout int64, tag string, drives ...string) *storagenode.ObjectMeta {
		return &storagenode.ObjectMeta{VersionID: "v", TagTime: tagTime, Layout: layout, Tags: []storagenode.Tag{{Key: tag}}, Drives: drives}
	}
	for _, tc := range []struct {
		a, b   *storagenode.ObjectMeta
		tag    string
		drives []string
		layout int64
	}{
		{rec(5, 0, "new", "d1", "d2"), rec(3, 1, "old", "d1", "d9"), "new", []string{"d1", "d9"}, 1},
		{rec(3, 1, "old", "d1", "d9"), rec(5, 0, "new", "d1", "d2"), "new", []string{"d1", "d9"}, 1},
		{rec(5, 2, "new", "d1", "d8"), rec(3, 1, "old", "d1", "d9"), "new", []string{"d1", "d8"}, 2},
		{rec(3, 0, "old", "d1", "d2"), rec(3, 0, "same", "d1", "d3"), "old", []string{"d1", "d2"}, 0},
	} {
		a0, b0 := tc.a.Clone(), tc.b.Clone()
		m := mergeRecords(tc.a, tc.b)
		if m.Tags[0].Key != tc.tag || !slices.Equal(m.Drives, tc.drives) || m.Layout != tc.layout {
			t.Errorf("merge(%+v, %+v) = tag %s drives %v layout %d; want %s %v %d", a0, b0, m.Tags[0].Key, m.Drives, m.Layout, tc.tag, tc.drives, tc.layout)
		}
		if !reflect.DeepEqual(tc.a, a0) || !reflect.DeepEqual(tc.b, b0) {
			t.Errorf("merge changed its arguments")
		}
	}
}
