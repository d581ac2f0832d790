package sigv4

import (
	"strconv"
	"strings"
	"time"
)

// Bounds on what a request may carry into signature checking. net/http
// already caps the whole header section (1 MiB by default); these keep each
// piece far below that.
const (
	// maxAuthHeaderLen bounds the Authorization header value.
	maxAuthHeaderLen = 8 << 10
	// maxSignedHeaders bounds the number of names in SignedHeaders.
	maxSignedHeaders = 128
	// maxRawQueryLen bounds the raw query string of a signed request.
	maxRawQueryLen = 64 << 10
	// maxPresignExpires is the longest X-Amz-Expires S3 accepts: 7 days.
	maxPresignExpires = 7 * 24 * 60 * 60
)

// credential is the parsed Credential / X-Amz-Credential value:
// <access-key>/<yyyymmdd>/<region>/s3/aws4_request.
type credential struct {
	accessKey string
	date      string
	region    string
	scope     string // date/region/service/aws4_request as sent
}

// authParams is what a SigV4 header or presigned query carries.
type authParams struct {
	cred             credential
	signedHeaders    []string // lower-case names, in the order sent
	signedHeadersRaw string   // the list as sent, for the canonical request
	signature        string
}

// parseCredential parses a credential value. It returns a message for the
// client on failure.
func parseCredential(v string) (credential, string) {
	parts := strings.Split(v, "/")
	if len(parts) < 5 {
		return credential{}, "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
	}
	n := len(parts)
	c := credential{
		accessKey: strings.Join(parts[:n-4], "/"),
		date:      parts[n-4],
		region:    parts[n-3],
		scope:     strings.Join(parts[n-4:], "/"),
	}
	if c.accessKey == "" {
		return credential{}, "the access key is empty."
	}
	if _, err := time.Parse(yyyymmdd, c.date); err != nil || len(c.date) != 8 {
		return credential{}, "the credential date \"" + c.date + "\" is invalid; expecting YYYYMMDD."
	}
	if c.region == "" {
		return credential{}, "the region is empty."
	}
	if parts[n-2] != serviceS3 {
		return credential{}, "incorrect service \"" + parts[n-2] + "\". This endpoint belongs to \"s3\"."
	}
	if parts[n-1] != scopeTerminator {
		return credential{}, "incorrect terminal \"" + parts[n-1] + "\". This endpoint uses \"aws4_request\"."
	}
	return c, ""
}

// parseSignedHeaders parses a ';'-separated SignedHeaders list.
func parseSignedHeaders(v string) ([]string, string) {
	if v == "" {
		return nil, "SignedHeaders is empty."
	}
	if strings.Count(v, ";") >= maxSignedHeaders {
		return nil, "too many SignedHeaders."
	}
	names := strings.Split(v, ";")
	hasHost := false
	for i, n := range names {
		if n == "" {
			return nil, "SignedHeaders contains an empty name."
		}
		for j := 0; j < len(n); j++ {
			if c := n[j]; c <= ' ' || c >= 0x7f || c == ':' {
				return nil, "SignedHeaders contains an invalid header name."
			}
		}
		n = strings.ToLower(n)
		names[i] = n
		if n == "host" {
			hasHost = true
		}
	}
	if !hasHost {
		return nil, "SignedHeaders must include host."
	}
	return names, ""
}

// parseAuthorization parses an Authorization header value of the form
//
//	AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=<64 hex>
//
// Spaces around the components are optional; each component must appear
// exactly once.
func parseAuthorization(h string) (*authParams, *Error) {
	malformed := func(msg string) (*authParams, *Error) {
		return nil, newErr(CodeAuthorizationHeaderMalformed, "The authorization header is malformed; "+msg)
	}
	if len(h) > maxAuthHeaderLen {
		return malformed("the header is too long.")
	}
	rest, ok := strings.CutPrefix(h, algorithm)
	if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
		return nil, newErr(CodeInvalidRequest, "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
	}
	var cred, signed, sig string
	var seen [3]bool
	for comp := range strings.SplitSeq(rest, ",") {
		comp = strings.TrimSpace(comp)
		if comp == "" {
			return malformed("it contains an empty component.")
		}
		k, v, ok := strings.Cut(comp, "=")
		if !ok {
			return malformed("the component \"" + truncate(comp, 64) + "\" is not of the form key=value.")
		}
		var idx int
		switch k {
		case "Credential":
			idx, cred = 0, v
		case "SignedHeaders":
			idx, signed = 1, v
		case "Signature":
			idx, sig = 2, v
		default:
			return malformed("unknown component \"" + truncate(k, 64) + "\".")
		}
		if seen[idx] {
			return malformed("the component " + k + " appears twice.")
		}
		seen[idx] = true
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return malformed("it must contain Credential, SignedHeaders and Signature.")
	}
	p := &authParams{signedHeadersRaw: signed, signature: sig}
	var msg string
	if p.cred, msg = parseCredential(cred); msg != "" {
		return malformed(msg)
	}
	if p.signedHeaders, msg = parseSignedHeaders(signed); msg != "" {
		return malformed(msg)
	}
	if sig == "" {
		return malformed("the Signature is empty.")
	}
	return p, nil
}

// presignParams is the parsed query of a presigned URL.
type presignParams struct {
	authParams
	amzDate      string
	date         time.Time
	expires      time.Duration
	payloadHash  string // X-Amz-Content-Sha256, "" if absent
	payloadGiven bool
}

// parsePresigned parses the X-Amz-* parameters of a presigned request.
func parsePresigned(pairs []queryPair) (*presignParams, *Error) {
	qerr := func(msg string) (*presignParams, *Error) {
		return nil, newErr(CodeAuthorizationQueryParamsError, msg)
	}
	var alg, cred, date, expires, signed, sig, content string
	var seen [7]bool
	for _, p := range pairs {
		idx := -1
		switch p.key {
		case "X-Amz-Algorithm":
			idx, alg = 0, p.value
		case "X-Amz-Credential":
			idx, cred = 1, p.value
		case "X-Amz-Date":
			idx, date = 2, p.value
		case "X-Amz-Expires":
			idx, expires = 3, p.value
		case "X-Amz-SignedHeaders":
			idx, signed = 4, p.value
		case "X-Amz-Signature":
			idx, sig = 5, p.value
		case "X-Amz-Content-Sha256":
			idx, content = 6, p.value
		}
		if idx < 0 {
			continue
		}
		if seen[idx] {
			return qerr("The query parameter " + p.key + " appears more than once.")
		}
		seen[idx] = true
	}
	if seen[0] && alg != algorithm {
		return qerr("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
	}
	for _, s := range seen[:6] {
		if !s {
			return qerr("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
	}
	p := &presignParams{amzDate: date, payloadHash: content, payloadGiven: seen[6]}
	p.signature = sig
	p.signedHeadersRaw = signed
	t, err := time.Parse(iso8601Basic, date)
	if err != nil || len(date) != len(iso8601Basic) {
		return qerr("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	p.date = t
	exp, err := strconv.ParseInt(expires, 10, 64)
	switch {
	case err != nil && len(expires) > 0 && expires[0] == '-':
		return qerr("X-Amz-Expires must be non-negative")
	case err != nil:
		return qerr("X-Amz-Expires should be a number")
	case exp < 0:
		return qerr("X-Amz-Expires must be non-negative")
	case exp > maxPresignExpires:
		return qerr("X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	p.expires = time.Duration(exp) * time.Second
	var msg string
	if p.cred, msg = parseCredential(cred); msg != "" {
		return qerr("Error parsing the X-Amz-Credential parameter; " + msg)
	}
	if p.signedHeaders, msg = parseSignedHeaders(signed); msg != "" {
		return qerr("Error parsing the X-Amz-SignedHeaders parameter; " + msg)
	}
	if sig == "" {
		return qerr("X-Amz-Signature is empty.")
	}
	return p, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
