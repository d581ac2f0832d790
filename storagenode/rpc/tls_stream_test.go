package rpc

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

// TestShardStreamOverTLS: over TLS a shard stream carries no MAC of its own
// (STREAMING-TLS-TRAILER, its length in the trailer); the node takes that
// marker only on a TLS connection, and only with the right length.
func TestShardStreamOverTLS(t *testing.T) {
	ctx := context.Background()
	mem := local.NewMem("m1")
	if err := mem.MakeBucket(ctx, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var markers []string
	h := NewHandler([]storagenode.Drive{mem}, testOpts)
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		markers = append(markers, r.Header.Get(hdrContent))
		mu.Unlock()
		h.ServeHTTP(w, r)
	})
	tlsSrv := httptest.NewTLSServer(record)
	defer tlsSrv.Close()
	plainSrv := httptest.NewServer(record)
	defer plainSrv.Close()
	tlsConf := tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig

	// Through the client: committed, with the TLS marker.
	opts := testOpts
	opts.TLSConfig = tlsConf
	c := NewClient(tlsSrv.URL, "m1", opts)
	defer c.Close()
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	data := []byte("shard bytes over TLS")
	w, err := c.CreateShard(ctx, ref)
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = w.Commit(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := markers[len(markers)-1]
	mu.Unlock()
	if got != streamTLS {
		t.Fatalf("stream over TLS sent with marker %q; want %q", got, streamTLS)
	}
	if sr, err := mem.OpenShard(ctx, ref); err != nil || sr.Size() != int64(len(data)) {
		t.Fatalf("stream over TLS not committed: %v", err)
	}
	if err := mem.DeleteShard(ctx, ref); err != nil {
		t.Fatal(err)
	}

	a := clientAuth(testOpts)
	tlsClient := tlsSrv.Client()
	try := func(base string, client *http.Client, trailer string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+drivePrefix+"m1/"+mShardWrite+"?"+refQuery(ref).Encode(), io.NopCloser(bytes.NewReader(data)))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1
		a.sign(req, streamTLS)
		if trailer != "" {
			req.Trailer = http.Header{hdrStreamMAC: {trailer}}
		}
		return sendWith(t, client, req)
	}
	length := func(n int) string {
		m := a.streamMAC("", streamTLS)
		_, _ = m.Write(make([]byte, n))
		return hex.EncodeToString(m.Sum(nil))
	}
	absent := func(what string) {
		t.Helper()
		if _, err := mem.OpenShard(ctx, ref); !errors.Is(err, storagenode.ErrShardNotFound) {
			t.Fatalf("%s: shard committed (%v)", what, err)
		}
	}
	if status, code := try(plainSrv.URL, http.DefaultClient, length(len(data))); status != http.StatusBadRequest || code != codeWrongContentMarker {
		t.Fatalf("TLS marker over plain HTTP: HTTP %d %s", status, code)
	}
	absent("TLS marker over plain HTTP")
	if status, code := try(tlsSrv.URL, tlsClient, length(len(data)-1)); status != http.StatusForbidden || code != codeStreamMACMismatch {
		t.Fatalf("wrong length: HTTP %d %s", status, code)
	}
	absent("wrong length")
	if status, code := try(tlsSrv.URL, tlsClient, ""); status != http.StatusBadRequest || code != "NotCommitted" {
		t.Fatalf("no trailer: HTTP %d %s", status, code)
	}
	absent("no trailer")
	if status, code := try(tlsSrv.URL, tlsClient, length(len(data))); status != http.StatusNoContent {
		t.Fatalf("right length over TLS: HTTP %d %s", status, code)
	}
	if _, err := mem.OpenShard(ctx, ref); err != nil {
		t.Fatalf("right length over TLS: %v", err)
	}
}
