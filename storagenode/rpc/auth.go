package rpc

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Authentication of internode requests. See the package documentation
// ("Internode API") for the design; in short:
//
//	Authorization: ECSTORE-HMAC-SHA256 <hex HMAC-SHA256(signing key, string to sign)>
//	X-Ecstore-Time: <Unix seconds>
//	X-Ecstore-Nonce: <32 hex digits, random per request>
//	X-Ecstore-Content-Sha256: <hex SHA-256 of the body> | STREAMING-AESGMAC-TRAILER | STREAMING-TLS-TRAILER
//
// string to sign = "ECSTORE-HMAC-SHA256\n" + method + "\n" + request target
// (escaped path and query, exactly as sent) + "\n" + time + "\n" + nonce +
// "\n" + content hash. A streamed body is authenticated by the trailer
// X-Ecstore-Stream-Mac: hex of the body's segmented AES-GMAC under keys
// derived from the stream key and the signature (gmacStream). The node also
// takes the marker of earlier releases, STREAMING-HMAC-SHA256-TRAILER, with
// HMAC-SHA256(stream key, signature + body) instead, so
// that gateways of an earlier release keep writing to upgraded nodes. Over
// TLS a streamed body needs no MAC of its own (TLS authenticates every byte
// of the connection the signed headers came on): it is sent with
// STREAMING-TLS-TRAILER and its trailer carries its length, which the node
// accepts only on a TLS connection.

const (
	authScheme   = "ECSTORE-HMAC-SHA256"
	hdrTime      = "X-Ecstore-Time"
	hdrNonce     = "X-Ecstore-Nonce"
	hdrMap       = "X-Ecstore-Map"
	hdrContent   = "X-Ecstore-Content-Sha256"
	hdrStreamMAC = "X-Ecstore-Stream-Mac"
	streamMarker = "STREAMING-AESGMAC-TRAILER"     // shard streams
	streamV1     = "STREAMING-HMAC-SHA256-TRAILER" // shard streams of earlier releases, accepted
	streamTLS    = "STREAMING-TLS-TRAILER"         // shard streams over TLS

	// Key derivation labels: the secret itself keys nothing but these.
	signLabel     = "ecstore internode v1 request signing"
	streamLabel   = "ecstore internode v2 stream mac (AES-GMAC)"
	streamV1Label = "ecstore internode v1 stream mac"
)

// emptySHA256 is the content hash of an empty body.
var emptySHA256 = hex.EncodeToString(sha256.New().Sum(nil))

// rpcAuth signs requests (client) and verifies them (server).
type authenticator struct {
	signKey   []byte
	streamKey []byte
	streamV1  []byte
	maxSkew   time.Duration
	now       func() time.Time // time.Now; tests skew it
	mapID     func() string    // the map ID to send or expect; "" for none
	replay    *replayCache     // server only
}

func newAuthenticator(o *Options, server bool) *authenticator {
	a := &authenticator{
		signKey:   deriveKey(o.Secret, signLabel),
		streamKey: deriveKey(o.Secret, streamLabel),
		streamV1:  deriveKey(o.Secret, streamV1Label),
		maxSkew:   o.MaxSkew,
		now:       time.Now,
		mapID:     o.currentMapID,
	}
	if server {
		a.replay = newReplayCache(o.ReplayCacheSize)
	}
	return a
}

func deriveKey(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// signature returns the hex signature of a request.
func (a *authenticator) signature(method, target, ts, nonce, content string) string {
	m := hmac.New(sha256.New, a.signKey)
	for _, s := range []string{authScheme, method, target, ts, nonce} {
		m.Write([]byte(s))
		m.Write([]byte{'\n'})
	}
	m.Write([]byte(content))
	return hex.EncodeToString(m.Sum(nil))
}

// sign sets the authentication headers of req, whose body has the content
// hash content (hex SHA-256, or streamMarker), and returns the signature.
func (a *authenticator) sign(req *http.Request, content string) string {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:]) // never fails (crypto/rand panics instead)
	ts := strconv.FormatInt(a.now().Unix(), 10)
	n := hex.EncodeToString(nonce[:])
	sig := a.signature(req.Method, req.URL.RequestURI(), ts, n, content)
	req.Header.Set(hdrTime, ts)
	req.Header.Set(hdrNonce, n)
	req.Header.Set(hdrContent, content)
	if id := a.mapID(); id != "" {
		req.Header.Set(hdrMap, id)
	}
	req.Header.Set("Authorization", authScheme+" "+sig)
	return sig
}

// isStream reports whether a content hash is a shard stream's marker.
func isStream(content string) bool {
	return content == streamMarker || content == streamV1 || content == streamTLS
}

// streamHash is the MAC of a stream being computed.
type streamHash interface {
	Write(p []byte) (int, error)
	Sum(b []byte) []byte
}

// streamMAC returns the MAC of a streamed body sent with the content marker
// (streamMarker or streamV1), bound to the signature of its request (so that
// no other request's body can be spliced in); for streamTLS, the body's
// length (TLS authenticates the body, and the trailer only says the stream
// ended on purpose, at that length). Its Sum is taken once, at the end.
func (a *authenticator) streamMAC(sig, marker string) streamHash {
	switch marker {
	case streamTLS:
		return &lengthSum{}
	case streamV1:
		m := hmac.New(sha256.New, a.streamV1)
		m.Write([]byte(sig))
		return m
	default:
		return newGMACStream(a.streamKey, sig)
	}
}

// lengthSum is the "MAC" of a stream over TLS: its length, as 8 bytes big
// endian.
type lengthSum struct{ n uint64 }

func (l *lengthSum) Write(p []byte) (int, error) { l.n += uint64(len(p)); return len(p), nil }
func (l *lengthSum) Sum(b []byte) []byte         { return binary.BigEndian.AppendUint64(b, l.n) }

// authError is a refused request: an HTTP status and a code for the wire,
// and a reason for the log. None of them holds key material.
type authError struct {
	status int
	code   string
	reason string
}

func (e *authError) Error() string { return "storagenode: internode request refused: " + e.reason }

// Refusal codes.
const (
	codeUnauthenticated    = "Unauthenticated"      // 401: no or malformed authentication headers
	codeTimeSkewed         = "RequestTimeTooSkewed" // 403: timestamp outside ±MaxSkew
	codeSignatureMismatch  = "SignatureMismatch"    // 403: wrong signature (wrong secret, altered request)
	codeReplayed           = "Replayed"             // 403: nonce seen before, or older than the replay cache reaches
	codeContentMismatch    = "ContentHashMismatch"  // 403: body does not match the signed hash
	codeStreamMACMismatch  = "StreamMACMismatch"    // 403: shard stream altered
	codeBodyTooLarge       = "BodyTooLarge"         // 413
	codeWrongContentMarker = "StreamRequired"       // 400: shard writes must be streamed
	codeMapMismatch        = "MapMismatch"          // 409: the caller runs with another cluster map
)

func refused(status int, code, reason string) *authError {
	return &authError{status: status, code: code, reason: reason}
}

// verify checks the authentication headers of r: format, time window,
// signature, then nonce (recorded only once the signature is good, so that
// nobody without the secret can fill the replay cache). It returns the
// signature and the declared content hash; checking the body against the
// content hash is the caller's job.
func (a *authenticator) verify(r *http.Request) (sig, content string, err *authError) {
	sig, ok := strings.CutPrefix(r.Header.Get("Authorization"), authScheme+" ")
	if !ok || !isHex(sig, 64) {
		return "", "", refused(http.StatusUnauthorized, codeUnauthenticated, "missing or malformed Authorization header")
	}
	tsText := r.Header.Get(hdrTime)
	ts, perr := strconv.ParseInt(tsText, 10, 64)
	if perr != nil {
		return "", "", refused(http.StatusUnauthorized, codeUnauthenticated, "missing or malformed "+hdrTime+" header")
	}
	nonceText := r.Header.Get(hdrNonce)
	if !isHex(nonceText, 32) {
		return "", "", refused(http.StatusUnauthorized, codeUnauthenticated, "missing or malformed "+hdrNonce+" header")
	}
	content = r.Header.Get(hdrContent)
	if !isStream(content) && !isHex(content, 64) {
		return "", "", refused(http.StatusUnauthorized, codeUnauthenticated, "missing or malformed "+hdrContent+" header")
	}
	now := a.now()
	window := int64(a.maxSkew / time.Second)
	if ts < now.Unix()-window || ts > now.Unix()+window { // no arithmetic on ts: it may be anything
		return "", "", refused(http.StatusForbidden, codeTimeSkewed,
			"timestamp "+tsText+" outside the server's window "+now.Format(time.RFC3339)+" ±"+a.maxSkew.String())
	}
	want := a.signature(r.Method, r.RequestURI, tsText, nonceText, content)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return "", "", refused(http.StatusForbidden, codeSignatureMismatch, "signature mismatch (wrong cluster secret or altered request)")
	}
	var nonce [16]byte
	_, _ = hex.Decode(nonce[:], []byte(nonceText))
	if reason := a.replay.add(nonce, ts, now.Unix(), window); reason != "" {
		return "", "", refused(http.StatusForbidden, codeReplayed, reason)
	}
	return sig, content, nil
}

// isHex reports whether s is n lower-case hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// replayCache remembers the nonces of accepted requests until their
// timestamps leave the accepted window, grouped by timestamp second. It
// holds at most max nonces: when full it forgets the oldest second and
// raises floor above it, refusing every request signed at or before that
// second. So a replay is never accepted, and fresh requests always are.
type replayCache struct {
	mu    sync.Mutex
	max   int
	n     int
	floor int64                           // requests signed before floor are refused
	secs  []int64                         // keys of gens, sorted
	gens  map[int64]map[[16]byte]struct{} // timestamp second -> nonces
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, gens: make(map[int64]map[[16]byte]struct{})}
}

// add records nonce for a request signed at ts (Unix seconds), with the
// server's clock at now and the window ±skew seconds. It returns why the
// request must be refused, or "" when it is fresh.
func (c *replayCache) add(nonce [16]byte, ts, now, skew int64) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Seconds that no request can be signed in any more (outside the window)
	// need no memory.
	for len(c.secs) > 0 && c.secs[0] < now-skew {
		c.drop()
	}
	if ts < c.floor {
		return "request older than the replay cache reaches (the cache is full); sign it again"
	}
	gen := c.gens[ts]
	if _, seen := gen[nonce]; seen {
		return "replayed request (nonce seen before)"
	}
	for c.n >= c.max && len(c.secs) > 0 {
		c.floor = c.secs[0] + 1
		c.drop()
	}
	if ts < c.floor {
		return "request older than the replay cache reaches (the cache is full); sign it again"
	}
	if gen == nil || c.gens[ts] == nil {
		gen = make(map[[16]byte]struct{})
		c.gens[ts] = gen
		i, _ := slices.BinarySearch(c.secs, ts)
		c.secs = slices.Insert(c.secs, i, ts)
	}
	gen[nonce] = struct{}{}
	c.n++
	return ""
}

// drop forgets the oldest second.
func (c *replayCache) drop() {
	s := c.secs[0]
	c.n -= len(c.gens[s])
	delete(c.gens, s)
	c.secs = c.secs[1:]
}

// len returns the number of nonces held.
func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
