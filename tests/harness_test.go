package tests

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Test credentials given to every server the tests start.
const (
	testAccessKey = "e2e-access-key"
	testSecretKey = "e2e-secret-key-0123456789"
)

// binPath is the ecstore binary built once by TestMain: static
// (CGO_ENABLED=0), as the Dockerfile wants it, so that TestDockerCompose
// copies it into its image instead of building a second one.
var binPath string

// clusterPKI is the CA and certificate of every cluster StartCluster
// builds (made in TestMain).
var clusterPKI *testPKI

func TestMain(m *testing.M) {
	flag.Parse()
	unboundParallel()
	dir, err := os.MkdirTemp("", "ecstore-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "ecstore")
	// One CA for every cluster of the tests (they run TLS between every
	// process, as the docker-compose cluster does); clients of the tests
	// and the processes they start trust it through SSL_CERT_FILE (Go:
	// minio-go, net/http, ecstore admin) and AWS_CA_BUNDLE (aws CLI,
	// boto3). Set before any TLS use: Go reads SSL_CERT_FILE once.
	if clusterPKI, err = makeTestPKI(dir); err != nil {
		fmt.Fprintln(os.Stderr, "test PKI:", err)
		os.Exit(1)
	}
	os.Setenv("SSL_CERT_FILE", clusterPKI.CA)
	os.Setenv("AWS_CA_BUNDLE", clusterPKI.CA)
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	build := exec.Command("go", "build", "-o", binPath, "./cmd/ecstore")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building ecstore:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Server is a running ecstore server process.
type Server struct {
	t        *testing.T
	Addr     string // host:port
	Endpoint string // http://host:port
	Dirs     []string
	Args     []string
	Env      []string // extra environment (NAME=value) the process starts with
	// TLS, when set before start, serves S3 over HTTPS with its
	// certificate; Endpoint is then https://, and Minio, minioWith and
	// AWS trust its CA.
	TLS    *testPKI
	cmd    *exec.Cmd
	logMu  sync.Mutex
	log    strings.Builder
	exited chan struct{}
}

// freeAddr returns a 127.0.0.1 address with a port free at the time of the
// call.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// NewDriveDirs makes n drive folders under a fresh temporary root.
func NewDriveDirs(t *testing.T, n int) []string {
	t.Helper()
	root := t.TempDir()
	var dirs []string
	for i := 1; i <= n; i++ {
		dirs = append(dirs, filepath.Join(root, fmt.Sprintf("drive%d", i)))
	}
	return dirs
}

// StartServer starts `ecstore server --address A [extra...] dirs...` and
// waits until it answers S3 requests. It is stopped at test cleanup.
func StartServer(t *testing.T, dirs []string, extra ...string) *Server {
	t.Helper()
	return StartServerEnv(t, dirs, nil, extra...)
}

// StartServerEnv is StartServer with extra environment (NAME=value).
func StartServerEnv(t *testing.T, dirs, env []string, extra ...string) *Server {
	t.Helper()
	s := &Server{t: t, Dirs: dirs, Env: env}
	s.Args = append([]string{"server"}, extra...)
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	// The port freeAddr found may be taken before the server binds it (by
	// another test's process or client, the tests running in parallel):
	// then the server exits at once, and starts again on another port.
	for range 2 {
		if s.startOnce(true) {
			return
		}
	}
	s.startOnce(false)
}

// startOnce starts the server on a free port and waits until it answers.
// It reports false if retry is set and the server exited at start because
// its address was in use; every other failure fails the test.
func (s *Server) startOnce(retry bool) bool {
	t := s.t
	t.Helper()
	s.Addr = freeAddr(t)
	s.Endpoint = "http://" + s.Addr
	args := append(append([]string{}, s.Args...), "--address", s.Addr)
	hc := http.DefaultClient
	if s.TLS != nil {
		s.Endpoint = "https://" + s.Addr
		args = append(args, "--tls-cert", s.TLS.Cert, "--tls-key", s.TLS.Key)
		hc = &http.Client{Transport: s.TLS.transport()}
	}
	args = append(args, s.Dirs...)
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "ECSTORE_ACCESS_KEY="+testAccessKey, "ECSTORE_SECRET_KEY="+testSecretKey)
	cmd.Env = append(cmd.Env, s.Env...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ecstore: %v", err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.logMu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.logMu.Unlock()
		}
	}()
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(s.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			if retry && strings.Contains(s.Log(), "address already in use") {
				t.Logf("%s was taken before ecstore could listen on it; starting again on another port", s.Addr)
				s.cmd = nil
				return false
			}
			t.Fatalf("ecstore exited at start:\n%s", s.Log())
		default:
		}
		resp, err := hc.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("ecstore did not answer within 30s:\n%s", s.Log())
	return false
}

// Log returns what the server printed so far.
func (s *Server) Log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// Stop ends the server with SIGTERM (SIGKILL after 10s). Safe to call twice.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
	if s.t.Failed() {
		s.t.Logf("server log:\n%s", s.Log())
	}
}

// Restart stops the server and starts it again on the same folders (on a
// new port).
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Minio returns a minio-go client for the server.
func (s *Server) Minio(t *testing.T) *minio.Client {
	t.Helper()
	var rt http.RoundTripper = http.DefaultTransport
	if s.TLS != nil {
		rt = s.TLS.transport()
	}
	c, err := minio.New(s.Addr, &minio.Options{
		Creds:     credentials.NewStaticV4(testAccessKey, testSecretKey, ""),
		Secure:    s.TLS != nil,
		Region:    "us-east-1",
		Transport: settledBodyTransport{rt},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// settledBodyTransport returns from RoundTrip only once the transport is
// done with the request body. net/http may go on reading a body in its
// write goroutine after RoundTrip failed (a killed server), while minio-go
// seeks the same reader back to 0 to retry (after an error or a 5xx): a data race in the client, not
// in the server under test. Waiting for the body's Close (bounded) ends it.
type settledBodyTransport struct{ rt http.RoundTripper }

func (s settledBodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return s.rt.RoundTrip(req)
	}
	body := &closeSignal{ReadCloser: req.Body, closed: make(chan struct{})}
	r2 := req.Clone(req.Context())
	r2.Body = body
	resp, err := s.rt.RoundTrip(r2)
	select { // on a 5xx minio-go retries too, so wait whatever the outcome
	case <-body.closed:
	case <-time.After(10 * time.Second):
	}
	return resp, err
}

type closeSignal struct {
	io.ReadCloser
	once   sync.Once
	closed chan struct{}
}

func (c *closeSignal) Close() error {
	err := c.ReadCloser.Close()
	c.once.Do(func() { close(c.closed) })
	return err
}

// AWS runs the installed aws CLI (v1 unless bin names another) against the
// server and returns its combined output.
func (s *Server) AWS(ctx context.Context, bin string, args ...string) (string, error) {
	if bin == "" {
		bin = "aws"
	}
	full := append([]string{"--endpoint-url", s.Endpoint, "--region", "us-east-1"}, args...)
	if s.TLS != nil {
		full = append([]string{"--ca-bundle", s.TLS.CA}, full...)
	}
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+testAccessKey, "AWS_SECRET_ACCESS_KEY="+testSecretKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
