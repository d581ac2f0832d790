package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// knownBoto3Failures are checks of tests/boto3_s3.py that ecstore may still
// fail, each with the reason. They are races, so they fail in some runs and
// pass in others: a listed check is logged when it fails, never required
// to fail. Any other failing check fails the test.
var knownBoto3Failures = map[string]string{}

// TestBoto3 runs tests/boto3_s3.py (conditional writes, checksums of every
// algorithm boto3 offers, multipart copy) against a fresh server.
func TestBoto3(t *testing.T) {
	if testing.Short() {
		t.Skip("boto3 scenarios take about 20s; skipped with -short")
	}
	parallelHeavy(t, 10*time.Second)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found")
	}
	if out, err := exec.Command("python3", "-c", "import boto3").CombinedOutput(); err != nil {
		t.Skipf("boto3 not importable: %v %s", err, out)
	}
	s := StartServer(t, NewDriveDirs(t, 6))
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "boto3_s3.py")
	cmd := exec.CommandContext(testCtx(t, 5*time.Minute), "python3", script)
	cmd.Env = append(os.Environ(),
		"S3_ENDPOINT="+s.Endpoint, "AWS_ACCESS_KEY_ID="+testAccessKey, "AWS_SECRET_ACCESS_KEY="+testSecretKey,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("boto3_s3.py (%v):\n%s", time.Since(start).Round(100*time.Millisecond), out)
	summary := false
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "boto3 ") && strings.HasSuffix(line, "checks failed") {
			summary = true
		}
		name, ok := strings.CutPrefix(line, "FAIL ")
		if !ok {
			continue
		}
		known := ""
		for prefix, why := range knownBoto3Failures {
			if strings.HasPrefix(name, prefix) {
				known = why
			}
		}
		if known != "" {
			t.Logf("known failure: %s (%s)", name, known)
		} else {
			t.Errorf("%s", name)
		}
	}
	if !summary {
		t.Errorf("the script did not finish (err %v)", err)
	}
}
