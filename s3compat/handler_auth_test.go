package s3compat

import (
	"bytes"
	"crypto/sha256"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

// streamingPut is a PUT of data to /bkt/k signed as aws-chunked
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD (64 KiB chunks), its encoded body
// changed by tamper when set.
func streamingPut(t *testing.T, data []byte, tamper func(r *http.Request, enc []byte) []byte) *http.Request {
	t.Helper()
	r := httptest.NewRequest("PUT", "http://127.0.0.1:9000/bkt/k", bytes.NewReader(data))
	r = signer.StreamingSignV4(r, testAccess, testSecret, "", "us-east-1", int64(len(data)), time.Now().UTC(), sha256Hasher{sha256.New()})
	enc, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		enc = tamper(r, enc)
	}
	r.Body = io.NopCloser(bytes.NewReader(enc))
	r.ContentLength = int64(len(enc))
	return r
}

// chunkSignature returns where the hex value of the n-th chunk signature
// starts in an aws-chunked body.
func chunkSignature(enc []byte, n int) int {
	const marker = ";chunk-signature="
	off := 0
	for i := 0; i <= n; i++ {
		j := bytes.Index(enc[off:], []byte(marker))
		if j < 0 {
			return -1
		}
		off += j + len(marker)
	}
	return off
}

// flipHexAt changes the hex digit at i.
func flipHexAt(b []byte, i int) []byte {
	out := bytes.Clone(b)
	if out[i] == '0' {
		out[i] = '1'
	} else {
		out[i] = '0'
	}
	return out
}

// v2Request is an unsigned request of the auth table, for signer.SignV2
// and PreSignV2.
func v2Request(method, target, body string) *http.Request {
	r := httptest.NewRequest(method, "http://127.0.0.1:9000"+target, strings.NewReader(body))
	r.ContentLength = int64(len(body))
	return r
}

// TestAuthHandler: every request but a POST form is authenticated before
// its handler runs: an unsigned, mis-signed, expired or skewed request is
// refused with S3's code, and the layer is never called (a streaming body
// whose chunk signature fails is refused as it is read: the layer sees the
// read fail and must not commit).
func TestAuthHandler(t *testing.T) {
	streamData := bytes.Repeat([]byte("0123456789abcdef"), 200<<10/16) // 4 chunks of 64 KiB and a short one
	later := func(d time.Duration) func(*Config) {
		return func(c *Config) { c.Now = func() time.Time { return time.Now().Add(d) } }
	}
	bodyErr := func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
		if c := l.call(t, "PutObject"); c.BodyErr == nil {
			t.Errorf("the layer read a tampered body to a clean EOF (%d bytes)", len(c.Body))
		}
	}
	cases := []handlerCase{
		{name: "unsigned ListBuckets", req: testRequest{method: "GET", target: "/", anonymous: true}, status: 403, code: "AccessDenied", calls: []string{},
			body: []string{"Anonymous access is not allowed"}},
		{name: "unsigned GetObject", req: testRequest{method: "GET", target: "/bkt/obj", anonymous: true}, status: 403, code: "AccessDenied", calls: []string{}},
		{name: "unsigned PutObject", req: testRequest{method: "PUT", target: "/bkt/k", body: "anonymous data", anonymous: true}, status: 403, code: "AccessDenied", calls: []string{}},
		{name: "unsigned DeleteObject", req: testRequest{method: "DELETE", target: "/bkt/obj", anonymous: true}, status: 403, code: "AccessDenied", calls: []string{}},
		{name: "unsigned CreateBucket", req: testRequest{method: "PUT", target: "/newbkt", anonymous: true}, status: 403, code: "AccessDenied", calls: []string{}},
		{name: "wrong secret ListBuckets", req: testRequest{method: "GET", target: "/", secret: "not-the-secret"}, status: 403, code: "SignatureDoesNotMatch", calls: []string{}},
		{name: "wrong secret PutObject", req: testRequest{method: "PUT", target: "/bkt/k", body: "must not be stored", secret: "not-the-secret"},
			status: 403, code: "SignatureDoesNotMatch", calls: []string{}},
		{name: "unknown access key", req: testRequest{method: "GET", target: "/bkt/obj", access: "no-such-access-key"}, status: 403, code: "InvalidAccessKeyId", calls: []string{}},
		{name: "request time skewed", req: testRequest{method: "GET", target: "/bkt/obj"}, cfg: later(time.Hour), status: 403, code: "RequestTimeTooSkewed", calls: []string{}},
		{name: "request time within 15 minutes", req: testRequest{method: "GET", target: "/bkt/obj"}, cfg: later(10 * time.Minute), status: 200},
		{name: "signed header changed", req: testRequest{method: "GET", target: "/bkt/obj", header: hdrs("Range", "bytes=0-1")},
			mutate: func(r *http.Request) { r.Header.Set("Range", "bytes=0-9") }, status: 403, code: "SignatureDoesNotMatch", calls: []string{}},
		{name: "query changed", req: testRequest{method: "GET", target: "/bkt?prefix=a"},
			mutate: func(r *http.Request) { r.URL.RawQuery = "prefix=b" }, status: 403, code: "SignatureDoesNotMatch", calls: []string{}},
		{name: "malformed Authorization", req: testRequest{method: "GET", target: "/bkt/obj"},
			mutate: func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=garbage") },
			status: 400, code: "AuthorizationHeaderMalformed", calls: []string{}},
		{name: "unknown Authorization scheme", req: testRequest{method: "GET", target: "/bkt/obj"},
			mutate: func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }, status: 400, code: "InvalidRequest", calls: []string{}},

		{name: "presigned GET", req: testRequest{method: "GET", target: "/bkt/obj", presign: 600}, status: 200, body: []string{stubData}},
		{name: "presigned GET with response-content-type", req: testRequest{method: "GET", target: "/bkt/obj?response-content-type=text%2Fx-override", presign: 600},
			status: 200, header: hdrs("Content-Type", "text/x-override")},
		{name: "presigned PUT", req: testRequest{method: "PUT", target: "/bkt/presigned%20put%20%C3%BC%2B%25.bin", body: "presigned", presign: 600}, status: 200,
			check: wantPut("bkt", "presigned put ü+%.bin", "presigned", nil)},
		{name: "presigned GET expired", req: testRequest{method: "GET", target: "/bkt/obj", presign: 1}, cfg: later(2500 * time.Millisecond),
			status: 403, code: "AccessDenied", body: []string{"Request has expired"}, calls: []string{}},
		{name: "presigned PUT expired", req: testRequest{method: "PUT", target: "/bkt/late", body: "late", presign: 1}, cfg: later(2500 * time.Millisecond),
			status: 403, code: "AccessDenied", calls: []string{}},
		{name: "presigned X-Amz-Expires changed", req: testRequest{method: "GET", target: "/bkt/obj", presign: 600},
			mutate: func(r *http.Request) {
				r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=600", "X-Amz-Expires=601", 1)
			}, status: 403, code: "SignatureDoesNotMatch", calls: []string{}},
		{name: "presigned for over 7 days", req: testRequest{method: "GET", target: "/bkt/obj", presign: 7*24*3600 + 1},
			status: 400, code: "AuthorizationQueryParametersError", calls: []string{}},
		{name: "presigned with the wrong secret", req: testRequest{method: "GET", target: "/bkt/obj", presign: 600, secret: "nope"},
			status: 403, code: "SignatureDoesNotMatch", calls: []string{}},

		{name: "V2 header signature", build: func(*testing.T) *http.Request {
			return signer.SignV2(*v2Request("GET", "/bkt/obj", ""), testAccess, testSecret, false)
		}, status: 200, body: []string{stubData}},
		{name: "V2 header signature, wrong secret", build: func(*testing.T) *http.Request {
			return signer.SignV2(*v2Request("GET", "/bkt/obj", ""), testAccess, "nope", false)
		}, status: 403, code: "SignatureDoesNotMatch", calls: []string{}},
		{name: "V2 presigned for an hour", build: func(*testing.T) *http.Request {
			return signer.PreSignV2(*v2Request("GET", "/bkt/obj", ""), testAccess, testSecret, 3600, false)
		}, status: 200, body: []string{stubData}},
		{name: "V2 presigned for 8 days", build: func(*testing.T) *http.Request {
			return signer.PreSignV2(*v2Request("GET", "/bkt/obj", ""), testAccess, testSecret, 8*24*3600, false)
		}, status: 403, code: "AccessDenied", calls: []string{}},
		{name: "V2 presigned for 10 years", build: func(*testing.T) *http.Request {
			return signer.PreSignV2(*v2Request("GET", "/bkt/obj", ""), testAccess, testSecret, 10*365*24*3600, false)
		}, status: 403, code: "AccessDenied", calls: []string{}},
		{name: "V2 presigned for 20m under a 30m limit", cfg: func(c *Config) { c.MaxPresignV2 = 30 * time.Minute }, build: func(*testing.T) *http.Request {
			return signer.PreSignV2(*v2Request("GET", "/bkt/obj", ""), testAccess, testSecret, 20*60, false)
		}, status: 200},
		{name: "V2 presigned for 1h under a 30m limit", cfg: func(c *Config) { c.MaxPresignV2 = 30 * time.Minute }, build: func(*testing.T) *http.Request {
			return signer.PreSignV2(*v2Request("GET", "/bkt/obj", ""), testAccess, testSecret, 3600, false)
		}, status: 403, code: "AccessDenied", calls: []string{}},

		{name: "streaming signature", build: func(t *testing.T) *http.Request { return streamingPut(t, streamData, nil) }, status: 200,
			check: wantPut("bkt", "k", string(streamData), nil)},
		{name: "streaming: second chunk signature changed", build: func(t *testing.T) *http.Request {
			return streamingPut(t, streamData, func(_ *http.Request, enc []byte) []byte { return flipHexAt(enc, chunkSignature(enc, 1)+10) })
		}, status: 403, code: "SignatureDoesNotMatch", check: bodyErr},
		{name: "streaming: final empty chunk signature changed", build: func(t *testing.T) *http.Request {
			return streamingPut(t, streamData, func(_ *http.Request, enc []byte) []byte { return flipHexAt(enc, chunkSignature(enc, 4)+63) })
		}, status: 403, code: "SignatureDoesNotMatch", check: bodyErr},
		{name: "streaming: a data byte of chunk 3 changed", build: func(t *testing.T) *http.Request {
			return streamingPut(t, streamData, func(_ *http.Request, enc []byte) []byte {
				out := bytes.Clone(enc)
				out[chunkSignature(enc, 2)+64+2+1000] ^= 1
				return out
			})
		}, status: 403, code: "SignatureDoesNotMatch", check: bodyErr},
		{name: "streaming: seed signature changed", build: func(t *testing.T) *http.Request {
			return streamingPut(t, streamData, func(r *http.Request, enc []byte) []byte {
				a := r.Header.Get("Authorization")
				i := strings.LastIndex(a, "Signature=") + len("Signature=")
				r.Header.Set("Authorization", a[:i]+string(flipHexAt([]byte(a[i:]), 5)))
				return enc
			})
		}, status: 403, code: "SignatureDoesNotMatch", calls: []string{}},
		{name: "streaming: body cut in a chunk", build: func(t *testing.T) *http.Request {
			return streamingPut(t, streamData, func(_ *http.Request, enc []byte) []byte { return enc[:len(enc)/2] })
		}, status: 400, code: "IncompleteBody", check: bodyErr},
	}
	runHandlerCases(t, Config{}, cases)
}
