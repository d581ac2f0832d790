package sigv4

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

// chunkedConfigs are the decoder configurations the fuzzer picks from.
func chunkedConfigs() []chunkedConfig {
	sc := testSigningCtx()
	crc := algoByHeader("x-amz-checksum-crc32")
	return []chunkedConfig{
		{decodedLen: -1},
		{trailer: crc, decodedLen: -1},
		{sc: sc, signed: true, decodedLen: -1},
		{sc: sc, signed: true, signedTrailer: true, trailer: crc, decodedLen: -1},
		{trailer: crc, decodedLen: 5},
	}
}

func FuzzChunkedReader(f *testing.F) {
	sc := testSigningCtx()
	data := []byte("hello")
	crcLine := "x-amz-checksum-crc32:" + crc32B64(data) + "\n"
	f.Add(uint8(0), []byte("5\r\nhello\r\n0\r\n\r\n"))
	f.Add(uint8(1), unsignedChunked(data, 2, strings.ReplaceAll(crcLine, "\n", "\r\n")))
	f.Add(uint8(2), signedChunked(sc, [][]byte{data, []byte(" world")}, ""))
	f.Add(uint8(3), signedChunked(sc, [][]byte{data}, crcLine))
	f.Add(uint8(4), unsignedChunked(data, 5, "x-amz-checksum-crc32:"+crc32B64(data)+"\n\r\n"))
	f.Add(uint8(0), []byte("0\r\n"))
	f.Add(uint8(2), []byte("fffffff;chunk-signature=00\r\n"))
	cfgs := chunkedConfigs()
	f.Fuzz(func(t *testing.T, mode uint8, body []byte) {
		cfg := cfgs[int(mode)%len(cfgs)]
		// Read through a one-byte-at-a-time reader half the time, so that
		// every framing boundary is also met split.
		var src io.Reader = bytes.NewReader(body)
		if mode&0x80 != 0 {
			src = iotest.OneByteReader(src)
		}
		cr := newChunkedReader(src, cfg)
		var out bytes.Buffer
		buf := make([]byte, 1+int(mode&0x0f)*7)
		var err error
		for {
			var n int
			n, err = cr.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				break
			}
		}
		// The decoder never yields more than it was given, and it only
		// ends with EOF or a *Error.
		if out.Len() > len(body) {
			t.Fatalf("decoded %d bytes from %d", out.Len(), len(body))
		}
		if cap(cr.buf) > 2*len(body)+minChunkBuf {
			t.Fatalf("buffer of %d for a %d-byte body", cap(cr.buf), len(body))
		}
		var e *Error
		if err != io.EOF && !errors.As(err, &e) {
			t.Fatalf("error %T %v", err, err)
		}
		if err == io.EOF && cfg.decodedLen >= 0 && int64(out.Len()) != cfg.decodedLen {
			t.Fatalf("EOF after %d bytes, declared %d", out.Len(), cfg.decodedLen)
		}
		// The error is sticky.
		if n, err2 := cr.Read(buf); n != 0 || err2 != err {
			t.Fatalf("read after %v: %d, %v", err, n, err2)
		}
	})
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add(authz("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"))
	f.Add("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f/g,SignedHeaders=;;,Signature=")
	f.Add("AWS AK:sig")
	f.Add("")
	v := exampleVerifier()
	f.Fuzz(func(t *testing.T, h string) {
		p, err := parseAuthorization(h)
		if err == nil {
			if p.cred.accessKey == "" || p.cred.region == "" || len(p.cred.date) != 8 || p.signature == "" {
				t.Fatalf("accepted incomplete credential %+v", p)
			}
			hasHost := false
			for _, n := range p.signedHeaders {
				hasHost = hasHost || n == "host"
			}
			if !hasHost || len(p.signedHeaders) > maxSignedHeaders {
				t.Fatalf("signed headers %v", p.signedHeaders)
			}
		} else if err.Code == "" || err.Message == "" {
			t.Fatalf("error without code or message: %+v", err)
		}
		// The whole path, on the GET example request.
		r := httptest.NewRequest("GET", "https://examplebucket.s3.amazonaws.com/test.txt", nil)
		r.Header.Set("Range", "bytes=0-9")
		r.Header.Set("X-Amz-Content-Sha256", emptyPayload)
		r.Header.Set("X-Amz-Date", "20130524T000000Z")
		r.Header.Set("Authorization", h)
		if res, err := v.Verify(r); err == nil {
			if !res.Anonymous && res.AccessKey != exampleAK {
				t.Fatalf("authenticated as %q", res.AccessKey)
			}
			_, _ = io.Copy(io.Discard, res.Body)
		}
	})
}

func FuzzPresignedQuery(f *testing.F) {
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x&X-Amz-Expires=-1")
	f.Add("X-Amz-Signature=&&&=&%zz+%20")
	f.Add("AWSAccessKeyId=a&Signature=b")
	f.Add("prefix=a%20b&list-type=2")
	v := exampleVerifier()
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest("GET", "https://examplebucket.s3.amazonaws.com/test.txt", nil)
		r.URL.RawQuery = rawQuery
		res, err := v.Verify(r)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		if !res.Anonymous && res.AccessKey != exampleAK {
			t.Fatalf("authenticated as %q", res.AccessKey)
		}
		// The canonical query is a function of the decoded pairs: it
		// never panics and is stable.
		pairs := parseQuery(rawQuery)
		if canonicalQuery(pairs, true) != canonicalQuery(parseQuery(rawQuery), true) {
			t.Fatal("canonical query not deterministic")
		}
		_, _ = io.Copy(io.Discard, res.Body)
	})
}
