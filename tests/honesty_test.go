package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// headersOnly sends req's header section over a fresh connection, with
// "Expect: 100-continue" and a Content-Length of size, and never the body.
// It returns the first response the server sends and how long it took.
func headersOnly(t *testing.T, s *Server, req *http.Request, size int) (*http.Response, []byte, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var names []string
	for k := range req.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n", req.Method, req.URL.RequestURI(), req.Host, size)
	for _, k := range names {
		for _, v := range req.Header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("%s %s: no answer without the body: %v", req.Method, req.URL, err)
	}
	took := time.Since(start)
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	return resp, body.Bytes(), took
}

// TestHonesty checks, against the real binary, the answers of issue 14's
// "honesty and edges": refused encryption, ACL and object-lock headers,
// errors sent before the body with Expect: 100-continue, NoSuchBucket for
// multipart calls, the empty object's part 1, Complete's Location, a
// malformed chunked body and control characters in listed keys.
//
// Serial: an answer before the body must come within 500 ms.
func TestHonesty(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6))
	const bucket = "honest"
	if r := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, ""), "", nil, nil); r.Status != http.StatusOK {
		t.Fatalf("CreateBucket: HTTP %d\n%s", r.Status, r.Body)
	}
	if r := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "exists"), "", []byte("x"), nil); r.Status != http.StatusOK {
		t.Fatalf("PUT: HTTP %d\n%s", r.Status, r.Body)
	}

	t.Run("refused headers", func(t *testing.T) {
		for _, tc := range []struct {
			h      string
			v      string
			status int
			code   string
		}{
			{"X-Amz-Server-Side-Encryption", "AES256", 501, "NotImplemented"},
			{"X-Amz-Server-Side-Encryption", "aws:kms", 501, "NotImplemented"},
			{"X-Amz-Server-Side-Encryption-Customer-Algorithm", "AES256", 400, "InvalidRequest"},
			{"X-Amz-Acl", "public-read", 501, "NotImplemented"},
			{"X-Amz-Grant-Read", `uri="http://acs.amazonaws.com/groups/global/AllUsers"`, 501, "NotImplemented"},
			{"X-Amz-Object-Lock-Legal-Hold", "ON", 400, "InvalidRequest"},
		} {
			key := "refused-" + strings.ToLower(tc.h)
			r := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, key), "", []byte("secret"), http.Header{tc.h: {tc.v}})
			r.wantErr(t, tc.h+": "+tc.v, tc.status, tc.code)
			signedDo(ctx, t, s, http.MethodHead, objectPath(bucket, key), "", nil, nil).wantErr(t, "HEAD after a refused PUT", 404, "")
		}
		if r := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "private"), "", []byte("x"), http.Header{"X-Amz-Acl": {"private"}}); r.Status != 200 {
			t.Errorf("x-amz-acl: private: HTTP %d\n%s", r.Status, r.Body)
		}
		// minio-go's SSE-S3 option.
		_, err := s.Minio(t).PutObject(ctx, bucket, "sse", strings.NewReader("x"), 1,
			minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()})
		if resp := minio.ToErrorResponse(err); resp.Code != "NotImplemented" {
			t.Errorf("minio-go PUT with SSE-S3: %v", err)
		}
	})

	t.Run("website redirect location", func(t *testing.T) {
		// Kept and returned as S3 does without a website endpoint; never
		// dropped, never copied from a copy's source.
		const redirect = "X-Amz-Website-Redirect-Location"
		if r := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "redirected"), "", []byte("x"), http.Header{redirect: {"/elsewhere"}}); r.Status != 200 {
			t.Fatalf("PUT with a redirect: HTTP %d\n%s", r.Status, r.Body)
		}
		if r := signedDo(ctx, t, s, http.MethodHead, objectPath(bucket, "redirected"), "", nil, nil); r.Header.Get(redirect) != "/elsewhere" {
			t.Errorf("HEAD: redirect %q, want /elsewhere", r.Header.Get(redirect))
		}
		signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "bad-redirect"), "", []byte("x"), http.Header{redirect: {"elsewhere"}}).
			wantErr(t, "PUT with a redirect without a prefix", 400, "InvalidRedirectLocation")
		signedDo(ctx, t, s, http.MethodHead, objectPath(bucket, "bad-redirect"), "", nil, nil).wantErr(t, "HEAD after a refused PUT", 404, "")
		cp := http.Header{"X-Amz-Copy-Source": {"/" + bucket + "/redirected"}}
		if r := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "redirect-copy"), "", nil, cp); r.Status != 200 {
			t.Fatalf("copy: HTTP %d\n%s", r.Status, r.Body)
		}
		if r := signedDo(ctx, t, s, http.MethodHead, objectPath(bucket, "redirect-copy"), "", nil, nil); r.Header.Get(redirect) != "" {
			t.Errorf("the copy kept its source's redirect %q", r.Header.Get(redirect))
		}
	})

	t.Run("answers before the body with Expect: 100-continue", func(t *testing.T) {
		for _, tc := range []struct {
			name, path, query string
			h                 http.Header
			secret            string
			status            int
		}{
			{"If-None-Match * on an existing key", objectPath(bucket, "exists"), "", http.Header{"If-None-Match": {"*"}}, testSecretKey, 412},
			{"missing bucket", objectPath("no-such-bucket", "k"), "", nil, testSecretKey, 404},
			{"wrong secret", objectPath(bucket, "k"), "", nil, "wrong-secret", 403},
			{"part of a missing bucket", objectPath("no-such-bucket", "k"), "partNumber=1&uploadId=abc", nil, testSecretKey, 404},
		} {
			req := newRawRequest(ctx, t, s, http.MethodPut, tc.path, tc.query, nil)
			for k, v := range tc.h {
				req.Header[k] = v
			}
			req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			req = signer.SignV4(*req, testAccessKey, tc.secret, "", "us-east-1")
			resp, body, took := headersOnly(t, s, req, 8<<20)
			if resp.StatusCode != tc.status {
				t.Errorf("%s: HTTP %d, want %d\n%s", tc.name, resp.StatusCode, tc.status, body)
			}
			if took > 500*time.Millisecond {
				t.Errorf("%s: the answer took %v", tc.name, took)
			}
		}
	})

	t.Run("multipart on a missing bucket", func(t *testing.T) {
		for _, tc := range []struct{ method, query string }{
			{http.MethodPut, "partNumber=1&uploadId=abc"},
			{http.MethodGet, "uploadId=abc"},
			{http.MethodDelete, "uploadId=abc"},
			{http.MethodDelete, "uploadId=6f1c0c9e-6d1a-4c8e-9f1e-2b7f3c1d0a55"},
		} {
			r := signedDo(ctx, t, s, tc.method, objectPath("no-such-bucket", "k"), tc.query, nil, nil)
			r.wantErr(t, tc.method+" ?"+tc.query, 404, "NoSuchBucket")
		}
	})

	t.Run("part 1 of an empty object", func(t *testing.T) {
		if r := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "empty"), "", []byte{}, nil); r.Status != 200 {
			t.Fatalf("PUT empty: HTTP %d", r.Status)
		}
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			r := signedDo(ctx, t, s, m, objectPath(bucket, "empty"), "partNumber=1", nil, nil)
			if r.Status != 200 || r.Header.Get("Content-Range") != "" || r.Header.Get("Content-Length") != "0" {
				t.Errorf("%s ?partNumber=1: HTTP %d, Content-Range %q, Content-Length %q", m, r.Status, r.Header.Get("Content-Range"), r.Header.Get("Content-Length"))
			}
		}
	})

	t.Run("Complete's Location", func(t *testing.T) {
		core := minio.Core{Client: s.Minio(t)}
		id, err := core.NewMultipartUpload(ctx, bucket, "dir/multi part", minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := core.PutObjectPart(ctx, bucket, "dir/multi part", id, 1, strings.NewReader("part"), 4, minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		info, err := core.CompleteMultipartUpload(ctx, bucket, "dir/multi part", id, []minio.CompletePart{{PartNumber: 1, ETag: p.ETag}}, minio.PutObjectOptions{})
		if want := s.Endpoint + "/" + bucket + "/dir/multi%20part"; err != nil || info.Location != want {
			t.Errorf("Complete: Location %q, %v; want %q", info.Location, err, want)
		}
	})

	t.Run("malformed chunked body", func(t *testing.T) {
		req := newRawRequest(ctx, t, s, http.MethodPut, objectPath(bucket, "chunked"), "", nil)
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		req = signer.SignV4(*req, testAccessKey, testSecretKey, "", "us-east-1")
		conn, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var b strings.Builder
		fmt.Fprintf(&b, "PUT %s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n", req.URL.RequestURI(), req.Host)
		for k, vs := range req.Header {
			fmt.Fprintf(&b, "%s: %s\r\n", k, vs[0])
		}
		b.WriteString("\r\nzz\r\nhello\r\n0\r\n\r\n")
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write([]byte(b.String())); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		rr := &rawResp{Status: resp.StatusCode, Header: resp.Header, Body: body.Bytes()}
		rr.wantErr(t, "broken chunk size", 400, "IncompleteBody")
		time.Sleep(100 * time.Millisecond)
		for _, line := range strings.Split(s.Log(), "\n") {
			if strings.Contains(line, "level=ERROR") && strings.Contains(line, "chunked") {
				t.Errorf("logged at ERROR: %s", line)
			}
		}
	})

	t.Run("control characters in keys", func(t *testing.T) {
		const key = "ctl\x01key"
		if r := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, key), "", []byte("x"), nil); r.Status != 200 {
			t.Fatalf("PUT: HTTP %d\n%s", r.Status, r.Body)
		}
		for _, q := range []string{"prefix=ctl", "list-type=2&prefix=ctl"} {
			r := signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, ""), q, nil, nil)
			if !bytes.Contains(r.Body, []byte("<Key>ctl&#x1;key</Key>")) {
				t.Errorf("GET ?%s: %q", q, r.Body)
			}
		}
		r := signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, key+"-missing"), "", nil, nil)
		if !bytes.Contains(r.Body, []byte("<Key>ctl&#x1;key-missing</Key>")) {
			t.Errorf("NoSuchKey body: %q", r.Body)
		}
	})
}

// TestHonestyBoto3Expect: boto3 sends Expect: 100-continue and waits up to
// a second for an answer before it sends the body; a conditional PUT that
// must fail answers at once.
func TestHonestyBoto3Expect(t *testing.T) {
	parallelHeavy(t, 3*time.Second)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found")
	}
	if out, err := exec.Command("python3", "-c", "import boto3").CombinedOutput(); err != nil {
		t.Skipf("boto3 not importable: %v %s", err, out)
	}
	s := StartServer(t, NewDriveDirs(t, 6))
	const script = `
import os, time, boto3, botocore
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
                  config=Config(retries={"max_attempts": 1}))
s3.create_bucket(Bucket="expect")
s3.put_object(Bucket="expect", Key="k", Body=b"x")
body = b"y" * (1 << 20)
for name, call in [
    ("if-none-match", lambda: s3.put_object(Bucket="expect", Key="k", Body=body, IfNoneMatch="*")),
    ("no-such-bucket", lambda: s3.put_object(Bucket="no-such-bucket", Key="k", Body=body)),
]:
    start = time.time()
    try:
        call()
        print("FAIL", name, "succeeded")
    except botocore.exceptions.ClientError as e:
        print("ANSWER", name, e.response["ResponseMetadata"]["HTTPStatusCode"], "%.3f" % (time.time() - start))
`
	cmd := exec.CommandContext(testCtx(t, time.Minute), "python3", "-c", script)
	cmd.Env = append(os.Environ(),
		"S3_ENDPOINT="+s.Endpoint, "AWS_ACCESS_KEY_ID="+testAccessKey, "AWS_SECRET_ACCESS_KEY="+testSecretKey,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	answers := 0
	for _, line := range strings.Split(string(out), "\n") {
		var name string
		var status int
		var secs float64
		if n, _ := fmt.Sscanf(line, "ANSWER %s %d %f", &name, &status, &secs); n == 3 {
			answers++
			if secs > 0.8 {
				t.Errorf("%s: HTTP %d after %.3fs: the server waited for the body", name, status, secs)
			}
		}
	}
	if answers != 2 {
		t.Errorf("boto3 output:\n%s", out)
	}
}
