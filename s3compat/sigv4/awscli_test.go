package sigv4

import (
	"bytes"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestAWSCLI runs the installed aws CLI (v1, botocore) against a server
// that verifies its requests: over HTTP botocore signs the payload and
// sends x-amz-checksum-crc32 as a header; over HTTPS it sends
// STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an external client")
	}
	aws, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not installed")
	}
	v := newTestVerifier()
	var mu sync.Mutex
	var seen []outcome
	var hashes []string
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := verifyAndRead(v, r)
		mu.Lock()
		seen = append(seen, o)
		hashes = append(hashes, r.Header.Get("X-Amz-Content-Sha256"))
		mu.Unlock()
		if o.Code != "" {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, "<Error><Code>"+o.Code+"</Code><Message>"+o.Message+"</Message></Error>")
			return
		}
		w.Header().Set("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`)
		if r.Method == http.MethodGet && r.URL.Query().Has("list-type") {
			w.Header().Set("Content-Type", "application/xml")
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bucket</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`)
		}
	})
	plain := httptest.NewServer(handler)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(handler)
	defer tlsSrv.Close()

	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	data := payload(300 << 10)
	file := filepath.Join(dir, "data.bin")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// The CLI's "s3 presign" signs with SigV2 unless told otherwise.
	config := filepath.Join(dir, "config")
	if err := os.WriteFile(config, []byte("[default]\ns3 =\n    signature_version = s3v4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(endpoint string, args ...string) string {
		t.Helper()
		cmd := exec.Command(aws, append([]string{"--endpoint-url", endpoint, "--region", testRegion}, args...)...)
		cmd.Env = append(os.Environ(),
			"AWS_ACCESS_KEY_ID="+testAK, "AWS_SECRET_ACCESS_KEY="+testSK,
			"AWS_CONFIG_FILE="+config, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
			"AWS_CA_BUNDLE="+ca, "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	last := func() (outcome, string) {
		mu.Lock()
		defer mu.Unlock()
		return seen[len(seen)-1], hashes[len(hashes)-1]
	}

	const key = "dir/a b+c%ü//x/"
	for _, endpoint := range []string{plain.URL, tlsSrv.URL} {
		run(endpoint, "s3api", "put-object", "--bucket", "bucket", "--key", key, "--body", file)
		o, hash := last()
		wantCode(t, o, "")
		if !bytes.Equal(o.Body, data) || !o.HasChecksum || o.Algo != "CRC32" || o.Value != crc32B64(data) {
			t.Fatalf("%s: body %d bytes, checksum %v %s %s (x-amz-content-sha256 %s)", endpoint, len(o.Body), o.HasChecksum, o.Algo, o.Value, hash)
		}
		// Both ways of sending the CRC32 must have been exercised.
		if wantTrailer := endpoint == tlsSrv.URL; wantTrailer != (hash == "STREAMING-UNSIGNED-PAYLOAD-TRAILER") {
			t.Fatalf("%s: the CLI sent x-amz-content-sha256 %s", endpoint, hash)
		}
		run(endpoint, "s3api", "put-object", "--bucket", "bucket", "--key", key, "--body", file, "--checksum-algorithm", "SHA256")
		o, _ = last()
		wantCode(t, o, "")
		if !o.HasChecksum || o.Algo != "SHA256" {
			t.Fatalf("checksum %v %s", o.HasChecksum, o.Algo)
		}
		run(endpoint, "s3api", "head-object", "--bucket", "bucket", "--key", key)
		o, _ = last()
		wantCode(t, o, "")
		run(endpoint, "s3api", "list-objects-v2", "--bucket", "bucket", "--prefix", "a b+c/ü%", "--delimiter", "/")
		o, _ = last()
		wantCode(t, o, "")
	}

	// A presigned URL made by the CLI.
	u := strings.TrimSpace(run(tlsSrv.URL, "s3", "presign", "s3://bucket/"+key, "--expires-in", "60"))
	resp, err := tlsSrv.Client().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	o, _ := last()
	wantCode(t, o, "")
	if o.AccessKey != testAK {
		t.Fatalf("presigned: %+v", o)
	}
}
