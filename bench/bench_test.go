package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ecstore/ecstore/server"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"1000", 1000}, {"4KiB", 4096}, {"4kib", 4096}, {"1MiB", 1 << 20},
		{"64MiB", 64 << 20}, {"10MB", 10_000_000}, {"1GB", 1e9}, {"2GiB", 2 << 30},
		{"1.5MiB", 3 << 19}, {" 512 B ", 512}, {"100b", 100},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "4K", "1m", "MiB", "-1", "1.5B", "4 XB", "0x10", "1e3"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
	if _, err := ParseSize("4K"); err == nil || !strings.Contains(err.Error(), "4KiB") {
		t.Errorf("ParseSize(4K) error %v should suggest 4KiB", err)
	}
}

func TestFormatSize(t *testing.T) {
	for in, want := range map[int64]string{0: "0B", 1000: "1000B", 4096: "4KiB", 64 << 20: "64MiB", 1e7: "10000000B", 3 << 19: "1536KiB"} {
		if got := FormatSize(in); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestParsePhases(t *testing.T) {
	got, err := ParsePhases("put, GET,mixed,list,delete")
	if err != nil || len(got) != 5 || got[1] != PhaseGet || got[4] != PhaseDelete {
		t.Fatalf("ParsePhases = %v, %v", got, err)
	}
	if got, err := ParsePhases("all"); err != nil || len(got) != len(Phases) {
		t.Fatalf("ParsePhases(all) = %v, %v", got, err)
	}
	for _, in := range []string{"", "put,post", ","} {
		if _, err := ParsePhases(in); err == nil {
			t.Errorf("ParsePhases(%q): want an error", in)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		vals []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 100, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 51, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{ms(hundred...), 50, 50 * time.Millisecond},
		{ms(hundred...), 90, 90 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 99.5, 100 * time.Millisecond},
		{ms(hundred...), 0.1, 1 * time.Millisecond},
	} {
		if got := Percentile(tc.vals, tc.p); got != tc.want {
			t.Errorf("Percentile(%d values, %v) = %v, want %v", len(tc.vals), tc.p, got, tc.want)
		}
	}
	// merge sorts the workers' latencies before taking percentiles.
	a, b := newTally(4), newTally(4)
	for _, v := range []int{40, 10, 30} {
		a.ok(time.Duration(v)*time.Millisecond, 1, 0)
	}
	b.ok(20*time.Millisecond, 1, 0)
	b.fail("SlowDown", errors.New("slow down"))
	r := merge(PhaseGet, &Config{Size: 1, Concurrency: 2}, time.Second, []*tally{a, b})
	if r.Latency != (LatencyMS{P50: 20, P90: 40, P99: 40, Max: 40}) || r.Ops != 5 || r.Errors != 1 ||
		r.ErrorCodes["SlowDown"] != 1 || r.ObjectsPerSecond != 4 {
		t.Errorf("merge = %+v", r)
	}
}

func TestDataSet(t *testing.T) {
	d := newDataSet(4096, false)
	if len(d.object(0)) != 4096 || len(d.object(12345)) != 4096 {
		t.Fatal("object windows have the wrong length")
	}
	if bytes.Equal(d.object(0), d.object(1)) || bytes.Equal(d.object(1), d.object(2)) {
		t.Error("neighbouring objects have the same bytes: verification could not tell them apart")
	}
	if !bytes.Equal(d.object(7), newDataSet(4096, false).object(7)) {
		t.Error("the data is not the same from run to run")
	}
	f := newDataSet(100, true)
	if !bytes.Equal(f.object(0), f.object(99)) || len(f.object(3)) != 100 {
		t.Error("fixed data differs between objects")
	}
}

// TestReadCompare proves the verifier catches every way a body can differ.
func TestReadCompare(t *testing.T) {
	want := newDataSet(300_000, false).object(3)
	buf := make([]byte, 4096)
	check := func(name string, body []byte, verify bool, wantDiff int64) {
		t.Helper()
		// HalfReader varies the chunking.
		for _, r := range []io.Reader{bytes.NewReader(body), iotest.HalfReader(bytes.NewReader(body))} {
			n, diff, err := readCompare(r, buf, want, verify)
			if err != nil || n != int64(len(body)) || diff != wantDiff {
				t.Errorf("%s: n=%d diff=%d err=%v; want n=%d diff=%d", name, n, diff, err, len(body), wantDiff)
			}
		}
	}
	check("same", want, true, -1)
	flipped := bytes.Clone(want)
	flipped[200_001] ^= 1
	check("one bit flipped", flipped, true, 200_001)
	check("not verified", flipped, false, -1)
	check("longer", append(bytes.Clone(want), 0), true, int64(len(want)))
	check("shorter (caller checks n)", want[:1000], true, -1)
	check("other object", newDataSet(300_000, false).object(4), true, 0)

	_, _, err := readCompare(iotest.ErrReader(io.ErrUnexpectedEOF), buf, want, true)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read error = %v, want ErrUnexpectedEOF", err)
	}
}

// TestImports enforces doc.go: bench speaks S3 only and imports no other
// ecstore package (its tests may, to start a server).
func TestImports(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(p, "github.com/ecstore/ecstore") {
				t.Errorf("%s imports %s: bench must import no ecstore package", f, p)
			}
		}
	}
}

const (
	testAccessKey = "benchaccess"
	testSecretKey = "benchsecret-123"
)

// startServer runs the embedded ecstore in-process on 6 temporary drives
// until the test ends, and returns its endpoint URL.
func startServer(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var dirs []string
	for range 6 {
		dirs = append(dirs, t.TempDir())
	}
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{DriveDirs: dirs, Endpoint: server.Endpoint{Address: "127.0.0.1:0",
			AccessKey: testAccessKey, SecretKey: testSecretKey, Logger: slog.New(slog.DiscardHandler)}},
			func(addr string) { addrc <- addr })
	}()
	select {
	case addr := <-addrc:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server: %v", err)
			}
		})
		return "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start within 30s")
	}
	return ""
}

func testConfig(endpoint string) Config {
	return Config{Endpoint: endpoint, AccessKey: testAccessKey, SecretKey: testSecretKey,
		Concurrency: 4, Ops: 50, VerifySample: 0.5}
}

// listAll returns the keys under prefix.
func listAll(t *testing.T, cfg Config, prefix string) []string {
	t.Helper()
	cfg.EnsureDefaults()
	c, err := newClient(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	var keys []string
	token := ""
	for {
		page, err := c.list(context.Background(), prefix, token, 1000)
		var e *S3Error
		if errors.As(err, &e) && e.Code == "NoSuchBucket" {
			return nil // clean-up removed the bucket too
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range page.Contents {
			keys = append(keys, k.Key)
		}
		if !page.IsTruncated {
			return keys
		}
		token = page.NextContinuationToken
	}
}

// TestRunEndToEnd runs every phase against the real embedded ecstore.
func TestRunEndToEnd(t *testing.T) {
	endpoint := startServer(t)
	for _, size := range []int64{4 << 10, 1 << 20} {
		t.Run(FormatSize(size), func(t *testing.T) {
			runAllPhases(t, testConfig(endpoint), size)
		})
	}
}

// runAllPhases runs every phase with cfg and objects of size bytes against
// a live endpoint, and checks the results: no errors, every phase its 50
// operations, the GET sample verified, the LIST walks complete, nothing
// left behind, and the results written as JSON and as a table.
func runAllPhases(t *testing.T, cfg Config, size int64) {
	t.Helper()
	var log, progress bytes.Buffer
	cfg.Size, cfg.Phases, cfg.Log, cfg.Progress = size, Phases, &log, &progress
	cfg.Prefix = "e2e-" + FormatSize(size)
	cpu := runtime.GOOS == "linux" && size >= 1<<20
	if cpu {
		cfg.ServerPID = os.Getpid() // the server runs in this process
	}
	results, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log.String())
	}
	if len(results) != len(Phases) {
		t.Fatalf("%d results, want %d", len(results), len(Phases))
	}
	for i, r := range results {
		if r.Phase != Phases[i] || r.Errors != 0 || len(r.ErrorCodes) != 0 || r.Interrupted {
			t.Errorf("%s: %+v", Phases[i], r)
		}
		// Every phase runs its 50: even delete, as mixed deletes
		// only objects it wrote itself.
		if r.Ops != 50 || r.Latency.P50 <= 0 || r.Latency.Max < r.Latency.P99 || r.DurationSeconds <= 0 {
			t.Errorf("%s: ops %d (want 50), latency %+v, duration %v", r.Phase, r.Ops, r.Latency, r.DurationSeconds)
		}
	}
	put, get, list, versions := results[0], results[1], results[3], results[4]
	if put.Bytes != 50*size || put.MiBPerSecond <= 0 || put.ObjectsPerSecond <= 0 {
		t.Errorf("put: %+v", put)
	}
	if get.Bytes != 50*size || get.Verified == 0 || get.VerifyFailures != 0 {
		t.Errorf("get: bytes %d, verified %d, failures %d", get.Bytes, get.Verified, get.VerifyFailures)
	}
	if list.Objects < 50 {
		t.Errorf("list found %d keys in 50 pages, want at least 50", list.Objects)
	}
	if versions.Objects < 50 {
		t.Errorf("listversions found %d versions in 50 pages, want at least 50", versions.Objects)
	}
	if keys := listAll(t, cfg, cfg.Prefix+"/"); len(keys) != 0 {
		t.Errorf("clean-up left %d objects: %v", len(keys), keys[:min(len(keys), 5)])
	}

	var out bytes.Buffer
	if err := WriteJSON(&out, results); err != nil {
		t.Fatal(err)
	}
	var decoded []map[string]any
	if err := json.Unmarshal(out.Bytes(), &decoded); err != nil || len(decoded) != len(results) {
		t.Fatalf("JSON %s: %v", out.String(), err)
	}
	for _, field := range []string{"phase", "size_bytes", "concurrency", "ops", "errors", "error_codes",
		"duration_seconds", "mib_per_second", "objects_per_second", "latency_ms", "verified", "verify_failures"} {
		if _, ok := decoded[0][field]; !ok {
			t.Errorf("JSON lacks %q: %s", field, out.String())
		}
	}
	out.Reset()
	if err := WriteTable(&out, results); err != nil || !strings.Contains(out.String(), "MiB/s") {
		t.Errorf("table: %v\n%s", err, out.String())
	}
	if cpu && (put.ServerCPUSeconds <= 0 || !strings.Contains(out.String(), "put: server CPU ")) {
		t.Errorf("put with ServerPID: server CPU %v s; table:\n%s", put.ServerCPUSeconds, out.String())
	}
	t.Logf("\n%s", out.String())
}

// TestWrongSecret proves failures are counted by their S3 code: a wrong
// secret key fails the run's first request, and every operation of a phase.
func TestWrongSecret(t *testing.T) {
	endpoint := startServer(t)
	cfg := testConfig(endpoint)
	cfg.SecretKey = "not-the-secret"
	_, err := Run(context.Background(), cfg)
	var e *S3Error
	if !errors.As(err, &e) || e.Code != "SignatureDoesNotMatch" {
		t.Fatalf("Run with a wrong secret: %v, want SignatureDoesNotMatch", err)
	}

	// With the bucket in place, every PUT fails on its own.
	good := testConfig(endpoint)
	good.Phases, good.Keep, good.Ops = []Phase{PhasePut}, true, 1
	if _, err := Run(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	cfg.EnsureDefaults()
	cfg.Ops = 20
	r, err := newRunner(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.c.close()
	res := r.runPhase(context.Background(), PhasePut, 0, cfg.Ops, false)
	if res.Ops != 20 || res.Errors != 20 || res.ErrorCodes["SignatureDoesNotMatch"] != 20 || len(r.live) != 0 {
		t.Errorf("PUTs with a wrong secret: %+v", res)
	}
	var out bytes.Buffer
	_ = WriteTable(&out, []Result{res})
	if !strings.Contains(out.String(), "20 x SignatureDoesNotMatch") {
		t.Errorf("table does not report the error code:\n%s", out.String())
	}
}

// TestVerifyDetectsCorruption corrupts the expected bytes after the PUTs:
// every verified GET must then fail.
func TestVerifyDetectsCorruption(t *testing.T) {
	endpoint := startServer(t)
	var log bytes.Buffer
	cfg := testConfig(endpoint)
	cfg.Ops, cfg.VerifySample, cfg.Log = 12, 1, &log
	cfg.EnsureDefaults()
	r, err := newRunner(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.c.close()
	if _, err := r.c.ensureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.cleanup(context.Background(), true)
	if res := r.runPhase(context.Background(), PhasePut, 0, cfg.Ops, false); res.Errors != 0 {
		t.Fatalf("put: %+v", res)
	}
	good := r.runPhase(context.Background(), PhaseGet, 0, cfg.Ops, false)
	if good.Errors != 0 || good.Verified != 12 {
		t.Fatalf("get before corruption: %+v", good)
	}
	// Flip one bit of object 0; the objects whose windows of the shared
	// buffer overlap that byte must fail too.
	at := r.data.offset(r.live[0]) + 100
	r.data.buf[at] ^= 0x40
	var hit int64
	for _, i := range r.live {
		if off := r.data.offset(i); off <= at && at < off+cfg.Size {
			hit++
		}
	}
	one := r.runPhase(context.Background(), PhaseGet, 0, cfg.Ops, false)
	if one.VerifyFailures != hit || one.Errors != hit || one.ErrorCodes[CodeVerifyMismatch] != hit {
		t.Errorf("get with one bit flipped (in %d objects): %+v", hit, one)
	}
	for i := range r.data.buf {
		r.data.buf[i] ^= 0xff
	}
	bad := r.runPhase(context.Background(), PhaseGet, 0, cfg.Ops, false)
	if bad.Verified != 12 || bad.VerifyFailures != 12 || bad.ErrorCodes[CodeVerifyMismatch] != 12 {
		t.Errorf("get with the data corrupted: %+v", bad)
	}
	if !strings.Contains(log.String(), "VERIFICATION FAILED") || !strings.Contains(log.String(), "byte 100 differs") {
		t.Errorf("verification failures not logged loudly:\n%s", log.String())
	}
}

// TestCancel stops a long run with its context: Run returns promptly with
// the interrupted phase's figures.
func TestCancel(t *testing.T) {
	endpoint := startServer(t)
	cfg := testConfig(endpoint)
	cfg.Ops, cfg.Duration, cfg.Phases, cfg.Size = 0, time.Hour, []Phase{PhasePut, PhaseGet}, 4<<10
	cfg.Prefix = "cancel"
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	results, err := Run(ctx, cfg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want the context's error", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("Run took %v to stop", time.Since(start))
	}
	if len(results) != 1 || !results[0].Interrupted || results[0].Ops == 0 || results[0].Errors != 0 {
		t.Errorf("results = %+v", results)
	}
	if keys := listAll(t, cfg, cfg.Prefix+"/"); len(keys) != 0 {
		t.Errorf("clean-up after cancellation left %d objects", len(keys))
	}
}

// TestSSEHeader: --sse reaches the PUTs. The embedded server here has no
// key ring, so every SSE-S3 PUT is refused NotImplemented: the header was
// sent (and a server that ignored it would answer 200).
func TestSSEHeader(t *testing.T) {
	cfg := testConfig(startServer(t))
	cfg.SSE, cfg.Ops, cfg.Phases, cfg.Size, cfg.Prefix = "AES256", 5, []Phase{PhasePut}, 1<<10, "sse"
	cfg.Log = io.Discard
	results, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r := results[0]; r.Errors != 5 || r.ErrorCodes["NotImplemented"] != 5 {
		t.Fatalf("put with --sse AES256 against a server without a key ring: %+v", r)
	}
	cfg.SSE = "rot13"
	if err := cfg.Validate(); err == nil {
		t.Fatal("--sse rot13 accepted")
	}
}
