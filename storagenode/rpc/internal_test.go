package rpc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

var testOpts = Options{Secret: []byte("internal-test-secret-0123456789"), Logger: slog.New(slog.DiscardHandler)}

func testServer(t *testing.T, opts Options, drives ...storagenode.Drive) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(NewHandler(drives, opts))
	t.Cleanup(srv.Close)
	return srv
}

func clientAuth(opts Options) *authenticator {
	opts.EnsureDefaults()
	return newAuthenticator(&opts, false)
}

// signedJSON builds a signed metadata call.
func signedJSON(t *testing.T, a *authenticator, base, drive, method string, args any) (*http.Request, []byte) {
	t.Helper()
	body, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, base+drivePrefix+url.PathEscape(drive)+"/"+method, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	a.sign(req, hex.EncodeToString(sum[:]))
	return req, body
}

func send(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	return sendWith(t, http.DefaultClient, req)
}

// sendWith is send through client.
func sendWith(t *testing.T, client *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb errorBody
	_ = json.Unmarshal(b, &eb)
	return resp.StatusCode, eb.Code
}

func TestRPCStaleTimestamp(t *testing.T) {
	mem := local.NewMem("m1")
	opts := testOpts
	opts.MaxSkew = time.Minute
	srv := testServer(t, opts, mem)
	for _, c := range []struct {
		skew time.Duration
		ok   bool
	}{
		{0, true}, {-50 * time.Second, true}, {50 * time.Second, true},
		{-2 * time.Minute, false}, {2 * time.Minute, false}, {-24 * time.Hour, false},
	} {
		a := clientAuth(opts)
		a.now = func() time.Time { return time.Now().Add(c.skew) }
		req, _ := signedJSON(t, a, srv.URL, "m1", mListBuckets, struct{}{})
		status, code := send(t, req)
		if c.ok && status != http.StatusOK {
			t.Errorf("clock off by %v: HTTP %d %s, want 200", c.skew, status, code)
		}
		if !c.ok && (status != http.StatusForbidden || code != codeTimeSkewed) {
			t.Errorf("clock off by %v: HTTP %d %s, want 403 %s", c.skew, status, code, codeTimeSkewed)
		}
	}
	// Absurd timestamps are refused, not overflowed into the window.
	for _, ts := range []string{"9223372036854775807", "-9223372036854775808", "1e9", "", "0x10"} {
		req, _ := signedJSON(t, clientAuth(opts), srv.URL, "m1", mListBuckets, struct{}{})
		req.Header.Set(hdrTime, ts)
		if status, _ := send(t, req); status != http.StatusUnauthorized && status != http.StatusForbidden {
			t.Errorf("timestamp %q: HTTP %d", ts, status)
		}
	}
	// Through a Client: ErrUnauthorized, which is also ErrDriveOffline.
	r := NewClient(srv.URL, "m1", opts)
	defer r.Close()
	r.auth.now = func() time.Time { return time.Now().Add(-10 * time.Minute) }
	_, err := r.ListBuckets(context.Background())
	if !errors.Is(err, ErrUnauthorized) || !errors.Is(err, storagenode.ErrDriveOffline) || !strings.Contains(err.Error(), codeTimeSkewed) {
		t.Fatalf("skewed RemoteDrive: %v", err)
	}
}

func TestRPCReplayRefused(t *testing.T) {
	mem := local.NewMem("m1")
	srv := testServer(t, testOpts, mem)
	a := clientAuth(testOpts)
	req, body := signedJSON(t, a, srv.URL, "m1", mMakeBucket, bucketArgs{Bucket: "bkt"})
	replay := req.Clone(context.Background())
	if status, code := send(t, req); status != http.StatusNoContent {
		t.Fatalf("first request: HTTP %d %s", status, code)
	}
	if err := mem.DeleteBucket(context.Background(), "bkt"); err != nil {
		t.Fatal(err)
	}
	replay.Body = io.NopCloser(bytes.NewReader(body))
	if status, code := send(t, replay); status != http.StatusForbidden || code != codeReplayed {
		t.Fatalf("replayed request: HTTP %d %s, want 403 %s", status, code, codeReplayed)
	}
	if _, err := mem.StatBucket(context.Background(), "bkt"); !errors.Is(err, storagenode.ErrBucketNotFound) {
		t.Fatalf("the replay was executed: %v", err)
	}
	// An altered body under the old signature is refused before the nonce
	// is consulted.
	tampered, _ := signedJSON(t, a, srv.URL, "m1", mMakeBucket, bucketArgs{Bucket: "bkt"})
	tampered.Body = io.NopCloser(strings.NewReader(`{"bucket":"evil"}`))
	tampered.ContentLength = int64(len(`{"bucket":"evil"}`))
	if status, code := send(t, tampered); status != http.StatusForbidden || code != codeContentMismatch {
		t.Fatalf("altered body: HTTP %d %s", status, code)
	}
	// An altered path (another method) breaks the signature.
	moved, _ := signedJSON(t, a, srv.URL, "m1", mMakeBucket, bucketArgs{Bucket: "bkt"})
	moved.URL.Path = drivePrefix + "m1/" + mDeleteBucket
	if status, code := send(t, moved); status != http.StatusForbidden || code != codeSignatureMismatch {
		t.Fatalf("altered path: HTTP %d %s", status, code)
	}
}

// streamRequest builds a signed shard stream of data; mac is the MAC to put
// in the trailer (nil: the right one; empty: no trailer).
func streamRequest(t *testing.T, a *authenticator, base string, ref storagenode.ShardRef, data []byte, mac func(sig string) string) *http.Request {
	return markedStream(t, a, base, ref, streamMarker, data, mac)
}

// markedStream is streamRequest with the content marker given.
func markedStream(t *testing.T, a *authenticator, base string, ref storagenode.ShardRef, marker string, data []byte, mac func(sig string) string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+drivePrefix+"m1/"+mShardWrite+"?"+refQuery(ref).Encode(), io.NopCloser(bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	sig := a.sign(req, marker)
	v := ""
	if mac == nil {
		m := a.streamMAC(sig, marker)
		m.Write(data)
		v = hex.EncodeToString(m.Sum(nil))
	} else {
		v = mac(sig)
	}
	if v != "" {
		req.Trailer = http.Header{hdrStreamMAC: {v}}
	}
	return req
}

func TestRPCShardStreamAuthenticated(t *testing.T) {
	ctx := context.Background()
	mem := local.NewMem("m1")
	if err := mem.MakeBucket(ctx, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	srv := testServer(t, testOpts, mem)
	a := clientAuth(testOpts)
	data := bytes.Repeat([]byte("shard bytes "), 10000)
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	absent := func(what string) {
		t.Helper()
		if _, err := mem.OpenShard(ctx, ref); !errors.Is(err, storagenode.ErrShardNotFound) {
			t.Fatalf("%s: shard committed (%v)", what, err)
		}
	}

	altered := append([]byte(nil), data...)
	altered[len(altered)/2] ^= 1
	req := streamRequest(t, a, srv.URL, ref, altered, func(sig string) string {
		m := a.streamMAC(sig, streamMarker)
		m.Write(data) // the MAC of what the client sent
		return hex.EncodeToString(m.Sum(nil))
	})
	if status, code := send(t, req); status != http.StatusForbidden || code != codeStreamMACMismatch {
		t.Fatalf("altered stream: HTTP %d %s", status, code)
	}
	absent("altered stream")

	other, _ := signedJSON(t, a, srv.URL, "m1", mListBuckets, struct{}{})
	spliced := streamRequest(t, a, srv.URL, ref, data, func(string) string {
		m := a.streamMAC(strings.TrimPrefix(other.Header.Get("Authorization"), authScheme+" "), streamMarker)
		m.Write(data) // a valid MAC, of another request
		return hex.EncodeToString(m.Sum(nil))
	})
	if status, code := send(t, spliced); status != http.StatusForbidden || code != codeStreamMACMismatch {
		t.Fatalf("spliced stream: HTTP %d %s", status, code)
	}
	absent("spliced stream")

	uncommitted := streamRequest(t, a, srv.URL, ref, data, func(string) string { return "" })
	if status, code := send(t, uncommitted); status != http.StatusBadRequest || code != "NotCommitted" {
		t.Fatalf("stream without commit trailer: HTTP %d %s", status, code)
	}
	absent("stream without commit trailer")

	notStreamed, _ := signedJSON(t, a, srv.URL, "m1", mShardWrite+"?"+refQuery(ref).Encode(), "x")
	if status, code := send(t, notStreamed); status != http.StatusBadRequest || code != codeWrongContentMarker {
		t.Fatalf("shard write with a hashed body: HTTP %d %s", status, code)
	}
	absent("shard write with a hashed body")

	good := streamRequest(t, a, srv.URL, ref, data, nil)
	replay := good.Clone(ctx)
	replay.Body = io.NopCloser(bytes.NewReader(data))
	if status, code := send(t, good); status != http.StatusNoContent {
		t.Fatalf("good stream: HTTP %d %s", status, code)
	}
	if err := mem.DeleteShard(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if status, code := send(t, replay); status != http.StatusForbidden || code != codeReplayed {
		t.Fatalf("replayed stream: HTTP %d %s", status, code)
	}
	absent("replayed stream")

	// The MAC of the other marker does not pass: each marker names its MAC.
	crossed := markedStream(t, a, srv.URL, ref, streamV1, data, func(sig string) string {
		m := a.streamMAC(sig, streamMarker)
		m.Write(data)
		return hex.EncodeToString(m.Sum(nil))
	})
	if status, code := send(t, crossed); status != http.StatusForbidden || code != codeStreamMACMismatch {
		t.Fatalf("AES-GMAC MAC under the HMAC-SHA256 marker: HTTP %d %s", status, code)
	}
	absent("crossed MAC")
	// A stream of an earlier release's gateway (HMAC-SHA256) is committed.
	if status, code := send(t, markedStream(t, a, srv.URL, ref, streamV1, data, nil)); status != http.StatusNoContent {
		t.Fatalf("HMAC-SHA256 stream: HTTP %d %s", status, code)
	}
	if got, err := mem.OpenShard(ctx, ref); err != nil || got.Size() != int64(len(data)) {
		t.Fatalf("HMAC-SHA256 stream not committed: %v", err)
	}
}

// TestStreamMACs: the two MACs are keyed by the secret and bound to the
// signature, and differ from each other.
func TestStreamMACs(t *testing.T) {
	a, b := clientAuth(testOpts), clientAuth(Options{Secret: []byte("another secret")})
	sum := func(a *authenticator, sig, marker string) string {
		m := a.streamMAC(sig, marker)
		m.Write([]byte("body"))
		return hex.EncodeToString(m.Sum(nil))
	}
	seen := map[string]string{}
	for _, marker := range []string{streamMarker, streamV1} {
		for _, c := range []struct {
			name string
			a    *authenticator
			sig  string
		}{{"sig1", a, "sig1"}, {"sig2", a, "sig2"}, {"other secret", b, "sig1"}} {
			v := sum(c.a, c.sig, marker)
			if len(v) != 64 {
				t.Fatalf("%s %s: MAC %q", marker, c.name, v)
			}
			if prev, dup := seen[v]; dup {
				t.Fatalf("%s %s: same MAC as %s", marker, c.name, prev)
			}
			seen[v] = marker + " " + c.name
			if v != sum(c.a, c.sig, marker) {
				t.Fatalf("%s %s: MAC not deterministic", marker, c.name)
			}
		}
	}
}

func TestReplayCache(t *testing.T) {
	n := func(i byte) [16]byte { return [16]byte{i} }
	const skew = 300
	c := newReplayCache(3)
	for i := range byte(3) {
		if r := c.add(n(i), 1000, 1000, skew); r != "" {
			t.Fatalf("fresh nonce %d refused: %s", i, r)
		}
	}
	if r := c.add(n(1), 1000, 1000, skew); !strings.Contains(r, "replayed") {
		t.Fatalf("replay accepted: %q", r)
	}
	if r := c.add(n(1), 1001, 1001, skew); r != "" {
		t.Fatalf("same nonce in another second: %q", r) // a new signature; nonces are per request
	}
	// Full: adding forgot second 1000 and raised the floor above it.
	if c.len() > 3 {
		t.Fatalf("cache holds %d > 3 nonces", c.len())
	}
	if r := c.add(n(9), 1000, 1001, skew); !strings.Contains(r, "older") {
		t.Fatalf("request below the floor accepted: %q", r)
	}
	if r := c.add(n(0), 1000, 1001, skew); r == "" {
		t.Fatal("replay of a forgotten nonce accepted")
	}
	// A full cache of one second refuses rather than forgets the request's own second.
	c = newReplayCache(2)
	c.add(n(1), 50, 50, skew)
	c.add(n(2), 50, 50, skew)
	if r := c.add(n(3), 50, 50, skew); r == "" {
		t.Fatal("third nonce of a full second accepted")
	}
	if r := c.add(n(2), 50, 50, skew); r == "" {
		t.Fatal("replay after overflow accepted")
	}
	if r := c.add(n(4), 51, 51, skew); r != "" {
		t.Fatalf("next second refused: %s", r)
	}
	// Seconds that left the window are forgotten.
	c = newReplayCache(100)
	for i := range byte(10) {
		c.add(n(i), 100+int64(i), 100+int64(i), skew)
	}
	c.add(n(99), 1000, 1000, skew)
	if c.len() != 1 {
		t.Fatalf("expired nonces kept: %d", c.len())
	}
}

func TestRPCErrorCodesRoundTrip(t *testing.T) {
	for _, c := range []struct {
		err  error
		want []error
		not  error
	}{
		{storagenode.ErrBucketNotFound, []error{storagenode.ErrBucketNotFound}, storagenode.ErrDriveOffline},
		{storagenode.ErrBucketExists, []error{storagenode.ErrBucketExists}, nil},
		{storagenode.ErrObjectNotFound, []error{storagenode.ErrObjectNotFound}, nil},
		{storagenode.ErrUploadNotFound, []error{storagenode.ErrUploadNotFound}, nil},
		{storagenode.ErrShardNotFound, []error{storagenode.ErrShardNotFound}, nil},
		{storagenode.ErrStale, []error{storagenode.ErrStale}, nil},
		{storagenode.ErrInvalidName, []error{storagenode.ErrInvalidName}, nil},
		{storagenode.ErrDriveOffline, []error{storagenode.ErrDriveOffline}, nil},
		{storagenode.ErrCorrupt, []error{storagenode.ErrCorrupt}, storagenode.ErrDriveOffline},
		{fmt.Errorf("storagenode: write shard x: %w: %w", storagenode.ErrDiskFull, syscall.ENOSPC), []error{storagenode.ErrDiskFull}, nil},
		{fs.ErrClosed, []error{fs.ErrClosed}, nil},
		{errDriveNotFound, []error{storagenode.ErrDriveOffline}, nil},
		{context.Canceled, []error{storagenode.ErrDriveOffline}, context.Canceled},
		{refused(403, codeSignatureMismatch, "x"), []error{ErrUnauthorized, storagenode.ErrDriveOffline}, nil},
		{refused(403, codeReplayed, "x"), []error{ErrUnauthorized, storagenode.ErrDriveOffline}, nil},
		{errors.New("something else"), nil, storagenode.ErrDriveOffline},
	} {
		srvErr := fmt.Errorf("storagenode: op on bkt/key: %w", c.err)
		code, status := codeOf(srvErr)
		body, _ := json.Marshal(errorBody{Code: code, Message: srvErr.Error()})
		got := newRemoteError("storagenode: drive d at http://h", "op", status, body)
		for _, w := range c.want {
			if !errors.Is(got, w) {
				t.Errorf("%v -> code %s -> %v: does not wrap %v", c.err, code, got, w)
			}
		}
		if c.not != nil && errors.Is(got, c.not) {
			t.Errorf("%v -> %v: wraps %v", c.err, got, c.not)
		}
		if !strings.Contains(got.Error(), "bkt/key") || !strings.Contains(got.Error(), "drive d at http://h") {
			t.Errorf("message %q lacks the drive or the server's detail", got)
		}
	}
	// An answer that is not ours (a proxy, another service).
	if err := newRemoteError("w", "op", 502, []byte("<html>bad gateway</html>")); !errors.Is(err, storagenode.ErrDriveOffline) {
		t.Fatalf("foreign answer: %v", err)
	}
}

func TestSecretFormatting(t *testing.T) {
	s := Secret("0123456789abcdef-secret")
	o := Options{Secret: s}
	for _, out := range []string{
		fmt.Sprint(s), fmt.Sprintf("%s %v %x %X %q %#v %d", s, s, s, s, s, s, s), fmt.Sprintf("%v %+v %#v", o, o, &o), s.String(),
	} {
		if strings.Contains(out, "-secret") || strings.Contains(out, "0123456789") || strings.Contains(out, "30313233") {
			t.Fatalf("secret formatted: %s", out)
		}
	}
}

// TestRemoteListEntriesOlderNode: a node that does not know meta/entries
// (an older version during an upgrade) is asked for whole records.
func TestRemoteListEntriesOlderNode(t *testing.T) {
	mem := local.NewMem("d1")
	ctx := context.Background()
	if err := mem.MakeBucket(ctx, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	m := &storagenode.ObjectMeta{Bucket: "bkt", Key: "k", VersionID: "v1", DataDir: "v1", ModTime: time.Unix(1, 0).UTC(),
		ETag: "e", Size: 3, UserMeta: map[string]string{"a": "b"}, EC: storagenode.ECInfo{Data: 2, Parity: 1}}
	if _, err := mem.PutMeta(ctx, m); err != nil {
		t.Fatal(err)
	}
	h := NewHandler([]storagenode.Drive{mem}, testOpts)
	delete(h.(*handler).calls, mListEntries)
	srv := httptest.NewServer(h)
	defer srv.Close()
	d := NewClient(srv.URL, "d1", testOpts)
	defer d.Close()
	es, err := d.ListEntries(ctx, "bkt", "", "", 0)
	if err != nil || len(es) != 1 || es[0].Key != "k" || es[0].DataShards != 2 || es[0].UserMeta["a"] != "b" {
		t.Fatalf("ListEntries from an older node = %+v, %v", es, err)
	}
}

// TestVersionsFromAnOldNode: a node from before versions (it answers
// "unknown method" to GetVersion and ListVersions) is read as holding one
// version per key, its current record, so that listing versions and
// DeleteBucket's emptiness check work during an upgrade.
func TestVersionsFromAnOldNode(t *testing.T) {
	ctx := context.Background()
	_, _, c := oldNode(t, mGetVersion, mListVersions)
	es, err := c.ListVersions(ctx, "bkt", "", "", "", 10)
	if err != nil || len(es) != 1 || es[0].VersionID != "v1" {
		t.Fatalf("versions of an old node: %+v, %v", es, err)
	}
	got, err := c.GetVersion(ctx, "bkt", "k", "v1")
	if err != nil || got.VersionID != "v1" {
		t.Fatalf("GetVersion of an old node's current version: %+v, %v", got, err)
	}
	if got, err = c.GetVersion(ctx, "bkt", "k", "null"); err != nil || got.VersionID != "v1" {
		t.Fatalf("GetVersion null of an old node (its record is the null version): %+v, %v", got, err)
	}
	if _, err := c.GetVersion(ctx, "bkt", "k", "v0"); !errors.Is(err, storagenode.ErrObjectNotFound) {
		t.Fatalf("GetVersion of another version on an old node: %v, want ErrObjectNotFound", err)
	}
}

// TestRewriteMetaOnAnOldNode: a node from before RewriteMeta (it answers
// "unknown method") is rewritten as gateways did it then: the record of a
// version it holds is replaced, one it does not hold is refused with
// ErrConflict and not stored.
func TestRewriteMetaOnAnOldNode(t *testing.T) {
	ctx := context.Background()
	mem, m, c := oldNode(t, mRewriteMeta)
	tagged := *m
	tagged.Tags, tagged.TagTime = []storagenode.Tag{{Key: "t"}}, 5
	if _, err := c.RewriteMeta(ctx, &tagged, storagenode.AnyLayout); err != nil {
		t.Fatalf("RewriteMeta of a held version on an old node: %v", err)
	}
	if got, err := mem.GetMeta(ctx, "bkt", "k"); err != nil || len(got.Tags) != 1 {
		t.Fatalf("after RewriteMeta on an old node: %+v, %v", got, err)
	}
	other := *m
	other.Key = "gone"
	if _, err := c.RewriteMeta(ctx, &other, storagenode.AnyLayout); !errors.Is(err, storagenode.ErrConflict) {
		t.Fatalf("RewriteMeta of a key an old node does not hold: %v, want ErrConflict", err)
	}
	if _, err := mem.GetMeta(ctx, "bkt", "gone"); !errors.Is(err, storagenode.ErrObjectNotFound) {
		t.Fatalf("a refused RewriteMeta on an old node stored the record: %v", err)
	}
}

// oldNode serves an in-memory drive holding bucket "bkt" and one record of
// "k" (version v1, returned) as a node from before the methods unknown,
// which it answers "unknown method"; it returns the drive and a client.
func oldNode(t *testing.T, unknown ...string) (*local.Drive, *storagenode.ObjectMeta, *Client) {
	t.Helper()
	ctx := context.Background()
	mem := local.NewMem("d1")
	if err := mem.MakeBucket(ctx, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	m := &storagenode.ObjectMeta{Bucket: "bkt", Key: "k", VersionID: "v1", DataDir: "v1", ModTime: time.Now(),
		EC: storagenode.ECInfo{Data: 1, Parity: 1, BlockSize: 1024}, Drives: []string{"d1"}}
	if _, err := mem.PutMeta(ctx, m); err != nil {
		t.Fatal(err)
	}
	h := NewHandler([]storagenode.Drive{mem}, testOpts)
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, method := range unknown {
			if strings.HasSuffix(r.URL.Path, "/"+method) {
				writeError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("%v: unknown method %q", errBadRequest, method))
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(old.Close)
	c := NewClient(old.URL, "d1", testOpts)
	t.Cleanup(func() { c.Close() })
	return mem, m, c
}
