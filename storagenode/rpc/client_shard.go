package rpc

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

var (
	errStreamAborted = errors.New("storagenode: shard stream aborted")
	errStreamEnded   = errors.New("storagenode: shard stream ended")
)

// CreateShard starts the shard stream: one POST whose body is the shard,
// sent with "Expect: 100-continue" so that the node creates the shard (or
// answers an error such as ErrBucketNotFound) before a byte is sent.
// CreateShard returns once the node said go ahead. Write feeds the request
// body; Commit ends it with a trailer carrying the stream's MAC, which tells
// the node to commit; Abort cuts it. The stream lives within ctx: when ctx
// ends, the stream is cut and the shard is not committed.
func (d *Client) CreateShard(ctx context.Context, ref storagenode.ShardRef) (storagenode.ShardWriter, error) {
	if err := storagenode.CheckRef(ref); err != nil {
		return nil, err
	}
	op := "create shard " + ref.String()
	if err := d.check(ctx, op); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(d.closeCtx, cancel)
	pw := newBodyPipe()
	w := &shardWriter{
		d: d, ref: ref, ctx: ctx, pw: pw, done: make(chan struct{}),
		trailer: []string{""},
		release: func() { stop(); cancel() },
	}
	goAhead := make(chan struct{})
	var once sync.Once
	trace := &httptrace.ClientTrace{
		Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
			if code == http.StatusContinue {
				once.Do(func() { close(goAhead) })
			}
			return nil
		},
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(sctx, trace), http.MethodPost, "", nil)
	if err != nil {
		w.release()
		return nil, fmt.Errorf("%s: %s: %w", d.where, op, err)
	}
	q := refQuery(ref)
	if storagenode.ColdShard(ctx) {
		q.Set(coldParam, "1")
	}
	req.URL = withFence(ctx, d.url(mShardWrite, q))
	req.Host = d.base.Host
	req.Body = bodyReader{pw}
	req.ContentLength = -1 // chunked
	req.Header.Set("Expect", "100-continue")
	// The trailer's value is filled in by Commit through the slice, not the
	// map: the transport reads the map's keys when it sends the headers.
	req.Trailer = http.Header{hdrStreamMAC: w.trailer}
	marker := streamMarker
	if d.base.Scheme == "https" {
		marker = streamTLS // TLS authenticates the body: no MAC to compute on either side
	}
	w.mac = d.auth.streamMAC(d.auth.sign(req, marker), marker)
	go w.roundTrip(req)

	timer := time.NewTimer(d.opts.CallTimeout)
	defer timer.Stop()
	select {
	case <-goAhead:
		return w, nil
	case <-w.done:
		// An answer without go-ahead: the node refused (or failed).
		err := w.result(ctx, op)
		if err == nil {
			err = fmt.Errorf("%s: %s: the node answered before the stream: %w", d.where, op, storagenode.ErrDriveOffline)
		}
		w.release()
		return nil, err
	case <-ctx.Done():
		w.abort()
		return nil, fmt.Errorf("%s: %s: %w", d.where, op, ctx.Err())
	case <-timer.C:
		w.abort()
		return nil, fmt.Errorf("%s: %s: no go-ahead within %v: %w", d.where, op, d.opts.CallTimeout, storagenode.ErrDriveOffline)
	}
}

// remoteShardWriter is the client end of a shard stream.
type shardWriter struct {
	d       *Client
	ref     storagenode.ShardRef
	ctx     context.Context // CreateShard's
	pw      *bodyPipe
	mac     streamHash
	trailer []string     // trailer[0]: the stream MAC, set by Commit
	release func()       // stops the request context
	state   atomic.Int32 // writerOpen, writerCommitted, writerAborted: Abort may come during a Write
	err     error        // sticky Write error

	done   chan struct{} // closed when roundTrip returns
	status int           // of the answer (valid after done)
	body   []byte        // of the answer (valid after done)
	rtErr  error         // of the exchange (valid after done)
}

const (
	writerOpen = iota
	writerCommitted
	writerAborted
)

// roundTrip runs the request and keeps its answer. Ending it closes the
// pipe, so that a Write blocked on a dead stream returns.
func (w *shardWriter) roundTrip(req *http.Request) {
	defer close(w.done)
	resp, err := w.d.client.Do(req)
	if err == nil {
		w.status = resp.StatusCode
		w.body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
	w.rtErr = err
	w.pw.CloseRead(errStreamEnded)
}

// result maps the outcome of the exchange (after done) to the error of the
// operation op, ctx being the context of the caller who waits.
func (w *shardWriter) result(ctx context.Context, op string) error {
	switch {
	case w.rtErr != nil:
		if w.ctx.Err() != nil { // CreateShard's context ended the stream
			ctx = w.ctx
		}
		return w.d.netErr(ctx, op, w.rtErr)
	case w.status == http.StatusNoContent:
		return nil
	case w.status < 300:
		return fmt.Errorf("%s: %s: unexpected answer HTTP %d: %w", w.d.where, op, w.status, storagenode.ErrDriveOffline)
	default:
		return newRemoteError(w.d.where, op, w.status, w.body)
	}
}

// wait waits for the exchange to end, at most CallTimeout (then it cuts it).
func (w *shardWriter) wait() {
	t := time.NewTimer(w.d.opts.CallTimeout)
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
		w.release()
		<-w.done
	}
}

// abort cuts the stream (the node sees a broken body and discards the
// temporary file) and waits for the exchange to end.
func (w *shardWriter) abort() {
	w.pw.CloseWithError(errStreamAborted)
	w.release()
	<-w.done
}

func (w *shardWriter) Write(p []byte) (int, error) {
	if w.state.Load() != writerOpen {
		return 0, fmt.Errorf("storagenode: write shard %s: %w", w.ref, fs.ErrClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.pw.Write(p)
	w.mac.Write(p[:n])
	if err != nil {
		// The exchange ended early: the node failed (its error says why) or
		// the connection broke.
		w.wait()
		w.err = w.result(w.ctx, "write shard "+w.ref.String())
		if w.err == nil {
			w.err = fmt.Errorf("%s: write shard %s: %w: %w", w.d.where, w.ref, storagenode.ErrDriveOffline, err)
		}
		return n, w.err
	}
	return n, nil
}

// Commit ends the body with the trailer that asks the node to commit, and
// waits for its answer (at most CallTimeout). If ctx ends first the stream
// is cut and the shard is not committed, unless the node had committed it
// already.
func (w *shardWriter) Commit(ctx context.Context) error {
	op := "commit shard " + w.ref.String()
	if !w.state.CompareAndSwap(writerOpen, writerCommitted) {
		return fmt.Errorf("storagenode: %s: %w", op, fs.ErrClosed)
	}
	if err := w.d.check(ctx, op); err != nil {
		w.abort()
		return err
	}
	if w.err != nil {
		w.abort()
		return w.err
	}
	w.trailer[0] = hex.EncodeToString(w.mac.Sum(nil))
	w.pw.Close()
	t := time.NewTimer(w.d.opts.CallTimeout)
	defer t.Stop()
	select {
	case <-w.done:
	case <-ctx.Done():
		w.abort()
		return fmt.Errorf("%s: %s: %w", w.d.where, op, ctx.Err())
	case <-t.C:
		w.abort()
		return fmt.Errorf("%s: %s: no answer within %v: %w", w.d.where, op, w.d.opts.CallTimeout, storagenode.ErrDriveOffline)
	}
	w.release()
	return w.result(ctx, op)
}

// Abort cuts the stream; the node discards the temporary file. No-op after
// Commit or Abort. During a Write it cuts the stream under it: the Write
// returns with an error.
func (w *shardWriter) Abort() error {
	if w.state.CompareAndSwap(writerOpen, writerAborted) {
		w.abort()
	}
	return nil
}

// OpenShard asks the node for the shard's size; reads come later: one
// request per ReadAt, or, inside the range of a hint (HintRange), one
// request streaming the range for the reads that follow each other in it.
func (d *Client) OpenShard(ctx context.Context, ref storagenode.ShardRef) (storagenode.ShardReader, error) {
	if err := storagenode.CheckRef(ref); err != nil {
		return nil, err
	}
	var res shardStatResult
	if err := d.get(ctx, "open shard "+ref.String(), mShardStat, refQuery(ref), &res); err != nil {
		return nil, err
	}
	return &shardReader{d: d, ref: ref, ctx: ctx, size: res.Size}, nil
}

// OpenShardSized opens a shard whose size the caller knows
// (storagenode.SizedOpener) without a request: the node checks the size at
// every read, and a missing or replaced shard fails the first one with
// ErrShardNotFound.
func (d *Client) OpenShardSized(ctx context.Context, ref storagenode.ShardRef, size int64) (storagenode.ShardReader, error) {
	if err := storagenode.CheckRef(ref); err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, fmt.Errorf("storagenode: open shard %s: negative size %d", ref, size)
	}
	if err := d.check(ctx, "open shard "+ref.String()); err != nil {
		return nil, err
	}
	return &shardReader{d: d, ref: ref, ctx: ctx, size: size}, nil
}

// shardReader reads ranges of a remote shard.
type shardReader struct {
	d      *Client
	ref    storagenode.ShardRef
	ctx    context.Context // OpenShard's: bounds every ReadAt
	size   int64
	closed atomic.Bool

	mu      sync.Mutex   // serializes the reads inside the hint
	hintOff int64        // the hinted range [hintOff, hintEnd)
	hintEnd int64        // 0: no hint
	stream  *rangeStream // open over [stream.pos, hintEnd), or nil
}

func (r *shardReader) Size() int64 { return r.size }

// HintRange sets the range that the reads to come fall in (storagenode.RangeHinter).
func (r *shardReader) HintRange(off, end int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hintOff, r.hintEnd = max(off, 0), min(end, r.size)
	r.closeStream()
}

func (r *shardReader) Close() error {
	r.closed.Store(true)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeStream()
	return nil
}

// ReadAt reads len(p) bytes at off, or up to the end of the shard (then
// io.EOF): from the hint's stream when the read lies inside the hint, else
// in one request straight into p.
func (r *shardReader) ReadAt(p []byte, off int64) (int, error) {
	op := "read shard " + r.ref.String()
	switch {
	case r.closed.Load():
		return 0, fmt.Errorf("storagenode: %s: %w", op, fs.ErrClosed)
	case off < 0:
		return 0, fmt.Errorf("storagenode: %s: negative offset %d", op, off)
	case off >= r.size:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	}
	want := min(int64(len(p)), r.size-off)
	var n int
	var err error
	r.mu.Lock()
	if off >= r.hintOff && off+want <= r.hintEnd {
		n, err = r.readStream(op, p[:want], off)
		r.mu.Unlock()
	} else {
		r.mu.Unlock()
		n, err = r.readOnce(op, p[:want], off)
	}
	if err == nil && want < int64(len(p)) {
		err = io.EOF
	}
	return n, err
}

// readOnce reads exactly len(p) bytes at off in a request of their own.
func (r *shardReader) readOnce(op string, p []byte, off int64) (int, error) {
	resp, cancel, err := r.d.do(r.ctx, op, http.MethodGet, mShardRead, r.rangeQuery(off, int64(len(p))), nil)
	if err != nil {
		return 0, err
	}
	defer cancel()
	defer resp.Body.Close()
	n, err := io.ReadFull(resp.Body, p)
	if err != nil {
		return n, r.d.netErr(r.ctx, op, err)
	}
	return n, nil
}

func (r *shardReader) rangeQuery(off, n int64) url.Values {
	q := refQuery(r.ref)
	q.Set("off", strconv.FormatInt(off, 10))
	q.Set("len", strconv.FormatInt(n, 10))
	q.Set("size", strconv.FormatInt(r.size, 10))
	return q
}

// rangeStream is the answer to one request for [pos, end) of a shard, read
// as the reads come.
type rangeStream struct {
	body   io.ReadCloser
	cancel context.CancelFunc
	pos    int64
}

// readStream reads exactly len(p) bytes at off (inside the hint) from the
// open stream if it stands at off, else from a new one over [off, hintEnd).
// A stream that served earlier reads and then fails (the node cut it while
// the caller paused longer than its IOTimeout, or the connection broke) is
// opened again once; a new stream's failure is the read's. Each wait for the
// node, for the answer or for bytes, is bounded by CallTimeout. r.mu is
// held.
func (r *shardReader) readStream(op string, p []byte, off int64) (int, error) {
	for {
		if r.stream != nil && r.stream.pos != off {
			r.closeStream() // a jump (a degraded read skipping stripes): start over at off
		}
		fresh := r.stream == nil
		if fresh {
			if err := r.openStream(op, off); err != nil {
				return 0, err
			}
		}
		st := r.stream
		timer := time.AfterFunc(r.d.opts.CallTimeout, st.cancel)
		n, err := io.ReadFull(st.body, p)
		if !timer.Stop() && err != nil {
			err = fmt.Errorf("no bytes within %v: %w", r.d.opts.CallTimeout, err)
		}
		if err == nil {
			st.pos += int64(n)
			if st.pos == r.hintEnd {
				r.closeStream() // read to its end: the connection goes back to the pool
			}
			return n, nil
		}
		r.closeStream()
		if fresh || r.ctx.Err() != nil || r.closed.Load() {
			return n, r.d.netErr(r.ctx, op, err)
		}
	}
}

// openStream requests [off, hintEnd) of the shard. r.mu is held.
func (r *shardReader) openStream(op string, off int64) error {
	d := r.d
	if err := d.check(r.ctx, op); err != nil {
		return err
	}
	// No CallTimeout for the whole answer, which may take as long as the
	// caller takes to read it; a timer bounds the wait for its headers.
	sctx, cancelCtx := context.WithCancel(r.ctx)
	stop := context.AfterFunc(d.closeCtx, cancelCtx)
	cancel := func() { stop(); cancelCtx() }
	timer := time.AfterFunc(d.opts.CallTimeout, cancel)
	resp, cancel, err := d.sendIn(r.ctx, sctx, cancel, op, http.MethodGet, d.url(mShardRead, r.rangeQuery(off, r.hintEnd-off)), nil)
	if !timer.Stop() {
		if err == nil { // answered as the timer fired: cancelled all the same
			_ = resp.Body.Close()
			cancel()
			err = fmt.Errorf("%s: %s: %w", d.where, op, storagenode.ErrDriveOffline)
		}
		return fmt.Errorf("%w (no answer within %v)", err, d.opts.CallTimeout)
	}
	if err != nil {
		return err
	}
	r.stream = &rangeStream{body: resp.Body, cancel: cancel, pos: off}
	return nil
}

// closeStream ends the open stream, if any. r.mu is held.
func (r *shardReader) closeStream() {
	if r.stream != nil {
		_ = r.stream.body.Close()
		r.stream.cancel()
		r.stream = nil
	}
}
