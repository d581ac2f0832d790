package sigv4

import (
	"bytes"
	"encoding/base64"
	"hash/crc64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7/pkg/signer"
)

func TestCRC64NVMEKnownAnswers(t *testing.T) {
	tab := crc64.MakeTable(crc64NVMEPoly)
	for in, want := range map[string]uint64{
		"":            0,
		"123456789":   0xae8b14860a799888, // the CRC-64/NVME check value
		"Hello world": 0x38e259d03f312adb,
	} {
		if got := crc64.Checksum([]byte(in), tab); got != want {
			t.Errorf("CRC64NVME(%q) = %016x, want %016x", in, got, want)
		}
	}
	a := algoByHeader("x-amz-checksum-crc64nvme")
	h := a.newFn()
	h.Write([]byte("123456789"))
	if got := base64.StdEncoding.EncodeToString(h.Sum(nil)); got != "rosUhgp5mIg=" {
		t.Errorf("base64 CRC64NVME = %s", got)
	}
}

func checksumOf(a *checksumAlgo, b []byte) string {
	h := a.newFn()
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func TestChecksumEveryAlgorithm(t *testing.T) {
	data := payload(100_000)
	v := newTestVerifier()
	for i := range checksumAlgos {
		a := &checksumAlgos[i]
		t.Run(a.name, func(t *testing.T) {
			good, bad := checksumOf(a, data), checksumOf(a, data[1:])
			header := func(val string) *http.Request {
				req, _ := http.NewRequest("PUT", "http://s3.test/bucket/k", bytes.NewReader(data))
				req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
				req.Header.Set(a.header, val)
				req.Header.Set("X-Amz-Sdk-Checksum-Algorithm", a.name)
				return signer.SignV4(*req, testAK, testSK, "", testRegion)
			}
			o := verifyAndRead(v, header(good))
			wantCode(t, o, "")
			if !o.HasChecksum || o.Algo != a.name || o.Value != good {
				t.Fatalf("header: %v %s %s", o.HasChecksum, o.Algo, o.Value)
			}
			wantCode(t, verifyAndRead(v, header(bad)), CodeBadDigest)
			wantCode(t, verifyAndRead(v, header(good[:len(good)-4])), CodeInvalidRequest)

			body, mk := wire(t, func() *http.Request {
				req, _ := http.NewRequest("PUT", "http://s3.test/bucket/k", bytes.NewReader(data))
				req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
				return signer.SignV4Trailer(*req, testAK, testSK, "", testRegion, http.Header{a.header: {good}})
			}())
			o = verifyAndRead(v, mk(body))
			wantCode(t, o, "")
			if !o.HasChecksum || o.Algo != a.name || o.Value != good || !bytes.Equal(o.Body, data) {
				t.Fatalf("trailer: %v %s %s", o.HasChecksum, o.Algo, o.Value)
			}
			tampered := bytes.Replace(body, []byte(good), []byte(bad), 1)
			wantCode(t, verifyAndRead(v, mk(tampered)), CodeBadDigest)
		})
	}
}

// anon builds an unauthenticated request; its body handling is the same as
// for a signed one, which lets these tests forge any body.
func anon(method, target string, body []byte, hdr map[string]string) *http.Request {
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

func TestChecksumRules(t *testing.T) {
	v := newTestVerifier()
	data := []byte("hello, world")
	crc := crc32B64(data)
	for _, tc := range []struct {
		name   string
		method string
		target string
		hdr    map[string]string
		code   string
	}{
		{"two checksum headers", "PUT", "/b/k", map[string]string{"X-Amz-Checksum-Crc32": crc, "X-Amz-Checksum-Sha1": "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="}, CodeInvalidRequest},
		{"sdk algorithm without checksum", "PUT", "/b/k", map[string]string{"X-Amz-Sdk-Checksum-Algorithm": "CRC32"}, CodeInvalidRequest},
		{"sdk algorithm mismatch", "PUT", "/b/k", map[string]string{"X-Amz-Sdk-Checksum-Algorithm": "SHA256", "X-Amz-Checksum-Crc32": crc}, CodeInvalidRequest},
		{"sdk algorithm unknown", "PUT", "/b/k", map[string]string{"X-Amz-Sdk-Checksum-Algorithm": "MD5", "X-Amz-Checksum-Crc32": crc}, CodeInvalidRequest},
		{"trailer without aws-chunked", "PUT", "/b/k", map[string]string{"X-Amz-Trailer": "x-amz-checksum-crc32"}, CodeInvalidRequest},
		{"unknown trailer", "PUT", "/b/k", map[string]string{"X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "X-Amz-Trailer": "x-amz-meta-foo"}, CodeInvalidRequest},
		{"two trailers", "PUT", "/b/k", map[string]string{"X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "X-Amz-Trailer": "x-amz-checksum-crc32,x-amz-checksum-sha1"}, CodeInvalidRequest},
		{"checksum header and trailer", "PUT", "/b/k", map[string]string{"X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "X-Amz-Trailer": "x-amz-checksum-crc32", "X-Amz-Checksum-Crc32": crc}, CodeInvalidRequest},
		{"sigv4a streaming", "PUT", "/b/k", map[string]string{"X-Amz-Content-Sha256": "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"}, CodeInvalidRequest},
		{"signed streaming without signature", "PUT", "/b/k", map[string]string{"X-Amz-Content-Sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "X-Amz-Decoded-Content-Length": "1"}, CodeAccessDenied},
		{"bad decoded length", "PUT", "/b/k", map[string]string{"X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "X-Amz-Decoded-Content-Length": "-1"}, CodeInvalidArgument},
		// CompleteMultipartUpload: the checksum describes the object.
		{"complete multipart", "POST", "/b/k?uploadId=abc", map[string]string{"X-Amz-Checksum-Crc32": "AAAAAA==-3"}, ""},
		{"content md5 is not ours", "PUT", "/b/k", map[string]string{"Content-Md5": "garbage"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := verifyAndRead(v, anon(tc.method, tc.target, data, tc.hdr))
			wantCode(t, o, tc.code)
			if tc.code == "" && (o.HasChecksum || !o.Anonymous) {
				t.Fatalf("outcome %+v", o)
			}
		})
	}
}

func TestChecksumOnlyAfterEOF(t *testing.T) {
	data := payload(10_000)
	res, err := newTestVerifier().Verify(anon("PUT", "/b/k", data, map[string]string{"X-Amz-Checksum-Crc32": crc32B64(data)}))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := res.Checksum(); ok {
		t.Fatal("checksum before reading")
	}
	if _, err := io.ReadFull(res.Body, make([]byte, len(data))); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := res.Checksum(); ok {
		t.Fatal("checksum before EOF")
	}
	if n, err := res.Body.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("read %d, %v", n, err)
	}
	if algo, val, ok := res.Checksum(); !ok || algo != "CRC32" || val != crc32B64(data) {
		t.Fatalf("checksum %s %s %v", algo, val, ok)
	}
}

// unsignedChunked encodes data as an aws-chunked body without signatures,
// the way botocore does, with the given chunk size and trailer text.
func unsignedChunked(data []byte, chunk int, trailer string) []byte {
	var b bytes.Buffer
	for len(data) > 0 {
		n := min(chunk, len(data))
		b.WriteString(strconv.FormatInt(int64(n), 16) + "\r\n")
		b.Write(data[:n])
		b.WriteString("\r\n")
		data = data[n:]
	}
	b.WriteString("0\r\n" + trailer + "\r\n")
	return b.Bytes()
}

func TestUnsignedTrailerBotocoreFraming(t *testing.T) {
	data := payload(2<<20 + 123)
	crc := crc32B64(data)
	hdr := func(decoded string) map[string]string {
		m := map[string]string{
			"X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
			"X-Amz-Trailer":        "x-amz-checksum-crc32",
			"Content-Encoding":     "aws-chunked",
		}
		if decoded != "" {
			m["X-Amz-Decoded-Content-Length"] = decoded
		}
		return m
	}
	body := unsignedChunked(data, 1<<20, "x-amz-checksum-crc32:"+crc+"\r\n")
	v := newTestVerifier()
	o := verifyAndRead(v, anon("PUT", "/b/k", body, hdr("2097275")))
	wantCode(t, o, "")
	if !bytes.Equal(o.Body, data) || o.Value != crc || o.ContentLength != int64(len(data)) {
		t.Fatalf("decoded %d bytes, checksum %s, length %d", len(o.Body), o.Value, o.ContentLength)
	}
	// Without x-amz-decoded-content-length the length is unknown.
	o = verifyAndRead(v, anon("PUT", "/b/k", body, hdr("")))
	wantCode(t, o, "")
	if o.ContentLength != -1 || !bytes.Equal(o.Body, data) {
		t.Fatalf("length %d", o.ContentLength)
	}
	// Decoded length mismatches, both ways.
	wantCode(t, verifyAndRead(v, anon("PUT", "/b/k", body, hdr("2097276"))), CodeIncompleteBody)
	wantCode(t, verifyAndRead(v, anon("PUT", "/b/k", body, hdr("2097274"))), CodeIncompleteBody)
	// Bare LF line ends are tolerated in the framing.
	lf := bytes.ReplaceAll(unsignedChunked([]byte("abc"), 10, "x-amz-checksum-crc32:"+crc32B64([]byte("abc"))+"\n"), []byte("0\r\n"), []byte("0\n"))
	wantCode(t, verifyAndRead(v, anon("PUT", "/b/k", lf, hdr("3"))), "")
	// Bad CRC32 trailer.
	wantCode(t, verifyAndRead(v, anon("PUT", "/b/k", unsignedChunked(data, 1<<20, "x-amz-checksum-crc32:"+crc32B64(data[1:])+"\r\n"), hdr(""))), CodeBadDigest)
	// Trailer missing, undeclared or doubled.
	wantCode(t, verifyAndRead(v, anon("PUT", "/b/k", unsignedChunked(data, 1<<20, ""), hdr(""))), CodeMalformedTrailerError)
	wantCode(t, verifyAndRead(v, anon("PUT", "/b/k", unsignedChunked(data, 1<<20, "x-amz-checksum-crc32:"+crc+"\r\nx-amz-meta-a:b\r\n"), hdr(""))), CodeMalformedTrailerError)
	wantCode(t, verifyAndRead(v, anon("PUT", "/b/k", unsignedChunked(data, 1<<20, "x-amz-checksum-crc32:"+crc+"\r\nx-amz-checksum-crc32:"+crc+"\r\n"), hdr(""))), CodeMalformedTrailerError)
	wantCode(t, verifyAndRead(v, anon("PUT", "/b/k", unsignedChunked(data, 1<<20, "x-amz-checksum-crc32:"+crc+"\r\nx-amz-trailer-signature:00\r\n"), hdr(""))), CodeMalformedTrailerError)
	// Chunk data not followed by CRLF.
	bad := bytes.Clone(body)
	bad[len("100000\r\n")+1<<20] = 'x'
	wantCode(t, verifyAndRead(v, anon("PUT", "/b/k", bad, hdr(""))), CodeInvalidRequest)
}

func TestPlainBodyTruncated(t *testing.T) {
	v := newTestVerifier()
	r := anon("PUT", "/b/k", []byte("short"), nil)
	r.ContentLength = 100
	wantCode(t, verifyAndRead(v, r), CodeIncompleteBody)
	r = anon("PUT", "/b/k", nil, nil)
	r.Body = io.NopCloser(io.MultiReader(strings.NewReader("abc"), errReader{io.ErrUnexpectedEOF}))
	r.ContentLength = 10
	wantCode(t, verifyAndRead(v, r), CodeIncompleteBody)
	// Other read errors pass through unchanged.
	r = anon("PUT", "/b/k", nil, nil)
	r.Body = io.NopCloser(errReader{io.ErrClosedPipe})
	if o := verifyAndRead(v, r); !strings.Contains(o.Code, io.ErrClosedPipe.Error()) {
		t.Fatalf("code %q", o.Code)
	}
	// A wrong hex x-amz-content-sha256 on an anonymous body is still checked.
	wantCode(t, verifyAndRead(v, anon("PUT", "/b/k", []byte("abc"), map[string]string{"X-Amz-Content-Sha256": emptyPayload})), CodeXAmzContentSHA256Mismatch)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
