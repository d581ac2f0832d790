package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// idleServer serves h behind withIdleTimeouts with short timeouts.
func idleServer(t *testing.T, body, write time.Duration, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(withIdleTimeouts(h, body, write))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// rawRequest sends a request head declaring size body bytes, then body.
func rawRequest(t *testing.T, addr string, size int, body string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "PUT /x HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", addr, size, body); err != nil {
		t.Fatal(err)
	}
	return conn
}

func TestBodyIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	got := make(chan error, 1)
	addr := idleServer(t, idle, time.Second, func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		got <- err
		w.WriteHeader(http.StatusBadRequest)
	})
	start := time.Now()
	conn := rawRequest(t, addr, 100, "half a body")
	select {
	case err := <-got:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("body read ended with %v, want a deadline error", err)
		}
		if took := time.Since(start); took < idle*9/10 || took > 5*idle {
			t.Errorf("the silent body was cut after %v, want about %v", took, idle)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler still waits on a silent body")
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer after the timeout: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want the handler's 400", resp.StatusCode)
	}
}

// TestBodyIdleTimeoutSlowButSteady: the timeout bounds silence, not the
// whole body: a body that trickles in for longer than the timeout is read.
func TestBodyIdleTimeoutSlowButSteady(t *testing.T) {
	const idle = 300 * time.Millisecond
	addr := idleServer(t, idle, time.Second, func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write(b)
	})
	conn := rawRequest(t, addr, 8, "")
	for range 8 {
		time.Sleep(idle / 3)
		if _, err := conn.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "xxxxxxxx" {
		t.Errorf("got %d %q, want 200 and the 8 bytes", resp.StatusCode, b)
	}
}

// TestBodyReadThenLongWork: once the body is read, the handler may work
// longer than the body timeout: net/http's background read of the
// connection must not time out and cancel the request.
func TestBodyReadThenLongWork(t *testing.T) {
	const idle = 200 * time.Millisecond
	addr := idleServer(t, idle, time.Second, func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-r.Context().Done():
			http.Error(w, "cancelled", http.StatusInternalServerError)
		case <-time.After(3 * idle):
			_, _ = io.WriteString(w, "done")
		}
	})
	resp, err := http.Post("http://"+addr+"/x", "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "done" {
		t.Errorf("got %d %q, want 200 done", resp.StatusCode, b)
	}
	// The next request on the same connection meets no stale deadline.
	time.Sleep(2 * idle)
	resp, err = http.Post("http://"+addr+"/x", "text/plain", strings.NewReader("again"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("second request: %d", resp.StatusCode)
	}
}

func TestWriteIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	got := make(chan error, 1)
	addr := idleServer(t, time.Second, idle, func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64<<10)
		for {
			if _, err := w.Write(buf); err != nil {
				got <- err
				return
			}
		}
	})
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A small receive buffer fills at once; then the client reads nothing.
	_ = conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(conn, "GET /big HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	select {
	case err := <-got:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("write ended with %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler still writes to a client that reads nothing")
	}
}

func TestTimeoutsDefaultsAndValidate(t *testing.T) {
	var d Timeouts
	d.EnsureDefaults()
	if d != (Timeouts{BodyIdle: 30 * time.Second, WriteIdle: time.Minute, KeepAliveIdle: 2 * time.Minute}) {
		t.Errorf("defaults %+v", d)
	}
	for _, tt := range []struct {
		t  Timeouts
		ok bool
	}{
		{d, true},
		{Timeouts{BodyIdle: -1, WriteIdle: -1, KeepAliveIdle: -1}, true}, // all off
		{Timeouts{BodyIdle: 2 * time.Second, WriteIdle: time.Second, KeepAliveIdle: time.Second}, true},
		{Timeouts{BodyIdle: 10 * time.Millisecond}, false},
		{Timeouts{WriteIdle: time.Millisecond}, false},
		{Timeouts{KeepAliveIdle: 999 * time.Millisecond}, false},
	} {
		if err := tt.t.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v: Validate() = %v, want ok %v", tt.t, err, tt.ok)
		}
	}
	c := DefaultConfig()
	if c.Timeouts != d {
		t.Errorf("DefaultConfig().Timeouts = %+v, want %+v", c.Timeouts, d)
	}
}
