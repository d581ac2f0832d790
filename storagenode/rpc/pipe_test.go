package rpc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

// recordingWriter records the size of each Write; it fails once failAfter
// writes were made (if failAfter > 0).
type recordingWriter struct {
	sizes     []int
	buf       bytes.Buffer
	failAfter int
}

var errDst = errors.New("destination failed")

func (w *recordingWriter) Write(p []byte) (int, error) {
	if w.failAfter > 0 && len(w.sizes) == w.failAfter {
		return 0, errDst
	}
	w.sizes = append(w.sizes, len(p))
	return w.buf.Write(p)
}

func TestBodyPipeWriteTo(t *testing.T) {
	p := newBodyPipe()
	dst := &recordingWriter{}
	res := make(chan error, 1)
	go func() {
		_, err := bodyReader{p}.WriteTo(dst)
		res <- err
	}()
	var want bytes.Buffer
	for _, n := range []int{100, 300 << 10, 1, 64 << 10} {
		b := bytes.Repeat([]byte{byte(n)}, n)
		want.Write(b)
		if k, err := p.Write(b); k != n || err != nil {
			t.Fatalf("Write(%d bytes) = %d, %v", n, k, err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-res; err != nil {
		t.Fatalf("WriteTo after Close: %v", err)
	}
	if !bytes.Equal(dst.buf.Bytes(), want.Bytes()) || len(dst.sizes) != 4 || dst.sizes[1] != 300<<10 {
		t.Fatalf("destination got writes of %v (bytes equal %v); want one per Write", dst.sizes, bytes.Equal(dst.buf.Bytes(), want.Bytes()))
	}
	if _, err := p.Write([]byte("late")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestBodyPipeRead(t *testing.T) {
	p := newBodyPipe()
	data := bytes.Repeat([]byte("0123456789"), 10000)
	go func() {
		_, _ = p.Write(data)
		_ = p.Close()
	}()
	var got bytes.Buffer
	buf := make([]byte, 777)
	for {
		n, err := bodyReader{p}.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("read %d bytes, want %d", got.Len(), len(data))
	}
}

func TestBodyPipeErrors(t *testing.T) {
	// The write end closed with an error: the reader gets it.
	p := newBodyPipe()
	boom := errors.New("boom")
	_ = p.CloseWithError(boom)
	if _, err := (bodyReader{p}).WriteTo(io.Discard); err != boom {
		t.Fatalf("WriteTo after CloseWithError: %v", err)
	}
	// The read end closed while a Write waits: the Write returns the error.
	p = newBodyPipe()
	res := make(chan error, 1)
	go func() {
		_, err := p.Write([]byte("never taken"))
		res <- err
	}()
	time.Sleep(10 * time.Millisecond)
	p.CloseRead(errStreamEnded)
	if err := <-res; err != errStreamEnded {
		t.Fatalf("Write blocked when the read end closed: %v", err)
	}
	// The destination fails: WriteTo and the Write waiting return its error.
	p = newBodyPipe()
	dst := &recordingWriter{failAfter: 1}
	wt := make(chan error, 1)
	go func() {
		_, err := bodyReader{p}.WriteTo(dst)
		wt <- err
	}()
	if _, err := p.Write([]byte("one")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write([]byte("two")); err != errDst {
		t.Fatalf("Write to a failed destination: %v", err)
	}
	if err := <-wt; err != errDst {
		t.Fatalf("WriteTo to a failed destination: %v", err)
	}
	// Closing the read end (as the transport does) makes writes fail.
	p = newBodyPipe()
	_ = bodyReader{p}.Close()
	if _, err := p.Write([]byte("x")); err != io.ErrClosedPipe {
		t.Fatalf("Write after the reader closed: %v", err)
	}
}

// countingConn counts the writes to a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestShardStreamWrites: a shard stream reaches the connection in about
// three writes per Write of the shard writer (chunk header, data, chunk
// end), whatever its size; through io.Pipe each 32 KiB were three writes.
func TestShardStreamWrites(t *testing.T) {
	ctx := context.Background()
	mem := local.NewMem("m1")
	if err := mem.MakeBucket(ctx, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	srv := testServer(t, testOpts, mem)
	var writes atomic.Int64
	opts := testOpts
	dialer := &net.Dialer{}
	opts.Client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			return countingConn{Conn: c, writes: &writes}, err
		},
		WriteBufferSize: 64 << 10,
	}}
	c := NewClient(srv.URL, "m1", opts)
	defer c.Close()
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	w, err := c.CreateShard(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	const frames, frame = 16, 256<<10 + 8
	var want bytes.Buffer
	before := writes.Load()
	for i := range frames {
		b := bytes.Repeat([]byte{byte(i)}, frame)
		want.Write(b)
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := writes.Load() - before; n > 3*frames+4 {
		t.Fatalf("%d frames of %d bytes took %d writes to the connection; want at most %d", frames, frame, n, 3*frames+4)
	}
	r, err := mem.OpenShard(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, r.Size())
	if _, err := r.ReadAt(got, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("the committed shard differs from what was written")
	}
}
