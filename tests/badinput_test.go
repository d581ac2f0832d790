package tests

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// badInput is the shared state of TestBadInput's subtests.
type badInput struct {
	ctx    context.Context
	s      *Server
	bucket string
}

// put stores bucket/key with a correctly signed PUT.
func (b *badInput) put(t *testing.T, key string, data []byte) {
	t.Helper()
	r := signedDo(b.ctx, t, b.s, http.MethodPut, objectPath(b.bucket, key), "", data, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("PUT %q: HTTP %d\n%s", key, r.Status, r.Body)
	}
}

// get reads bucket/key with a correctly signed GET.
func (b *badInput) get(t *testing.T, key string) *rawResp {
	t.Helper()
	return signedDo(b.ctx, t, b.s, http.MethodGet, objectPath(b.bucket, key), "", nil, nil)
}

// wantAbsent fails unless GET bucket/key answers 404 NoSuchKey.
func (b *badInput) wantAbsent(t *testing.T, what, key string) {
	t.Helper()
	r := b.get(t, key)
	if r.Status == http.StatusOK {
		t.Errorf("%s: object %q was created (%d bytes)", what, key, len(r.Body))
		return
	}
	r.wantErr(t, what+": GET afterwards", http.StatusNotFound, "NoSuchKey")
}

// wantContent fails unless GET bucket/key returns exactly data.
func (b *badInput) wantContent(t *testing.T, what, key string, data []byte) {
	t.Helper()
	r := b.get(t, key)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, data) {
		t.Errorf("%s: GET %q: HTTP %d, %d bytes, equal to the original %v", what, key, r.Status, len(r.Body), bytes.Equal(r.Body, data))
	}
}

// waitLogged waits until the server has logged a finished request for key
// with the given API name.
func (b *badInput) waitLogged(t *testing.T, api, key string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(b.s.Log(), "\n") {
			if strings.Contains(line, "api="+api+" ") && strings.Contains(line, " key="+key+" ") {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("the server did not log the end of %s %s within 20s", api, key)
}

// streamingBody signs data as an aws-chunked STREAMING-AWS4-HMAC-SHA256-
// PAYLOAD upload of bucket/key and returns the request (without body) and
// the encoded body.
func (b *badInput) streamingBody(t *testing.T, key string, data []byte) (*http.Request, []byte) {
	t.Helper()
	req := newRawRequest(b.ctx, t, b.s, http.MethodPut, objectPath(b.bucket, key), "", nil)
	req.Body = io.NopCloser(bytes.NewReader(data))
	req = signer.StreamingSignV4(req, testAccessKey, testSecretKey, "", "us-east-1", int64(len(data)), time.Now().UTC(), newSHA256Hasher())
	enc, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(enc)) != req.ContentLength {
		t.Fatalf("encoded stream is %d bytes, Content-Length %d", len(enc), req.ContentLength)
	}
	return req, enc
}

// sendBody sends req with body as its payload.
func sendBody(t *testing.T, req *http.Request, body []byte) *rawResp {
	t.Helper()
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = nil
	req.ContentLength = int64(len(body))
	return doRaw(t, req)
}

// chunkSigOffsets returns where each chunk signature's hex value starts in
// an aws-chunked body.
func chunkSigOffsets(enc []byte) []int {
	var out []int
	const marker = ";chunk-signature="
	for off := 0; ; {
		i := bytes.Index(enc[off:], []byte(marker))
		if i < 0 {
			return out
		}
		out = append(out, off+i+len(marker))
		off += i + len(marker)
	}
}

// flipHex changes the hex digit at i to another hex digit.
func flipHex(b []byte, i int) []byte {
	out := slices.Clone(b)
	if out[i] == '0' {
		out[i] = '1'
	} else {
		out[i] = '0'
	}
	return out
}

// rawPut writes a signed PUT request head declaring contentLength bytes to
// a raw connection, then sends only body. With halfClose it half-closes the
// connection and returns the response; otherwise it closes the connection
// at once and returns nil.
func (b *badInput) rawPut(t *testing.T, key string, contentLength int64, payloadHash string, body []byte, halfClose bool) *http.Response {
	t.Helper()
	req := newRawRequest(b.ctx, t, b.s, http.MethodPut, objectPath(b.bucket, key), "", nil)
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	req = signer.SignV4(*req, testAccessKey, testSecretKey, "", "us-east-1")
	var head strings.Builder
	fmt.Fprintf(&head, "PUT %s HTTP/1.1\r\nHost: %s\r\n", req.URL.RequestURI(), b.s.Addr)
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&head, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n", contentLength)
	conn, err := net.DialTimeout("tcp", b.s.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, head.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(body); err != nil {
		t.Fatal(err)
	}
	if !halfClose {
		return nil
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response to a truncated PUT: %v", err)
	}
	return resp
}

// TestBadInput sends malformed, unauthenticated, tampered and hostile
// requests and checks each S3 error code, that nothing bad was stored, that
// no file appeared outside the drive folders, and that the server still
// answers.
func TestBadInput(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 5*time.Minute)
	root := t.TempDir()
	parent := filepath.Join(root, "drives")
	var dirs []string
	for i := 1; i <= 6; i++ {
		dirs = append(dirs, filepath.Join(parent, fmt.Sprintf("drive%d", i)))
	}
	s := StartServer(t, dirs)
	b := &badInput{ctx: ctx, s: s, bucket: "bad-input"}
	if r := signedDo(ctx, t, s, http.MethodPut, "/"+b.bucket, "", nil, nil); r.Status != http.StatusOK {
		t.Fatalf("CreateBucket: HTTP %d\n%s", r.Status, r.Body)
	}
	b.put(t, "exists", []byte("existing content"))

	t.Run("wrong secret", func(t *testing.T) {
		req := newRawRequest(ctx, t, s, http.MethodGet, "/", "", nil)
		doRaw(t, signV4(req, nil, testAccessKey, "not-the-secret")).wantErr(t, "ListBuckets", http.StatusForbidden, "SignatureDoesNotMatch")
		data := []byte("must not be stored")
		req = newRawRequest(ctx, t, s, http.MethodPut, objectPath(b.bucket, "wrong-secret"), "", data)
		doRaw(t, signV4(req, data, testAccessKey, "not-the-secret")).wantErr(t, "PutObject", http.StatusForbidden, "SignatureDoesNotMatch")
		b.wantAbsent(t, "PUT with a wrong secret", "wrong-secret")
		_, err := minioWith(t, s, testAccessKey, "not-the-secret", 1).ListBuckets(ctx)
		if code := minio.ToErrorResponse(err).Code; code != "SignatureDoesNotMatch" {
			t.Errorf("minio-go with a wrong secret: %v, want SignatureDoesNotMatch", err)
		}
	})

	t.Run("unknown access key", func(t *testing.T) {
		req := newRawRequest(ctx, t, s, http.MethodGet, objectPath(b.bucket, "exists"), "", nil)
		doRaw(t, signV4(req, nil, "no-such-access-key", testSecretKey)).wantErr(t, "GetObject", http.StatusForbidden, "InvalidAccessKeyId")
		_, err := minioWith(t, s, "no-such-access-key", testSecretKey, 1).ListBuckets(ctx)
		if code := minio.ToErrorResponse(err).Code; code != "InvalidAccessKeyId" {
			t.Errorf("minio-go with an unknown access key: %v, want InvalidAccessKeyId", err)
		}
	})

	t.Run("unsigned", func(t *testing.T) {
		doRaw(t, newRawRequest(ctx, t, s, http.MethodGet, "/", "", nil)).wantErr(t, "unsigned ListBuckets", http.StatusForbidden, "AccessDenied")
		doRaw(t, newRawRequest(ctx, t, s, http.MethodGet, objectPath(b.bucket, "exists"), "", nil)).wantErr(t, "unsigned GetObject", http.StatusForbidden, "AccessDenied")
		doRaw(t, newRawRequest(ctx, t, s, http.MethodPut, objectPath(b.bucket, "unsigned"), "", []byte("anonymous data"))).wantErr(t, "unsigned PutObject", http.StatusForbidden, "AccessDenied")
		b.wantAbsent(t, "unsigned PUT", "unsigned")
		doRaw(t, newRawRequest(ctx, t, s, http.MethodDelete, objectPath(b.bucket, "exists"), "", nil)).wantErr(t, "unsigned DeleteObject", http.StatusForbidden, "AccessDenied")
		b.wantContent(t, "unsigned DELETE", "exists", []byte("existing content"))
	})

	t.Run("streaming signature tampered", func(t *testing.T) {
		data := randData(300, 200<<10) // 4 chunks of 64 KiB and a short one
		// Untampered, the same construction works.
		req, enc := b.streamingBody(t, "stream-ok", data)
		if r := sendBody(t, req, enc); r.Status != http.StatusOK {
			t.Fatalf("untampered streaming PUT: HTTP %d\n%s", r.Status, r.Body)
		}
		b.wantContent(t, "streaming PUT", "stream-ok", data)

		offs := chunkSigOffsets(enc)
		if len(offs) != 5 {
			t.Fatalf("%d chunk signatures in the stream, want 5", len(offs))
		}
		for _, c := range []struct {
			name, key string
			tamper    func(req *http.Request, enc []byte) []byte
		}{
			{"second chunk signature", "stream-bad-sig2", func(_ *http.Request, enc []byte) []byte { return flipHex(enc, chunkSigOffsets(enc)[1]+10) }},
			{"final empty chunk signature", "stream-bad-final", func(_ *http.Request, enc []byte) []byte { return flipHex(enc, chunkSigOffsets(enc)[4]+63) }},
			{"a data byte of chunk 3", "stream-bad-data", func(_ *http.Request, enc []byte) []byte {
				out := slices.Clone(enc)
				out[chunkSigOffsets(enc)[2]+64+2+1000] ^= 0x01
				return out
			}},
			{"seed signature", "stream-bad-seed", func(req *http.Request, enc []byte) []byte {
				a := req.Header.Get("Authorization")
				i := strings.LastIndex(a, "Signature=") + len("Signature=")
				req.Header.Set("Authorization", a[:i]+string(flipHex([]byte(a[i:]), 5)))
				return enc
			}},
		} {
			for _, overwrite := range []bool{false, true} {
				key := c.key
				if overwrite {
					key += "-overwrite"
					b.put(t, key, []byte("the old content"))
				}
				req, enc := b.streamingBody(t, key, data)
				r := sendBody(t, req, c.tamper(req, enc))
				r.wantErr(t, "streaming PUT with a tampered "+c.name, http.StatusForbidden, "SignatureDoesNotMatch")
				if overwrite {
					b.wantContent(t, "tampered streaming overwrite ("+c.name+")", key, []byte("the old content"))
				} else {
					b.wantAbsent(t, "streaming PUT with a tampered "+c.name, key)
				}
			}
		}
	})

	t.Run("truncated body", func(t *testing.T) {
		full := randData(301, 300<<10)
		half := full[:150<<10]
		for _, c := range []struct {
			name, key, hash string
		}{
			{"unsigned payload", "trunc-unsigned", "UNSIGNED-PAYLOAD"},
			{"signed payload", "trunc-sha256", sha256Hex(full)},
		} {
			for _, overwrite := range []bool{false, true} {
				key := c.key
				if overwrite {
					key += "-overwrite"
					b.put(t, key, []byte("the old content"))
				}
				b.rawPut(t, key, int64(len(full)), c.hash, half, false)
				b.waitLogged(t, "PutObject", key)
				if overwrite {
					b.wantContent(t, "truncated overwrite ("+c.name+")", key, []byte("the old content"))
				} else {
					b.wantAbsent(t, "truncated PUT ("+c.name+")", key)
				}
			}
		}
		// Half-closed: the server sees the end of the body early and says so.
		resp := b.rawPut(t, "trunc-halfclose", int64(len(full)), "UNSIGNED-PAYLOAD", half, true)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		(&rawResp{Status: resp.StatusCode, Body: body}).wantErr(t, "half-closed truncated PUT", http.StatusBadRequest, "IncompleteBody")
		b.wantAbsent(t, "half-closed truncated PUT", "trunc-halfclose")

		// A streaming-signed body cut in the middle of a chunk.
		req, enc := b.streamingBody(t, "trunc-stream", full)
		var head strings.Builder
		fmt.Fprintf(&head, "PUT %s HTTP/1.1\r\nHost: %s\r\n", req.URL.RequestURI(), s.Addr)
		for k, vs := range req.Header {
			for _, v := range vs {
				fmt.Fprintf(&head, "%s: %s\r\n", k, v)
			}
		}
		fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n", len(enc))
		conn, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(conn, head.String())
		_, _ = conn.Write(enc[:len(enc)/2])
		conn.Close()
		b.waitLogged(t, "PutObject", "trunc-stream")
		b.wantAbsent(t, "truncated streaming PUT", "trunc-stream")
	})

	markers := []string{"ecstore-escape-marker-a", "ecstore-escape-marker-b", "ecstore-escape-marker-c", "ecstore-escape-marker-d", "ecstore-escape-marker-e"}
	outside := fmt.Sprintf("ecstore-escape-%d", time.Now().UnixNano())
	traversal := []string{
		"../" + markers[0],
		"../../etc/passwd",
		"../../../../etc/passwd",
		"a/../../../" + markers[1],
		"./" + markers[2],
		"..",
		".",
		"./..",
		"/etc/passwd",
		"//etc/passwd",
		`..\..\` + markers[3],
		"data/../../index/" + markers[4],
		"../drive.json",
		"../../drive.json",
		"../../../drive.json",
		strings.Repeat("../", 20) + "tmp/" + outside,
		"%2e%2e/%2e%2e/literal-percent",
	}
	t.Run("path traversal keys", func(t *testing.T) {
		for i, k := range traversal {
			data := append([]byte(k+"\n"), randData(uint64(400+i), 5000)...)
			r := signedDo(ctx, t, s, http.MethodPut, objectPath(b.bucket, k), "", data, nil)
			if r.Status != http.StatusOK {
				t.Errorf("PUT %q: HTTP %d %s", k, r.Status, r.Err().Code)
				continue
			}
			b.wantContent(t, "traversal key round trip", k, data)
			h := signedDo(ctx, t, s, http.MethodHead, objectPath(b.bucket, k), "", nil, nil)
			if h.Status != http.StatusOK || h.Header.Get("Content-Length") != strconv.Itoa(len(data)) {
				t.Errorf("HEAD %q: HTTP %d length %s, want 200 %d", k, h.Status, h.Header.Get("Content-Length"), len(data))
			}
		}
		// The same key sent with its dots and slashes percent-encoded.
		enc := "/" + b.bucket + "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd"
		r := signedDo(ctx, t, s, http.MethodGet, enc, "", nil, nil)
		if r.Status != http.StatusOK || !bytes.HasPrefix(r.Body, []byte("../../etc/passwd\n")) {
			t.Errorf("GET %s: HTTP %d, body starts %q; want the object ../../etc/passwd", enc, r.Status, r.Body[:min(len(r.Body), 40)])
		}
		got, _ := listKeys(ctx, t, s.Minio(t), b.bucket, minio.ListObjectsOptions{Recursive: true})
		for _, k := range traversal {
			if !slices.Contains(got, k) {
				t.Errorf("listing lacks the key %q; got %q", k, got)
			}
		}
	})

	t.Run("bad digest", func(t *testing.T) {
		data := []byte("content whose md5 is not sent")
		other := md5.Sum([]byte("something else"))
		bad := http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(other[:])}}
		signedDo(ctx, t, s, http.MethodPut, objectPath(b.bucket, "bad-md5"), "", data, bad).wantErr(t, "PUT with a wrong Content-MD5", http.StatusBadRequest, "BadDigest")
		b.wantAbsent(t, "PUT with a wrong Content-MD5", "bad-md5")
		signedDo(ctx, t, s, http.MethodPut, objectPath(b.bucket, "exists"), "", data, bad).wantErr(t, "overwrite with a wrong Content-MD5", http.StatusBadRequest, "BadDigest")
		b.wantContent(t, "overwrite with a wrong Content-MD5", "exists", []byte("existing content"))
		garbage := http.Header{"Content-Md5": {"not base64 at all!"}}
		signedDo(ctx, t, s, http.MethodPut, objectPath(b.bucket, "bad-md5"), "", data, garbage).wantErr(t, "PUT with a malformed Content-MD5", http.StatusBadRequest, "InvalidDigest")
		b.wantAbsent(t, "PUT with a malformed Content-MD5", "bad-md5")
		good := md5.Sum(data)
		ok := http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(good[:])}}
		if r := signedDo(ctx, t, s, http.MethodPut, objectPath(b.bucket, "good-md5"), "", data, ok); r.Status != http.StatusOK {
			t.Errorf("PUT with the right Content-MD5: HTTP %d %s", r.Status, r.Err().Code)
		}

		// An upload part with a wrong Content-MD5 is refused and not listed.
		r := signedDo(ctx, t, s, http.MethodPost, objectPath(b.bucket, "mpu-bad-md5"), "uploads=", nil, nil)
		var init struct{ UploadId string }
		if err := xml.Unmarshal(r.Body, &init); err != nil || init.UploadId == "" {
			t.Fatalf("CreateMultipartUpload: HTTP %d %v\n%s", r.Status, err, r.Body)
		}
		q := "partNumber=1&uploadId=" + init.UploadId
		signedDo(ctx, t, s, http.MethodPut, objectPath(b.bucket, "mpu-bad-md5"), q, data, bad).wantErr(t, "UploadPart with a wrong Content-MD5", http.StatusBadRequest, "BadDigest")
		r = signedDo(ctx, t, s, http.MethodGet, objectPath(b.bucket, "mpu-bad-md5"), "uploadId="+init.UploadId, nil, nil)
		if r.Status != http.StatusOK || bytes.Contains(r.Body, []byte("<Part>")) {
			t.Errorf("ListParts after a refused part: HTTP %d\n%s", r.Status, r.Body)
		}
		signedDo(ctx, t, s, http.MethodDelete, objectPath(b.bucket, "mpu-bad-md5"), "uploadId="+init.UploadId, nil, nil)
	})

	t.Run("missing and bad names", func(t *testing.T) {
		r := b.get(t, "no/such key")
		r.wantErr(t, "GET missing key", http.StatusNotFound, "NoSuchKey")
		if e := r.Err(); e.Key != "no/such key" || e.BucketName != b.bucket {
			t.Errorf("NoSuchKey error names key %q bucket %q", e.Key, e.BucketName)
		}
		if h := signedDo(ctx, t, s, http.MethodHead, objectPath(b.bucket, "no/such key"), "", nil, nil); h.Status != http.StatusNotFound {
			t.Errorf("HEAD missing key: HTTP %d, want 404", h.Status)
		}
		signedDo(ctx, t, s, http.MethodGet, objectPath("no-such-bucket", "key"), "", nil, nil).wantErr(t, "GET in a missing bucket", http.StatusNotFound, "NoSuchBucket")
		signedDo(ctx, t, s, http.MethodGet, "/no-such-bucket", "list-type=2", nil, nil).wantErr(t, "ListObjectsV2 of a missing bucket", http.StatusNotFound, "NoSuchBucket")
		signedDo(ctx, t, s, http.MethodPut, objectPath("no-such-bucket", "key"), "", []byte("x"), nil).wantErr(t, "PUT in a missing bucket", http.StatusNotFound, "NoSuchBucket")
		signedDo(ctx, t, s, http.MethodDelete, "/no-such-bucket", "", nil, nil).wantErr(t, "DeleteBucket of a missing bucket", http.StatusNotFound, "NoSuchBucket")
		for _, name := range []string{"ab", "UpperCase", "under_score", "-leading-dash", "trailing-dash-", "double..dot", "192.168.1.1", strings.Repeat("a", 64), "dot.-dash"} {
			signedDo(ctx, t, s, http.MethodPut, "/"+name, "", nil, nil).wantErr(t, "CreateBucket "+name, http.StatusBadRequest, "InvalidBucketName")
		}
		long := strings.Repeat("k", 1024)
		b.put(t, long, []byte("longest key"))
		b.wantContent(t, "1024-byte key", long, []byte("longest key"))
		signedDo(ctx, t, s, http.MethodPut, objectPath(b.bucket, long+"k"), "", []byte("x"), nil).wantErr(t, "PUT with a 1025-byte key", http.StatusBadRequest, "KeyTooLongError")
		signedDo(ctx, t, s, http.MethodDelete, "/"+b.bucket, "", nil, nil).wantErr(t, "DeleteBucket of a non-empty bucket", http.StatusConflict, "BucketNotEmpty")
		signedDo(ctx, t, s, http.MethodPut, "/"+b.bucket, "", nil, nil).wantErr(t, "CreateBucket twice", http.StatusConflict, "BucketAlreadyOwnedByYou")
		b.wantContent(t, "after DeleteBucket was refused", "exists", []byte("existing content"))
	})

	// The server still answers, and wrote nothing outside its folders.
	r := signedDo(ctx, t, s, http.MethodGet, "/", "", nil, nil)
	if r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte("<Name>"+b.bucket+"</Name>")) {
		t.Errorf("ListBuckets at the end: HTTP %d\n%s", r.Status, r.Body)
	}
	select {
	case <-s.exited:
		t.Fatalf("the server exited:\n%s", s.Log())
	default:
	}
	s.Stop() // so that the drive folders hold still while they are walked
	err := filepath.WalkDir(filepath.Dir(root), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == filepath.Dir(root) || p == root || p == parent {
			return nil
		}
		inDrive := false
		for _, dir := range dirs {
			if p == dir || strings.HasPrefix(p, dir+string(filepath.Separator)) {
				inDrive = true
			}
		}
		if !inDrive {
			t.Errorf("file outside the drive folders: %s", p)
		}
		name := d.Name()
		if slices.Contains(markers, name) || name == "passwd" || name == outside || name == "literal-percent" {
			t.Errorf("a file is named after an object key: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("/tmp", outside)); !os.IsNotExist(err) {
		t.Errorf("/tmp/%s exists (stat err %v): a key escaped to the file system", outside, err)
	}
}
