package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Timeouts bound how long an S3 endpoint waits on one client, so that a
// client that stops sending or reading cannot hold a request (its key lock,
// its buffers, its temporary shard files) for ever. A zero field takes its
// default; a negative one turns that timeout off.
type Timeouts struct {
	// BodyIdle ends a request whose body sends no byte for this long: it is
	// answered 400 RequestTimeout (as S3 does) and nothing of it is kept.
	// Default 30s (--body-idle-timeout).
	BodyIdle time.Duration
	// WriteIdle cuts the connection of a client that takes no byte of its
	// response for this long (a GET client that stopped reading). Default
	// 60s (--write-idle-timeout).
	WriteIdle time.Duration
	// KeepAliveIdle closes a keep-alive connection that waits this long for
	// its next request. Default 120s (--idle-timeout).
	KeepAliveIdle time.Duration
}

// The default Timeouts.
const (
	DefaultBodyIdleTimeout  = 30 * time.Second
	DefaultWriteIdleTimeout = 60 * time.Second
	DefaultIdleTimeout      = 120 * time.Second
)

// minTimeout is the shortest timeout Validate accepts: shorter ones would
// cut healthy clients on an ordinary network hiccup.
const minTimeout = time.Second

// EnsureDefaults fills unset timeouts with their defaults.
func (t *Timeouts) EnsureDefaults() {
	if t.BodyIdle == 0 {
		t.BodyIdle = DefaultBodyIdleTimeout
	}
	if t.WriteIdle == 0 {
		t.WriteIdle = DefaultWriteIdleTimeout
	}
	if t.KeepAliveIdle == 0 {
		t.KeepAliveIdle = DefaultIdleTimeout
	}
}

// Validate refuses timeouts too short to serve real clients.
func (t *Timeouts) Validate() error {
	var errs []error
	for _, f := range []struct {
		flag string
		d    time.Duration
	}{{"--body-idle-timeout", t.BodyIdle}, {"--write-idle-timeout", t.WriteIdle}, {"--idle-timeout", t.KeepAliveIdle}} {
		if f.d > 0 && f.d < minTimeout {
			errs = append(errs, fmt.Errorf("%s %s is too short: give at least %s, or a negative value to turn it off", f.flag, f.d, minTimeout))
		}
	}
	return errors.Join(errs...)
}

// withIdleTimeouts wraps an endpoint's handler so that every read of a
// request body and every write of a response must make progress within
// bodyIdle and writeIdle (0 or less: no bound). The deadlines are the
// connection's own (http.ResponseController), so a read or write blocked
// on a silent client fails with an error that matches
// os.ErrDeadlineExceeded; the handler above decides what to answer.
func withIdleTimeouts(h http.Handler, bodyIdle, writeIdle time.Duration) http.Handler {
	if bodyIdle <= 0 && writeIdle <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if writeIdle > 0 {
			// net/http leaves a write deadline in place for the next request
			// on the connection: clear the last request's.
			_ = rc.SetWriteDeadline(time.Time{})
			w = &idleWriter{ResponseWriter: w, rc: rc, d: writeIdle}
		}
		if bodyIdle > 0 && r.Body != nil && r.Body != http.NoBody {
			b := &idleBody{ReadCloser: r.Body, rc: rc, d: bodyIdle}
			// On a copy of the request: net/http looks at its own request's
			// Body to tell an "Expect: 100-continue" body never asked for
			// (the answer then goes out without waiting for it).
			r = r.WithContext(r.Context())
			r.Body = b
			defer b.handlerDone()
		}
		h.ServeHTTP(w, r)
	})
}

// rearm is the share of a timeout that must have passed before a read or
// write extends its deadline again: extending on every call would cost a
// timer update per call (a message to the connection's goroutine on
// HTTP/2). A silent client is therefore cut between 9/10 of the timeout
// and the timeout.
const rearm = 10

// idleBody extends the connection's read deadline before each read of the
// request body. At the end of the body net/http clears the deadline itself
// (it then reads the connection in the background to notice a client that
// goes away), so a handler may work on after its body for as long as it
// needs.
type idleBody struct {
	io.ReadCloser
	rc *http.ResponseController
	d  time.Duration

	mu    sync.Mutex // a handler's goroutines may read concurrently
	armed time.Time  // when the deadline was last extended
	eof   bool       // the body was read to its end
	err   bool       // a read failed (its deadline passed, say)
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if !b.eof {
		if now := time.Now(); now.Sub(b.armed) >= b.d/rearm {
			_ = b.rc.SetReadDeadline(now.Add(b.d))
			b.armed = now
		}
	}
	b.mu.Unlock()
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.mu.Lock()
		switch {
		case err == io.EOF:
			b.eof = true
		default:
			b.err = true
		}
		b.mu.Unlock()
	}
	return n, err
}

// handlerDone bounds what net/http reads of an unfinished body after the
// handler returned (it drains up to 256 KiB to reuse the connection). A
// failed body keeps its deadline, long past or soon.
func (b *idleBody) handlerDone() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.eof && !b.err {
		_ = b.rc.SetReadDeadline(time.Now().Add(b.d))
	}
}

// idleWriter extends the connection's write deadline before each write of
// the response. It has no ReadFrom on purpose: a sendfile copy would write
// without a deadline.
type idleWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	d     time.Duration
	armed time.Time
}

func (w *idleWriter) extend() {
	if now := time.Now(); now.Sub(w.armed) >= w.d/rearm {
		_ = w.rc.SetWriteDeadline(now.Add(w.d))
		w.armed = now
	}
}

func (w *idleWriter) WriteHeader(code int) {
	w.extend()
	w.ResponseWriter.WriteHeader(code)
}

func (w *idleWriter) Write(p []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher (gin and streaming handlers use it).
func (w *idleWriter) Flush() {
	w.extend()
	_ = w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *idleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
