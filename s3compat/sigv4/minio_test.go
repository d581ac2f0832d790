package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// These tests sign with minio-go's signer package, an independent
// implementation, and verify the result.

// stdHasher adapts a hash.Hash to the md5simd.Hasher minio-go wants.
type stdHasher struct{ hash.Hash }

func (stdHasher) Close() {}

func payload(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func objURL(base, key string, query string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.Path = "/bucket/" + key
	u.RawQuery = query
	return u.String()
}

func crc32B64(b []byte) string {
	s := crc32.ChecksumIEEE(b)
	return base64.StdEncoding.EncodeToString([]byte{byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)})
}

func crc32cB64(b []byte) string {
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

var oddKeys = []string{
	"plain.txt",
	"with space",
	"a+b",
	"100%",
	"%41%2F",
	"ünïcödé/日本語.txt",
	"double//slash",
	"trailing/",
	"//leading",
	"sub-delims!$&'()*,;=:@",
	"question?hash#",
	"tilde~under_score-dot.",
	"~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./",
}

func TestMinioSignV4HeaderAuth(t *testing.T) {
	srv := newServer(t, newTestVerifier())
	for _, key := range oddKeys {
		t.Run(key, func(t *testing.T) {
			// GET with a query that needs encoding.
			q := url.Values{"prefix": {"a b+c/ü%"}, "delimiter": {"/"}, "list-type": {"2"}, "empty": {""}}
			req, _ := http.NewRequest("GET", objURL(srv.URL, key, q.Encode()), nil)
			req.Header.Set("X-Amz-Content-Sha256", emptyPayload)
			req.Header.Set("Range", "bytes=0-9")
			req.Header.Set("X-Amz-Meta-Spaces", "  a   b  ")
			req = signer.SignV4(*req, testAK, testSK, "", testRegion)
			o := do(t, req)
			wantCode(t, o, "")
			if o.AccessKey != testAK || o.Anonymous {
				t.Fatalf("outcome %+v", o)
			}

			// PUT with UNSIGNED-PAYLOAD and with the body's SHA-256.
			data := payload(1000)
			for _, hash := range []string{"UNSIGNED-PAYLOAD", sha256Hex(data)} {
				req, _ := http.NewRequest("PUT", objURL(srv.URL, key, ""), bytes.NewReader(data))
				req.Header.Set("X-Amz-Content-Sha256", hash)
				req.Header.Set("Content-Type", "application/octet-stream")
				req = signer.SignV4(*req, testAK, testSK, "", testRegion)
				o := do(t, req)
				wantCode(t, o, "")
				if !bytes.Equal(o.Body, data) || o.ContentLength != int64(len(data)) || o.HasChecksum {
					t.Fatalf("body %d bytes, length %d", len(o.Body), o.ContentLength)
				}
			}
		})
	}
}

func TestMinioSignV4Failures(t *testing.T) {
	srv := newServer(t, newTestVerifier())
	data := payload(5000)
	mk := func(ak, sk, hash string, mod func(*http.Request)) outcome {
		req, _ := http.NewRequest("PUT", objURL(srv.URL, "k", ""), bytes.NewReader(data))
		req.Header.Set("X-Amz-Content-Sha256", hash)
		if mod != nil {
			mod(req)
		}
		return do(t, signer.SignV4(*req, ak, sk, "", testRegion))
	}
	wantCode(t, mk(testAK, testSK+"x", "UNSIGNED-PAYLOAD", nil), CodeSignatureDoesNotMatch)
	wantCode(t, mk("AKIDUNKNOWN", testSK, "UNSIGNED-PAYLOAD", nil), CodeInvalidAccessKeyID)
	o := mk(testAK, testSK, sha256Hex(data[1:]), nil)
	wantCode(t, o, CodeXAmzContentSHA256Mismatch)
	if o.Stage != "read" {
		t.Fatalf("sha mismatch found at %s", o.Stage)
	}
	wantCode(t, mk(testAK, testSK, "not-a-hash", nil), CodeInvalidArgument)

	// x-amz-checksum-crc32 header: good, bad, malformed.
	o = mk(testAK, testSK, "UNSIGNED-PAYLOAD", func(r *http.Request) { r.Header.Set("X-Amz-Checksum-Crc32", crc32B64(data)) })
	wantCode(t, o, "")
	if !o.HasChecksum || o.Algo != "CRC32" || o.Value != crc32B64(data) {
		t.Fatalf("checksum %v %q %q", o.HasChecksum, o.Algo, o.Value)
	}
	wantCode(t, mk(testAK, testSK, "UNSIGNED-PAYLOAD", func(r *http.Request) { r.Header.Set("X-Amz-Checksum-Crc32", crc32B64(data[1:])) }), CodeBadDigest)
	wantCode(t, mk(testAK, testSK, "UNSIGNED-PAYLOAD", func(r *http.Request) { r.Header.Set("X-Amz-Checksum-Crc32", "!!!!") }), CodeInvalidRequest)

	// Request time outside the allowed skew.
	v := newTestVerifier()
	v.Now = func() time.Time { return time.Now().Add(20 * time.Minute) }
	req, _ := http.NewRequest("GET", "http://s3.test/bucket/k", nil)
	req.Header.Set("X-Amz-Content-Sha256", emptyPayload)
	req = signer.SignV4(*req, testAK, testSK, "", testRegion)
	wantCode(t, verifyAndRead(v, req), CodeRequestTimeTooSkewed)
	// Wrong region.
	req, _ = http.NewRequest("GET", "http://s3.test/bucket/k", nil)
	req.Header.Set("X-Amz-Content-Sha256", emptyPayload)
	req = signer.SignV4(*req, testAK, testSK, "", "eu-west-1")
	wantCode(t, verifyAndRead(newTestVerifier(), req), CodeAuthorizationHeaderMalformed)
	v = newTestVerifier()
	v.Region = ""
	wantCode(t, verifyAndRead(v, req), "")
	// An x-amz-* header added after signing.
	req, _ = http.NewRequest("GET", "http://s3.test/bucket/k", nil)
	req.Header.Set("X-Amz-Content-Sha256", emptyPayload)
	req = signer.SignV4(*req, testAK, testSK, "", testRegion)
	req.Header.Set("X-Amz-Meta-Injected", "1")
	wantCode(t, verifyAndRead(newTestVerifier(), req), CodeAccessDenied)
	// No x-amz-content-sha256.
	req, _ = http.NewRequest("GET", "http://s3.test/bucket/k", nil)
	req = signer.SignV4(*req, testAK, testSK, "", testRegion)
	wantCode(t, verifyAndRead(newTestVerifier(), req), CodeInvalidRequest)
}

func TestMinioPresignV4(t *testing.T) {
	srv := newServer(t, newTestVerifier())
	for _, key := range oddKeys {
		t.Run(key, func(t *testing.T) {
			q := url.Values{"response-content-disposition": {`attachment; filename="a b+c.txt"`}, "versionId": {"v 1"}}
			req, _ := http.NewRequest("GET", objURL(srv.URL, key, q.Encode()), nil)
			req = signer.PreSignV4(*req, testAK, testSK, "", testRegion, 60)
			wantCode(t, do(t, req), "")

			// A presigned PUT carries its body unverified but intact.
			data := payload(3000)
			req, _ = http.NewRequest("PUT", objURL(srv.URL, key, ""), nil)
			req = signer.PreSignV4(*req, testAK, testSK, "", testRegion, 3600)
			put, _ := http.NewRequest("PUT", req.URL.String(), bytes.NewReader(data))
			o := do(t, put)
			wantCode(t, o, "")
			if !bytes.Equal(o.Body, data) {
				t.Fatal("presigned PUT body changed")
			}
		})
	}
	// Expiry, judged by the verifier's clock.
	req, _ := http.NewRequest("GET", "http://s3.test/bucket/k", nil)
	req = signer.PreSignV4(*req, testAK, testSK, "", testRegion, 60)
	v := newTestVerifier()
	v.Now = func() time.Time { return time.Now().Add(30 * time.Second) }
	wantCode(t, verifyAndRead(v, req), "")
	v.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	o := verifyAndRead(v, req)
	wantCode(t, o, CodeAccessDenied)
	if o.Message != "Request has expired" {
		t.Fatalf("message %q", o.Message)
	}
	// Not valid yet.
	v.Now = func() time.Time { return time.Now().Add(-time.Hour) }
	wantCode(t, verifyAndRead(v, req), CodeAccessDenied)
	// Wrong secret, unknown key.
	req, _ = http.NewRequest("GET", "http://s3.test/bucket/k", nil)
	wantCode(t, verifyAndRead(newTestVerifier(), signer.PreSignV4(*req, testAK, "wrong", "", testRegion, 60)), CodeSignatureDoesNotMatch)
	req, _ = http.NewRequest("GET", "http://s3.test/bucket/k", nil)
	wantCode(t, verifyAndRead(newTestVerifier(), signer.PreSignV4(*req, "AKIDUNKNOWN", testSK, "", testRegion, 60)), CodeInvalidAccessKeyID)
	// More than 7 days.
	req, _ = http.NewRequest("GET", "http://s3.test/bucket/k", nil)
	wantCode(t, verifyAndRead(newTestVerifier(), signer.PreSignV4(*req, testAK, testSK, "", testRegion, 7*24*3600+1)), CodeAuthorizationQueryParamsError)
	// Both a header and a query signature.
	req, _ = http.NewRequest("GET", "http://s3.test/bucket/k", nil)
	req = signer.PreSignV4(*req, testAK, testSK, "", testRegion, 60)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
	wantCode(t, verifyAndRead(newTestVerifier(), req), CodeInvalidArgument)
}

var streamSizes = []int{0, 1, 64 << 10, 64<<10 + 1, 1 << 20}

// signStreaming signs a PUT of data with minio-go's StreamingSignV4 (with a
// CRC32C trailer when trailer is set; trailerValue overrides its value).
func signStreaming(base string, data []byte, trailer bool, trailerValue string) *http.Request {
	req, _ := http.NewRequest("PUT", objURL(base, "stream/obj", ""), bytes.NewReader(data))
	if trailer {
		if trailerValue == "" {
			trailerValue = crc32cB64(data)
		}
		req.Trailer = http.Header{"x-amz-checksum-crc32c": {trailerValue}}
	}
	return signer.StreamingSignV4(req, testAK, testSK, "", testRegion, int64(len(data)), time.Now().UTC(), stdHasher{sha256.New()})
}

// signUnsignedTrailer signs a PUT of data the way minio-go sends
// STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer.
func signUnsignedTrailer(base string, data []byte, trailerValue string) *http.Request {
	req, _ := http.NewRequest("PUT", objURL(base, "stream/obj", ""), bytes.NewReader(data))
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	if trailerValue == "" {
		trailerValue = crc32B64(data)
	}
	return signer.SignV4Trailer(*req, testAK, testSK, "", testRegion, http.Header{"x-amz-checksum-crc32": {trailerValue}})
}

func TestMinioStreaming(t *testing.T) {
	srv := newServer(t, newTestVerifier())
	for _, n := range streamSizes {
		data := payload(n)
		for _, kind := range []string{"signed", "signed-trailer", "unsigned-trailer"} {
			t.Run(fmt.Sprintf("%s/%d", kind, n), func(t *testing.T) {
				var req *http.Request
				switch kind {
				case "signed":
					req = signStreaming(srv.URL, data, false, "")
				case "signed-trailer":
					req = signStreaming(srv.URL, data, true, "")
				default:
					req = signUnsignedTrailer(srv.URL, data, "")
				}
				o := do(t, req)
				wantCode(t, o, "")
				if !bytes.Equal(o.Body, data) || o.ContentLength != int64(n) {
					t.Fatalf("decoded %d bytes (length %d), want %d", len(o.Body), o.ContentLength, n)
				}
				switch kind {
				case "signed":
					if o.HasChecksum {
						t.Fatal("checksum without trailer")
					}
				case "signed-trailer":
					if !o.HasChecksum || o.Algo != "CRC32C" || o.Value != crc32cB64(data) {
						t.Fatalf("checksum %v %q %q", o.HasChecksum, o.Algo, o.Value)
					}
				default:
					if !o.HasChecksum || o.Algo != "CRC32" || o.Value != crc32B64(data) {
						t.Fatalf("checksum %v %q %q", o.HasChecksum, o.Algo, o.Value)
					}
				}
			})
		}
	}
}

// wire returns a signed request's encoded body and a server-side copy of
// the request that reads body instead.
func wire(t *testing.T, req *http.Request) ([]byte, func(body []byte) *http.Request) {
	t.Helper()
	b, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, func(body []byte) *http.Request {
		r := httptest.NewRequest(req.Method, req.URL.String(), bytes.NewReader(body))
		for k, v := range req.Header {
			r.Header[k] = v
		}
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return r
	}
}

func TestMinioStreamingTamper(t *testing.T) {
	data := payload(3*(64<<10) + 100)
	v := newTestVerifier()
	body, mk := wire(t, signStreaming("http://s3.test", data, true, ""))
	wantCode(t, verifyAndRead(v, mk(body)), "")

	hdr1 := strings.Index(string(body), "\r\n")
	sig2At := hdr1 + 2 + 64<<10 + 2 + len("10000;chunk-signature=")
	for _, tc := range []struct {
		name string
		mod  func([]byte) []byte
		code string
	}{
		{"first chunk byte", func(b []byte) []byte { b[hdr1+2+10] ^= 1; return b }, CodeSignatureDoesNotMatch},
		{"second chunk byte", func(b []byte) []byte { b[sig2At+64+2+7] ^= 0x80; return b }, CodeSignatureDoesNotMatch},
		{"second chunk signature", func(b []byte) []byte { b[sig2At+3] ^= 1; return b }, CodeSignatureDoesNotMatch},
		{"swapped chunk signatures", func(b []byte) []byte {
			s1 := append([]byte(nil), b[hdr1-64:hdr1]...)
			copy(b[hdr1-64:hdr1], b[sig2At:sig2At+64])
			copy(b[sig2At:sig2At+64], s1)
			return b
		}, CodeSignatureDoesNotMatch},
		{"chunk size", func(b []byte) []byte { b[0] = '2'; return b }, CodeSignatureDoesNotMatch},
		{"truncated in data", func(b []byte) []byte { return b[:sig2At+64+2+100] }, CodeIncompleteBody},
		{"truncated before final chunk", func(b []byte) []byte {
			return b[:strings.LastIndex(string(b), "0;chunk-signature=")]
		}, CodeIncompleteBody},
		{"truncated in trailer", func(b []byte) []byte { return b[:len(b)-80] }, CodeMalformedTrailerError},
		{"trailer value", func(b []byte) []byte {
			i := strings.Index(string(b), "x-amz-checksum-crc32c:") + len("x-amz-checksum-crc32c:")
			b[i] ^= 1
			return b
		}, CodeSignatureDoesNotMatch},
		{"extra data after trailer", func(b []byte) []byte { return append(b, "junk\r\n"...) }, CodeMalformedTrailerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := verifyAndRead(v, mk(tc.mod(bytes.Clone(body))))
			wantCode(t, o, tc.code)
			if !bytes.HasPrefix(data, o.Body) {
				t.Fatal("released bytes differ from the original")
			}
		})
	}

	// A signed trailer carrying a wrong CRC32C: signatures hold, digest fails.
	body, mk = wire(t, signStreaming("http://s3.test", data, true, crc32cB64(data[1:])))
	wantCode(t, verifyAndRead(v, mk(body)), CodeBadDigest)

	// Decoded length that disagrees with the body.
	body, mk = wire(t, signStreaming("http://s3.test", data, false, ""))
	r := mk(body)
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)+1))
	// The header is signed, so the seed signature fails first.
	wantCode(t, verifyAndRead(v, r), CodeSignatureDoesNotMatch)
}

func TestMinioUnsignedTrailerFailures(t *testing.T) {
	data := payload(70000)
	v := newTestVerifier()
	body, mk := wire(t, signUnsignedTrailer("http://s3.test", data, ""))
	o := verifyAndRead(v, mk(body))
	wantCode(t, o, "")
	if !bytes.Equal(o.Body, data) {
		t.Fatal("body differs")
	}
	// Bad CRC32 in the trailer.
	body2, mk2 := wire(t, signUnsignedTrailer("http://s3.test", data, crc32B64(data[1:])))
	wantCode(t, verifyAndRead(v, mk2(body2)), CodeBadDigest)
	// A changed data byte is caught by the checksum.
	b := bytes.Clone(body)
	b[100] ^= 1
	wantCode(t, verifyAndRead(v, mk(b)), CodeBadDigest)
	// Malformed trailer value.
	body3, mk3 := wire(t, signUnsignedTrailer("http://s3.test", data, "%%%%%%%%"))
	wantCode(t, verifyAndRead(v, mk3(body3)), CodeInvalidRequest)
	// Truncations.
	wantCode(t, verifyAndRead(v, mk(body[:1000])), CodeIncompleteBody)
	wantCode(t, verifyAndRead(v, mk(body[:strings.LastIndex(string(body), "0\r\n")])), CodeIncompleteBody)
	wantCode(t, verifyAndRead(v, mk(body[:len(body)-20])), CodeMalformedTrailerError)
}

// The bytes of a signed chunk are not returned before its signature is
// verified, even to a reader that asks for one byte at a time.
func TestSignedChunkHeldUntilVerified(t *testing.T) {
	data := payload(64 << 10)
	body, mk := wire(t, signStreaming("http://s3.test", data, false, ""))
	body[len(body)-200] ^= 1 // inside the chunk's data, near its end
	res, err := newTestVerifier().Verify(mk(body))
	if err != nil {
		t.Fatal(err)
	}
	n, err := res.Body.Read(make([]byte, 1))
	if n != 0 || err == nil {
		t.Fatalf("read %d bytes, err %v", n, err)
	}
	if e, ok := err.(*Error); !ok || e.Code != CodeSignatureDoesNotMatch {
		t.Fatalf("err %v", err)
	}
	// The error is sticky.
	if _, err2 := res.Body.Read(make([]byte, 10)); err2 != err {
		t.Fatalf("second read: %v", err2)
	}
}
