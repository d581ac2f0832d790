package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// stallTimeout is the idle timeout (body, write and keep-alive) the stall
// tests give the server.
const stallTimeout = 2 * time.Second

// startStallServer starts a server with short idle timeouts and a bucket.
// The timeouts go through their ECSTORE_* environment variables (the flags
// --body-idle-timeout, --write-idle-timeout, --idle-timeout), set for the
// server process only (t.Setenv would keep the test from running in
// parallel).
func startStallServer(t *testing.T) (*Server, *minio.Client) {
	t.Helper()
	d := stallTimeout.String()
	s := &Server{t: t, Dirs: NewDriveDirs(t, 6), Args: []string{"server"},
		Env: []string{"ECSTORE_BODY_IDLE_TIMEOUT=" + d, "ECSTORE_WRITE_IDLE_TIMEOUT=" + d, "ECSTORE_IDLE_TIMEOUT=" + d}}
	s.start()
	t.Cleanup(s.Stop)
	mc := s.Minio(t)
	if err := mc.MakeBucket(testCtx(t, 30*time.Second), "stall", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return s, mc
}

// stalledRequest writes a signed request head (payload hash from the
// X-Amz-Content-Sha256 in hdr, UNSIGNED-PAYLOAD by default) and then only
// body, and returns the connection without closing it: the client went
// silent mid-body.
func stalledRequest(t *testing.T, s *Server, method, path, query string, hdr http.Header, contentLength int64, body []byte) net.Conn {
	t.Helper()
	req := newRawRequest(context.Background(), t, s, method, path, query, nil)
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	for k, v := range hdr {
		req.Header[k] = v
	}
	req = signer.SignV4(*req, testAccessKey, testSecretKey, "", "us-east-1")
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, req.URL.RequestURI(), s.Addr)
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&head, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n", contentLength)
	return sendStalled(t, s, head.String(), body)
}

// sendStalled writes head and body to a new connection and leaves it open.
func sendStalled(t *testing.T, s *Server, head string, body []byte) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(body); err != nil {
		t.Fatal(err)
	}
	return conn
}

// wantRequestTimeout reads the answer to a stalled request: 400
// RequestTimeout, about stallTimeout after the client went silent.
func wantRequestTimeout(t *testing.T, what string, conn net.Conn, silentSince time.Time) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(4 * stallTimeout))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: no answer within %v of going silent: %v", what, 4*stallTimeout, err)
	}
	took := time.Since(silentSince)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e s3Err
	_ = xml.Unmarshal(b, &e)
	if resp.StatusCode != http.StatusBadRequest || e.Code != "RequestTimeout" {
		t.Fatalf("%s: got HTTP %d %q, want 400 RequestTimeout; body:\n%s", what, resp.StatusCode, e.Code, b)
	}
	if took < stallTimeout*8/10 {
		t.Errorf("%s: cut after %v of silence, before the timeout %v", what, took, stallTimeout)
	}
	t.Logf("%s: 400 RequestTimeout after %v of silence", what, took.Round(10*time.Millisecond))
}

// tempShards lists the temporary shard files left in the drives' tmp
// folders (storagenode keeps a shard there until it is committed).
func tempShards(t *testing.T, s *Server) []string {
	t.Helper()
	var left []string
	for _, d := range s.Dirs {
		ents, err := os.ReadDir(filepath.Join(d, "tmp"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, e := range ents {
			left = append(left, filepath.Join(d, "tmp", e.Name()))
		}
	}
	return left
}

// wantNoTempShards waits (bounded) until no temporary shard file is left.
func wantNoTempShards(t *testing.T, s *Server, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := tempShards(t, s)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d temporary shard files remain: %v", what, len(left), left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStalledUploadTimesOut: a client that sends half a body and goes
// silent gets 400 RequestTimeout after the body idle timeout, its temporary
// shards are removed, and meanwhile neither other writes nor an operator's
// heal wait behind it. Covered: PUT, UploadPart, an aws-chunked PUT.
func TestStalledUploadTimesOut(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 3*time.Minute)
	s, mc := startStallServer(t)
	const size = 4 << 20 // shard files, not inline
	orig := randData(1, 256<<10)
	if _, err := mc.PutObject(ctx, "stall", "victim", bytes.NewReader(orig), int64(len(orig)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	half := randData(2, size/2)

	t.Run("PUT", func(t *testing.T) {
		// An overwrite of an existing object: the heal walk meets its key.
		conn := stalledRequest(t, s, http.MethodPut, objectPath("stall", "victim"), "", nil, size, half)
		silent := time.Now()
		// Meanwhile other keys are written and deleted...
		other := randData(3, 300<<10)
		octx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := mc.PutObject(octx, "stall", "other", bytes.NewReader(other), int64(len(other)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PUT of another key during the stall: %v", err)
		}
		if err := mc.RemoveObject(octx, "stall", "other", minio.RemoveObjectOptions{}); err != nil {
			t.Fatalf("DELETE of another key during the stall: %v", err)
		}
		// ...and an operator's heal of every object (the stalled key
		// included) runs to its end, as does its status.
		hctx, hcancel := context.WithTimeout(ctx, 60*time.Second)
		defer hcancel()
		if out, err := adminRunCtx(hctx, s.Endpoint, "heal"); err != nil {
			t.Fatalf("admin heal during the stall: %v\n%s", err, out)
		}
		sctx, scancel := context.WithTimeout(ctx, 15*time.Second)
		defer scancel()
		if out, err := adminRunCtx(sctx, s.Endpoint, "heal", "--status"); err != nil {
			t.Fatalf("admin heal --status: %v\n%s", err, out)
		}
		wantRequestTimeout(t, "stalled PUT", conn, silent)
		wantNoTempShards(t, s, "after the stalled PUT")
		got, err := mc.GetObject(ctx, "stall", "victim", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(got)
		if err != nil || !bytes.Equal(b, orig) {
			t.Fatalf("the object under the stalled overwrite: %d bytes, %v; want the original %d", len(b), err, len(orig))
		}
	})

	t.Run("UploadPart", func(t *testing.T) {
		core := minio.Core{Client: mc}
		id, err := core.NewMultipartUpload(ctx, "stall", "mp", minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		conn := stalledRequest(t, s, http.MethodPut, objectPath("stall", "mp"), "partNumber=1&uploadId="+id, nil, size, half)
		wantRequestTimeout(t, "stalled UploadPart", conn, time.Now())
		wantNoTempShards(t, s, "after the stalled UploadPart")
		// The upload itself is intact: a part sent in full is taken.
		part := randData(4, 1<<20)
		if _, err := core.PutObjectPart(ctx, "stall", "mp", id, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{}); err != nil {
			t.Fatalf("UploadPart after the stalled one: %v", err)
		}
		if err := core.AbortMultipartUpload(ctx, "stall", "mp", id); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("aws-chunked", func(t *testing.T) {
		hdr := http.Header{}
		hdr.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
		hdr.Set("Content-Encoding", "aws-chunked")
		hdr.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(size))
		chunk := fmt.Sprintf("%x\r\n", size)
		wire := int64(len(chunk)) + size + int64(len("\r\n0\r\n\r\n"))
		conn := stalledRequest(t, s, http.MethodPut, objectPath("stall", "chunked"), "", hdr, wire, append([]byte(chunk), half...))
		wantRequestTimeout(t, "stalled aws-chunked PUT", conn, time.Now())
		wantNoTempShards(t, s, "after the stalled aws-chunked PUT")
		if _, err := mc.StatObject(ctx, "stall", "chunked", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Errorf("the stalled aws-chunked PUT left an object: %v", err)
		}
	})
}

// TestStalledPostFormTimesOut: a browser-form upload (POST) that goes
// silent in its file part is answered 400 RequestTimeout as well.
func TestStalledPostFormTimesOut(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 2*time.Minute)
	s, mc := startStallServer(t)
	const size = 4 << 20
	p := minio.NewPostPolicy()
	for _, err := range []error{p.SetBucket("stall"), p.SetKey("form"), p.SetExpires(time.Now().Add(time.Hour))} {
		if err != nil {
			t.Fatal(err)
		}
	}
	_, fields, err := mc.PresignedPostPolicy(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	const boundary = "stallboundary"
	var form bytes.Buffer
	for k, v := range fields {
		fmt.Fprintf(&form, "--%s\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", boundary, k, v)
	}
	fmt.Fprintf(&form, "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n", boundary)
	tail := fmt.Sprintf("\r\n--%s--\r\n", boundary)
	total := form.Len() + size + len(tail)
	form.Write(randData(6, size/2))
	head := fmt.Sprintf("POST /stall HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n",
		s.Addr, boundary, total)
	conn := sendStalled(t, s, head, form.Bytes())
	wantRequestTimeout(t, "stalled POST form", conn, time.Now())
	wantNoTempShards(t, s, "after the stalled POST form")
	if _, err := mc.StatObject(ctx, "stall", "form", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Errorf("the stalled POST form left an object: %v", err)
	}
}

// TestStalledReaderIsCut: a GET client that stops reading is disconnected
// after the write idle timeout; the server serves on.
func TestStalledReaderIsCut(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 2*time.Minute)
	s, mc := startStallServer(t)
	// Larger than what the kernel buffers on the two sides of a loopback
	// connection, so the server's writes block.
	const size = 24 << 20
	data := randData(5, size)
	if _, err := mc.PutObject(ctx, "stall", "big", bytes.NewReader(data), size, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	req := signV4(newRawRequest(ctx, t, s, http.MethodGet, objectPath("stall", "big"), "", nil), nil, testAccessKey, testSecretKey)
	conn, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(16 << 10)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReaderSize(conn, 4<<10)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength != size {
		t.Fatalf("GET: HTTP %d, %d bytes", resp.StatusCode, resp.ContentLength)
	}
	// Read nothing for well past the write idle timeout...
	time.Sleep(3 * stallTimeout)
	// ...then the connection must have been cut short.
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && n == size {
		t.Fatalf("the server kept a reader that read nothing for %v (write idle timeout %v): all %d bytes came", 3*stallTimeout, stallTimeout, n)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection is still open after %v of not reading (read %d bytes, then %v)", 3*stallTimeout, n, err)
	}
	t.Logf("cut after %d of %d bytes: %v", n, size, err)
	// The server still serves.
	if _, err := mc.StatObject(ctx, "stall", "big", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("HEAD after the cut: %v", err)
	}
}

// TestIdleKeepAliveClosed: a keep-alive connection with no next request
// is closed after the idle timeout.
//
// Serial: the close must come between 0.8x and 3x the 2 s idle timeout.
func TestIdleKeepAliveClosed(t *testing.T) {
	s, _ := startStallServer(t)
	conn, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /health/live HTTP/1.1\r\nHost: %s\r\n\r\n", s.Addr)
	_ = conn.SetReadDeadline(time.Now().Add(10 * stallTimeout))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("GET /health/live: HTTP %d, close %v; want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
	}
	idle := time.Now()
	_, err = br.ReadByte()
	took := time.Since(idle)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("an idle keep-alive connection is still open after %v (idle timeout %v)", took, stallTimeout)
	case err == nil:
		t.Fatal("the server sent bytes on an idle connection")
	case took < stallTimeout*8/10 || took > 3*stallTimeout:
		t.Errorf("idle connection closed after %v, want about %v", took, stallTimeout)
	}
}
