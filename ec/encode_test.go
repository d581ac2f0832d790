package ec

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

// shardWriter collects a shard; it fails with err once it holds more than
// failAfter bytes (failAfter < 0: never), and counts writes after failing.
type shardWriter struct {
	buf        bytes.Buffer
	failAfter  int
	err        error
	short      bool // fail by writing half the frame without an error
	lateWrites int
	failed     bool
	onWrite    func()
}

func (w *shardWriter) Write(p []byte) (int, error) {
	if w.onWrite != nil {
		w.onWrite()
	}
	if w.failed {
		w.lateWrites++
		return 0, w.err
	}
	if w.failAfter >= 0 && w.buf.Len()+len(p) > w.failAfter {
		w.failed = true
		if w.short {
			return len(p) / 2, nil
		}
		return 0, w.err
	}
	return w.buf.Write(p)
}

func newShardWriters(n int) ([]*shardWriter, []io.Writer) {
	sw := make([]*shardWriter, n)
	ws := make([]io.Writer, n)
	for i := range sw {
		sw[i] = &shardWriter{failAfter: -1}
		ws[i] = sw[i]
	}
	return sw, ws
}

var errBoom = errors.New("boom")

func TestEncodeFailingWriter(t *testing.T) {
	noLeak(t)
	c := mustNew(t, config{4, 2, 1000})
	data := randData(10_000, 20)
	for _, short := range []bool{false, true} {
		sw, ws := newShardWriters(6)
		sw[1].failAfter, sw[1].err, sw[1].short = 2*254+3, errBoom, short // fails on stripe 2
		n, errs, err := c.Encode(context.Background(), bytes.NewReader(data), ws, 5)
		if err != nil || n != int64(len(data)) {
			t.Fatalf("short %v: n %d, err %v", short, n, err)
		}
		want := error(errBoom)
		if short {
			want = io.ErrShortWrite
		}
		for i, e := range errs {
			if i == 1 && !errors.Is(e, want) || i != 1 && e != nil {
				t.Errorf("shardErrs[%d] = %v", i, e)
			}
		}
		if sw[1].lateWrites != 0 {
			t.Errorf("dropped writer written %d more times", sw[1].lateWrites)
		}
		files := make([][]byte, 6)
		for i := range sw {
			files[i] = sw[i].buf.Bytes()
		}
		got, rep, err := decodeRange(c, readersOf(files, 1), int64(len(data)), 0, int64(len(data)))
		if err != nil || !bytes.Equal(got, data) || len(rep.Missing) != 1 {
			t.Fatalf("decode without the failed shard: %v %+v", err, rep)
		}
	}
}

func TestEncodeTooFewWriters(t *testing.T) {
	noLeak(t)
	c := mustNew(t, config{4, 2, 1000})
	data := randData(10_000, 21)

	// Too few from the start: nothing is read or written.
	sw, ws := newShardWriters(6)
	ws[0], ws[5] = nil, nil
	r := &countReader{r: bytes.NewReader(data)}
	n, errs, err := c.Encode(context.Background(), r, ws, 5)
	if !errors.Is(err, ErrTooFewShards) || n != 0 || r.n != 0 || len(errs) != 6 {
		t.Fatalf("n %d read %d err %v", n, r.n, err)
	}
	for i := 1; i < 5; i++ {
		if sw[i].buf.Len() != 0 {
			t.Errorf("shard %d written", i)
		}
	}

	// Nil writers within the minimum are skipped.
	sw, ws = newShardWriters(6)
	ws[0], ws[5] = nil, nil
	if _, errs, err := c.Encode(context.Background(), bytes.NewReader(data), ws, 4); err != nil || errs[0] != nil || errs[5] != nil {
		t.Fatalf("two nil writers, min 4: %v %v", err, errs)
	}
	if int64(sw[1].buf.Len()) != c.ShardFileSize(int64(len(data))) {
		t.Errorf("shard 1 got %d bytes", sw[1].buf.Len())
	}

	// Writers failing mid-stream push it below the minimum.
	sw, ws = newShardWriters(6)
	sw[2].failAfter, sw[2].err = 600, errBoom
	sw[4].failAfter, sw[4].err = 1000, errBoom
	_, errs, err = c.Encode(context.Background(), bytes.NewReader(data), ws, 5)
	if !errors.Is(err, ErrTooFewShards) || !errors.Is(errs[2], errBoom) || !errors.Is(errs[4], errBoom) {
		t.Fatalf("err %v, errs %v", err, errs)
	}

	// A minimum below k counts as k.
	_, ws = newShardWriters(6)
	ws[0], ws[1], ws[2] = nil, nil, nil
	if _, _, err := c.Encode(context.Background(), bytes.NewReader(data), ws, 0); !errors.Is(err, ErrTooFewShards) {
		t.Fatalf("3 writers for k=4, min 0: %v", err)
	}

	// Wrong number of writers.
	if _, _, err := c.Encode(context.Background(), bytes.NewReader(data), make([]io.Writer, 5), 4); err == nil {
		t.Fatal("5 writers for 4+2 accepted")
	}
}

type countReader struct {
	r io.Reader
	n int
}

func (r *countReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += n
	return n, err
}

// endReader returns data, then err instead of io.EOF; with withLast it
// returns err together with the last bytes; with once it returns err only
// once, then io.EOF.
type endReader struct {
	data     []byte
	err      error
	withLast bool
	once     bool
	reported bool
}

func (r *endReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		if r.once && r.reported {
			return 0, io.EOF
		}
		r.reported = true
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 && r.withLast {
		r.reported = true
		return n, r.err
	}
	return n, nil
}

// strictReader fails the test on a Read after it returned io.EOF.
type strictReader struct {
	t   *testing.T
	r   io.Reader
	eof bool
}

func (r *strictReader) Read(p []byte) (int, error) {
	if r.eof {
		r.t.Error("Read after io.EOF")
	}
	n, err := r.r.Read(p)
	r.eof = err == io.EOF
	return n, err
}

type digestError struct{ want string }

func (e *digestError) Error() string { return "bad digest, want " + e.want }

func TestEncodeReaderError(t *testing.T) {
	noLeak(t)
	c := mustNew(t, config{4, 2, 1000})
	data := randData(3000, 22)
	cases := map[string]io.Reader{
		"mid-stream":                   io.MultiReader(bytes.NewReader(data[:1500]), iotest.ErrReader(errBoom)),
		"at EOF":                       &endReader{data: data, err: errBoom},
		"with last bytes":              &endReader{data: data, err: errBoom, withLast: true},
		"with last partial":            &endReader{data: data[:2900], err: errBoom, withLast: true},
		"once with last bytes":         &endReader{data: data, err: errBoom, withLast: true, once: true},
		"once at stripe end":           &endReader{data: data[:2000], err: errBoom, once: true},
		"with last one byte at a time": iotest.OneByteReader(&endReader{data: data[:1250], err: errBoom, withLast: true}),
	}
	for name, r := range cases {
		_, ws := newShardWriters(6)
		_, _, err := c.Encode(context.Background(), r, ws, 6)
		if !errors.Is(err, errBoom) {
			t.Errorf("%s: err %v, want errBoom", name, err)
		}
	}
	// errors.As reaches a typed error.
	_, ws := newShardWriters(6)
	_, _, err := c.Encode(context.Background(), &endReader{data: data, err: &digestError{"abc"}, withLast: true}, ws, 6)
	var de *digestError
	if !errors.As(err, &de) || de.want != "abc" {
		t.Errorf("err %v does not unwrap to *digestError", err)
	}
	// A reader that ends with io.EOF together with the last bytes is fine.
	_, ws = newShardWriters(6)
	if n, _, err := c.Encode(context.Background(), &endReader{data: data, err: io.EOF, withLast: true}, ws, 6); err != nil || n != 3000 {
		t.Errorf("EOF with last bytes: n %d err %v", n, err)
	}
	// No Read after io.EOF: the stream may be a request body.
	for _, size := range []int{0, 999, 1000, 3000} {
		_, ws = newShardWriters(6)
		r := &strictReader{t: t, r: bytes.NewReader(data[:size])}
		if n, _, err := c.Encode(context.Background(), r, ws, 6); err != nil || n != int64(size) {
			t.Errorf("size %d: n %d err %v", size, n, err)
		}
	}
	// Oddly sized reads.
	_, ws = newShardWriters(6)
	if n, _, err := c.Encode(context.Background(), iotest.HalfReader(bytes.NewReader(data)), ws, 6); err != nil || n != 3000 {
		t.Errorf("half reader: n %d err %v", n, err)
	}
}

// endless is an infinite reader that calls hook on each Read.
type endless struct{ hook func(n int64) }

func (r *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i)
	}
	r.hook(int64(len(p)))
	return len(p), nil
}

func TestEncodeCancel(t *testing.T) {
	noLeak(t)
	c := mustNew(t, config{4, 2, 1000})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, ws := newShardWriters(6)
	r := &countReader{r: bytes.NewReader(randData(5000, 23))}
	if _, _, err := c.Encode(ctx, r, ws, 6); !errors.Is(err, context.Canceled) || r.n != 0 {
		t.Errorf("cancelled ctx: err %v, read %d", err, r.n)
	}

	// Cancel while streaming an endless reader.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var total int64
	src := &endless{hook: func(n int64) {
		if total += n; total > 50_000 {
			cancel()
		}
	}}
	_, ws = newShardWriters(6)
	done := make(chan error, 1)
	go func() {
		_, _, err := c.Encode(ctx, src, ws, 6)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Encode did not stop after cancel")
	}

	// Cancel while writers are stuck until cancellation.
	ctx, cancel = context.WithCancel(context.Background())
	sw, ws := newShardWriters(6)
	var writes atomic.Int32
	for _, w := range sw {
		w.onWrite = func() {
			if writes.Add(1) > 12 {
				<-ctx.Done()
			}
		}
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	_, _, err := c.Encode(ctx, &endless{hook: func(int64) {}}, ws, 6)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("stuck writers: err %v", err)
	}
}

// TestEncodeBoundedMemory: a long stream holds only a few stripe buffers.
func TestEncodeBoundedMemory(t *testing.T) {
	c := mustNew(t, config{4, 2, 1000})
	var peak atomic.Int64
	obs := func() {
		for {
			p, l := peak.Load(), c.live.Load()
			if l <= p || peak.CompareAndSwap(p, l) {
				return
			}
		}
	}
	ws := make([]io.Writer, 6)
	for i := range ws {
		ws[i] = &shardWriter{failAfter: -1, onWrite: obs}
	}
	n, _, err := c.Encode(context.Background(), io.LimitReader(&endless{hook: func(int64) { obs() }}, 300_000), ws, 6)
	if err != nil || n != 300_000 {
		t.Fatal(n, err)
	}
	if p := peak.Load(); p == 0 || p > encodeDepth {
		t.Errorf("%d stripe buffers in use at once, want 1..%d", p, encodeDepth)
	}
	if c.live.Load() != 0 {
		t.Errorf("%d stripe buffers not returned", c.live.Load())
	}
}
