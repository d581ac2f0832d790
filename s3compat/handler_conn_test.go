package s3compat

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
)

// These handler tests need a real connection: what goes on the wire
// before or instead of a response that an httptest.ResponseRecorder
// cannot show.

// TestEmptyPutExpectContinue: an empty PUT sent with "Expect:
// 100-continue" (botocore sends one for every PUT) is answered with a 100
// Continue before its 200, as botocore waits for one; without it, the aws
// CLI's next request on the connection stalls (boto/botocore#3755).
func TestEmptyPutExpectContinue(t *testing.T) {
	l := newStubLayer()
	s, _ := newTestServer(l, Config{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	r := testRequest{method: "PUT", target: "/bkt/empty"}.build(host)
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "PUT /bkt/empty HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\nExpect: 100-continue\r\n", host)
	for k, vs := range r.Header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, vs[0])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	first, err := http.ReadResponse(br, nil)
	if err != nil || first.StatusCode != http.StatusContinue {
		t.Fatalf("first response: %v %v, want 100 Continue", first, err)
	}
	final, err := http.ReadResponse(br, nil)
	if err != nil || final.StatusCode != http.StatusOK {
		t.Fatalf("final response: %v %v, want 200", final, err)
	}
	if c := l.call(t, "PutObject"); c.Key != "empty" || c.Body != "" {
		t.Errorf("PutObject %+v", c)
	}
}

// TestGetCutMidBody: a read that fails after the headers and part of the
// body went out cuts the connection, so the client sees a short body (or
// no response at all, when nothing left the server's buffer), never a
// complete-looking one.
func TestGetCutMidBody(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 64<<10/16)
	for _, tc := range []struct {
		key      string
		cutAfter int
	}{{"obj", 5}, {"big", 32 << 10}} {
		l := newStubLayer()
		l.addObject("bkt", "big", big, nil)
		o := l.objects["bkt/"+tc.key]
		o.readErr, o.cutAfter = errors.New("shard unreadable"), tc.cutAfter
		s, logs := newTestServer(l, Config{})
		srv := httptest.NewServer(s.Handler())
		req := testRequest{method: "GET", target: "/bkt/" + tc.key}.build(strings.TrimPrefix(srv.URL, "http://"))
		req.RequestURI = ""
		resp, err := http.DefaultClient.Do(req)
		if err != nil && tc.key == "big" {
			t.Errorf("%s: %v, want the headers of a 200 (32 KiB went out)", tc.key, err)
		}
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.ContentLength != int64(len(o.data)) || !errors.Is(rerr, io.ErrUnexpectedEOF) || len(body) >= len(o.data) {
				t.Errorf("%s: got %d, Content-Length %d, %d bytes, err %v; want 200 cut short", tc.key, resp.StatusCode, resp.ContentLength, len(body), rerr)
			}
		}
		srv.Close()
		if !strings.Contains(logs.String(), "response aborted mid-body") || !strings.Contains(logs.String(), "shard unreadable") {
			t.Errorf("%s: the cut and its cause are not logged:\n%s", tc.key, logs)
		}
	}
}

// TestAccessLogAndObserve: each request leaves one access line (JSON
// here, as --log-format json gives) whose id is the x-amz-request-id the
// client got, with its status, operation and method, and one
// RequestStats; the secret key is never logged.
func TestAccessLogAndObserve(t *testing.T) {
	var buf syncBuffer
	var mu sync.Mutex
	var stats []RequestStats
	l := newStubLayer()
	l.errs["HeadBucket"] = s3api.ErrNoSuchBucket
	l.errs["OpenObject"] = s3api.ErrNoSuchBucket
	s, _ := newTestServer(l, Config{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Observe: func(st RequestStats) {
		mu.Lock()
		defer mu.Unlock()
		stats = append(stats, st)
	}})
	type want struct {
		status int
		api    string
	}
	ids := map[string]want{}
	for _, tr := range []testRequest{
		{method: "GET", target: "/"},
		{method: "GET", target: "/no-such-bucket"},
		{method: "GET", target: "/no-such-bucket/key"},
		{method: "PUT", target: "/bkt/k", body: "12345"},
	} {
		rec := do(s, tr)
		ids[rec.Header().Get("x-amz-request-id")] = want{rec.Code, map[string]string{"/": "ListBuckets", "/no-such-bucket": "ListObjects",
			"/no-such-bucket/key": "GetObject", "/bkt/k": "PutObject"}[tr.target]}
	}
	found := 0
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["msg"] != "s3" {
			continue
		}
		w, ok := ids[rec["id"].(string)]
		if !ok {
			t.Errorf("access line with an id no client got: %v", rec)
			continue
		}
		found++
		if st, _ := rec["status"].(float64); int(st) != w.status || rec["api"] != w.api || rec["method"] == "" {
			t.Errorf("access line %v: want status %d, api %s", rec, w.status, w.api)
		}
	}
	if found != len(ids) {
		t.Errorf("%d access lines for %d requests:\n%s", found, len(ids), buf.String())
	}
	if strings.Contains(buf.String(), testSecret) {
		t.Error("the secret key appears in the log")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(stats) != 4 || stats[3].API != "PutObject" || stats[3].Status != 200 || stats[3].BytesIn != 5 || stats[1].Status != 404 || stats[0].BytesOut == 0 {
		t.Errorf("RequestStats %+v", stats)
	}
}

// TestTruncatedBodyHalfClosed: a client that declares more bytes than it
// sends and half-closes the connection gets 400 IncompleteBody, and the
// layer sees its read of the body fail (so it commits nothing).
func TestTruncatedBodyHalfClosed(t *testing.T) {
	for _, hash := range []string{"UNSIGNED-PAYLOAD", strings.Repeat("ab", 32)} {
		l := newStubLayer()
		s, logs := newTestServer(l, Config{})
		srv := httptest.NewServer(s.Handler())
		host := strings.TrimPrefix(srv.URL, "http://")
		r := testRequest{method: "PUT", target: "/bkt/trunc", header: hdrs("X-Amz-Content-Sha256", hash)}.build(host)
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		var b strings.Builder
		fmt.Fprintf(&b, "PUT /bkt/trunc HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n", host)
		for k, vs := range r.Header {
			fmt.Fprintf(&b, "%s: %s\r\n", k, vs[0])
		}
		b.WriteString("\r\n")
		b.WriteString(strings.Repeat("x", 500))
		if _, err := io.WriteString(conn, b.String()); err != nil {
			t.Fatal(err)
		}
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: no answer: %v", hash, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		conn.Close()
		srv.Close()
		if resp.StatusCode != 400 || errCode(body) != "IncompleteBody" {
			t.Errorf("%s: got %d %s, want 400 IncompleteBody", hash, resp.StatusCode, body)
		}
		if c := l.call(t, "PutObject"); c.BodyErr == nil || len(c.Body) != 500 {
			t.Errorf("%s: the layer read %d bytes, error %v; want 500 and a failed read", hash, len(c.Body), c.BodyErr)
		}
		if strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("%s: logged at ERROR:\n%s", hash, logs)
		}
	}
}
