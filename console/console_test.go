package console

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode/faultdrive"
	"github.com/ecstore/ecstore/storagenode/local"
)

const (
	testAK = "console-access"
	testSK = "console-secret-0123456789"
)

// fixture is a console over a 6-drive in-memory layer (EC 4+2, one drive
// per node); faulty[i] can take drive i offline.
type fixture struct {
	t      *testing.T
	h      *Handler
	layer  *sizeRecorder
	faulty []*faultdrive.Drive
	now    time.Time
}

// sizeRecorder is the gateway layer, remembering the size each PutObject
// was given (the console must pass Content-Length through, not buffer).
type sizeRecorder struct {
	*gateway.Layer
	*gateway.Repair
	putSizes []int64
}

func (s *sizeRecorder) PutObject(ctx context.Context, bucket, key string, body io.Reader, size int64, opts s3api.PutOptions) (s3api.ObjectInfo, error) {
	s.putSizes = append(s.putSizes, size)
	return s.Layer.PutObject(ctx, bucket, key, body, size, opts)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	var drives []gateway.Drive
	for i := range 6 {
		id := fmt.Sprintf("node%d-d1", i+1)
		fd := faultdrive.New(local.NewMem(id))
		f.faulty = append(f.faulty, fd)
		drives = append(drives, gateway.Drive{Drive: fd, Node: fmt.Sprintf("node%d", i+1)})
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := gateway.New(gateway.Config{Drives: drives, DataShards: 4, ParityShards: 2, BlockSize: 64 << 10, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	f.layer = &sizeRecorder{Layer: l, Repair: gateway.NewRepair(l)}
	f.h = NewHandler(f.layer, map[string]string{testAK: testSK}, quiet)
	f.h.now = func() time.Time { return f.now }
	return f
}

// do sends one request to the console; hdr pairs are header name, value.
func (f *fixture) do(method, path string, body io.Reader, cookie *http.Cookie, hdr ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	req := httptest.NewRequest(method, path, body)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

// login logs in and returns the session cookie.
func (f *fixture) login() *http.Cookie {
	f.t.Helper()
	w := f.do("POST", "/console/api/login", jsonBody(loginRequest{testAK, testSK}), nil, CSRFHeader, "1")
	if w.Code != http.StatusOK {
		f.t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	f.t.Fatal("login set no session cookie")
	return nil
}

func wantStatus(t *testing.T, what string, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("%s: status %d, want %d (body %s)", what, w.Code, status, w.Body)
	}
	if code == "" {
		return
	}
	var e apiError
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error != code {
		t.Fatalf("%s: body %s, want error code %q", what, w.Body, code)
	}
}

func TestLoginSessionLogout(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name   string
		body   io.Reader
		hdr    []string
		status int
		code   string
	}{
		{"wrong secret", jsonBody(loginRequest{testAK, "nope-nope-nope"}), []string{CSRFHeader, "1"}, 401, "InvalidCredentials"},
		{"unknown key", jsonBody(loginRequest{"someone", testSK}), []string{CSRFHeader, "1"}, 401, "InvalidCredentials"},
		{"empty", jsonBody(loginRequest{}), []string{CSRFHeader, "1"}, 401, "InvalidCredentials"},
		{"no CSRF header", jsonBody(loginRequest{testAK, testSK}), nil, 403, "MissingCSRFHeader"},
		{"not JSON", strings.NewReader("accessKey=x"), []string{CSRFHeader, "1"}, 400, "MalformedJSON"},
	} {
		w := f.do("POST", "/console/api/login", tc.body, nil, tc.hdr...)
		wantStatus(t, tc.name, w, tc.status, tc.code)
		if len(w.Result().Cookies()) != 0 {
			t.Errorf("%s: a failed login set a cookie", tc.name)
		}
	}

	c := f.login()
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/console/" || c.Secure {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/console/, not Secure over plain HTTP", c)
	}
	if raw, err := decodeToken(c.Value); err != nil || len(raw) != 32 {
		t.Errorf("session token %q is not 32 random bytes (%v)", c.Value, err)
	}
	w := f.do("GET", "/console/api/session", nil, c)
	wantStatus(t, "session", w, 200, "")
	if !strings.Contains(w.Body.String(), testAK) {
		t.Errorf("session body %s lacks the access key", w.Body)
	}
	if strings.Contains(w.Body.String(), testSK) {
		t.Errorf("session body %s holds the secret", w.Body)
	}

	// A second login is a second, independent session.
	c2 := f.login()
	if c2.Value == c.Value {
		t.Fatal("two logins got the same token")
	}
	wantStatus(t, "logout without CSRF header", f.do("POST", "/console/api/logout", nil, c), 403, "MissingCSRFHeader")
	w = f.do("POST", "/console/api/logout", nil, c, CSRFHeader, "1")
	wantStatus(t, "logout", w, 204, "")
	wantStatus(t, "session after logout", f.do("GET", "/console/api/session", nil, c), 401, "Unauthenticated")
	wantStatus(t, "other session after logout", f.do("GET", "/console/api/session", nil, c2), 200, "")

	// Sessions end after 12 hours.
	f.now = f.now.Add(sessionTTL - time.Second)
	wantStatus(t, "session before expiry", f.do("GET", "/console/api/session", nil, c2), 200, "")
	f.now = f.now.Add(2 * time.Second)
	wantStatus(t, "session after expiry", f.do("GET", "/console/api/session", nil, c2), 401, "Unauthenticated")
}

func TestLoginOverTLSSetsSecureCookie(t *testing.T) {
	f := newFixture(t)
	req := httptest.NewRequest("POST", "https://example.test/console/api/login", jsonBody(loginRequest{testAK, testSK}))
	req.Header.Set(CSRFHeader, "1")
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	cs := w.Result().Cookies()
	if w.Code != 200 || len(cs) != 1 || !cs[0].Secure {
		t.Fatalf("TLS login: %d, cookies %+v; want one Secure cookie", w.Code, cs)
	}
}

func TestAPINeedsSession(t *testing.T) {
	f := newFixture(t)
	forged := &http.Cookie{Name: cookieName, Value: "forged-token"}
	for _, rt := range []struct{ method, path string }{
		{"GET", "/console/api/session"},
		{"GET", "/console/api/health"},
		{"GET", "/console/api/buckets"},
		{"POST", "/console/api/buckets"},
		{"DELETE", "/console/api/buckets/b1"},
		{"GET", "/console/api/buckets/b1/objects"},
		{"PUT", "/console/api/buckets/b1/objects/k"},
		{"GET", "/console/api/buckets/b1/objects/k"},
		{"DELETE", "/console/api/buckets/b1/objects/k"},
		{"POST", "/console/api/logout"},
		{"GET", "/console/api/no-such-call"},
	} {
		for _, c := range []*http.Cookie{nil, forged} {
			w := f.do(rt.method, rt.path, strings.NewReader("{}"), c, CSRFHeader, "1")
			wantStatus(t, rt.method+" "+rt.path, w, 401, "Unauthenticated")
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("%s %s: 401 with Content-Type %q, want JSON", rt.method, rt.path, ct)
			}
		}
	}
}

func TestStateChangesNeedCSRFHeader(t *testing.T) {
	f := newFixture(t)
	c := f.login()
	for _, rt := range []struct{ method, path string }{
		{"POST", "/console/api/buckets"},
		{"DELETE", "/console/api/buckets/b1"},
		{"PUT", "/console/api/buckets/b1/objects/k"},
		{"DELETE", "/console/api/buckets/b1/objects/k"},
	} {
		for _, v := range []string{"", "0", "yes"} {
			w := f.do(rt.method, rt.path, jsonBody(map[string]string{"name": "b1"}), c, CSRFHeader, v)
			wantStatus(t, rt.method+" "+rt.path+" with "+CSRFHeader+"="+v, w, 403, "MissingCSRFHeader")
		}
	}
	if _, err := f.layer.HeadBucket(context.Background(), "b1"); err == nil {
		t.Fatal("a request without the CSRF header created a bucket")
	}
	// Reads need no header: a download is a plain link.
	wantStatus(t, "list buckets", f.do("GET", "/console/api/buckets", nil, c), 200, "")
}

func TestBucketsAndObjects(t *testing.T) {
	f := newFixture(t)
	c := f.login()
	csrf := []string{CSRFHeader, "1"}
	post := func(name string) *httptest.ResponseRecorder {
		return f.do("POST", "/console/api/buckets", jsonBody(map[string]string{"name": name}), c, csrf...)
	}
	wantStatus(t, "create bucket", post("photos"), 201, "")
	wantStatus(t, "create it again", post("photos"), 409, "BucketAlreadyOwnedByYou")
	wantStatus(t, "bad bucket name", post("Bad_Name"), 400, "InvalidBucketName")

	w := f.do("GET", "/console/api/buckets", nil, c)
	wantStatus(t, "list buckets", w, 200, "")
	var bl struct{ Buckets []bucketJSON }
	if err := json.Unmarshal(w.Body.Bytes(), &bl); err != nil || len(bl.Buckets) != 1 || bl.Buckets[0].Name != "photos" {
		t.Fatalf("buckets %s, want [photos]", w.Body)
	}

	data := make([]byte, 300<<10+7)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	keys := map[string][]byte{"2026/a b.jpg": data, "2026/jan/x.txt": []byte("hello"), "top.bin": {}, "odd/..%/k": []byte("odd key")}
	for k, v := range keys {
		w := f.do("PUT", "/console/api/buckets/photos/objects/"+escape(k), bytes.NewReader(v), c, append(csrf, "Content-Type", "image/jpeg")...)
		wantStatus(t, "put "+k, w, 200, "")
	}
	for _, n := range f.layer.putSizes {
		if n < 0 {
			t.Errorf("PutObject got size %d: the console must pass Content-Length on", n)
		}
	}
	wantStatus(t, "put to a missing bucket", f.do("PUT", "/console/api/buckets/nobucket/objects/k", strings.NewReader("x"), c, csrf...), 404, "NoSuchBucket")

	list := func(prefix, after string, max int) listJSON {
		t.Helper()
		path := "/console/api/buckets/photos/objects?prefix=" + escape(prefix) + "&after=" + escape(after)
		if max > 0 {
			path += fmt.Sprintf("&max=%d", max)
		}
		w := f.do("GET", path, nil, c)
		wantStatus(t, "list "+prefix, w, 200, "")
		var l listJSON
		if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := list("", "", 0)
	if got := fmt.Sprint(l.Prefixes, objKeys(l.Objects)); got != "[2026/ odd/] [top.bin]" {
		t.Errorf("top level: %s, want [2026/ odd/] [top.bin]", got)
	}
	l = list("2026/", "", 0)
	if got := fmt.Sprint(l.Prefixes, objKeys(l.Objects)); got != "[2026/jan/] [2026/a b.jpg]" {
		t.Errorf("2026/: %s", got)
	}
	if l.Objects[0].Size != int64(len(data)) || l.Objects[0].ContentType != "image/jpeg" {
		t.Errorf("2026/a b.jpg listed as %+v", l.Objects[0])
	}
	// Paging: one entry per page, continuing after the last.
	var seen []string
	after := ""
	for range 10 {
		l = list("", after, 1)
		seen = append(seen, l.Prefixes...)
		seen = append(seen, objKeys(l.Objects)...)
		if !l.Truncated {
			break
		}
		after = l.Next
	}
	if got := fmt.Sprint(seen); got != "[2026/ odd/ top.bin]" {
		t.Errorf("paged listing %s", got)
	}

	for k, v := range keys {
		w := f.do("GET", "/console/api/buckets/photos/objects/"+escape(k), nil, c)
		wantStatus(t, "get "+k, w, 200, "")
		if !bytes.Equal(w.Body.Bytes(), v) {
			t.Errorf("get %s: %d bytes, want the %d uploaded", k, w.Body.Len(), len(v))
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("get %s: Content-Type %q, want application/octet-stream", k, ct)
		}
		if cd := w.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; ") {
			t.Errorf("get %s: Content-Disposition %q, want an attachment", k, cd)
		}
	}
	cd := f.do("GET", "/console/api/buckets/photos/objects/"+escape("2026/a b.jpg"), nil, c).Header().Get("Content-Disposition")
	if cd != `attachment; filename="a b.jpg"; filename*=UTF-8''a%20b.jpg` {
		t.Errorf("Content-Disposition %q", cd)
	}
	wantStatus(t, "get a missing key", f.do("GET", "/console/api/buckets/photos/objects/nope", nil, c), 404, "NoSuchKey")

	wantStatus(t, "delete a full bucket", f.do("DELETE", "/console/api/buckets/photos", nil, c, csrf...), 409, "BucketNotEmpty")
	for k := range keys {
		wantStatus(t, "delete "+k, f.do("DELETE", "/console/api/buckets/photos/objects/"+escape(k), nil, c, csrf...), 204, "")
	}
	if l := list("", "", 0); len(l.Objects)+len(l.Prefixes) != 0 {
		t.Errorf("after deleting everything: %+v", l)
	}
	wantStatus(t, "delete the empty bucket", f.do("DELETE", "/console/api/buckets/photos", nil, c, csrf...), 204, "")
	wantStatus(t, "list the deleted bucket", f.do("GET", "/console/api/buckets/photos/objects", nil, c), 404, "NoSuchBucket")
}

func TestHealthReportsOfflineDrive(t *testing.T) {
	f := newFixture(t)
	c := f.login()
	get := func() healthJSON {
		t.Helper()
		w := f.do("GET", "/console/api/health", nil, c)
		wantStatus(t, "health", w, 200, "")
		var h healthJSON
		if err := json.Unmarshal(w.Body.Bytes(), &h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := get()
	if !h.Available || h.EC != (ecJSON{4, 2}) || len(h.Drives) != 6 || h.Totals.DrivesOnline != 6 || h.Totals.NodesOnline != 6 || h.Rebalance.State != "none" {
		t.Fatalf("healthy cluster reported as %+v", h)
	}
	f.faulty[2].SetOffline(true)
	if h := get(); h.Drives[2].Online == false {
		t.Fatal("the drive probe is not cached: a second look within a second probed again")
	}
	f.now = f.now.Add(healthCacheTTL)
	h = get()
	d := h.Drives[2]
	if d.ID != "node3-d1" || d.Node != "node3" || d.Online || d.Error == "" {
		t.Errorf("offline drive reported as %+v", d)
	}
	if h.Totals.DrivesOnline != 5 || h.Totals.NodesOnline != 5 || h.Totals.Nodes != 6 {
		t.Errorf("totals %+v, want 5 of 6 online", h.Totals)
	}
}

func TestHealthWithoutHealthLayer(t *testing.T) {
	f := newFixture(t)
	h := NewHandler(plainLayer{f.layer}, map[string]string{testAK: testSK}, nil)
	f.h = h
	c := f.login()
	w := f.do("GET", "/console/api/health", nil, c)
	wantStatus(t, "health", w, 200, "")
	if !strings.Contains(w.Body.String(), `"available":false`) {
		t.Errorf("health of a layer without Health: %s", w.Body)
	}
}

// plainLayer hides every method but ObjectLayer's.
type plainLayer struct{ s3api.ObjectLayer }

func TestStaticFiles(t *testing.T) {
	f := newFixture(t)
	w := f.do("GET", "/console", nil, nil)
	if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/console/" {
		t.Errorf("/console: %d to %q, want a redirect to /console/", w.Code, w.Header().Get("Location"))
	}
	for path, want := range map[string]string{"/console/": "text/html", "/console/app.js": "javascript", "/console/app.css": "text/css"} {
		w := f.do("GET", path, nil, nil)
		if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Type"), want) {
			t.Errorf("%s: %d %q, want 200 %s", path, w.Code, w.Header().Get("Content-Type"), want)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
	for _, path := range []string{"/console/nope.html", "/console/../go.mod", "/console/static/app.js"} {
		if w := f.do("GET", path, nil, nil); w.Code != 404 {
			t.Errorf("%s: %d, want 404", path, w.Code)
		}
	}
}

func TestIsConsoleRequest(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		hdr            []string
		want           bool
	}{
		{"GET", "/console/", nil, true},
		{"GET", "/console", nil, true},
		{"GET", "/console/api/buckets", nil, true},
		{"PUT", "/console/api/buckets/b/objects/k", nil, true},
		{"GET", "/consoles/", nil, false},
		{"GET", "/", nil, false},
		{"GET", "/bucket/console/x", nil, false},
		// Signed requests to a bucket named "console" are S3's.
		{"GET", "/console/", []string{"Authorization", "AWS4-HMAC-SHA256 Credential=x"}, false},
		{"PUT", "/console/key", []string{"Authorization", "AWS ak:sig"}, false},
		{"GET", "/console/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x&X-Amz-Signature=y", nil, false},
		{"GET", "/console/key?AWSAccessKeyId=a&Expires=1&Signature=s", nil, false},
		// So is a browser POST Object form (signed by its fields).
		{"POST", "/console", []string{"Content-Type", "multipart/form-data; boundary=x"}, false},
		{"POST", "/console/api/login", []string{"Content-Type", "application/json"}, true},
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		for i := 0; i+1 < len(tc.hdr); i += 2 {
			r.Header.Set(tc.hdr[i], tc.hdr[i+1])
		}
		if got := IsConsoleRequest(r); got != tc.want {
			t.Errorf("%s %s %v: IsConsoleRequest = %v, want %v", tc.method, tc.target, tc.hdr, got, tc.want)
		}
	}
}

func TestMountPassesS3Requests(t *testing.T) {
	f := newFixture(t)
	var s3Got []string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s3Got = append(s3Got, r.URL.Path) })
	h := f.h.Mount(next)
	for _, tc := range []struct {
		target, authz string
	}{{"/console/", ""}, {"/console/x", "AWS4-HMAC-SHA256 Credential=x"}, {"/photos/a", ""}} {
		r := httptest.NewRequest("GET", tc.target, nil)
		if tc.authz != "" {
			r.Header.Set("Authorization", tc.authz)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if got := fmt.Sprint(s3Got); got != "[/console/x /photos/a]" {
		t.Errorf("S3 got %s, want the signed /console/x and /photos/a", got)
	}
}

func TestCheckCredentials(t *testing.T) {
	creds := map[string]string{"a": "sa", "b": "sb"}
	for _, tc := range []struct {
		ak, sk string
		want   bool
	}{{"a", "sa", true}, {"b", "sb", true}, {"a", "sb", false}, {"c", "sa", false}, {"", "", false}, {"a", "", false}} {
		if got := checkCredentials(creds, tc.ak, tc.sk); got != tc.want {
			t.Errorf("checkCredentials(%q, %q) = %v", tc.ak, tc.sk, got)
		}
	}
	if checkCredentials(map[string]string{"": ""}, "", "") {
		t.Error("an empty key pair logged in")
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	f := newFixture(t)
	f.h.log = slog.New(slog.NewTextHandler(&logs, nil))
	f.login()
	f.do("POST", "/console/api/login", jsonBody(loginRequest{testAK, "wrong-secret-value"}), nil, CSRFHeader, "1")
	if strings.Contains(logs.String(), testSK) || strings.Contains(logs.String(), "wrong-secret-value") {
		t.Errorf("a secret reached the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "console login") {
		t.Errorf("logins are not logged:\n%s", logs.String())
	}
}

// escape is encodeURIComponent, as the console's script escapes keys.
func escape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func objKeys(objs []objectJSON) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

func decodeToken(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
