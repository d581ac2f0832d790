package sigv4

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Known answers from AWS's published SigV4 examples for S3 ("Examples of
// signature calculations" in the S3 API reference), all with the example
// credentials AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
// at 20130524T000000Z in us-east-1.

const (
	exampleTime  = "2013-05-24T00:00:00Z"
	exampleCred  = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
	emptyPayload = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

func exampleVerifier() *Verifier {
	return &Verifier{Lookup: testLookup, Region: "us-east-1", Now: fixedNow(exampleTime)}
}

func authz(signed, sig string) string {
	return "AWS4-HMAC-SHA256 Credential=" + exampleCred + ",SignedHeaders=" + signed + ",Signature=" + sig
}

func TestAWSExampleHeaderAuth(t *testing.T) {
	cases := []struct {
		name, method, url string
		headers           map[string]string
		body              string
		signed, sig       string
	}{
		{
			name: "GET object", method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt",
			headers: map[string]string{"Range": "bytes=0-9", "X-Amz-Content-Sha256": emptyPayload, "X-Amz-Date": "20130524T000000Z"},
			signed:  "host;range;x-amz-content-sha256;x-amz-date",
			sig:     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		},
		{
			name: "PUT object", method: "PUT", url: "https://examplebucket.s3.amazonaws.com/test$file.text",
			headers: map[string]string{
				"Date": "Fri, 24 May 2013 00:00:00 GMT", "X-Amz-Date": "20130524T000000Z",
				"X-Amz-Storage-Class":  "REDUCED_REDUNDANCY",
				"X-Amz-Content-Sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
			},
			body:   "Welcome to Amazon S3.",
			signed: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
			sig:    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
		},
		{
			name: "GET bucket lifecycle", method: "GET", url: "https://examplebucket.s3.amazonaws.com/?lifecycle",
			headers: map[string]string{"X-Amz-Content-Sha256": emptyPayload, "X-Amz-Date": "20130524T000000Z"},
			signed:  "host;x-amz-content-sha256;x-amz-date",
			sig:     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
		},
		{
			name: "list objects", method: "GET", url: "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J",
			headers: map[string]string{"X-Amz-Content-Sha256": emptyPayload, "X-Amz-Date": "20130524T000000Z"},
			signed:  "host;x-amz-content-sha256;x-amz-date",
			sig:     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mk := func(sig string) *http.Request {
				r := httptest.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
				for k, v := range tc.headers {
					r.Header.Set(k, v)
				}
				r.Header.Set("Authorization", authz(tc.signed, sig))
				return r
			}
			o := verifyAndRead(exampleVerifier(), mk(tc.sig))
			wantCode(t, o, "")
			if string(o.Body) != tc.body || o.AccessKey != exampleAK || o.Anonymous {
				t.Fatalf("outcome %+v", o)
			}
			// One flipped hex digit of the signature must fail.
			bad := []byte(tc.sig)
			bad[10] ^= 1
			wantCode(t, verifyAndRead(exampleVerifier(), mk(string(bad))), CodeSignatureDoesNotMatch)
			// So must any change to a signed part of the request.
			r := mk(tc.sig)
			r.Method = "DELETE"
			wantCode(t, verifyAndRead(exampleVerifier(), r), CodeSignatureDoesNotMatch)
		})
	}
}

func TestAWSExamplePresignedGET(t *testing.T) {
	const u = "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	v := exampleVerifier()
	v.Now = fixedNow("2013-05-24T23:59:59Z") // within the 86400 s
	o := verifyAndRead(v, httptest.NewRequest("GET", u, nil))
	wantCode(t, o, "")
	if o.AccessKey != exampleAK {
		t.Fatalf("access key %q", o.AccessKey)
	}
	v.Now = fixedNow("2013-05-25T00:00:01Z") // one second after expiry
	o = verifyAndRead(v, httptest.NewRequest("GET", u, nil))
	wantCode(t, o, CodeAccessDenied)
	if o.Message != "Request has expired" {
		t.Fatalf("message %q", o.Message)
	}
	v.Now = fixedNow(exampleTime)
	wantCode(t, verifyAndRead(v, httptest.NewRequest("GET", strings.Replace(u, "test.txt", "test.tx", 1), nil)), CodeSignatureDoesNotMatch)
	wantCode(t, verifyAndRead(v, httptest.NewRequest("GET", u+"&extra=1", nil)), CodeSignatureDoesNotMatch)
}

// awsChunkedExample builds the body of AWS's chunked upload example: 65 KiB
// of 'a' in a 64 KiB and a 1 KiB chunk, then the final chunk, then tail.
func awsChunkedExample(sig1, sig2, sig3, tail string) []byte {
	var b bytes.Buffer
	b.WriteString("10000;chunk-signature=" + sig1 + "\r\n")
	b.Write(bytes.Repeat([]byte{'a'}, 65536))
	b.WriteString("\r\n400;chunk-signature=" + sig2 + "\r\n")
	b.Write(bytes.Repeat([]byte{'a'}, 1024))
	b.WriteString("\r\n0;chunk-signature=" + sig3 + "\r\n")
	b.WriteString(tail)
	return b.Bytes()
}

func TestAWSExampleChunkedUpload(t *testing.T) {
	const (
		seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
		c1   = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
		c2   = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
		c3   = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
	)
	mk := func(body []byte) *http.Request {
		r := httptest.NewRequest("PUT", "https://s3.amazonaws.com/examplebucket/chunkObject.txt", bytes.NewReader(body))
		r.Header.Set("Content-Encoding", "aws-chunked")
		r.Header.Set("Content-Length", "66824")
		r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
		r.Header.Set("X-Amz-Date", "20130524T000000Z")
		r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
		r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
		r.Header.Set("Authorization", authz("content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class", seed))
		return r
	}
	body := awsChunkedExample(c1, c2, c3, "\r\n")
	if len(body) != 66824 {
		t.Fatalf("example body is %d bytes", len(body))
	}
	o := verifyAndRead(exampleVerifier(), mk(body))
	wantCode(t, o, "")
	if !bytes.Equal(o.Body, bytes.Repeat([]byte{'a'}, 66560)) || o.ContentLength != 66560 {
		t.Fatalf("decoded %d bytes, content length %d", len(o.Body), o.ContentLength)
	}

	// Each chunk signature is checked: a wrong one fails, even the last.
	for i, sigs := range [][3]string{{c2, c2, c3}, {c1, c1, c3}, {c1, c2, c2}} {
		o := verifyAndRead(exampleVerifier(), mk(awsChunkedExample(sigs[0], sigs[1], sigs[2], "\r\n")))
		wantCode(t, o, CodeSignatureDoesNotMatch)
		if o.Stage != "read" {
			t.Fatalf("case %d: failed at %s", i, o.Stage)
		}
	}
	// The first chunk is never released when its signature fails.
	bad := awsChunkedExample(c1, c2, c3, "\r\n")
	bad[100] = 'b'
	o = verifyAndRead(exampleVerifier(), mk(bad))
	wantCode(t, o, CodeSignatureDoesNotMatch)
	if len(o.Body) != 0 {
		t.Fatalf("released %d bytes of an unverified chunk", len(o.Body))
	}
	// Tampered second chunk: only the verified first chunk is released.
	bad = awsChunkedExample(c1, c2, c3, "\r\n")
	bad[88+65538+86+5] = 'b'
	o = verifyAndRead(exampleVerifier(), mk(bad))
	wantCode(t, o, CodeSignatureDoesNotMatch)
	if len(o.Body) != 65536 {
		t.Fatalf("released %d bytes, want the 65536 of the verified first chunk", len(o.Body))
	}
	// A wrong seed (request signature) is refused before any body is read.
	r := mk(body)
	r.Header.Set("Authorization", authz("content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class", c1))
	wantCode(t, verifyAndRead(exampleVerifier(), r), CodeSignatureDoesNotMatch)
	// Truncated: without the final chunk.
	wantCode(t, verifyAndRead(exampleVerifier(), mk(body[:88+65538+86+1026])), CodeIncompleteBody)
	// Truncated inside the second chunk's data.
	wantCode(t, verifyAndRead(exampleVerifier(), mk(body[:88+65538+86+500])), CodeIncompleteBody)
}

func TestAWSExampleChunkedUploadWithTrailer(t *testing.T) {
	const (
		seed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
		c1   = "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"
		c2   = "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"
		c3   = "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"
		ts   = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
	)
	mk := func(body []byte) *http.Request {
		r := httptest.NewRequest("PUT", "https://s3.amazonaws.com/examplebucket/chunkObject.txt", bytes.NewReader(body))
		r.Header.Set("Content-Encoding", "aws-chunked")
		r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
		r.Header.Set("X-Amz-Date", "20130524T000000Z")
		r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
		r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
		r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
		r.Header.Set("Authorization", authz("content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer", seed))
		return r
	}
	trailer := func(crc, sig string) string {
		return "x-amz-checksum-crc32c:" + crc + "\r\nx-amz-trailer-signature:" + sig + "\r\n\r\n"
	}
	body := awsChunkedExample(c1, c2, c3, trailer("sOO8/Q==", ts))
	if len(body) != 66946 {
		t.Fatalf("example body is %d bytes", len(body))
	}
	o := verifyAndRead(exampleVerifier(), mk(body))
	wantCode(t, o, "")
	if len(o.Body) != 66560 || !o.HasChecksum || o.Algo != "CRC32C" || o.Value != "sOO8/Q==" {
		t.Fatalf("outcome: %d bytes, checksum %v %q %q", len(o.Body), o.HasChecksum, o.Algo, o.Value)
	}
	// A changed trailer value breaks the trailer signature.
	wantCode(t, verifyAndRead(exampleVerifier(), mk(awsChunkedExample(c1, c2, c3, trailer("AAAAAA==", ts)))), CodeSignatureDoesNotMatch)
	// A changed trailer signature too.
	wantCode(t, verifyAndRead(exampleVerifier(), mk(awsChunkedExample(c1, c2, c3, trailer("sOO8/Q==", c1)))), CodeSignatureDoesNotMatch)
	// A missing trailer signature is malformed.
	wantCode(t, verifyAndRead(exampleVerifier(), mk(awsChunkedExample(c1, c2, c3, "x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n"))), CodeMalformedTrailerError)
	// A missing trailer is malformed.
	wantCode(t, verifyAndRead(exampleVerifier(), mk(awsChunkedExample(c1, c2, c3, "x-amz-trailer-signature:"+ts+"\r\n\r\n"))), CodeMalformedTrailerError)
}
