package sigv4

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCanonicalURI(t *testing.T) {
	for path, want := range map[string]string{
		"":                    "/",
		"/":                   "/",
		"/b/a b":              "/b/a%20b",
		"/b/a+b":              "/b/a%2Bb",
		"/b/100%":             "/b/100%25",
		"/b/ü":                "/b/%C3%BC",
		"/b//k/":              "/b//k/",
		"/b/./../k":           "/b/./../k",
		"/b/-._~AZaz09":       "/b/-._~AZaz09",
		"/b/!$&'()*,;=:@?#[]": "/b/%21%24%26%27%28%29%2A%2C%3B%3D%3A%40%3F%23%5B%5D",
	} {
		if got := canonicalURI(&url.URL{Path: path}); got != want {
			t.Errorf("canonicalURI(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	for raw, want := range map[string]string{
		"":                          "",
		"lifecycle":                 "lifecycle=",
		"prefix=J&max-keys=2":       "max-keys=2&prefix=J",
		"a=2&a=1&b=":                "a=1&a=2&b=",
		"p=a+b%2Bc%20d":             "p=a%20b%2Bc%20d",
		"p=%C3%BC/x~":               "p=%C3%BC%2Fx~",
		"&&x=1&":                    "x=1",
		"p=%zz":                     "p=%25zz",
		"X-Amz-Signature=s&z=1&a=1": "a=1&z=1",
	} {
		if got := canonicalQuery(parseQuery(raw), true); got != want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", raw, got, want)
		}
	}
	if got := canonicalQuery(parseQuery("X-Amz-Signature=s"), false); got != "X-Amz-Signature=s" {
		t.Errorf("header auth dropped X-Amz-Signature: %q", got)
	}
}

func TestHeaderValue(t *testing.T) {
	r := httptest.NewRequest("PUT", "http://h.test:9000/b/k", strings.NewReader("abc"))
	r.Header.Add("X-Amz-Meta-A", "  a   b\t c  ")
	r.Header.Add("X-Amz-Meta-A", "d")
	r.Header.Set("X-Amz-Meta-Plain", "plain value")
	r.TransferEncoding = []string{"chunked"}
	for name, want := range map[string]string{
		"host":              "h.test:9000",
		"x-amz-meta-a":      "a b c,d",
		"x-amz-meta-plain":  "plain value",
		"x-amz-meta-absent": "",
		"content-length":    "3",
		"transfer-encoding": "chunked",
	} {
		if got := headerValue(r, name); got != want {
			t.Errorf("headerValue(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestParseAuthorization(t *testing.T) {
	const cred = "Credential=AK/20130524/us-east-1/s3/aws4_request"
	const sh = "SignedHeaders=host;x-amz-date"
	const sig = "Signature=" + emptyPayload
	good := []string{
		"AWS4-HMAC-SHA256 " + cred + "," + sh + "," + sig,
		"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", " + sig,
		"AWS4-HMAC-SHA256   " + sig + " , " + cred + " ," + sh,
	}
	for _, h := range good {
		p, err := parseAuthorization(h)
		if err != nil {
			t.Fatalf("%q: %v", h, err)
		}
		if p.cred.accessKey != "AK" || p.cred.scope != "20130524/us-east-1/s3/aws4_request" || p.cred.region != "us-east-1" ||
			strings.Join(p.signedHeaders, ";") != "host;x-amz-date" || p.signature != emptyPayload {
			t.Fatalf("%q: %+v", h, p)
		}
	}
	for h, code := range map[string]string{
		"AWS AK:c2lnbmF0dXJl":                                                                                   CodeInvalidRequest,
		"AWS4-HMAC-SHA256":                                                                                      CodeInvalidRequest,
		"AWS4-HMAC-SHA256X " + cred:                                                                             CodeInvalidRequest,
		"Bearer token":                                                                                          CodeInvalidRequest,
		"AWS4-HMAC-SHA256 " + cred + "," + sh:                                                                   CodeAuthorizationHeaderMalformed,
		"AWS4-HMAC-SHA256 " + cred + "," + sh + "," + sig + ",":                                                 CodeAuthorizationHeaderMalformed,
		"AWS4-HMAC-SHA256 " + cred + "," + cred + "," + sh + "," + sig:                                          CodeAuthorizationHeaderMalformed,
		"AWS4-HMAC-SHA256 " + cred + "," + sh + "," + sig + ",Foo=bar":                                          CodeAuthorizationHeaderMalformed,
		"AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3," + sh + "," + sig:                                CodeAuthorizationHeaderMalformed,
		"AWS4-HMAC-SHA256 Credential=AK/2013052/us-east-1/s3/aws4_request," + sh + "," + sig:                    CodeAuthorizationHeaderMalformed,
		"AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/ec2/aws4_request," + sh + "," + sig:                  CodeAuthorizationHeaderMalformed,
		"AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws5_request," + sh + "," + sig:                   CodeAuthorizationHeaderMalformed,
		"AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request," + sh + "," + sig:                     CodeAuthorizationHeaderMalformed,
		"AWS4-HMAC-SHA256 " + cred + ",SignedHeaders=x-amz-date," + sig:                                         CodeAuthorizationHeaderMalformed,
		"AWS4-HMAC-SHA256 " + cred + ",SignedHeaders=host;;x-amz-date," + sig:                                   CodeAuthorizationHeaderMalformed,
		"AWS4-HMAC-SHA256 " + cred + "," + sh + ",Signature=":                                                   CodeAuthorizationHeaderMalformed,
		"AWS4-HMAC-SHA256 " + cred + ",SignedHeaders=host" + strings.Repeat(";x", maxSignedHeaders) + "," + sig: CodeAuthorizationHeaderMalformed,
		"AWS4-HMAC-SHA256 " + cred + "," + sh + "," + sig + strings.Repeat("0", maxAuthHeaderLen):               CodeAuthorizationHeaderMalformed,
	} {
		_, err := parseAuthorization(h)
		if err == nil || err.Code != code {
			t.Errorf("%.80q: got %v, want %s", h, err, code)
		}
	}
}

func TestVerifyHeaderAuthErrors(t *testing.T) {
	v := exampleVerifier()
	base := func() *http.Request {
		r := httptest.NewRequest("GET", "https://examplebucket.s3.amazonaws.com/test.txt", nil)
		r.Header.Set("Range", "bytes=0-9")
		r.Header.Set("X-Amz-Content-Sha256", emptyPayload)
		r.Header.Set("X-Amz-Date", "20130524T000000Z")
		r.Header.Set("Authorization", authz("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"))
		return r
	}
	wantCode(t, verifyAndRead(v, base()), "")
	for name, tc := range map[string]struct {
		mod  func(*http.Request)
		code string
	}{
		"no date":         {func(r *http.Request) { r.Header.Del("X-Amz-Date") }, CodeAccessDenied},
		"bad date":        {func(r *http.Request) { r.Header.Set("X-Amz-Date", "2013-05-24T00:00:00Z") }, CodeAccessDenied},
		"credential date": {func(r *http.Request) { r.Header.Set("X-Amz-Date", "20130525T000000Z") }, CodeAuthorizationHeaderMalformed},
		"unknown key": {func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), exampleAK, "AKIDNOPE", 1))
		}, CodeInvalidAccessKeyID},
		"region": {func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "us-east-1", "eu-west-1", 1))
		}, CodeAuthorizationHeaderMalformed},
		"two authorizations":  {func(r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }, CodeAuthorizationHeaderMalformed},
		"signed range change": {func(r *http.Request) { r.Header.Set("Range", "bytes=0-10") }, CodeSignatureDoesNotMatch},
		"extra query":         {func(r *http.Request) { r.URL.RawQuery = "x=1" }, CodeSignatureDoesNotMatch},
		"host":                {func(r *http.Request) { r.Host = "other.s3.amazonaws.com" }, CodeSignatureDoesNotMatch},
		"unsigned amz header": {func(r *http.Request) { r.Header.Set("X-Amz-Acl", "public-read") }, CodeAccessDenied},
		"long query":          {func(r *http.Request) { r.URL.RawQuery = "p=" + strings.Repeat("a", maxRawQueryLen) }, CodeInvalidRequest},
		"v2 presign as well":  {func(r *http.Request) { r.URL.RawQuery = "AWSAccessKeyId=a&Signature=b" }, CodeInvalidArgument},
		"skew":                {func(r *http.Request) { v.Now = fixedNow("2013-05-24T00:16:00Z") }, CodeRequestTimeTooSkewed},
		"skew in the past":    {func(r *http.Request) { v.Now = fixedNow("2013-05-23T23:44:00Z") }, CodeRequestTimeTooSkewed},
		"skew set wider": {func(r *http.Request) {
			v.Now = fixedNow("2013-05-24T00:16:00Z")
			v.MaxSkew = time.Hour
		}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			v.Now, v.MaxSkew = fixedNow(exampleTime), 0
			r := base()
			tc.mod(r)
			wantCode(t, verifyAndRead(v, r), tc.code)
		})
	}
	// A SigV2 presigned query is checked as V2: an unknown key is refused.
	wantCode(t, verifyAndRead(v, httptest.NewRequest("GET", "/b/k?AWSAccessKeyId=a&Signature=b&Expires=1", nil)), CodeInvalidAccessKeyID)
	// No authentication at all is anonymous.
	o := verifyAndRead(v, httptest.NewRequest("GET", "/b/k", nil))
	wantCode(t, o, "")
	if !o.Anonymous || o.AccessKey != "" {
		t.Fatalf("outcome %+v", o)
	}
}

func TestPresignedQueryErrors(t *testing.T) {
	v := exampleVerifier()
	q := func(mod func(url.Values)) string {
		vals := url.Values{
			"X-Amz-Algorithm":     {"AWS4-HMAC-SHA256"},
			"X-Amz-Credential":    {exampleCred},
			"X-Amz-Date":          {"20130524T000000Z"},
			"X-Amz-Expires":       {"86400"},
			"X-Amz-SignedHeaders": {"host"},
			"X-Amz-Signature":     {"aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"},
		}
		if mod != nil {
			mod(vals)
		}
		return "https://examplebucket.s3.amazonaws.com/test.txt?" + vals.Encode()
	}
	wantCode(t, verifyAndRead(v, httptest.NewRequest("GET", q(nil), nil)), "")
	for name, tc := range map[string]struct {
		mod  func(url.Values)
		code string
	}{
		"algorithm":          {func(u url.Values) { u.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA1") }, CodeAuthorizationQueryParamsError},
		"no credential":      {func(u url.Values) { u.Del("X-Amz-Credential") }, CodeAuthorizationQueryParamsError},
		"no expires":         {func(u url.Values) { u.Del("X-Amz-Expires") }, CodeAuthorizationQueryParamsError},
		"no signed headers":  {func(u url.Values) { u.Del("X-Amz-SignedHeaders") }, CodeAuthorizationQueryParamsError},
		"no signature":       {func(u url.Values) { u.Del("X-Amz-Signature") }, CodeAuthorizationQueryParamsError},
		"only a signature":   {func(u url.Values) { u.Del("X-Amz-Algorithm"); u.Del("X-Amz-Credential") }, CodeAuthorizationQueryParamsError},
		"twice":              {func(u url.Values) { u.Add("X-Amz-Signature", "x") }, CodeAuthorizationQueryParamsError},
		"date":               {func(u url.Values) { u.Set("X-Amz-Date", "20130524") }, CodeAuthorizationQueryParamsError},
		"credential date":    {func(u url.Values) { u.Set("X-Amz-Date", "20130523T235959Z") }, CodeAuthorizationQueryParamsError},
		"expires not number": {func(u url.Values) { u.Set("X-Amz-Expires", "1h") }, CodeAuthorizationQueryParamsError},
		"expires negative":   {func(u url.Values) { u.Set("X-Amz-Expires", "-1") }, CodeAuthorizationQueryParamsError},
		"expires too long":   {func(u url.Values) { u.Set("X-Amz-Expires", strconv.Itoa(maxPresignExpires+1)) }, CodeAuthorizationQueryParamsError},
		"expires changed":    {func(u url.Values) { u.Set("X-Amz-Expires", "86401") }, CodeSignatureDoesNotMatch},
		"credential":         {func(u url.Values) { u.Set("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3") }, CodeAuthorizationQueryParamsError},
		"region": {func(u url.Values) {
			u.Set("X-Amz-Credential", strings.Replace(exampleCred, "us-east-1", "eu-west-1", 1))
		}, CodeAuthorizationQueryParamsError},
		"unknown key":        {func(u url.Values) { u.Set("X-Amz-Credential", strings.Replace(exampleCred, exampleAK, "AKIDNOPE", 1)) }, CodeInvalidAccessKeyID},
		"no host signed":     {func(u url.Values) { u.Set("X-Amz-SignedHeaders", "x-amz-date") }, CodeAuthorizationQueryParamsError},
		"bad payload hash":   {func(u url.Values) { u.Set("X-Amz-Content-Sha256", "xyz") }, CodeInvalidArgument},
		"payload hash given": {func(u url.Values) { u.Set("X-Amz-Content-Sha256", emptyPayload) }, CodeSignatureDoesNotMatch},
	} {
		t.Run(name, func(t *testing.T) {
			wantCode(t, verifyAndRead(v, httptest.NewRequest("GET", q(tc.mod), nil)), tc.code)
		})
	}
}

// signedChunked encodes chunks as a signed aws-chunked body chained from
// sc.seed, with a signed trailer when trailer is set ("name:value\n").
func signedChunked(sc *signingCtx, chunks [][]byte, trailer string) []byte {
	var b bytes.Buffer
	prev := sc.seed
	for _, c := range append(chunks, nil) {
		sig := hexSig(sc.chunkSignature(prev, sha256Hex(c)))
		b.WriteString(strconv.FormatInt(int64(len(c)), 16) + ";chunk-signature=" + sig + "\r\n")
		b.Write(c)
		if len(c) > 0 || trailer == "" {
			b.WriteString("\r\n")
		}
		prev = sig
	}
	if trailer != "" {
		b.WriteString(strings.ReplaceAll(trailer, "\n", "\r\n"))
		b.WriteString("x-amz-trailer-signature:" + hexSig(sc.trailerSignature(prev, trailer)) + "\r\n\r\n")
	}
	return b.Bytes()
}

func hexSig(b []byte) string {
	const digits = "0123456789abcdef"
	s := make([]byte, 2*len(b))
	for i, c := range b {
		s[2*i], s[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(s)
}

func testSigningCtx() *signingCtx {
	return &signingCtx{
		key:     signingKey(testSK, "20240101", testRegion, serviceS3),
		amzDate: "20240101T000000Z",
		scope:   "20240101/" + testRegion + "/s3/aws4_request",
		seed:    strings.Repeat("ab", 32),
	}
}

func readChunked(body []byte, cfg chunkedConfig) ([]byte, error) {
	cr := newChunkedReader(bytes.NewReader(body), cfg)
	var out bytes.Buffer
	_, err := out.ReadFrom(cr)
	return out.Bytes(), err
}

func codeOf(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return "other: " + err.Error()
}

func TestChunkedBounds(t *testing.T) {
	sc := testSigningCtx()
	signed := chunkedConfig{sc: sc, signed: true, decodedLen: -1}

	// Chunks of mixed sizes decode, with a signed CRC32C trailer.
	chunks := [][]byte{payload(1), payload(8192), payload(100_000), payload(3)}
	all := bytes.Join(chunks, nil)
	crcAlgo := algoByHeader("x-amz-checksum-crc32c")
	tr := "x-amz-checksum-crc32c:" + checksumOf(crcAlgo, all) + "\n"
	out, err := readChunked(signedChunked(sc, chunks, tr), chunkedConfig{sc: sc, signed: true, signedTrailer: true, trailer: crcAlgo, decodedLen: int64(len(all))})
	if err != nil || !bytes.Equal(out, all) {
		t.Fatalf("decode: %v, %d bytes", err, len(out))
	}

	// A chunk header line longer than maxChunkLine.
	_, err = readChunked([]byte("10;"+strings.Repeat("x", maxChunkLine)+"\r\n"), chunkedConfig{decodedLen: -1})
	if codeOf(err) != CodeInvalidRequest {
		t.Fatalf("long line: %v", err)
	}
	// A signed chunk larger than MaxSignedChunkSize is refused before its
	// data is read; one of exactly that size is accepted.
	big := strconv.FormatInt(MaxSignedChunkSize+1, 16) + ";chunk-signature=" + strings.Repeat("0", 64) + "\r\n"
	if _, err = readChunked([]byte(big), signed); codeOf(err) != CodeInvalidRequest {
		t.Fatalf("big chunk: %v", err)
	}
	max := payload(MaxSignedChunkSize)
	if out, err = readChunked(signedChunked(sc, [][]byte{max}, ""), signed); err != nil || len(out) != len(max) {
		t.Fatalf("max chunk: %v", err)
	}
	// A declared size costs memory only as bytes arrive: a 16 MiB header
	// followed by 10 bytes is a truncated body, not a 16 MiB allocation.
	short := strconv.FormatInt(MaxSignedChunkSize, 16) + ";chunk-signature=" + strings.Repeat("0", 64) + "\r\n0123456789"
	cr := newChunkedReader(strings.NewReader(short), signed)
	if _, err := cr.Read(make([]byte, 10)); codeOf(err) != CodeIncompleteBody {
		t.Fatalf("short chunk: %v", err)
	}
	if cap(cr.buf) > minChunkBuf {
		t.Fatalf("buffer grew to %d for 10 bytes", cap(cr.buf))
	}
	// A trailer section longer than maxTrailerBytes.
	_, err = readChunked([]byte("0\r\n"+strings.Repeat("\r\n", maxTrailerBytes)), chunkedConfig{decodedLen: -1})
	if codeOf(err) != CodeMalformedTrailerError {
		t.Fatalf("long trailer: %v", err)
	}
	// Size syntax.
	for _, body := range []string{"\r\n", "g\r\n", "-1\r\n", "1000000000000000\r\n", ";x\r\n"} {
		if _, err := readChunked([]byte(body), chunkedConfig{decodedLen: -1}); codeOf(err) != CodeInvalidRequest {
			t.Errorf("%q: %v", body, err)
		}
	}
	// A signed chunk without a signature.
	if _, err := readChunked([]byte("3\r\nabc\r\n"), signed); codeOf(err) != CodeSignatureDoesNotMatch {
		t.Fatalf("no chunk signature: %v", err)
	}
	// Data after the final chunk of a body without trailer.
	body := append(signedChunked(sc, [][]byte{[]byte("abc")}, ""), "x-amz-meta:1\r\n"...)
	if _, err := readChunked(body, signed); codeOf(err) != CodeMalformedTrailerError {
		t.Fatalf("trailing data: %v", err)
	}
	// Empty body: missing final chunk.
	if _, err := readChunked(nil, signed); codeOf(err) != CodeIncompleteBody {
		t.Fatalf("empty: %v", err)
	}
}

// selfSign signs r with this package's own primitives (for rules that no
// independent signer produces): SignedHeaders as given, payload hash from
// x-amz-content-sha256, time from X-Amz-Date or Date.
func selfSign(t *testing.T, r *http.Request, signed string) {
	t.Helper()
	amzDate, _, e := requestTime(r)
	if e != nil {
		t.Fatal(e)
	}
	names, msg := parseSignedHeaders(signed)
	if msg != "" {
		t.Fatal(msg)
	}
	scope := amzDate[:8] + "/" + testRegion + "/s3/aws4_request"
	canonical := canonicalRequest(r, parseQuery(r.URL.RawQuery), false, names, signed, r.Header.Get("X-Amz-Content-Sha256"))
	sig := hmacSHA256(signingKey(testSK, amzDate[:8], testRegion, serviceS3), stringToSign(amzDate, scope, canonical))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAK+"/"+scope+", SignedHeaders="+signed+", Signature="+hexSig(sig))
}

func TestSignedHeaderRules(t *testing.T) {
	now := time.Now().UTC()
	v := newTestVerifier()
	// Date instead of X-Amz-Date.
	r := httptest.NewRequest("GET", "http://s3.test/b/k", nil)
	r.Header.Set("Date", now.Format(http.TimeFormat))
	r.Header.Set("X-Amz-Content-Sha256", emptyPayload)
	selfSign(t, r, "date;host;x-amz-content-sha256")
	wantCode(t, verifyAndRead(v, r), "")
	// An hour off, on the same UTC day as the signature's scope (else the
	// scope's date mismatch is found first): between 00:00 and 01:00 UTC an
	// hour ahead, else an hour behind.
	skewed := now.Add(-time.Hour)
	if skewed.YearDay() != now.YearDay() {
		skewed = now.Add(time.Hour)
	}
	r.Header.Set("Date", skewed.Format(http.TimeFormat))
	wantCode(t, verifyAndRead(v, r), CodeRequestTimeTooSkewed)
	r.Header.Set("Date", "yesterday")
	wantCode(t, verifyAndRead(v, r), CodeAccessDenied)

	// x-amz-content-sha256 may be left unsigned, as S3 allows; any other
	// x-amz-* header may not.
	r = httptest.NewRequest("PUT", "http://s3.test/b/k", strings.NewReader("abc"))
	r.Header.Set("X-Amz-Date", now.Format(iso8601Basic))
	r.Header.Set("X-Amz-Content-Sha256", sha256Hex([]byte("abc")))
	r.Header.Set("X-Amz-Meta-A", "1")
	selfSign(t, r, "host;x-amz-date;x-amz-meta-a")
	wantCode(t, verifyAndRead(v, r), "")
	r.Body = http.NoBody
	r.ContentLength = 0
	wantCode(t, verifyAndRead(v, r), CodeXAmzContentSHA256Mismatch)
	r.Header.Set("X-Amz-Content-Sha256", emptyPayload) // covered as the payload hash
	wantCode(t, verifyAndRead(v, r), CodeSignatureDoesNotMatch)
	r.Header.Set("X-Amz-Meta-B", "2")
	wantCode(t, verifyAndRead(v, r), CodeAccessDenied)
}

func TestPresignedUnsignedAmzHeader(t *testing.T) {
	v := exampleVerifier()
	const u = "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	r := httptest.NewRequest("GET", u, nil)
	r.Header.Set("X-Amz-Acl", "public-read")
	wantCode(t, verifyAndRead(v, r), CodeAccessDenied)
	// An unsigned x-amz-content-sha256 is ignored by a presigned request.
	r = httptest.NewRequest("GET", u, nil)
	r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	wantCode(t, verifyAndRead(v, r), "")
}
