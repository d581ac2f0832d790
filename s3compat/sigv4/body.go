package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// The x-amz-content-sha256 values that are not a hex SHA-256.
const (
	unsignedPayload         = "UNSIGNED-PAYLOAD"
	streamingSigned         = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer  = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrail  = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingECDSAPrefix    = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
	maxDecodedContentLength = 5 << 40 // S3's largest object, 5 TiB
)

// payloadMode is how the body relates to x-amz-content-sha256.
type payloadMode int

const (
	modeUnsigned               payloadMode = iota // UNSIGNED-PAYLOAD
	modeSHA256                                    // hex SHA-256 of the body
	modeStreamingSigned                           // aws-chunked, signed chunks
	modeStreamingSignedTrailer                    // aws-chunked, signed chunks and trailer
	modeStreamingUnsignedTrail                    // aws-chunked, no signatures, trailer
)

func (m payloadMode) chunked() bool { return m >= modeStreamingSigned }
func (m payloadMode) signedChunks() bool {
	return m == modeStreamingSigned || m == modeStreamingSignedTrailer
}
func (m payloadMode) trailer() bool {
	return m == modeStreamingSignedTrailer || m == modeStreamingUnsignedTrail
}

// parseMode classifies an x-amz-content-sha256 value.
func parseMode(v string) (payloadMode, *Error) {
	switch v {
	case unsignedPayload:
		return modeUnsigned, nil
	case streamingSigned:
		return modeStreamingSigned, nil
	case streamingSignedTrailer:
		return modeStreamingSignedTrailer, nil
	case streamingUnsignedTrail:
		return modeStreamingUnsignedTrail, nil
	}
	if strings.HasPrefix(v, streamingECDSAPrefix) {
		return 0, newErr(CodeInvalidRequest, "SigV4a (ECDSA) signed payloads are not supported; use AWS4-HMAC-SHA256.")
	}
	if len(v) == 2*sha256.Size {
		if _, err := hex.DecodeString(v); err == nil {
			return modeSHA256, nil
		}
	}
	return 0, newErr(CodeInvalidArgument, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value.")
}

// checksumPlan is which additional checksum a request carries and where.
type checksumPlan struct {
	algo        *checksumAlgo // nil: none
	want        []byte        // from the header; nil when from the trailer
	fromTrailer bool
}

// planChecksum reads the checksum headers of r.
//
// On CompleteMultipartUpload (POST with uploadId) the x-amz-checksum-*
// headers describe the assembled object, not the request body, so they are
// left to the caller.
func planChecksum(r *http.Request, pairs []queryPair, mode payloadMode, algos []checksumAlgo) (checksumPlan, *Error) {
	var plan checksumPlan
	complete := false
	if r.Method == http.MethodPost {
		for _, p := range pairs {
			if p.key == "uploadId" {
				complete = true
			}
		}
	}
	// Trailer announced in x-amz-trailer.
	var trailers []string
	for _, v := range r.Header.Values("X-Amz-Trailer") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				trailers = append(trailers, name)
			}
		}
	}
	if len(trailers) > 1 {
		return plan, newErr(CodeInvalidRequest, "Expecting a single x-amz-checksum- trailer. Multiple checksum types are not allowed.")
	}
	if len(trailers) == 1 {
		a := findAlgo(algos, func(a *checksumAlgo) bool { return a.header == trailers[0] })
		if a == nil {
			return plan, newErr(CodeInvalidRequest, "The value specified in the x-amz-trailer header is not supported")
		}
		if !mode.trailer() {
			return plan, newErr(CodeInvalidRequest, "x-amz-trailer requires x-amz-content-sha256 STREAMING-UNSIGNED-PAYLOAD-TRAILER or STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.")
		}
		plan.algo, plan.fromTrailer = a, true
	}
	if complete {
		return plan, nil
	}
	for i := range algos {
		a := &algos[i]
		vs := r.Header.Values(a.header)
		if len(vs) == 0 {
			continue
		}
		if plan.algo != nil || len(vs) > 1 {
			return plan, newErr(CodeInvalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		want, ok := a.decode(strings.TrimSpace(vs[0]))
		if !ok {
			return plan, newErr(CodeInvalidRequest, "Value for "+a.header+" header is invalid.")
		}
		plan.algo, plan.want = a, want
	}
	if sdk := strings.TrimSpace(r.Header.Get("X-Amz-Sdk-Checksum-Algorithm")); sdk != "" {
		a := findAlgo(algos, func(a *checksumAlgo) bool { return strings.EqualFold(a.name, sdk) })
		switch {
		case a == nil:
			return plan, newErr(CodeInvalidRequest, "Value for x-amz-sdk-checksum-algorithm header is invalid.")
		case plan.algo == nil:
			return plan, newErr(CodeInvalidRequest, "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.")
		case a != plan.algo:
			return plan, newErr(CodeInvalidRequest, "Value for x-amz-sdk-checksum-algorithm header is invalid: it names "+a.name+" but the request carries "+plan.algo.header+".")
		}
	}
	return plan, nil
}

// prepare builds the Result of an authenticated (or anonymous, sc == nil)
// request whose payload hash is hash.
func (v *Verifier) prepare(r *http.Request, pairs []queryPair, accessKey, hash string, sc *signingCtx) (*Result, error) {
	mode, e := parseMode(hash)
	if e != nil {
		return nil, e
	}
	if mode.signedChunks() && sc == nil {
		return nil, newErr(CodeAccessDenied, "A signed streaming payload requires a signed request.")
	}
	plan, e := planChecksum(r, pairs, mode, v.algos())
	if e != nil {
		return nil, e
	}
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	pr := &payloadReader{src: body, want: r.ContentLength}
	length := r.ContentLength
	if mode.chunked() {
		length = -1
		if d := r.Header.Get("X-Amz-Decoded-Content-Length"); d != "" {
			n, err := strconv.ParseInt(d, 10, 64)
			if err != nil || n < 0 || n > maxDecodedContentLength {
				return nil, newErr(CodeInvalidArgument, "x-amz-decoded-content-length is invalid.")
			}
			length = n
		} else if mode.signedChunks() {
			return nil, newErr(CodeMissingSecurityHeader, "Your request was missing a required header: x-amz-decoded-content-length.")
		}
		cr := newChunkedReader(body, chunkedConfig{
			sc:            sc,
			signed:        mode.signedChunks(),
			signedTrailer: mode == modeStreamingSignedTrailer,
			trailer:       plan.trailerAlgo(),
			decodedLen:    length,
		})
		pr.src, pr.chunked, pr.want = cr, cr, -1
	}
	if mode == modeSHA256 {
		pr.sha = sha256.New()
		pr.wantSHA, _ = hex.DecodeString(hash)
	}
	res := &Result{
		AccessKey:     accessKey,
		Anonymous:     accessKey == "",
		Body:          pr,
		ContentLength: length,
		Checksum:      pr.checksum,
	}
	if plan.algo != nil {
		pr.plan = plan
		pr.ck = plan.algo.newFn()
		res.ChecksumAlgorithm = plan.algo.name
	}
	return res, nil
}

func (p checksumPlan) trailerAlgo() *checksumAlgo {
	if p.fromTrailer {
		return p.algo
	}
	return nil
}

// verifiedChecksum is a checksum verified at EOF.
type verifiedChecksum struct{ algo, value string }

// payloadReader hashes what it passes on and checks the hashes at EOF.
type payloadReader struct {
	src     io.Reader
	chunked *chunkedReader // src, when the body is aws-chunked
	want    int64          // expected length of a plain body, -1 unknown
	n       int64

	sha     hash.Hash // x-amz-content-sha256 check, or nil
	wantSHA []byte

	plan checksumPlan
	ck   hash.Hash // additional checksum, or nil

	err    error // sticky: io.EOF once verified, or the failure
	result atomic.Pointer[verifiedChecksum]
}

func (p *payloadReader) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.src.Read(b)
	if n > 0 {
		p.n += int64(n)
		if p.sha != nil {
			p.sha.Write(b[:n])
		}
		if p.ck != nil {
			p.ck.Write(b[:n])
		}
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		if e := p.finish(); e != nil {
			err = e
		}
	case err == io.ErrUnexpectedEOF:
		err = errIncomplete()
	}
	p.err = err
	return n, err
}

// finish runs the end-of-body checks.
func (p *payloadReader) finish() *Error {
	if p.chunked == nil && p.want >= 0 && p.n != p.want {
		return errIncomplete()
	}
	if p.sha != nil && !bytes.Equal(p.sha.Sum(nil), p.wantSHA) {
		return newErr(CodeXAmzContentSHA256Mismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	if p.ck == nil {
		return nil
	}
	a := p.plan.algo
	want := p.plan.want
	if p.plan.fromTrailer {
		v, ok := p.chunked.trailerValue()
		if !ok {
			return errMalformedTrailer("missing " + a.header)
		}
		if want, ok = a.decode(v); !ok {
			return newErr(CodeInvalidRequest, "Value for "+a.header+" trailing header is invalid.")
		}
	}
	if !bytes.Equal(p.ck.Sum(nil), want) {
		return newErr(CodeBadDigest, "The "+a.name+" you specified did not match the calculated checksum.")
	}
	p.result.Store(&verifiedChecksum{algo: a.name, value: base64.StdEncoding.EncodeToString(want)})
	return nil
}

func (p *payloadReader) checksum() (algo, value string, ok bool) {
	if c := p.result.Load(); c != nil {
		return c.algo, c.value, true
	}
	return "", "", false
}
