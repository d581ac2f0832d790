package tests

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// testCtx returns a context that ends after d or when the test ends.
func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// randData returns n pseudo-random bytes, the same for the same seed.
func randData(seed uint64, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24), 0xec}).Read(b)
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// multipartETag is S3's ETag of an object uploaded in parts of partSize
// bytes (the last one shorter).
func multipartETag(data []byte, partSize int) string {
	var parts [][]byte
	for off := 0; off < len(data); off += partSize {
		parts = append(parts, data[off:min(off+partSize, len(data))])
	}
	return partsETag(parts...)
}

// partsETag is S3's ETag of an object assembled from parts: the md5 of
// the parts' md5s, "-", the part count.
func partsETag(parts ...[]byte) string {
	var sums []byte
	for _, p := range parts {
		s := md5.Sum(p)
		sums = append(sums, s[:]...)
	}
	return fmt.Sprintf("%s-%d", md5Hex(sums), len(parts))
}

// writeTestFile writes data to path, making its folders.
func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fileSHA256 returns the SHA-256 of a file's content.
func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256Hex(b)
}

// treeSHA256 maps every regular file under root (by slash-separated
// relative path) to the SHA-256 of its content.
func treeSHA256(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = fileSHA256(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// decodeJSONOutput decodes the first JSON value in CLI output into v
// (the aws CLI may print warnings before it).
func decodeJSONOutput(t *testing.T, out string, v any) {
	t.Helper()
	i := strings.IndexAny(out, "{[")
	if i < 0 {
		t.Fatalf("no JSON in output:\n%s", out)
	}
	if err := json.NewDecoder(strings.NewReader(out[i:])).Decode(v); err != nil {
		t.Fatalf("decoding JSON: %v\noutput:\n%s", err, out)
	}
}

// minioWith returns a minio-go client for s with the given credentials and
// retry count (1 = no retries, so errors such as 503 come back at once).
func minioWith(t *testing.T, s *Server, access, secret string, retries int) *minio.Client {
	t.Helper()
	opts := &minio.Options{
		Creds:      credentials.NewStaticV4(access, secret, ""),
		Region:     "us-east-1",
		MaxRetries: retries,
	}
	if s.TLS != nil {
		opts.Secure, opts.Transport = true, s.TLS.transport()
	}
	c, err := minio.New(s.Addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// s3Err is S3's XML error body.
type s3Err struct {
	Code       string `xml:"Code"`
	Message    string `xml:"Message"`
	Key        string `xml:"Key"`
	BucketName string `xml:"BucketName"`
	RequestID  string `xml:"RequestId"`
}

// rawResp is a response read in full.
type rawResp struct {
	Status int
	Header http.Header
	Body   []byte
}

// Err parses the body as an S3 error; Code is "" when it is not one.
func (r *rawResp) Err() s3Err {
	var e s3Err
	if err := xml.Unmarshal(r.Body, &e); err != nil {
		return s3Err{}
	}
	return e
}

// wantErr fails the test unless r is an S3 error with the given status and
// code.
func (r *rawResp) wantErr(t *testing.T, what string, status int, code string) {
	t.Helper()
	e := r.Err()
	if r.Status != status || e.Code != code {
		t.Errorf("%s: got HTTP %d code %q (%s), want HTTP %d code %q; body:\n%s", what, r.Status, e.Code, e.Message, status, code, r.Body)
	}
}

// objectPath is the escaped path-style path of bucket/key.
func objectPath(bucket, key string) string {
	if key == "" {
		return "/" + bucket
	}
	return "/" + bucket + "/" + s3utils.EncodePath(key)
}

// newRawRequest builds a request to s for an escaped path and raw query.
func newRawRequest(ctx context.Context, t *testing.T, s *Server, method, path, query string, body []byte) *http.Request {
	t.Helper()
	u, err := url.Parse(s.Endpoint + path)
	if err != nil {
		t.Fatal(err)
	}
	u.RawQuery = query
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		t.Fatal(err)
	}
	// Keep the exact escaping we were given.
	req.URL.RawPath = path
	req.ContentLength = int64(len(body))
	return req
}

// signV4 signs req (header auth, payload hashed when body is given) with
// the given credentials.
func signV4(req *http.Request, body []byte, access, secret string) *http.Request {
	req.Header.Set("X-Amz-Content-Sha256", sha256Hex(body))
	return signer.SignV4(*req, access, secret, "", "us-east-1")
}

// doRaw sends req and reads the whole response.
func doRaw(t *testing.T, req *http.Request) *rawResp {
	t.Helper()
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return &rawResp{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// signedDo sends a request signed with the test credentials.
func signedDo(ctx context.Context, t *testing.T, s *Server, method, path, query string, body []byte, hdr http.Header) *rawResp {
	t.Helper()
	req := newRawRequest(ctx, t, s, method, path, query, body)
	for k, v := range hdr {
		req.Header[k] = v
	}
	return doRaw(t, signV4(req, body, testAccessKey, testSecretKey))
}

// sha256Hasher satisfies minio-go's md5simd.Hasher for the streaming
// signer.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

func newSHA256Hasher() sha256Hasher { return sha256Hasher{sha256.New()} }
