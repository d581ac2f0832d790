package rpc_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/drivetest"
	"github.com/ecstore/ecstore/storagenode/faultdrive"
	"github.com/ecstore/ecstore/storagenode/local"
	"github.com/ecstore/ecstore/storagenode/rpc"
)

// testSecret is distinctive so that a leak into a log or an error is easy
// to find.
const testSecret = "s3cr3t-CLUSTER-key-for-tests-0x5eed"

func rpcOpts(log *slog.Logger) rpc.Options {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return rpc.Options{Secret: []byte(testSecret), Logger: log}
}

// serve starts an internode server for drives; it stops when the test ends.
func serve(t testing.TB, opts rpc.Options, drives ...storagenode.Drive) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(rpc.NewHandler(drives, opts))
	t.Cleanup(srv.Close)
	return srv
}

func remote(t testing.TB, url, id string, opts rpc.Options) *rpc.Client {
	t.Helper()
	d := rpc.NewClient(url, id, opts)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// TestRemoteConformance runs the whole conformance suite through the wire:
// a Client talking HTTP to a handler over a drive in memory and one on disk.
func TestRemoteConformance(t *testing.T) {
	t.Run("Mem", func(t *testing.T) {
		drivetest.Run(t, func(t *testing.T) storagenode.Drive {
			d := newMem()
			return remote(t, serve(t, rpcOpts(nil), d).URL, d.ID(), rpcOpts(nil))
		})
	})
	t.Run("Local", func(t *testing.T) {
		drivetest.Run(t, func(t *testing.T) storagenode.Drive {
			d := openLocal(t)
			return remote(t, serve(t, rpcOpts(nil), d).URL, d.ID(), rpcOpts(nil))
		})
	})
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// errorCode returns the code of an error response.
func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var eb struct{ Code, Message string }
	if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil {
		t.Fatalf("error body of HTTP %d: %v", resp.StatusCode, err)
	}
	return eb.Code
}

func TestRPCUnsignedRefused(t *testing.T) {
	var logs syncBuffer
	d := newMem()
	srv := serve(t, rpcOpts(debugLogger(&logs)), d)
	for _, c := range []struct{ method, path string }{
		{"POST", "/ecstore/v1/drive/" + d.ID() + "/bucket/make"},
		{"POST", "/ecstore/v1/drive/" + d.ID() + "/bucket/list"},
		{"GET", "/ecstore/v1/drive/" + d.ID() + "/ping"},
		{"GET", "/ecstore/v1/drive/nosuchdrive/ping"},
		{"GET", "/"},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(`{"bucket":"bkt"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s unsigned: HTTP %d, want 401", c.method, c.path, resp.StatusCode)
		}
		if code := errorCode(t, resp); code != "Unauthenticated" {
			t.Errorf("%s %s unsigned: code %q", c.method, c.path, code)
		}
	}
	// A signature of the wrong form is no better.
	req, _ := http.NewRequest("POST", srv.URL+"/ecstore/v1/drive/"+d.ID()+"/bucket/make", strings.NewReader(`{"bucket":"bkt"}`))
	req.Header.Set("Authorization", "ECSTORE-HMAC-SHA256 "+strings.Repeat("0", 64))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("signature without time and nonce: HTTP %d, want 401", resp.StatusCode)
	}
	resp.Body.Close()
	if bs, _ := d.ListBuckets(bg); len(bs) != 0 {
		t.Fatalf("an unsigned request created buckets: %v", bs)
	}
	if !strings.Contains(logs.String(), "request refused") || !strings.Contains(logs.String(), "code=Unauthenticated") {
		t.Fatalf("refusals not logged:\n%s", logs.String())
	}
}

func TestRPCWrongSecretRefused(t *testing.T) {
	var logs syncBuffer
	d := newMem()
	srv := serve(t, rpcOpts(debugLogger(&logs)), d)
	other := rpcOpts(nil)
	other.Secret = []byte("another-cluster-secret-of-32-bytes")
	r := remote(t, srv.URL, d.ID(), other)
	err := r.MakeBucket(bg, "bkt", time.Now())
	if !errors.Is(err, rpc.ErrUnauthorized) || !errors.Is(err, storagenode.ErrDriveOffline) {
		t.Fatalf("MakeBucket with the wrong secret: %v; want ErrUnauthorized and ErrDriveOffline", err)
	}
	if _, err := r.CreateShard(bg, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v", Name: "n"}); !errors.Is(err, rpc.ErrUnauthorized) {
		t.Fatalf("CreateShard with the wrong secret: %v", err)
	}
	if _, err := d.StatBucket(bg, "bkt"); !errors.Is(err, storagenode.ErrBucketNotFound) {
		t.Fatalf("a refused MakeBucket created the bucket: %v", err)
	}
	if !strings.Contains(logs.String(), "code=SignatureMismatch") {
		t.Fatalf("wrong signature not logged:\n%s", logs.String())
	}
	// The right secret works on the same server.
	if err := remote(t, srv.URL, d.ID(), rpcOpts(nil)).MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// cutProxy forwards TCP connections to target and cuts each connection
// (both ways) once limit bytes came from the client.
func cutProxy(t *testing.T, target string, limit int64) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				b, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer b.Close()
				var back sync.WaitGroup
				back.Go(func() { _, _ = io.Copy(c, b) })
				_, _ = io.CopyN(b, c, limit)
				b.Close() // the cut
				c.Close()
				back.Wait()
			})
		}
	})
	return "http://" + ln.Addr().String()
}

// TestRemoteShardStreamCut cuts a shard stream in the middle of its body:
// the writer fails with ErrDriveOffline, the node commits nothing and
// removes its temporary file.
func TestRemoteShardStreamCut(t *testing.T) {
	d := openLocal(t)
	if err := d.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, rpcOpts(nil), d)
	proxy := cutProxy(t, strings.TrimPrefix(srv.URL, "http://"), 300<<10)
	r := remote(t, proxy, d.ID(), rpcOpts(nil))
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	w, err := r.CreateShard(bg, ref)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	for p := data; len(p) > 0 && err == nil; p = p[64<<10:] {
		_, err = w.Write(p[:64<<10])
	}
	if err == nil {
		err = w.Commit(bg)
	} else {
		_ = w.Abort()
	}
	if !errors.Is(err, storagenode.ErrDriveOffline) {
		t.Fatalf("writing through a cut connection: %v; want ErrDriveOffline", err)
	}
	if _, err := d.OpenShard(bg, ref); !errors.Is(err, storagenode.ErrShardNotFound) {
		t.Fatalf("a cut stream was committed: OpenShard = %v", err)
	}
	tmp := filepath.Join(d.Dir(), "tmp")
	deadline := time.Now().Add(10 * time.Second)
	for countFiles(t, tmp) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the cut stream's temporary file stays in %s", tmp)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRemoteServerFailsMidStream: the node's drive fails while the shard
// streams in; the writer reports the node's error (ErrDriveOffline here)
// instead of hanging, and nothing is committed.
func TestRemoteServerFailsMidStream(t *testing.T) {
	mem := newMem()
	f := faultdrive.New(mem)
	if err := f.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	r := remote(t, serve(t, rpcOpts(nil), f).URL, f.ID(), rpcOpts(nil))
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	w, err := r.CreateShard(bg, ref)
	if err != nil {
		t.Fatal(err)
	}
	f.SetOffline(true)
	chunk := make([]byte, 64<<10)
	for i := 0; i < 256 && err == nil; i++ { // 16 MiB: more than any buffer on the way
		_, err = w.Write(chunk)
	}
	if err == nil {
		err = w.Commit(bg)
	}
	if !errors.Is(err, storagenode.ErrDriveOffline) || !strings.Contains(err.Error(), "fault injected") {
		t.Fatalf("stream into a failing drive: %v; want the node's ErrDriveOffline", err)
	}
	_ = w.Abort()
	if _, err := mem.OpenShard(bg, ref); !errors.Is(err, storagenode.ErrShardNotFound) {
		t.Fatalf("shard committed after a failure: %v", err)
	}
}

// TestRemoteDeadServer: a node that is gone, or that accepts connections
// and never answers, fails calls with ErrDriveOffline quickly.
func TestRemoteDeadServer(t *testing.T) {
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	check := func(t *testing.T, r *rpc.Client, limit time.Duration) {
		t.Helper()
		for name, call := range map[string]func() error{
			"StatBucket":  func() error { _, err := r.StatBucket(bg, "bkt"); return err },
			"PutMeta":     func() error { _, err := r.PutMeta(bg, &storagenode.ObjectMeta{Bucket: "bkt", Key: "k"}); return err },
			"CreateShard": func() error { _, err := r.CreateShard(bg, ref); return err },
			"OpenShard":   func() error { _, err := r.OpenShard(bg, ref); return err },
			"Ping":        func() error { return r.Ping(bg) },
		} {
			start := time.Now()
			err := call()
			if !errors.Is(err, storagenode.ErrDriveOffline) {
				t.Errorf("%s: %v; want ErrDriveOffline", name, err)
			}
			if el := time.Since(start); el > limit {
				t.Errorf("%s took %v (limit %v)", name, el, limit)
			}
		}
	}
	t.Run("Gone", func(t *testing.T) {
		srv := httptest.NewServer(rpc.NewHandler([]storagenode.Drive{newMem()}, rpcOpts(nil)))
		url := srv.URL
		srv.Close()
		check(t, remote(t, url, "d", rpcOpts(nil)), time.Second)
	})
	t.Run("Silent", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var conns []net.Conn
		t.Cleanup(func() {
			ln.Close()
			mu.Lock()
			for _, c := range conns {
				c.Close()
			}
			mu.Unlock()
			wg.Wait()
		})
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c) // held open, never answered
				mu.Unlock()
			}
		})
		opts := rpcOpts(nil)
		opts.CallTimeout = 200 * time.Millisecond
		check(t, remote(t, "http://"+ln.Addr().String(), "d", opts), 2*time.Second)
	})
	t.Run("ReaderOfDeadNode", func(t *testing.T) {
		mem := newMem()
		srv := httptest.NewServer(rpc.NewHandler([]storagenode.Drive{mem}, rpcOpts(nil)))
		r := remote(t, srv.URL, mem.ID(), rpcOpts(nil))
		if err := r.MakeBucket(bg, "bkt", time.Now()); err != nil {
			t.Fatal(err)
		}
		w, err := r.CreateShard(bg, ref)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("content")); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(bg); err != nil {
			t.Fatal(err)
		}
		sr, err := r.OpenShard(bg, ref)
		if err != nil {
			t.Fatal(err)
		}
		srv.Close()
		if _, err := sr.ReadAt(make([]byte, 3), 0); !errors.Is(err, storagenode.ErrDriveOffline) {
			t.Fatalf("ReadAt after the node died: %v", err)
		}
	})
}

// TestRemoteDriveRouting serves several drives, with IDs that need escaping,
// from one handler.
func TestRemoteDriveRouting(t *testing.T) {
	ids := []string{"n1/d1", "n1/d2", "n1%2Fd1", "d?x=1#y"}
	var drives []storagenode.Drive
	for _, id := range ids {
		drives = append(drives, local.NewMem(id))
	}
	srv := serve(t, rpcOpts(nil), drives...)
	for i, id := range ids {
		r := remote(t, srv.URL, id, rpcOpts(nil))
		if err := r.Ping(bg); err != nil {
			t.Fatalf("Ping %s: %v", id, err)
		}
		if err := r.MakeBucket(bg, fmt.Sprintf("bucket-%d", i), time.Now()); err != nil {
			t.Fatalf("MakeBucket on %s: %v", id, err)
		}
	}
	for i, d := range drives {
		bs, err := d.ListBuckets(bg)
		if err != nil || len(bs) != 1 || bs[0].Name != fmt.Sprintf("bucket-%d", i) {
			t.Fatalf("drive %s holds %v, %v", d.ID(), bs, err)
		}
	}
	_, err := remote(t, srv.URL, "n1", rpcOpts(nil)).ListBuckets(bg)
	if !errors.Is(err, storagenode.ErrDriveOffline) {
		t.Fatalf("a drive the node does not serve: %v; want ErrDriveOffline", err)
	}
}

// TestRemoteShardReplaced: a reader notices that the shard it opened was
// replaced by one of another size.
func TestRemoteShardReplaced(t *testing.T) {
	mem := newMem()
	r := remote(t, serve(t, rpcOpts(nil), mem).URL, mem.ID(), rpcOpts(nil))
	if err := r.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	put := func(s string) {
		w, err := r.CreateShard(bg, ref)
		if err == nil {
			_, err = w.Write([]byte(s))
		}
		if err == nil {
			err = w.Commit(bg)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	put("first version")
	sr, err := r.OpenShard(bg, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	put("second, longer version")
	if _, err := sr.ReadAt(make([]byte, 5), 0); !errors.Is(err, storagenode.ErrShardNotFound) {
		t.Fatalf("ReadAt of a replaced shard: %v; want ErrShardNotFound", err)
	}
	_ = sr.Close()
	if _, err := sr.ReadAt(make([]byte, 5), 0); err == nil {
		t.Fatal("ReadAt after Close succeeded")
	}
}

func TestRPCBodyTooLarge(t *testing.T) {
	mem := newMem()
	opts := rpcOpts(nil)
	opts.MaxBodySize = 4 << 10
	r := remote(t, serve(t, opts, mem).URL, mem.ID(), rpcOpts(nil))
	if err := r.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	m := &storagenode.ObjectMeta{Bucket: "bkt", Key: "k", UserMeta: map[string]string{"big": strings.Repeat("x", 4<<20)}}
	_, err := r.PutMeta(bg, m)
	if err == nil || !strings.Contains(err.Error(), "BodyTooLarge") || errors.Is(err, storagenode.ErrDriveOffline) {
		t.Fatalf("PutMeta over MaxBodySize: %v; want a BodyTooLarge error", err)
	}
	if _, err := mem.GetMeta(bg, "bkt", "k"); !errors.Is(err, storagenode.ErrObjectNotFound) {
		t.Fatalf("a refused PutMeta stored a record: %v", err)
	}
}

// TestRPCSecretNotLogged drives the server through refusals, failures and
// cut streams with debug logging on, and checks that neither the logs nor
// the errors nor formatted options show the secret in any encoding.
func TestRPCSecretNotLogged(t *testing.T) {
	var logs syncBuffer
	log := debugLogger(&logs)
	mem := newMem()
	f := faultdrive.New(mem)
	opts := rpcOpts(log)
	srv := serve(t, opts, f)
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	r := remote(t, srv.URL, f.ID(), opts)
	note(r.MakeBucket(bg, "bkt", time.Now()))
	note(r.MakeBucket(bg, "bkt", time.Now())) // BucketExists
	_, err := r.GetMeta(bg, "bkt", "missing")
	note(err)
	wrong := opts
	wrong.Secret = []byte("wrong-secret-wrong-secret-wrong")
	note(remote(t, srv.URL, f.ID(), wrong).MakeBucket(bg, "other", time.Now()))
	resp, err := http.Post(srv.URL+"/ecstore/v1/drive/"+f.ID()+"/bucket/list", "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
	}
	// A read failure the node does not know (logged as an internal error).
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v", Name: "n"}
	w, err := r.CreateShard(bg, ref)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("abc"))
	note(w.Commit(bg))
	f.SetReadFault(func(storagenode.ShardRef, []byte, int64, int, error) (int, error) {
		return 0, errors.New("disk says no")
	})
	sr, err := r.OpenShard(bg, ref)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sr.ReadAt(make([]byte, 3), 0)
	note(err)
	// A cut stream (debug log).
	w, err = r.CreateShard(bg, ref)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("partial"))
	_ = w.Abort()
	log.Info("options", "opts", opts, "secret", opts.Secret)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("options", "opts", opts, "secret", opts.Secret)
	fmt.Fprintf(&logs, "%v %+v %#v %s %x %q\n", opts, opts, opts, opts.Secret, opts.Secret, opts.Secret)
	srv.Close() // waits for the handlers, and so for their log records

	out := logs.String()
	for _, want := range []string{"code=SignatureMismatch", "code=Unauthenticated", "drive call failed", "stream"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, err := range errs {
		out += "\n" + err.Error()
	}
	if len(errs) < 4 {
		t.Fatalf("only %d errors collected: %v", len(errs), errs)
	}
	for _, form := range []string{
		testSecret, hex.EncodeToString([]byte(testSecret)), base64.StdEncoding.EncodeToString([]byte(testSecret)),
		testSecret[:12], fmt.Sprint([]byte(testSecret)[:8]),
	} {
		if strings.Contains(out, form) {
			t.Fatalf("the secret (as %q) appears in the output:\n%s", form, out)
		}
	}
	if !strings.Contains(out, "[REDACTED]") {
		t.Fatal("formatted secret not redacted")
	}
}

func TestRPCOptionsValidate(t *testing.T) {
	var o rpc.Options
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Fatalf("Validate without secret: %v", err)
	}
	o = rpc.Options{Secret: []byte(testSecret), MaxSkew: time.Millisecond, CallTimeout: -1}
	err := o.Validate()
	if err == nil || !strings.Contains(err.Error(), "MaxSkew") || !strings.Contains(err.Error(), "CallTimeout") {
		t.Fatalf("Validate: %v", err)
	}
	o = rpc.Options{Secret: []byte(testSecret)}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	o.EnsureDefaults()
	if o.MaxSkew != 5*time.Minute || o.CallTimeout <= 0 || o.IOTimeout <= 0 || o.DialTimeout <= 0 ||
		o.ReplayCacheSize <= 0 || o.MaxBodySize <= 0 || o.Logger == nil {
		t.Fatalf("EnsureDefaults left unset fields: %+v", o)
	}
	mustPanic := func(what string, fn func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", what)
			}
		}()
		fn()
	}
	mustPanic("NewRPCHandler with a short secret", func() {
		rpc.NewHandler(nil, rpc.Options{Secret: []byte("short")})
	})
	mustPanic("NewRPCHandler with two drives of one ID", func() {
		rpc.NewHandler([]storagenode.Drive{local.NewMem("x"), local.NewMem("x")}, rpcOpts(nil))
	})
	for _, u := range []string{"", "ftp://h", "http://", "http://h/path", "http://h?q=1", "http://u:p@h"} {
		mustPanic("NewRemoteDrive("+u+")", func() { rpc.NewClient(u, "d", rpcOpts(nil)) })
	}
}

// TestRemoteConnectionReuse: metadata calls, shard streams and ranged reads
// share kept-alive connections.
func TestRemoteConnectionReuse(t *testing.T) {
	mem := newMem()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(rpc.NewHandler([]storagenode.Drive{mem}, rpcOpts(nil)))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	r := remote(t, srv.URL, mem.ID(), rpcOpts(nil))
	if err := r.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), 300<<10)
	for i := range 20 {
		ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v", Name: fmt.Sprintf("part.%d", i)}
		w, err := r.CreateShard(bg, ref)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(bg); err != nil {
			t.Fatal(err)
		}
		if _, err := r.PutMeta(bg, &storagenode.ObjectMeta{Bucket: "bkt", Key: ref.Name, ModTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
		sr, err := r.OpenShard(bg, ref)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sr.ReadAt(make([]byte, 100<<10), 1000); err != nil {
			t.Fatal(err)
		}
		_ = sr.Close()
	}
	if n := conns.Load(); n > 2 {
		t.Fatalf("100 sequential calls opened %d connections; want them reused", n)
	}
}

// TestRPCStalledStreamCut: the node cuts a stream whose client stops
// sending for IOTimeout, and discards the temporary file.
func TestRPCStalledStreamCut(t *testing.T) {
	d := openLocal(t)
	if err := d.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	opts := rpcOpts(nil)
	opts.IOTimeout = 200 * time.Millisecond
	r := remote(t, serve(t, opts, d).URL, d.ID(), rpcOpts(nil))
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	w, err := r.CreateShard(bg, ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("a first block")); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(d.Dir(), "tmp")
	deadline := time.Now().Add(10 * time.Second)
	for countFiles(t, tmp) != 0 { // the node gives up and removes its temporary file
		if time.Now().After(deadline) {
			t.Fatal("the stalled stream's temporary file stays")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = w.Write([]byte("too late"))
	if err == nil {
		err = w.Commit(bg)
	}
	if !errors.Is(err, storagenode.ErrDriveOffline) {
		t.Fatalf("writing to a stream the node cut: %v; want ErrDriveOffline", err)
	}
	_ = w.Abort()
	if _, err := d.OpenShard(bg, ref); !errors.Is(err, storagenode.ErrShardNotFound) {
		t.Fatalf("stalled stream committed: %v", err)
	}
}

// TestRPCMapMismatchRefused: a node running with a cluster map refuses
// callers that run with another map, or with none.
func TestRPCMapMismatchRefused(t *testing.T) {
	d := newMem()
	srvOpts := rpcOpts(nil)
	srvOpts.MapID = "epoch1-aaaa"
	srv := serve(t, srvOpts, d)
	for _, mapID := range []string{"epoch1-bbbb", "epoch2-aaaa", ""} {
		o := rpcOpts(nil)
		o.MapID = mapID
		err := remote(t, srv.URL, d.ID(), o).MakeBucket(bg, "bkt", time.Now())
		if !errors.Is(err, rpc.ErrMapMismatch) || !errors.Is(err, storagenode.ErrDriveOffline) {
			t.Fatalf("map %q against a node on epoch1-aaaa: %v; want ErrMapMismatch and ErrDriveOffline", mapID, err)
		}
	}
	if _, err := d.StatBucket(bg, "bkt"); !errors.Is(err, storagenode.ErrBucketNotFound) {
		t.Fatalf("a refused call took effect: %v", err)
	}
	o := rpcOpts(nil)
	o.MapID = "epoch1-aaaa"
	if err := remote(t, srv.URL, d.ID(), o).MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatalf("same map: %v", err)
	}
}

// fakeKeeper is a MapKeeper over opaque maps "epoch:name": a higher epoch
// is newer.
type fakeKeeper struct {
	mu   sync.Mutex
	data []byte
}

func (k *fakeKeeper) MapID() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return string(k.data)
}
func (k *fakeKeeper) MapAccepted(id string) bool { return id == k.MapID() || k.MapID() == "" }
func (k *fakeKeeper) MapData() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.data
}
func (k *fakeKeeper) AdoptMap(data []byte, replace bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.data) > 0 && (data[0] < k.data[0] || (data[0] == k.data[0] && !replace)) {
		return fmt.Errorf("offered %s, have %s: %w", data, k.data, rpc.ErrMapMismatch)
	}
	k.data = append([]byte(nil), data...)
	return nil
}

// TestRPCMapExchange: a node without a map answers its identity and takes
// any caller; a pushed map is adopted and from then on callers on other
// maps are refused, while the map exchange itself stays open to them (so a
// caller behind can catch up). An older map is refused.
func TestRPCMapExchange(t *testing.T) {
	d := newMem()
	keeper := &fakeKeeper{}
	srvOpts := rpcOpts(nil)
	srvOpts.Maps = keeper
	srvOpts.Node = rpc.NodeIdentity{ID: "node7", Zone: "z2"}
	srv := serve(t, srvOpts, d)
	nc := rpc.NewNodeClient(srv.URL, rpcOpts(nil))
	defer nc.Close()

	id, err := nc.Identity(bg)
	if err != nil || id.ID != "node7" || id.Zone != "z2" || len(id.Drives) != 1 || id.Drives[0] != d.ID() || id.MapID != "" {
		t.Fatalf("identity: %+v, %v", id, err)
	}
	if _, _, err := nc.FetchMap(bg); !errors.Is(err, rpc.ErrNoMap) {
		t.Fatalf("fetch from a node without a map: %v, want ErrNoMap", err)
	}
	o := rpcOpts(nil)
	o.MapID = "5:a"
	if err := remote(t, srv.URL, d.ID(), o).MakeBucket(bg, "bk1", time.Now()); err != nil {
		t.Fatalf("a node without a map refused a caller: %v", err)
	}
	if err := nc.PushMap(bg, []byte("5:a"), false); err != nil {
		t.Fatal(err)
	}
	data, mapID, err := nc.FetchMap(bg)
	if err != nil || string(data) != "5:a" || mapID != "5:a" {
		t.Fatalf("fetch: %q %q %v", data, mapID, err)
	}
	if err := nc.PushMap(bg, []byte("4:z"), true); !errors.Is(err, rpc.ErrMapMismatch) {
		t.Fatalf("older map pushed: %v, want a refusal", err)
	}
	other := rpcOpts(nil)
	other.MapID = "3:old"
	if err := remote(t, srv.URL, d.ID(), other).MakeBucket(bg, "bk2", time.Now()); !errors.Is(err, rpc.ErrMapMismatch) {
		t.Fatalf("caller on another map: %v, want ErrMapMismatch", err)
	}
	// The caller behind can still read the node's map and catch up.
	behind := rpc.NewNodeClient(srv.URL, other)
	defer behind.Close()
	if data, _, err := behind.FetchMap(bg); err != nil || string(data) != "5:a" {
		t.Fatalf("map exchange refused a caller on another map: %q %v", data, err)
	}
	if err := remote(t, srv.URL, d.ID(), o).MakeBucket(bg, "bk2", time.Now()); err != nil {
		t.Fatalf("caller on the node's map: %v", err)
	}
	// Unsigned requests learn nothing, the map included.
	resp, err := http.Get(srv.URL + "/ecstore/v1/node/map")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned map fetch: %s", resp.Status)
	}
}
