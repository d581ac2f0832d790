package s3compat

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/ecstore/ecstore/s3api"
)

// memLayer is a small in-memory s3api.ObjectLayer for handler tests. Like the
// gateway, it decides the bucket and the write conditions before it reads
// a body.
type memLayer struct {
	mu      sync.Mutex
	buckets map[string]bool
	objects map[string]memObject // bucket + "/" + key
	uploads map[string]string    // upload id -> bucket + "/" + key
	// failPut, when set, is returned by PutObject after reading the body.
	failPut error
}

type memObject struct {
	info s3api.ObjectInfo
	data []byte
}

func newMemLayer(buckets ...string) *memLayer {
	l := &memLayer{buckets: map[string]bool{}, objects: map[string]memObject{}, uploads: map[string]string{}}
	for _, b := range buckets {
		l.buckets[b] = true
	}
	return l
}

func (l *memLayer) MakeBucket(_ context.Context, bucket string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets[bucket] {
		return s3api.ErrBucketAlreadyOwnedByYou
	}
	l.buckets[bucket] = true
	return nil
}

func (l *memLayer) HeadBucket(_ context.Context, bucket string) (s3api.BucketInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.buckets[bucket] {
		return s3api.BucketInfo{}, s3api.ErrNoSuchBucket
	}
	return s3api.BucketInfo{Name: bucket}, nil
}

func (l *memLayer) DeleteBucket(context.Context, string) error { return s3api.ErrNotImplemented }
func (l *memLayer) ListBuckets(context.Context) ([]s3api.BucketInfo, error) {
	return nil, s3api.ErrNotImplemented
}

func (l *memLayer) PutObject(ctx context.Context, bucket, key string, body io.Reader, size int64, opts s3api.PutOptions) (s3api.ObjectInfo, error) {
	if _, err := l.HeadBucket(ctx, bucket); err != nil {
		return s3api.ObjectInfo{}, err
	}
	l.mu.Lock()
	_, exists := l.objects[bucket+"/"+key]
	l.mu.Unlock()
	if opts.IfNoneMatch == "*" && exists {
		return s3api.ObjectInfo{}, s3api.ErrPreconditionFailed
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return s3api.ObjectInfo{}, err
	}
	if l.failPut != nil {
		return s3api.ObjectInfo{}, l.failPut
	}
	sum := md5.Sum(data)
	info := s3api.ObjectInfo{Bucket: bucket, Key: key, Size: int64(len(data)), ETag: hex.EncodeToString(sum[:]), ModTime: time.Now(),
		ContentType: opts.ContentType, UserMeta: opts.UserMeta, Headers: opts.Headers}
	l.mu.Lock()
	l.objects[bucket+"/"+key] = memObject{info: info, data: data}
	l.mu.Unlock()
	return info, nil
}

type memOpened struct{ memObject }

func (o memOpened) Info() s3api.ObjectInfo { return o.info }
func (o memOpened) Read(_ context.Context, w io.Writer, off, n int64) error {
	_, err := w.Write(o.data[off : off+n])
	return err
}

func (l *memLayer) OpenObject(ctx context.Context, bucket, key string) (s3api.Object, error) {
	if _, err := l.HeadBucket(ctx, bucket); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	o, ok := l.objects[bucket+"/"+key]
	if !ok {
		return nil, s3api.ErrNoSuchKey
	}
	return memOpened{o}, nil
}

func (l *memLayer) DeleteObject(context.Context, string, string) error { return nil }

func (l *memLayer) ListObjects(ctx context.Context, bucket string, p s3api.ListParams) (s3api.ListResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var res s3api.ListResult
	for name, o := range l.objects {
		if b, k, _ := strings.Cut(name, "/"); b == bucket && strings.HasPrefix(k, p.Prefix) && k > p.After {
			res.Objects = append(res.Objects, o.info)
		}
	}
	slices.SortFunc(res.Objects, func(a, b s3api.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return res, nil
}

func (l *memLayer) NewMultipartUpload(ctx context.Context, bucket, key string, _ s3api.PutOptions) (string, error) {
	if _, err := l.HeadBucket(ctx, bucket); err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	id := "upload-" + strconv.Itoa(len(l.uploads)+1)
	l.uploads[id] = bucket + "/" + key
	return id, nil
}

// upload answers NoSuchUpload for an unknown id, whatever the bucket, as
// the gateway does for an id that is not a UUID.
func (l *memLayer) upload(bucket, key, id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.uploads[id] != bucket+"/"+key {
		return s3api.ErrNoSuchUpload
	}
	return nil
}

func (l *memLayer) PutObjectPart(_ context.Context, bucket, key, id string, n int, body io.Reader, _ int64, _ s3api.PutOptions) (s3api.PartInfo, error) {
	if err := l.upload(bucket, key, id); err != nil {
		return s3api.PartInfo{}, err
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return s3api.PartInfo{}, err
	}
	sum := md5.Sum(data)
	return s3api.PartInfo{Number: n, Size: int64(len(data)), ETag: hex.EncodeToString(sum[:])}, nil
}

func (l *memLayer) CompleteMultipartUpload(_ context.Context, bucket, key, id string, _ []s3api.CompletePart, _ s3api.PutOptions) (s3api.ObjectInfo, error) {
	if err := l.upload(bucket, key, id); err != nil {
		return s3api.ObjectInfo{}, err
	}
	return s3api.ObjectInfo{Bucket: bucket, Key: key, ETag: "0123456789abcdef0123456789abcdef-1", ModTime: time.Now()}, nil
}

func (l *memLayer) AbortMultipartUpload(_ context.Context, bucket, key, id string) error {
	return l.upload(bucket, key, id)
}

func (l *memLayer) ListParts(_ context.Context, bucket, key, id string, _, _ int) (s3api.ListPartsResult, error) {
	return s3api.ListPartsResult{}, l.upload(bucket, key, id)
}

func (l *memLayer) ListMultipartUploads(_ context.Context, bucket string, _ s3api.ListUploadsParams) (s3api.ListUploadsResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var res s3api.ListUploadsResult
	for id, name := range l.uploads {
		if b, k, _ := strings.Cut(name, "/"); b == bucket {
			res.Uploads = append(res.Uploads, s3api.UploadInfo{Key: k, UploadID: id})
		}
	}
	return res, nil
}

const (
	testAccess = "test-access-key"
	testSecret = "test-secret-key-0123456789"
)

// newTestServer is an s3compat Server over layer, with the test
// credentials and its log in logBuf.
func newTestServer(layer s3api.ObjectLayer, cfg Config) (*Server, *syncBuffer) {
	logBuf := &syncBuffer{}
	cfg.Credentials = map[string]string{testAccess: testSecret}
	if cfg.Logger == nil {
		cfg.Logger = slogTo(logBuf)
	}
	return NewServer(layer, cfg), logBuf
}

// testRequest is a signed request of the handler tables: target is
// "/bucket/key?query" (escaped), header the extra headers.
type testRequest struct {
	method, target string
	header         map[string]string
	body           string
	secret         string // default testSecret
	access         string // default testAccess
	// anonymous leaves the request unsigned.
	anonymous bool
	// presign, when not 0, signs a presigned URL valid for that many
	// seconds instead of the Authorization header.
	presign int64
}

func (tr testRequest) build(host string) *http.Request {
	r := httptest.NewRequest(tr.method, "http://"+host+tr.target, strings.NewReader(tr.body))
	if tr.presign == 0 {
		r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	}
	for k, v := range tr.header {
		r.Header.Set(k, v)
	}
	r.ContentLength = int64(len(tr.body))
	secret, access := tr.secret, tr.access
	if secret == "" {
		secret = testSecret
	}
	if access == "" {
		access = testAccess
	}
	switch {
	case tr.anonymous:
		return r
	case tr.presign != 0:
		return signer.PreSignV4(*r, access, secret, "", "us-east-1", tr.presign)
	}
	return signer.SignV4(*r, access, secret, "", "us-east-1")
}

// do serves tr and returns the recorded response.
func do(s *Server, tr testRequest) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, tr.build("127.0.0.1:9000"))
	return rec
}

// headerMap makes a testRequest's headers from name, value pairs.
func headerMap(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// doOver serves tr as do does, as if over TLS when https.
func doOver(s *Server, tr testRequest, https bool) *httptest.ResponseRecorder {
	r := tr.build("127.0.0.1:9000")
	if https {
		r.URL.Scheme = "https"
		r.TLS = httptest.NewRequest("GET", "https://x/", nil).TLS
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, r)
	return rec
}

// errCode is the Code of an S3 XML error body, or "".
func errCode(body []byte) string {
	_, rest, ok := bytes.Cut(body, []byte("<Code>"))
	if !ok {
		return ""
	}
	code, _, _ := bytes.Cut(rest, []byte("</Code>"))
	return string(code)
}

func checkStatus(t *testing.T, name string, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if rec.Code != status || errCode(rec.Body.Bytes()) != code {
		t.Errorf("%s: got %d %q, want %d %q; body %s", name, rec.Code, errCode(rec.Body.Bytes()), status, code, rec.Body.Bytes())
	}
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
