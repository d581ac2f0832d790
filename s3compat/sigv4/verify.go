package sigv4

import (
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"time"
)

// Verifier authenticates S3 requests signed with AWS Signature Version 4.
// Its fields are read-only once it is in use; one Verifier serves any
// number of concurrent requests.
type Verifier struct {
	// Lookup returns the secret key of an access key. Required.
	Lookup func(accessKey string) (secret string, ok bool)
	// Region is the region accepted in the credential scope; "" accepts
	// any region.
	Region string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// MaxSkew is how far the request time of header-signed requests may
	// be from Now (and how far in the future a presigned URL may start).
	// Default 15 minutes.
	MaxSkew time.Duration
	// VirtualBucket, when set, returns the bucket a virtual-hosted-style
	// request names in its Host ("" for path-style requests). Signature
	// Version 2 signs the resource as /bucket/key in both styles.
	VirtualBucket func(r *http.Request) string
	// Checksums are x-amz-checksum-* algorithms accepted besides the
	// built-in ones.
	Checksums []ChecksumAlgorithm
	// MaxPresignV2 is how far after Now a Signature Version 2 presigned
	// URL's Expires may lie; a URL valid for longer is refused
	// (AccessDenied), as SigV4 refuses an X-Amz-Expires over 7 days. S3
	// itself sets no limit for V2, which lets a leaked URL live for years.
	// Default 7 days.
	MaxPresignV2 time.Duration
}

// DefaultMaxPresignV2 is the default Verifier.MaxPresignV2: the longest
// validity SigV4 allows a presigned URL.
const DefaultMaxPresignV2 = maxPresignExpires * time.Second

// Result is an authenticated request, ready for its body to be read.
type Result struct {
	// AccessKey is the access key that signed the request; "" when
	// Anonymous.
	AccessKey string
	// Anonymous is set when the request carried no authentication at all.
	// The caller decides whether to serve it.
	Anonymous bool
	// Body yields the decoded payload. For aws-chunked bodies it strips the
	// chunk framing and verifies every chunk signature (and the trailer
	// signature) before releasing a chunk's bytes; for a hex
	// x-amz-content-sha256 it verifies the SHA-256 at EOF; for an
	// x-amz-checksum-* header or trailer it verifies the checksum at EOF.
	// A mismatch or truncation is returned as a *Error from Read instead
	// of io.EOF, so a consumer that reads to EOF never takes a bad body for
	// a good one. Other read errors of the underlying body (a client that
	// went away) are returned as they are.
	Body io.Reader
	// ContentLength is the decoded payload length:
	// x-amz-decoded-content-length for aws-chunked, else r.ContentLength;
	// -1 if unknown.
	ContentLength int64
	// Checksum returns the checksum algorithm ("CRC32", "CRC32C", "SHA1",
	// "SHA256", "CRC64NVME") and base64 value the request carried, once
	// Body has reached EOF and the value was verified; ok is false before
	// that, or if the request carried none. It is safe to call from any
	// goroutine.
	Checksum func() (algo, value string, ok bool)
	// ChecksumAlgorithm names the algorithm of the x-amz-checksum-* header
	// or trailer the request carries ("CRC32", ...), known before the body
	// is read; "" when it carries none. On CompleteMultipartUpload it names
	// only a trailer: the headers there describe the object, not the body.
	ChecksumAlgorithm string
}

// signingCtx is what chunk and trailer signatures are chained from.
type signingCtx struct {
	key     []byte // SigV4 signing key of the request's scope
	amzDate string // request timestamp, ISO 8601 basic
	scope   string // credential scope
	seed    string // the request signature, lower-case hex
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxPresignV2() time.Duration {
	if v.MaxPresignV2 > 0 {
		return v.MaxPresignV2
	}
	return DefaultMaxPresignV2
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return 15 * time.Minute
}

// Verify authenticates r — by its Authorization header (AWS4-HMAC-SHA256,
// or the legacy Signature Version 2 "AWS key:signature"), by a presigned
// query (X-Amz-Algorithm=AWS4-HMAC-SHA256 with X-Amz-Expires up to 7 days,
// or V2's AWSAccessKeyId/Expires/Signature with Expires at most
// MaxPresignV2 ahead), or not at all (Result.Anonymous) — and prepares the verifying
// body reader. Every failure is a *Error carrying its S3 error code.
//
// Verify reads nothing from r.Body; the caller reads Result.Body instead.
func (v *Verifier) Verify(r *http.Request) (*Result, error) {
	if len(r.URL.RawQuery) > maxRawQueryLen {
		return nil, newErr(CodeInvalidRequest, "The query string is too long.")
	}
	pairs := parseQuery(r.URL.RawQuery)
	var v4Query, v2Key, v2Sig bool
	for _, p := range pairs {
		switch p.key {
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature":
			v4Query = true
		case "AWSAccessKeyId":
			v2Key = true
		case "Signature":
			v2Sig = true
		}
	}
	authz := r.Header.Values("Authorization")
	if len(authz) == 1 && strings.TrimSpace(authz[0]) == "" {
		authz = nil
	}
	switch {
	case len(authz) > 0 && (v4Query || v2Key && v2Sig):
		return nil, newErr(CodeInvalidArgument, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
	case len(authz) > 1:
		return nil, newErr(CodeAuthorizationHeaderMalformed, "The authorization header is malformed; it appears more than once.")
	case len(authz) == 1 && strings.HasPrefix(authz[0], "AWS "):
		return v.verifyHeaderV2(r, authz[0], pairs)
	case len(authz) == 1:
		return v.verifyHeader(r, authz[0], pairs)
	case v4Query:
		return v.verifyPresigned(r, pairs)
	case v2Key && v2Sig:
		return v.verifyPresignedV2(r, pairs)
	}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		hash = unsignedPayload
	}
	return v.prepare(r, pairs, "", hash, nil)
}

// requestTime returns the request timestamp of a header-signed request:
// X-Amz-Date, else Date.
func requestTime(r *http.Request) (string, time.Time, *Error) {
	bad := newErr(CodeAccessDenied, "AWS authentication requires a valid Date or x-amz-date header")
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		t, err := time.Parse(iso8601Basic, d)
		if err != nil || len(d) != len(iso8601Basic) {
			return "", time.Time{}, bad
		}
		return d, t, nil
	}
	if d := r.Header.Get("Date"); d != "" {
		t, err := http.ParseTime(d)
		if err != nil {
			return "", time.Time{}, bad
		}
		t = t.UTC()
		return t.Format(iso8601Basic), t, nil
	}
	return "", time.Time{}, bad
}

func (v *Verifier) checkRegion(region string) bool {
	return v.Region == "" || region == v.Region
}

func (v *Verifier) lookup(accessKey string) (string, *Error) {
	if v.Lookup != nil {
		if secret, ok := v.Lookup(accessKey); ok {
			return secret, nil
		}
	}
	return "", newErr(CodeInvalidAccessKeyID, "The AWS Access Key Id you provided does not exist in our records.")
}

func (v *Verifier) verifyHeader(r *http.Request, authz string, pairs []queryPair) (*Result, error) {
	p, e := parseAuthorization(authz)
	if e != nil {
		return nil, e
	}
	amzDate, t, e := requestTime(r)
	if e != nil {
		return nil, e
	}
	if p.cred.date != amzDate[:8] {
		return nil, newErr(CodeAuthorizationHeaderMalformed, "The authorization header is malformed; Invalid credential date \""+p.cred.date+"\". This date is not the same as X-Amz-Date: \""+amzDate[:8]+"\".")
	}
	if !v.checkRegion(p.cred.region) {
		return nil, newErr(CodeAuthorizationHeaderMalformed, "The authorization header is malformed; the region '"+truncate(p.cred.region, 64)+"' is wrong; expecting '"+v.Region+"'")
	}
	secret, e := v.lookup(p.cred.accessKey)
	if e != nil {
		return nil, e
	}
	if d := v.now().Sub(t); d > v.maxSkew() || d < -v.maxSkew() {
		return nil, newErr(CodeRequestTimeTooSkewed, "The difference between the request time and the server's time is too large.")
	}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		return nil, newErr(CodeInvalidRequest, "Missing required header for this request: x-amz-content-sha256")
	}
	if _, e := parseMode(hash); e != nil {
		return nil, e
	}
	if e := checkAllAmzSigned(r, p.signedHeaders); e != nil {
		return nil, e
	}
	canonical := canonicalRequest(r, pairs, false, p.signedHeaders, p.signedHeadersRaw, hash)
	key := signingKey(secret, p.cred.date, p.cred.region, serviceS3)
	sig := hmacSHA256(key, stringToSign(amzDate, p.cred.scope, canonical))
	if !sigEqual(sig, p.signature) {
		return nil, errSignature()
	}
	sc := &signingCtx{key: key, amzDate: amzDate, scope: p.cred.scope, seed: hex.EncodeToString(sig)}
	return v.prepare(r, pairs, p.cred.accessKey, hash, sc)
}

// checkAllAmzSigned refuses a signed request carrying an x-amz-* header
// that is not signed, as S3 does (for header and query signatures alike):
// such a header could have been added by anyone on the way. Like S3 it lets
// x-amz-content-sha256 through, whose value the signature covers anyway as
// the payload hash of a header-signed request.
func checkAllAmzSigned(r *http.Request, signed []string) *Error {
	var missing []string
	for name := range r.Header {
		if len(name) < 6 || !strings.EqualFold(name[:6], "x-amz-") {
			continue
		}
		lname := strings.ToLower(name)
		if lname == "x-amz-content-sha256" {
			continue
		}
		found := false
		for _, s := range signed {
			if s == lname {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, lname)
		}
	}
	if len(missing) > 0 {
		return newErr(CodeAccessDenied, "There were headers present in the request which were not signed: "+truncate(strings.Join(missing, ", "), 512))
	}
	return nil
}

func (v *Verifier) verifyPresigned(r *http.Request, pairs []queryPair) (*Result, error) {
	p, e := parsePresigned(pairs)
	if e != nil {
		return nil, e
	}
	if p.cred.date != p.amzDate[:8] {
		return nil, newErr(CodeAuthorizationQueryParamsError, "Invalid credential date \""+p.cred.date+"\". This date is not the same as X-Amz-Date: \""+p.amzDate[:8]+"\".")
	}
	if !v.checkRegion(p.cred.region) {
		return nil, newErr(CodeAuthorizationQueryParamsError, "Error parsing the X-Amz-Credential parameter; the region '"+truncate(p.cred.region, 64)+"' is wrong; expecting '"+v.Region+"'")
	}
	secret, e := v.lookup(p.cred.accessKey)
	if e != nil {
		return nil, e
	}
	now := v.now()
	if p.date.Sub(now) > v.maxSkew() {
		return nil, newErr(CodeAccessDenied, "Request is not valid yet")
	}
	if now.After(p.date.Add(p.expires)) {
		return nil, newErr(CodeAccessDenied, "Request has expired")
	}
	// The payload hash of a presigned request is UNSIGNED-PAYLOAD unless
	// the URL carries X-Amz-Content-Sha256, or the signer signed an
	// x-amz-content-sha256 header (as minio-go's PreSignV4 does).
	hash := unsignedPayload
	switch {
	case p.payloadGiven:
		hash = p.payloadHash
	case r.Header.Get("X-Amz-Content-Sha256") != "":
		for _, h := range p.signedHeaders {
			if h == "x-amz-content-sha256" {
				hash = r.Header.Get("X-Amz-Content-Sha256")
			}
		}
	}
	if _, e := parseMode(hash); e != nil {
		return nil, e
	}
	if e := checkAllAmzSigned(r, p.signedHeaders); e != nil {
		return nil, e
	}
	canonical := canonicalRequest(r, pairs, true, p.signedHeaders, p.signedHeadersRaw, hash)
	key := signingKey(secret, p.cred.date, p.cred.region, serviceS3)
	sig := hmacSHA256(key, stringToSign(p.amzDate, p.cred.scope, canonical))
	if !sigEqual(sig, p.signature) {
		return nil, errSignature()
	}
	sc := &signingCtx{key: key, amzDate: p.amzDate, scope: p.cred.scope, seed: hex.EncodeToString(sig)}
	return v.prepare(r, pairs, p.cred.accessKey, hash, sc)
}

// chunkSignature is the signature of one aws-chunked data chunk.
func (sc *signingCtx) chunkSignature(prev string, chunkSHA256Hex string) []byte {
	return hmacSHA256(sc.key, chunkAlgorithm+"\n"+sc.amzDate+"\n"+sc.scope+"\n"+prev+"\n"+emptySHA256Hex+"\n"+chunkSHA256Hex)
}

// trailerSignature is the signature of the trailing header chunk.
func (sc *signingCtx) trailerSignature(prev string, canonicalTrailer string) []byte {
	return hmacSHA256(sc.key, trailerAlgorithm+"\n"+sc.amzDate+"\n"+sc.scope+"\n"+prev+"\n"+sha256Hex([]byte(canonicalTrailer)))
}
