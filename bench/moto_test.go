package bench

import (
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestRunAgainstMoto runs every phase against another S3 implementation,
// moto's server (Python, its own XML templates), as a user pointing bench
// at a store that is not ecstore would.
func TestRunAgainstMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server; skipped with -short")
	}
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer within 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	runAllPhases(t, testConfig(endpoint), 4<<10)
}
