package sigv4

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AWS Signature Version 2 (legacy, still sent by some clients: minio-go
// with static V2 credentials, old s3cmd). It signs
//
//	Method \n Content-MD5 \n Content-Type \n Date-or-Expires \n
//	CanonicalizedAmzHeaders CanonicalizedResource
//
// with HMAC-SHA1. The payload is never signed: V2 bodies are unsigned
// payloads (Content-MD5 and x-amz-checksum-* still verify them).

// v2SubResources are the query parameters that belong to the canonical
// resource of a V2 signature, in the (sorted) order they are written.
var v2SubResources = []string{
	"acl", "cors", "delete", "encryption", "legal-hold", "lifecycle", "location",
	"logging", "notification", "partNumber", "policy", "replication", "requestPayment",
	"response-cache-control", "response-content-disposition", "response-content-encoding",
	"response-content-language", "response-content-type", "response-expires",
	"retention", "select", "select-type", "tagging", "torrent", "uploadId", "uploads",
	"versionId", "versioning", "versions", "website",
}

func init() {
	if !sort.StringsAreSorted(v2SubResources) {
		panic("sigv4: v2SubResources must be sorted")
	}
}

// v2Resource is the CanonicalizedResource: the path re-encoded as S3 does
// (prefixed with /bucket for virtual-hosted-style requests) and the
// sub-resources present, with their decoded values.
func (v *Verifier) v2Resource(r *http.Request, pairs []queryPair) string {
	var b strings.Builder
	p := r.URL.Path
	if v.VirtualBucket != nil {
		if bucket := v.VirtualBucket(r); bucket != "" {
			p = "/" + bucket + p
		}
	}
	uriEncode(&b, p, true)
	n := 0
	for _, name := range v2SubResources {
		for _, q := range pairs {
			if q.key != name {
				continue
			}
			if n == 0 {
				b.WriteByte('?')
			} else {
				b.WriteByte('&')
			}
			n++
			b.WriteString(name)
			if q.value != "" {
				b.WriteByte('=')
				b.WriteString(q.value)
			}
			break
		}
	}
	return b.String()
}

// v2AmzHeaders is the CanonicalizedAmzHeaders block.
func v2AmzHeaders(r *http.Request) string {
	var names []string
	for k := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz") {
			names = append(names, lk)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(strings.Join(r.Header.Values(k), ","))
		b.WriteByte('\n')
	}
	return b.String()
}

func (v *Verifier) v2StringToSign(r *http.Request, pairs []queryPair, dateOrExpires string) string {
	return r.Method + "\n" + r.Header.Get("Content-Md5") + "\n" + r.Header.Get("Content-Type") + "\n" +
		dateOrExpires + "\n" + v2AmzHeaders(r) + v.v2Resource(r, pairs)
}

func v2Sign(secret, s string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func v2SigEqual(computed, given string) bool {
	return hmac.Equal([]byte(computed), []byte(given))
}

// verifyHeaderV2 checks "Authorization: AWS <access-key>:<signature>".
func (v *Verifier) verifyHeaderV2(r *http.Request, authz string, pairs []queryPair) (*Result, error) {
	cred := strings.TrimSpace(strings.TrimPrefix(authz, "AWS "))
	i := strings.LastIndexByte(cred, ':')
	if i <= 0 || i == len(cred)-1 {
		return nil, newErr(CodeAuthorizationHeaderMalformed, "The authorization header is malformed; expecting \"AWS <access-key>:<signature>\".")
	}
	accessKey, sig := cred[:i], cred[i+1:]
	secret, e := v.lookup(accessKey)
	if e != nil {
		return nil, e
	}
	// The Date line is empty when x-amz-date is sent (it is then part of
	// the amz headers).
	date := r.Header.Get("Date")
	var t time.Time
	var err error
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		date = ""
		t, err = http.ParseTime(d)
	} else {
		t, err = http.ParseTime(date)
	}
	if err != nil {
		return nil, newErr(CodeAccessDenied, "AWS authentication requires a valid Date or x-amz-date header")
	}
	if d := v.now().Sub(t); d > v.maxSkew() || d < -v.maxSkew() {
		return nil, newErr(CodeRequestTimeTooSkewed, "The difference between the request time and the server's time is too large.")
	}
	if !v2SigEqual(v2Sign(secret, v.v2StringToSign(r, pairs, date)), sig) {
		return nil, errSignature()
	}
	return v.prepare(r, pairs, accessKey, unsignedPayload, nil)
}

// verifyPresignedV2 checks a ?AWSAccessKeyId=&Expires=&Signature= URL.
func (v *Verifier) verifyPresignedV2(r *http.Request, pairs []queryPair) (*Result, error) {
	var accessKey, expires, sig string
	for _, p := range pairs {
		switch p.key {
		case "AWSAccessKeyId":
			accessKey = p.value
		case "Expires":
			expires = p.value
		case "Signature":
			sig = p.value
		}
	}
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || accessKey == "" || sig == "" {
		return nil, newErr(CodeAccessDenied, "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
	}
	secret, e := v.lookup(accessKey)
	if e != nil {
		return nil, e
	}
	now := v.now().Unix()
	if now > exp {
		return nil, newErr(CodeAccessDenied, "Request has expired")
	}
	if limit := int64(v.maxPresignV2() / time.Second); exp-now > limit {
		return nil, newErr(CodeAccessDenied, "Expires must be at most "+strconv.FormatInt(limit, 10)+
			" seconds from now for a Signature Version 2 presigned URL; sign it again with a shorter validity.")
	}
	if !v2SigEqual(v2Sign(secret, v.v2StringToSign(r, pairs, expires)), sig) {
		return nil, errSignature()
	}
	return v.prepare(r, pairs, accessKey, unsignedPayload, nil)
}
