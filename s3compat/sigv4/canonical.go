package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

const (
	algorithm        = "AWS4-HMAC-SHA256"
	scopeTerminator  = "aws4_request"
	serviceS3        = "s3"
	iso8601Basic     = "20060102T150405Z"
	yyyymmdd         = "20060102"
	emptySHA256Hex   = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	chunkAlgorithm   = "AWS4-HMAC-SHA256-PAYLOAD"
	trailerAlgorithm = "AWS4-HMAC-SHA256-TRAILER"
)

// isUnreserved reports whether c is left as is by the S3 URI encoding:
// A-Z, a-z, 0-9, '-', '.', '_' and '~'.
func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// uriEncode appends s to b with every byte that is not unreserved
// percent-encoded (upper-case hex); '/' is kept when keepSlash is set.
func uriEncode(b *strings.Builder, s string, keepSlash bool) {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
}

// canonicalURI is the decoded request path re-encoded by the S3 rule: every
// byte but the unreserved ones and '/' percent-encoded once, with no
// normalization ("//", "." and trailing "/" are kept).
func canonicalURI(u *url.URL) string {
	p := u.Path
	if p == "" {
		return "/"
	}
	var b strings.Builder
	b.Grow(len(p) + len(p)/2)
	uriEncode(&b, p, true)
	return b.String()
}

// queryPair is one decoded query parameter, in the order it appeared.
type queryPair struct{ key, value string }

// parseQuery splits a raw query into decoded pairs, keeping duplicates and
// order. '+' decodes to a space as in form encoding (clients that mean '+'
// send %2B); a component with an invalid escape is kept raw, so it can only
// make the signature fail, never be confused with another value.
func parseQuery(raw string) []queryPair {
	if raw == "" {
		return nil
	}
	pairs := make([]queryPair, 0, strings.Count(raw, "&")+1)
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		if seg == "" {
			continue
		}
		k, v, _ := strings.Cut(seg, "=")
		pairs = append(pairs, queryPair{unescapeQuery(k), unescapeQuery(v)})
	}
	return pairs
}

func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// canonicalQuery encodes every pair (except X-Amz-Signature when skipSig is
// set) with the S3 rule and sorts them by encoded key, then encoded value.
func canonicalQuery(pairs []queryPair, skipSig bool) string {
	enc := make([]queryPair, 0, len(pairs))
	var b strings.Builder
	for _, p := range pairs {
		if skipSig && p.key == "X-Amz-Signature" {
			continue
		}
		b.Reset()
		uriEncode(&b, p.key, false)
		k := b.String()
		b.Reset()
		uriEncode(&b, p.value, false)
		enc = append(enc, queryPair{k, b.String()})
	}
	sort.Slice(enc, func(i, j int) bool {
		if enc[i].key != enc[j].key {
			return enc[i].key < enc[j].key
		}
		return enc[i].value < enc[j].value
	})
	b.Reset()
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// headerValue returns the canonical value of one signed header: the
// request's values, each trimmed with inner whitespace runs collapsed to one
// space, joined with ','. Host, Content-Length and Transfer-Encoding are
// taken from where net/http keeps them.
func headerValue(r *http.Request, name string) string {
	switch name {
	case "host":
		if r.Host != "" {
			return r.Host
		}
		return r.URL.Host
	case "content-length":
		if vs := r.Header.Values("Content-Length"); len(vs) > 0 {
			return joinTrimmed(vs)
		}
		// A server-side request keeps the header; a request built in
		// process may only have the field.
		if r.ContentLength > 0 {
			return strconv.FormatInt(r.ContentLength, 10)
		}
		return ""
	case "transfer-encoding":
		if vs := r.Header.Values("Transfer-Encoding"); len(vs) > 0 {
			return joinTrimmed(vs)
		}
		return strings.Join(r.TransferEncoding, ",")
	}
	return joinTrimmed(r.Header.Values(name))
}

func joinTrimmed(vs []string) string {
	if len(vs) == 1 {
		return trimAll(vs[0])
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = trimAll(v)
	}
	return strings.Join(parts, ",")
}

// trimAll trims s and collapses each run of whitespace to one space.
func trimAll(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
			(c == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' ')) || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// canonicalRequest builds the SigV4 canonical request of r.
func canonicalRequest(r *http.Request, pairs []queryPair, presigned bool, signedHeaders []string, signedHeadersRaw, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(pairs, presigned))
	b.WriteByte('\n')
	for _, h := range signedHeaders {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(headerValue(r, h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(signedHeadersRaw)
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// signingKey derives the SigV4 signing key for one credential scope.
func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, scopeTerminator)
}

// stringToSign is the SigV4 string to sign for a canonical request.
func stringToSign(amzDate, scope, canonical string) string {
	return algorithm + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
}

// sigEqual compares a computed signature with the hex one a client sent, in
// constant time. A value that is not 64 hex digits never matches.
func sigEqual(computed []byte, given string) bool {
	if len(given) != 2*sha256.Size {
		return false
	}
	var g [sha256.Size]byte
	if _, err := hex.Decode(g[:], []byte(given)); err != nil {
		return false
	}
	return hmac.Equal(computed, g[:])
}
