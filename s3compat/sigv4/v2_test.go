package sigv4

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// Signature Version 2 requests signed by minio-go's signer are accepted,
// and any change to a signed part is refused.
func TestVerifyV2(t *testing.T) {
	v := newTestVerifier()
	newReq := func(method, target string, body []byte) *http.Request {
		r := httptest.NewRequest(method, "http://127.0.0.1:9000"+target, bytes.NewReader(body))
		r.Header.Set("Content-Type", "text/plain")
		r.Header.Set("X-Amz-Meta-Color", "blue")
		return r
	}
	sign := func(r *http.Request) *http.Request { return signer.SignV2(*r, testAK, testSK, false) }

	body := []byte("hello v2")
	o := verifyAndRead(v, sign(newReq("PUT", "/b/dir/a%20key+plus?uploadId=u1&partNumber=2", body)))
	if o.Code != "" || !bytes.Equal(o.Body, body) || o.AccessKey != testAK || o.Anonymous {
		t.Fatalf("signed V2 PUT: %+v", o)
	}
	for name, mod := range map[string]func(r *http.Request){
		"content type": func(r *http.Request) { r.Header.Set("Content-Type", "text/html") },
		"amz header":   func(r *http.Request) { r.Header.Set("X-Amz-Meta-Color", "red") },
		"path":         func(r *http.Request) { r.URL.Path = "/b/other" },
		"subresource":  func(r *http.Request) { r.URL.RawQuery = "uploadId=u2&partNumber=2" },
		"method":       func(r *http.Request) { r.Method = "DELETE" },
	} {
		r := sign(newReq("PUT", "/b/k?uploadId=u1&partNumber=2", body))
		mod(r)
		wantCode(t, verifyAndRead(v, r), CodeSignatureDoesNotMatch)
		_ = name
	}
	// Non-subresource query parameters are not signed in V2.
	r := sign(newReq("GET", "/b/?prefix=a", nil))
	r.URL.RawQuery = "prefix=b"
	wantCode(t, verifyAndRead(v, r), "")

	// Stale Date.
	r = newReq("GET", "/b/k", nil)
	r.Header.Set("Date", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
	wantCode(t, verifyAndRead(v, sign(r)), CodeRequestTimeTooSkewed)

	// Presigned V2.
	r = signer.PreSignV2(*newReq("GET", "/b/k?response-content-type=text%2Fcsv", nil), testAK, testSK, 60, false)
	r.Header.Del("Expires")
	wantCode(t, verifyAndRead(v, r), "")
	r = signer.PreSignV2(*newReq("GET", "/b/k", nil), testAK, testSK, -10, false)
	wantCode(t, verifyAndRead(v, r), CodeAccessDenied)

	// Virtual-hosted style signs /bucket/key.
	v.VirtualBucket = func(r *http.Request) string { return "b" }
	vr := httptest.NewRequest("GET", "http://b.s3.example.test/k", nil)
	wantCode(t, verifyAndRead(v, signer.SignV2(*vr, testAK, testSK, true)), "")
}
