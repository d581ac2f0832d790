package s3compat

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
)

// rawExchange sends a request signed with the test credentials (plus
// extra headers) over a fresh connection to srv: the header section, then
// body as given (raw bytes, already framed), and reads the response's
// status line, header and body. It fails the test after 5s.
func rawExchange(t *testing.T, srv *httptest.Server, method, target string, extra map[string]string, body string, secret string) (*http.Response, time.Duration) {
	t.Helper()
	host := strings.TrimPrefix(srv.URL, "http://")
	r := testRequest{method: method, target: target, header: extra, secret: secret}.build(host)
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var names []string
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, host)
	for _, k := range names {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: no response within 5s: %v", method, target, err)
	}
	took := time.Since(start)
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	resp.Header.Set("X-Test-Body", sb.String())
	return resp, took
}

// TestExpectContinueAnswersEarly: with Expect: 100-continue, an answer
// decided by the headers alone (authentication, the bucket, If-None-Match)
// goes out at once, not after a 100 Continue and the body. The client here
// never sends the body.
func TestExpectContinueAnswersEarly(t *testing.T) {
	layer := newMemLayer("bkt")
	layer.objects["bkt/k"] = memObject{info: s3api.ObjectInfo{Bucket: "bkt", Key: "k", ETag: "e"}}
	layer.uploads["upload-1"] = "bkt/k"
	s, _ := newTestServer(layer, Config{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	expect := func(kv ...string) map[string]string {
		m := map[string]string{"Expect": "100-continue", "Content-Length": "1048576"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name, method, target string
		header               map[string]string
		secret               string
		status               int
		code                 string
	}{
		{"If-None-Match * on an existing key", "PUT", "/bkt/k", expect("If-None-Match", "*"), testSecret, 412, "PreconditionFailed"},
		{"missing bucket", "PUT", "/nobkt/k", expect(), testSecret, 404, "NoSuchBucket"},
		{"wrong secret", "PUT", "/bkt/k2", expect(), "not-the-secret", 403, "SignatureDoesNotMatch"},
		{"part of a missing bucket", "PUT", "/nobkt/k?partNumber=1&uploadId=upload-1", expect(), testSecret, 404, "NoSuchBucket"},
		{"part of a missing upload", "PUT", "/bkt/k?partNumber=1&uploadId=upload-9", expect(), testSecret, 404, "NoSuchUpload"},
		{"encryption header", "PUT", "/bkt/k2", expect("x-amz-server-side-encryption", "AES256"), testSecret, 501, "NotImplemented"},
	}
	for _, tc := range tests {
		resp, took := rawExchange(t, srv, tc.method, tc.target, tc.header, "", tc.secret)
		body := resp.Header.Get("X-Test-Body")
		if resp.StatusCode != tc.status || errCode([]byte(body)) != tc.code {
			t.Errorf("%s: got %d %q, want %d %q (%s)", tc.name, resp.StatusCode, errCode([]byte(body)), tc.status, tc.code, body)
		}
		if took > 500*time.Millisecond {
			t.Errorf("%s: the answer took %v: the server waited for the body", tc.name, took)
		}
	}
}

// TestMalformedBody: a request body whose framing is broken (HTTP chunked
// encoding, or aws-chunked inside it) is the client's error: 400
// IncompleteBody (InvalidRequest for a broken aws-chunked framing, as
// sigv4 says), logged below ERROR, never 500 InternalError.
func TestMalformedBody(t *testing.T) {
	tests := []struct {
		name   string
		header map[string]string
		body   string
		code   string // default IncompleteBody
	}{
		{"broken HTTP chunk size", map[string]string{"Transfer-Encoding": "chunked"}, "zz\r\nhello\r\n0\r\n\r\n", ""},
		{"HTTP chunk longer than announced", map[string]string{"Transfer-Encoding": "chunked"}, "2\r\nhello\r\n0\r\n\r\n", ""},
		{"aws-chunked in broken HTTP chunks", map[string]string{"Transfer-Encoding": "chunked", "Content-Encoding": "aws-chunked",
			"X-Amz-Decoded-Content-Length": "5", "X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}, "3\r\n5\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", ""},
		{"broken aws-chunked size", map[string]string{"Content-Length": "18", "Content-Encoding": "aws-chunked",
			"X-Amz-Decoded-Content-Length": "5", "X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}, "zz\r\nhello\r\n0\r\n\r\n\r\n", "InvalidRequest"},
	}
	for _, tc := range tests {
		layer := newMemLayer("bkt")
		s, logs := newTestServer(layer, Config{})
		srv := httptest.NewServer(s.Handler())
		resp, _ := rawExchange(t, srv, "PUT", "/bkt/k", tc.header, tc.body, testSecret)
		srv.Close()
		body := resp.Header.Get("X-Test-Body")
		if tc.code == "" {
			tc.code = "IncompleteBody"
		}
		if resp.StatusCode != 400 || errCode([]byte(body)) != tc.code {
			t.Errorf("%s: got %d %q, want 400 %s (%s)", tc.name, resp.StatusCode, errCode([]byte(body)), tc.code, body)
		}
		if strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("%s: logged at ERROR:\n%s", tc.name, logs)
		}
		if _, ok := layer.objects["bkt/k"]; ok {
			t.Errorf("%s: stored", tc.name)
		}
	}
}
