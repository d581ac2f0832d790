package s3compat

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
)

// stubLayer is a scriptable s3api.ObjectLayer for the handler tables: each
// method answers what the row scripted (an error from errs, or a canned
// value) and records what it was called with. Unlike memLayer it keeps no
// state: a PUT stores nothing, a DELETE removes nothing.
type stubLayer struct {
	mu sync.Mutex
	// errs maps a method name ("PutObject", "OpenObject", ...) to the error
	// it answers. A write answers it before reading the body, as the
	// gateway answers a missing bucket or a failed condition.
	errs map[string]error
	// objects are what OpenObject opens, by "bucket/key"; a missing one is
	// NoSuchKey.
	objects map[string]*stubObject
	// Canned answers.
	buckets     []s3api.BucketInfo
	putInfo     s3api.ObjectInfo // PutObject's answer; ETag defaults to the body's MD5
	uploadID    string
	partInfo    s3api.PartInfo // PutObjectPart's answer; ETag defaults to the body's MD5
	completed   s3api.ObjectInfo
	list        s3api.ListResult
	parts       s3api.ListPartsResult
	uploads     s3api.ListUploadsResult
	uploadAlgo  string // UploadChecksum's answer
	uploadType  string
	deleteErrOf map[string]error     // DeleteObject's error by key
	settings    s3api.BucketSettings // GetBucketSettings' answer
	calls       []stubCall
}

// stubCall is one recorded call: the method and the arguments it had.
type stubCall struct {
	Method      string
	Bucket, Key string
	UploadID    string
	PartNumber  int
	Body        string // the body read to EOF, for writes
	BodyErr     error  // the error reading it ended with, if not EOF
	Size        int64
	Opts        s3api.PutOptions
	// Checksum is what opts.Checksum reported once the body was read.
	Checksum   [2]string
	List       s3api.ListParams
	ListUp     s3api.ListUploadsParams
	Parts      []s3api.CompletePart
	Marker     int
	Max        int
	ReadOffset int64 // Object.Read
	ReadLength int64
	Setting    s3api.Setting // PutBucketSetting
	Doc        []byte
}

// stubObject is an object OpenObject returns.
type stubObject struct {
	l     *stubLayer
	info  s3api.ObjectInfo
	data  []byte
	parts []s3api.PartInfo // PartedObject.Parts, when set
	// readErr, when set, is what Read answers, after writing cutAfter
	// bytes of the range.
	readErr  error
	cutAfter int
}

func (o *stubObject) Info() s3api.ObjectInfo { return o.info }

func (o *stubObject) Read(_ context.Context, w io.Writer, off, n int64) error {
	o.l.record(stubCall{Method: "Read", Bucket: o.info.Bucket, Key: o.info.Key, ReadOffset: off, ReadLength: n})
	if o.readErr != nil {
		if o.cutAfter > 0 {
			if _, err := w.Write(o.data[off : off+min(n, int64(o.cutAfter))]); err != nil {
				return err
			}
		}
		return o.readErr
	}
	_, err := w.Write(o.data[off : off+n])
	return err
}

// partedStubObject is a stubObject with recorded parts (s3api.PartedObject).
type partedStubObject struct{ *stubObject }

func (o partedStubObject) Parts() []s3api.PartInfo { return o.parts }

var (
	_ s3api.ObjectLayer      = (*stubLayer)(nil)
	_ s3api.UploadChecksumer = (*stubLayer)(nil)
	_ s3api.SettingsLayer    = (*stubLayer)(nil)
	_ s3api.PartedObject     = partedStubObject{}
)

// stubModTime is the ModTime of the stub's objects.
var stubModTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// stubData is the content of the stub's object bkt/obj.
const stubData = "hello, stub world"

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// newStubLayer answers every bucket as existing and holds one object,
// bkt/obj (stubData, text/plain, user metadata color=blue).
func newStubLayer() *stubLayer {
	l := &stubLayer{errs: map[string]error{}, objects: map[string]*stubObject{}, uploadID: "upload-1"}
	l.addObject("bkt", "obj", stubData, func(i *s3api.ObjectInfo) {
		i.ContentType = "text/plain"
		i.UserMeta = map[string]string{"color": "blue"}
		i.Headers = map[string]string{"Cache-Control": "max-age=60"}
	})
	return l
}

// addObject adds bucket/key holding data; edit, when set, changes its info.
func (l *stubLayer) addObject(bucket, key, data string, edit func(*s3api.ObjectInfo)) *stubObject {
	o := &stubObject{l: l, data: []byte(data), info: s3api.ObjectInfo{
		Bucket: bucket, Key: key, Size: int64(len(data)), ETag: md5hex(data), ModTime: stubModTime,
	}}
	if edit != nil {
		edit(&o.info)
	}
	l.objects[bucket+"/"+key] = o
	return o
}

func (l *stubLayer) record(c stubCall) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

func (l *stubLayer) err(method string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errs[method]
}

// methods returns the names of the methods called, in order.
func (l *stubLayer) methods() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range l.calls {
		out = append(out, c.Method)
	}
	return out
}

// call returns the only call of method, failing the test unless there is
// exactly one.
func (l *stubLayer) call(t *testing.T, method string) stubCall {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var found []stubCall
	for _, c := range l.calls {
		if c.Method == method {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s called %d times, want once (calls: %v)", method, len(found), l.calls)
	}
	return found[0]
}

// readBody reads a write's body to EOF as the gateway does, and the
// checksum opts reports afterwards.
func readBody(c *stubCall, body io.Reader, opts s3api.PutOptions) error {
	data, err := io.ReadAll(body)
	c.Body, c.BodyErr = string(data), err
	if err == nil && opts.Checksum != nil {
		if a, v, ok := opts.Checksum(); ok {
			c.Checksum = [2]string{a, v}
		}
	}
	return err
}

func (l *stubLayer) MakeBucket(_ context.Context, bucket string) error {
	l.record(stubCall{Method: "MakeBucket", Bucket: bucket})
	return l.err("MakeBucket")
}

func (l *stubLayer) HeadBucket(_ context.Context, bucket string) (s3api.BucketInfo, error) {
	l.record(stubCall{Method: "HeadBucket", Bucket: bucket})
	if err := l.err("HeadBucket"); err != nil {
		return s3api.BucketInfo{}, err
	}
	return s3api.BucketInfo{Name: bucket, Created: stubModTime}, nil
}

func (l *stubLayer) DeleteBucket(_ context.Context, bucket string) error {
	l.record(stubCall{Method: "DeleteBucket", Bucket: bucket})
	return l.err("DeleteBucket")
}

func (l *stubLayer) ListBuckets(context.Context) ([]s3api.BucketInfo, error) {
	l.record(stubCall{Method: "ListBuckets"})
	return l.buckets, l.err("ListBuckets")
}

func (l *stubLayer) PutObject(_ context.Context, bucket, key string, body io.Reader, size int64, opts s3api.PutOptions) (s3api.ObjectInfo, error) {
	c := stubCall{Method: "PutObject", Bucket: bucket, Key: key, Size: size, Opts: opts}
	defer func() { l.record(c) }()
	if err := l.err("PutObject"); err != nil {
		return s3api.ObjectInfo{}, err
	}
	if err := readBody(&c, body, opts); err != nil {
		return s3api.ObjectInfo{}, err
	}
	info := l.putInfo
	info.Bucket, info.Key, info.Size = bucket, key, int64(len(c.Body))
	if info.ETag == "" {
		info.ETag = md5hex(c.Body)
	}
	if info.ModTime.IsZero() {
		info.ModTime = stubModTime
	}
	if info.Checksums == nil && c.Checksum[0] != "" {
		info.Checksums = map[string]string{c.Checksum[0]: c.Checksum[1]}
	}
	return info, nil
}

func (l *stubLayer) OpenObject(_ context.Context, bucket, key string) (s3api.Object, error) {
	l.record(stubCall{Method: "OpenObject", Bucket: bucket, Key: key})
	if err := l.err("OpenObject"); err != nil {
		return nil, err
	}
	l.mu.Lock()
	o, ok := l.objects[bucket+"/"+key]
	l.mu.Unlock()
	if !ok {
		return nil, s3api.ErrNoSuchKey
	}
	if o.parts != nil {
		return partedStubObject{o}, nil
	}
	return o, nil
}

func (l *stubLayer) DeleteObject(_ context.Context, bucket, key string) error {
	l.record(stubCall{Method: "DeleteObject", Bucket: bucket, Key: key})
	if err := l.deleteErrOf[key]; err != nil {
		return err
	}
	return l.err("DeleteObject")
}

func (l *stubLayer) ListObjects(_ context.Context, bucket string, p s3api.ListParams) (s3api.ListResult, error) {
	l.record(stubCall{Method: "ListObjects", Bucket: bucket, List: p})
	return l.list, l.err("ListObjects")
}

func (l *stubLayer) NewMultipartUpload(_ context.Context, bucket, key string, opts s3api.PutOptions) (string, error) {
	l.record(stubCall{Method: "NewMultipartUpload", Bucket: bucket, Key: key, Opts: opts})
	if err := l.err("NewMultipartUpload"); err != nil {
		return "", err
	}
	return l.uploadID, nil
}

func (l *stubLayer) PutObjectPart(_ context.Context, bucket, key, uploadID string, n int, body io.Reader, size int64, opts s3api.PutOptions) (s3api.PartInfo, error) {
	c := stubCall{Method: "PutObjectPart", Bucket: bucket, Key: key, UploadID: uploadID, PartNumber: n, Size: size, Opts: opts}
	defer func() { l.record(c) }()
	if err := l.err("PutObjectPart"); err != nil {
		return s3api.PartInfo{}, err
	}
	if err := readBody(&c, body, opts); err != nil {
		return s3api.PartInfo{}, err
	}
	p := l.partInfo
	p.Number, p.Size = n, int64(len(c.Body))
	if p.ETag == "" {
		p.ETag = md5hex(c.Body)
	}
	if p.ModTime.IsZero() {
		p.ModTime = stubModTime
	}
	if p.Checksums == nil && c.Checksum[0] != "" {
		p.Checksums = map[string]string{c.Checksum[0]: c.Checksum[1]}
	}
	return p, nil
}

func (l *stubLayer) CompleteMultipartUpload(_ context.Context, bucket, key, uploadID string, parts []s3api.CompletePart, opts s3api.PutOptions) (s3api.ObjectInfo, error) {
	l.record(stubCall{Method: "CompleteMultipartUpload", Bucket: bucket, Key: key, UploadID: uploadID, Parts: slices.Clone(parts), Opts: opts})
	if err := l.err("CompleteMultipartUpload"); err != nil {
		return s3api.ObjectInfo{}, err
	}
	info := l.completed
	info.Bucket, info.Key = bucket, key
	if info.ETag == "" {
		info.ETag = "0123456789abcdef0123456789abcdef-1"
	}
	return info, nil
}

func (l *stubLayer) AbortMultipartUpload(_ context.Context, bucket, key, uploadID string) error {
	l.record(stubCall{Method: "AbortMultipartUpload", Bucket: bucket, Key: key, UploadID: uploadID})
	return l.err("AbortMultipartUpload")
}

func (l *stubLayer) ListParts(_ context.Context, bucket, key, uploadID string, marker, max int) (s3api.ListPartsResult, error) {
	l.record(stubCall{Method: "ListParts", Bucket: bucket, Key: key, UploadID: uploadID, Marker: marker, Max: max})
	return l.parts, l.err("ListParts")
}

func (l *stubLayer) ListMultipartUploads(_ context.Context, bucket string, p s3api.ListUploadsParams) (s3api.ListUploadsResult, error) {
	l.record(stubCall{Method: "ListMultipartUploads", Bucket: bucket, ListUp: p})
	return l.uploads, l.err("ListMultipartUploads")
}

func (l *stubLayer) GetBucketSettings(_ context.Context, bucket string) (s3api.BucketSettings, error) {
	l.record(stubCall{Method: "GetBucketSettings", Bucket: bucket})
	if err := l.err("GetBucketSettings"); err != nil {
		return s3api.BucketSettings{}, err
	}
	return l.settings, nil
}

func (l *stubLayer) PutBucketSetting(_ context.Context, bucket string, set s3api.Setting, doc []byte) error {
	l.record(stubCall{Method: "PutBucketSetting", Bucket: bucket, Setting: set, Doc: slices.Clone(doc)})
	return l.err("PutBucketSetting")
}

// plainLayer hides the stub's optional capabilities (SettingsLayer,
// UploadChecksumer): a layer with the ObjectLayer methods alone.
type plainLayer struct{ s3api.ObjectLayer }

func (l *stubLayer) UploadChecksum(_ context.Context, bucket, key, uploadID string) (string, string, error) {
	l.record(stubCall{Method: "UploadChecksum", Bucket: bucket, Key: key, UploadID: uploadID})
	if err := l.err("UploadChecksum"); err != nil {
		return "", "", err
	}
	return l.uploadAlgo, l.uploadType, nil
}

// handlerCase is one row of a handler table: a request, what the layer
// answers (script), and what the client must get back.
type handlerCase struct {
	name string
	req  testRequest
	// host is the request's Host; default 127.0.0.1:9000.
	host string
	// mutate, when set, changes the signed request before it is served
	// (to tamper with it).
	mutate func(r *http.Request)
	// build, when set, makes the request instead of req (a POST form).
	build func(t *testing.T) *http.Request
	// errLog says the row is expected to log at ERROR although it
	// answers below 500 (an internal error inside a 200 DeleteObjects).
	errLog bool
	// cfg, when set, changes the table's server Config for this row.
	cfg func(*Config)
	// script sets the layer's answers (errors, canned values, objects).
	script func(l *stubLayer)
	// plain serves the stub as a plainLayer (no optional capabilities).
	plain bool
	// status and code are the HTTP status and S3 error code ("" for none,
	// and always for HEAD, whose errors have no body).
	status int
	code   string
	// header lists response headers and their values; "" means absent.
	header map[string]string
	// body lists substrings of the response body; a leading "!" means
	// the rest must not occur.
	body []string
	// calls, when not nil, is the sequence of layer methods called
	// (Read included); an empty non-nil slice means none.
	calls []string
	// check inspects anything else: what the layer was called with.
	check func(t *testing.T, l *stubLayer, rec *httptest.ResponseRecorder)
}

// runHandlerCases serves each row against a fresh newStubLayer under cfg.
func runHandlerCases(t *testing.T, cfg Config, cases []handlerCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newStubLayer()
			if tc.script != nil {
				tc.script(l)
			}
			c := cfg
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			var layer s3api.ObjectLayer = l
			if tc.plain {
				layer = plainLayer{l}
			}
			s, logs := newTestServer(layer, c)
			host := tc.host
			if host == "" {
				host = "127.0.0.1:9000"
			}
			var r *http.Request
			if tc.build != nil {
				r = tc.build(t)
			} else {
				r = tc.req.build(host)
			}
			if tc.mutate != nil {
				tc.mutate(r)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, r)
			if code := s3ErrorCode(rec.Body.Bytes()); rec.Code != tc.status || code != tc.code {
				t.Errorf("%s %s: got %d %q, want %d %q; body %s", r.Method, r.URL.RequestURI(), rec.Code, code, tc.status, tc.code, rec.Body)
			}
			for k, want := range tc.header {
				got, present := headerValue(rec.Header(), k)
				switch {
				case want == "" && present:
					t.Errorf("header %s: %q, want none", k, got)
				case want != "" && got != want:
					t.Errorf("header %s: %q, want %q", k, got, want)
				}
			}
			for _, sub := range tc.body {
				if not, ok := strings.CutPrefix(sub, "!"); ok {
					if strings.Contains(rec.Body.String(), not) {
						t.Errorf("body contains %q:\n%s", not, rec.Body)
					}
				} else if !strings.Contains(rec.Body.String(), sub) {
					t.Errorf("body lacks %q:\n%s", sub, rec.Body)
				}
			}
			if tc.calls != nil && !slices.Equal(l.methods(), tc.calls) {
				t.Errorf("layer calls %v, want %v", l.methods(), tc.calls)
			}
			if tc.check != nil {
				tc.check(t, l, rec)
			}
			// A client error is never logged as a server fault.
			if rec.Code < 500 && !tc.errLog && strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("answered %d, yet logged at ERROR:\n%s", rec.Code, logs)
			}
		})
	}
}

// headerValue looks name up in h whatever the case of h's keys (handlers
// set X-Amz-Meta-<name> as stored; the wire is case-insensitive).
func headerValue(h http.Header, name string) (string, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return strings.Join(v, ","), true
		}
	}
	return "", false
}

// s3ErrorCode is the Code of an S3 <Error> document, or "" for any other
// body (a DeleteResult's <Error> entries are not the response's error).
func s3ErrorCode(body []byte) string {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "Error" {
				return ""
			}
			// Read by errCode: a key may hold a control character,
			// which S3 sends as a character reference XML 1.0 refuses.
			return errCode(body)
		}
	}
}
