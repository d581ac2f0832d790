package rpc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/rpc"
)

// readCounter wraps an internode handler: it counts the shard read
// requests, and can stall the body of chosen ones (1-based) after some
// bytes until the request ends.
type readCounter struct {
	h          http.Handler
	reads      atomic.Int64
	stats      atomic.Int64   // shard/stat requests
	conns      atomic.Int64   // connections accepted
	stallAfter int            // bytes of body before the stall
	stall      func(int) bool // which read requests stall
}

func (c *readCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/shard/stat") {
		c.stats.Add(1)
	}
	if !strings.HasSuffix(r.URL.Path, "/shard/read") {
		c.h.ServeHTTP(w, r)
		return
	}
	n := int(c.reads.Add(1))
	if c.stall != nil && c.stall(n) {
		w = &stallingWriter{ResponseWriter: w, left: c.stallAfter, done: r.Context().Done()}
	}
	c.h.ServeHTTP(w, r)
}

type stallingWriter struct {
	http.ResponseWriter
	left int
	done <-chan struct{}
}

func (s *stallingWriter) Write(p []byte) (int, error) {
	if len(p) > s.left {
		n, _ := s.ResponseWriter.Write(p[:s.left])
		s.left = 0
		if f, ok := s.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		<-s.done
		return n, http.ErrAbortHandler
	}
	s.left -= len(p)
	return s.ResponseWriter.Write(p)
}

func (s *stallingWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// hintSetup writes a shard of size random bytes to a drive in memory served
// through a readCounter, and opens it through a client with opts.
func hintSetup(t *testing.T, size int, opts rpc.Options) (*readCounter, storagenode.ShardReader, []byte) {
	rc, c, ref, data := hintDrive(t, size, opts)
	sr, err := c.OpenShard(bg, ref)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sr.Close() })
	return rc, sr, data
}

// hintDrive writes the shard of hintSetup and returns the client and ref.
func hintDrive(t *testing.T, size int, opts rpc.Options) (*readCounter, *rpc.Client, storagenode.ShardRef, []byte) {
	t.Helper()
	mem := newMem()
	rc := &readCounter{h: rpc.NewHandler([]storagenode.Drive{mem}, rpcOpts(nil))}
	srv := httptest.NewUnstartedServer(rc)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rc.conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	r := remote(t, srv.URL, mem.ID(), opts)
	if err := r.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(uint64(size), 1))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	putShard(t, r, ref, data)
	return rc, r, ref, data
}

// putShard writes and commits a shard of data on d.
func putShard(t *testing.T, d storagenode.Drive, ref storagenode.ShardRef, data []byte) {
	t.Helper()
	w, err := d.CreateShard(bg, ref)
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = w.Commit(bg)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// readAt reads n bytes at off and checks them against data.
func readAt(t *testing.T, sr storagenode.ShardReader, data []byte, off, n int) {
	t.Helper()
	p := make([]byte, n)
	k, err := sr.ReadAt(p, int64(off))
	if k != n || err != nil || !bytes.Equal(p, data[off:off+n]) {
		t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; bytes equal %v", n, off, k, err, bytes.Equal(p[:k], data[off:off+k]))
	}
}

// TestRemoteRangeHint: inside a hint, reads that follow each other are
// served by one request; a jump opens a new one; reads outside the hint take
// one request each; a stream read to its end gives its connection back.
func TestRemoteRangeHint(t *testing.T) {
	const size = 3<<20 + 777
	rc, sr, data := hintSetup(t, size, rpcOpts(nil))
	const frame = 256<<10 + 8
	start, end := 1000, size-500
	storagenode.HintRange(sr, int64(start), int64(end))
	off := start
	for ; off+frame <= end; off += frame {
		readAt(t, sr, data, off, frame)
	}
	readAt(t, sr, data, off, end-off) // the last read ends at the hint's end
	if n := rc.reads.Load(); n != 1 {
		t.Fatalf("%d sequential reads inside the hint took %d requests; want 1", (end-start)/frame+1, n)
	}
	readAt(t, sr, data, 0, 10) // outside the hint, on the stream's connection
	if n := rc.conns.Load(); n != 1 {
		t.Fatalf("%d connections; want the stream's to be reused", n)
	}
	readAt(t, sr, data, start+5*frame, frame) // a jump back: a new stream
	readAt(t, sr, data, start+6*frame, frame)
	readAt(t, sr, data, start+9*frame, 100) // a jump ahead: another
	if n := rc.reads.Load(); n != 4 {
		t.Fatalf("after two jumps: %d requests; want 4", n)
	}
	readAt(t, sr, data, 0, 1000) // outside the hint: a request each
	readAt(t, sr, data, size-500, 500)
	if n := rc.reads.Load(); n != 6 {
		t.Fatalf("after two reads outside the hint: %d requests; want 6", n)
	}
	p := make([]byte, 1000)
	if k, err := sr.ReadAt(p, size-10); k != 10 || err != io.EOF || !bytes.Equal(p[:10], data[size-10:]) {
		t.Fatalf("ReadAt past the end = %d, %v; want 10, EOF", k, err)
	}
	// Concurrent readers (io.ReaderAt allows them) get their bytes, in or
	// out of the hint.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 8 {
				o := (g*8 + i) * 97 << 10 % (size - frame)
				p := make([]byte, frame)
				if k, err := sr.ReadAt(p, int64(o)); k != frame || err != nil || !bytes.Equal(p, data[o:o+frame]) {
					t.Errorf("concurrent ReadAt at %d: %d, %v", o, k, err)
				}
			}
		})
	}
	wg.Wait()
}

// TestRemoteRangeHintBrokenStream: a stream the node stops feeding (as when
// it cut a stream its reader paused on for longer than its IOTimeout) is
// opened again once, and the read succeeds; a node that stalls every stream
// fails the read with ErrDriveOffline within about CallTimeout.
func TestRemoteRangeHintBrokenStream(t *testing.T) {
	const size = 2 << 20
	const frame = 256 << 10
	opts := rpcOpts(nil)
	opts.CallTimeout = 300 * time.Millisecond
	rc, sr, data := hintSetup(t, size, opts)
	rc.stallAfter = 2*frame + 1000
	rc.stall = func(n int) bool { return n == 1 }
	storagenode.HintRange(sr, 0, size)
	for off := 0; off < size; off += frame {
		readAt(t, sr, data, off, frame)
	}
	if n := rc.reads.Load(); n != 2 {
		t.Fatalf("a stream stalled once: %d requests; want 2", n)
	}

	rc.stall = func(int) bool { return true }
	rc.stallAfter = frame / 2
	storagenode.HintRange(sr, 0, size)
	start := time.Now()
	_, err := sr.ReadAt(make([]byte, frame), 0)
	if !errors.Is(err, storagenode.ErrDriveOffline) {
		t.Fatalf("ReadAt from a node that stalls: %v; want ErrDriveOffline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the stalled read took %v", d)
	}
	if err := sr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sr.ReadAt(make([]byte, 10), 0); err == nil {
		t.Fatal("ReadAt after Close succeeded")
	}
}

// TestRemoteOpenShardSized: a shard opened with its size sends no request
// until the first read (no size request at all); a missing shard or one of
// another size fails that read with ErrShardNotFound.
func TestRemoteOpenShardSized(t *testing.T) {
	const size = 700<<10 + 3
	rc, c, ref, data := hintDrive(t, size, rpcOpts(nil))
	sr, err := storagenode.OpenShardSized(bg, c, ref, size)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	if n := rc.reads.Load() + rc.stats.Load(); n != 0 {
		t.Fatalf("opening with the size sent %d requests", n)
	}
	readAt(t, sr, data, 1000, 300<<10)
	if s := rc.stats.Load(); s != 0 {
		t.Fatalf("%d size requests", s)
	}
	for _, tc := range []struct {
		name string
		ref  storagenode.ShardRef
		size int64
	}{
		{"another size", ref, size - 1},
		{"missing", storagenode.ShardRef{Bucket: ref.Bucket, VersionDir: ref.VersionDir, Name: "part.9"}, size},
	} {
		r, err := storagenode.OpenShardSized(bg, c, tc.ref, tc.size)
		if err == nil {
			_, err = r.ReadAt(make([]byte, 100), 0)
			_ = r.Close()
		}
		if !errors.Is(err, storagenode.ErrShardNotFound) {
			t.Errorf("%s: %v; want ErrShardNotFound", tc.name, err)
		}
	}
	// A drive without OpenShardSized (the local drive): OpenShard, and the
	// size checked at the open.
	mem := newMem()
	if err := mem.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	putShard(t, mem, ref, data)
	if _, err := storagenode.OpenShardSized(bg, mem, ref, size+1); !errors.Is(err, storagenode.ErrShardNotFound) {
		t.Errorf("local drive, another size: %v; want ErrShardNotFound", err)
	}
	lr, err := storagenode.OpenShardSized(bg, mem, ref, size)
	if err != nil {
		t.Fatal(err)
	}
	readAt(t, lr, data, 5, 1000)
	_ = lr.Close()
}

// coldDrive records whether CreateShard's context carried the cold hint.
type coldDrive struct {
	storagenode.Drive
	cold chan bool
}

func (d coldDrive) CreateShard(ctx context.Context, ref storagenode.ShardRef) (storagenode.ShardWriter, error) {
	d.cold <- storagenode.ColdShard(ctx)
	return d.Drive.CreateShard(ctx, ref)
}

// TestRemoteColdShard: storagenode.WithColdShard on the gateway's side
// reaches the node's drive, and its absence too.
func TestRemoteColdShard(t *testing.T) {
	ctx := context.Background()
	d := coldDrive{newMem(), make(chan bool, 1)}
	srv := serve(t, rpcOpts(nil), d)
	c := remote(t, srv.URL, d.ID(), rpcOpts(nil))
	if err := c.MakeBucket(ctx, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, cold := range []bool{true, false} {
		wctx := ctx
		if cold {
			wctx = storagenode.WithColdShard(ctx)
		}
		w, err := c.CreateShard(wctx, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"})
		if err != nil {
			t.Fatal(err)
		}
		if got := <-d.cold; got != cold {
			t.Errorf("the node's drive saw cold %v, want %v", got, cold)
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
	}
}
