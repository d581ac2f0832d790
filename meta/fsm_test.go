package meta

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration) int64 { return t0.Add(d).UnixNano() }

func mustEncode(t testing.TB, c command) []byte {
	t.Helper()
	c.V = cmdVersion
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFSMApply runs one sequence of entries through Apply, each with the
// answer it must get; every op appears, with its refusals.
func TestFSMApply(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	steps := []struct {
		name      string
		cmd       command
		data      []byte // instead of cmd
		wantErr   error
		wantToken uint64
		wantEpoch uint64 // 0: the entry's index when the op is SetClusterMap
	}{
		{name: "create", cmd: command{Op: OpCreateBucket, Bucket: "a", Owner: "root", Time: at(0)}},
		{name: "create again", cmd: command{Op: OpCreateBucket, Bucket: "a", Owner: "x", Time: at(1)}, wantErr: ErrBucketExists},
		{name: "create b", cmd: command{Op: OpCreateBucket, Bucket: "b", Owner: "root", Time: at(2)}},
		{name: "settings", cmd: command{Op: OpPutBucketSettings, Bucket: "a", Settings: &BucketSettings{Versioning: raw(`{"status":"Enabled"}`), Tags: raw(`{"k":"v"}`)}}},
		{name: "settings merge and clear", cmd: command{Op: OpPutBucketSettings, Bucket: "a", Settings: &BucketSettings{Tags: raw(`null`), CORS: raw(`[]`)}}},
		{name: "settings missing bucket", cmd: command{Op: OpPutBucketSettings, Bucket: "zz", Settings: &BucketSettings{}}, wantErr: ErrBucketNotFound},
		{name: "delete b", cmd: command{Op: OpDeleteBucket, Bucket: "b"}},
		{name: "delete b again", cmd: command{Op: OpDeleteBucket, Bucket: "b"}, wantErr: ErrBucketNotFound},
		{name: "map first", cmd: command{Op: OpSetClusterMap, Epoch: 0, Map: []byte("m1")}},
		{name: "map stale epoch", cmd: command{Op: OpSetClusterMap, Epoch: 0, Map: []byte("m2")}, wantErr: ErrEpochMismatch},
		{name: "map next", cmd: command{Op: OpSetClusterMap, Epoch: 9, Map: []byte("m2")}},
		{name: "lease grant", cmd: command{Op: OpAcquireLease, Job: "scan", Holder: "g1", TTL: int64(10 * time.Second), Time: at(0)}, wantToken: 12},
		{name: "lease held", cmd: command{Op: OpAcquireLease, Job: "scan", Holder: "g2", TTL: int64(time.Second), Time: at(5 * time.Second)}, wantErr: ErrLeaseHeld},
		{name: "lease retry same holder", cmd: command{Op: OpAcquireLease, Job: "scan", Holder: "g1", TTL: int64(10 * time.Second), Time: at(6 * time.Second)}, wantToken: 12},
		{name: "renew", cmd: command{Op: OpRenewLease, Job: "scan", Holder: "g1", Token: 12, TTL: int64(10 * time.Second), Time: at(15 * time.Second)}, wantToken: 12},
		{name: "renew wrong token", cmd: command{Op: OpRenewLease, Job: "scan", Holder: "g1", Token: 11, TTL: int64(time.Second), Time: at(15 * time.Second)}, wantErr: ErrStaleToken},
		{name: "grant after expiry", cmd: command{Op: OpAcquireLease, Job: "scan", Holder: "g2", TTL: int64(time.Second), Time: at(26 * time.Second)}, wantToken: 17},
		{name: "renew expired holder", cmd: command{Op: OpRenewLease, Job: "scan", Holder: "g1", Token: 12, TTL: int64(time.Second), Time: at(26 * time.Second)}, wantErr: ErrStaleToken},
		{name: "release old token", cmd: command{Op: OpReleaseLease, Job: "scan", Holder: "g1", Token: 12}, wantErr: ErrStaleToken},
		{name: "release", cmd: command{Op: OpReleaseLease, Job: "scan", Holder: "g2", Token: 17}},
		{name: "renew released", cmd: command{Op: OpRenewLease, Job: "scan", Holder: "g2", Token: 17, TTL: int64(time.Second), Time: at(26 * time.Second)}, wantErr: ErrStaleToken},
		{name: "grant after release", cmd: command{Op: OpAcquireLease, Job: "scan", Holder: "g1", TTL: int64(time.Second), Time: at(26 * time.Second)}, wantToken: 22},
		{name: "unknown op", cmd: command{Op: 99, Bucket: "a"}, wantErr: ErrUnknownOp},
		{name: "op zero", cmd: command{Op: 0, Bucket: "a"}, wantErr: ErrUnknownOp},
		{name: "unknown version", data: []byte(`{"v":2,"op":1,"bucket":"q"}`), wantErr: ErrUnknownOp},
		{name: "unknown field", data: []byte(`{"v":1,"op":1,"bucket":"q","acl":"public"}`), wantErr: ErrBadCommand},
		{name: "missing field", cmd: command{Op: OpCreateBucket}, wantErr: ErrBadCommand},
		{name: "garbage", data: []byte("\x00\xff"), wantErr: ErrBadCommand},
	}
	f := newFSM()
	for i, st := range steps {
		index := uint64(i + 1)
		data := st.data
		if data == nil {
			data = mustEncode(t, st.cmd)
		}
		before, _ := json.Marshal(f.st)
		r := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: data}).(*result)
		if !errors.Is(r.err, st.wantErr) || (st.wantErr == nil) != (r.err == nil) {
			t.Fatalf("%d %s: err %v, want %v", index, st.name, r.err, st.wantErr)
		}
		if r.err != nil {
			if after, _ := json.Marshal(f.st); !bytes.Equal(before, after) {
				t.Fatalf("%d %s: refused, but the state changed", index, st.name)
			}
		}
		if r.token != st.wantToken {
			t.Fatalf("%d %s: token %d, want %d", index, st.name, r.token, st.wantToken)
		}
		if st.cmd.Op == OpSetClusterMap && r.err == nil && r.epoch != index {
			t.Fatalf("%d %s: epoch %d, want the entry's index %d", index, st.name, r.epoch, index)
		}
	}
	a, ok := f.bucket("a")
	if !ok || a.Owner != "root" || !a.Created.Equal(t0) {
		t.Fatalf("bucket a = %+v", a)
	}
	want := BucketSettings{Versioning: raw(`{"status":"Enabled"}`), CORS: raw(`[]`)}
	if !reflect.DeepEqual(a.Settings, want) {
		t.Fatalf("settings %+v, want %+v", a.Settings, want)
	}
	if _, ok := f.bucket("b"); ok {
		t.Fatal("b survives its deletion")
	}
	if m := f.clusterMap(); m.Epoch != 11 || string(m.Data) != "m2" || len(f.mapHistory()) != 2 {
		t.Fatalf("map %+v, history %d", m, len(f.mapHistory()))
	}

	// Non-command entries (configuration, barriers) change nothing.
	before, _ := json.Marshal(f.st)
	f.Apply(&raft.Log{Index: 100, Type: raft.LogBarrier})
	if after, _ := json.Marshal(f.st); !bytes.Equal(before, after) {
		t.Fatal("a barrier changed the state")
	}

	// Snapshot and Restore give back the same state.
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	g := newFSM()
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if g.appliedIndex() != f.appliedIndex() || f.appliedIndex() != uint64(len(steps)) {
		t.Fatalf("applied index %d restored as %d, want %d", f.appliedIndex(), g.appliedIndex(), len(steps))
	}
	if !reflect.DeepEqual(f.st, g.st) {
		t.Fatalf("restored state differs:\n%+v\n%+v", f.st, g.st)
	}
	if err := g.Restore(io.NopCloser(bytes.NewReader([]byte(`{"v":7,"state":{}}`)))); !errors.Is(err, ErrUnknownOp) {
		t.Fatalf("restore of an unknown snapshot version: %v", err)
	}
}

// TestMapHistoryBounded: the history keeps the last mapHistory versions.
func TestMapHistoryBounded(t *testing.T) {
	f := newFSM()
	var epoch uint64
	for i := uint64(1); i <= mapHistory+5; i++ {
		r := f.Apply(&raft.Log{Index: i, Type: raft.LogCommand, Data: mustEncode(t, command{Op: OpSetClusterMap, Epoch: epoch, Map: []byte{byte(i)}})}).(*result)
		if r.err != nil {
			t.Fatal(r.err)
		}
		epoch = r.epoch
	}
	h := f.mapHistory()
	if len(h) != mapHistory || h[len(h)-1].Epoch != epoch || h[0].Epoch != 6 {
		t.Fatalf("history of %d, first %d, last %d", len(h), h[0].Epoch, h[len(h)-1].Epoch)
	}
}

// TestMapEpochFloor: a map's epoch is its entry's log index, except that
// the imported first map keeps its own epoch, and the maps after one that
// is ahead of the log count on from it until the log's index passes it.
func TestMapEpochFloor(t *testing.T) {
	f := newFSM()
	steps := []struct {
		index, expect, floor, want uint64
	}{
		{index: 3, floor: 1, want: 1},              // a new cluster's file: epoch 1 stays
		{index: 4, expect: 1, want: 4},             // then log indexes
		{index: 6, expect: 4, floor: 40, want: 40}, // (an import over a map: only the FSM's rule)
		{index: 7, expect: 40, want: 41},           // ahead of the log: counts on
		{index: 9, expect: 41, want: 42},           //
		{index: 50, expect: 42, want: 50},          // the log passed it: the index again
	}
	for _, st := range steps {
		r := f.Apply(&raft.Log{Index: st.index, Type: raft.LogCommand, Data: mustEncode(t, command{Op: OpSetClusterMap, Epoch: st.expect, Floor: st.floor, Map: []byte{byte(st.index)}})}).(*result)
		if r.err != nil || r.epoch != st.want || f.clusterMap().Epoch != st.want {
			t.Fatalf("index %d floor %d: epoch %d (copy %d), %v; want %d", st.index, st.floor, r.epoch, f.clusterMap().Epoch, r.err, st.want)
		}
	}
}

type memSink struct{ bytes.Buffer }

func (*memSink) ID() string    { return "mem" }
func (*memSink) Cancel() error { return nil }
func (*memSink) Close() error  { return nil }

// FuzzDecodeCommand: the decoder never panics, and what it accepts
// encodes to an envelope that decodes and encodes to the same bytes.
func FuzzDecodeCommand(f *testing.F) {
	for _, c := range []command{
		{Op: OpCreateBucket, Bucket: "a", Owner: "o", Time: 1},
		{Op: OpPutBucketSettings, Bucket: "a", Settings: &BucketSettings{Policy: json.RawMessage(`{"x":1}`)}},
		{Op: OpSetClusterMap, Epoch: 3, Map: []byte("map")},
		{Op: OpAcquireLease, Job: "j", Holder: "h", TTL: 5},
		{Op: OpReleaseLease, Job: "j", Holder: "h", Token: 9},
	} {
		f.Add(mustEncode(f, c))
	}
	f.Add([]byte(`{"v":1,"op":200}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCommand(b)
		if err != nil {
			return
		}
		again, err := encodeCommand(c)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", b, err)
		}
		d, err := decodeCommand(again)
		if err != nil {
			t.Fatalf("round trip of %q: %v", b, err)
		}
		if third, _ := encodeCommand(d); !bytes.Equal(again, third) {
			t.Fatalf("round trip of %q: %q then %q", b, again, third)
		}
	})
}

// TestEncodeRefuses: the proposer refuses what Apply would refuse, so an
// unknown or incomplete command never reaches the log from this code.
func TestEncodeRefuses(t *testing.T) {
	for _, c := range []struct {
		cmd  command
		want error
	}{
		{command{Op: 0}, ErrUnknownOp},
		{command{Op: opEnd}, ErrUnknownOp},
		{command{Op: OpDeleteBucket}, ErrBadCommand},
		{command{Op: OpPutBucketSettings, Bucket: "a"}, ErrBadCommand},
		{command{Op: OpSetClusterMap, Epoch: 1}, ErrBadCommand},
		{command{Op: OpAcquireLease, Job: "j", Holder: "h"}, ErrBadCommand},
		{command{Op: OpRenewLease, Job: "j", Holder: "h", TTL: 1}, ErrBadCommand},
		{command{Op: OpReleaseLease, Job: "j"}, ErrBadCommand},
		{command{Op: OpSetClusterMap, Map: make([]byte, maxCommand)}, ErrBadCommand},
	} {
		if _, err := encodeCommand(c.cmd); !errors.Is(err, c.want) {
			t.Errorf("%v: %v, want %v", c.cmd.Op, err, c.want)
		}
	}
}
