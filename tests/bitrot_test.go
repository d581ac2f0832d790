package tests

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// metricValue scrapes the server's Prometheus endpoint for one sample.
func metricValue(t *testing.T, s *Server, name string) float64 {
	t.Helper()
	resp, err := http.Get(s.Endpoint + "/_ecstore/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not exported", name)
	return 0
}

// shardFiles lists the object shard files of a bucket in each drive folder.
func shardFiles(t *testing.T, dirs []string, bucket string) []string {
	t.Helper()
	var files []string
	for _, d := range dirs {
		_ = filepath.Walk(filepath.Join(d, "data", bucket), func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
	}
	return files
}

// readShardFiles returns the shard files of the one object in bucket on
// dirs, which must be 6, and their contents by path.
func readShardFiles(t *testing.T, dirs []string, bucket string) ([]string, map[string][]byte) {
	t.Helper()
	files := shardFiles(t, dirs, bucket)
	if len(files) != 6 {
		t.Fatalf("found %d shard files, want 6: %v", len(files), files)
	}
	originals := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		originals[f] = b
	}
	return files, originals
}

// TestBitrot flips one byte in shard files on disk: GET still returns the
// right bytes, the corruption shows in the metrics, and a deep heal
// (`ecstore admin heal --deep`) rewrites the damaged files exactly.
func TestBitrot(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 2*time.Minute)
	dirs := NewDriveDirs(t, 6)
	s := StartServer(t, dirs)
	c := s.Minio(t)
	const bucket = "bitrot"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := randData(77, 3<<20+12345)
	if _, err := c.PutObject(ctx, bucket, "victim", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	files, originals := readShardFiles(t, dirs, bucket)
	flip := func(f string) {
		b := append([]byte{}, originals[f]...)
		b[len(b)/3] ^= 0x5a // inside a block, past the frame's checksum
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	get := func() []byte {
		obj, err := c.GetObject(ctx, bucket, "victim", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		got, err := io.ReadAll(obj)
		if err != nil {
			t.Fatalf("GET with a corrupt shard: %v", err)
		}
		return got
	}
	// Corrupt shard files one at a time until a GET meets one: healthy reads
	// touch only the 4 data shards, so parity corruption stays unseen until
	// a deep heal. Every GET must return the right bytes.
	var corrupted []string
	seen := false
	for _, f := range files {
		before := metricValue(t, s, "ecstore_checksum_failures_total")
		flip(f)
		corrupted = append(corrupted, f)
		if got := get(); !bytes.Equal(got, data) {
			t.Fatalf("GET returned wrong bytes with %s corrupt", f)
		}
		if metricValue(t, s, "ecstore_checksum_failures_total") > before {
			seen = true
			break
		}
		if len(corrupted) == 2 {
			break // never more than m=2 corrupt shards at once
		}
	}
	if !seen {
		// Both corrupted files were parity: corrupt a third (a data shard
		// now, necessarily) after repairing one of the parity files by hand.
		if err := os.WriteFile(corrupted[0], originals[corrupted[0]], 0o644); err != nil {
			t.Fatal(err)
		}
		corrupted = corrupted[1:]
		before := metricValue(t, s, "ecstore_checksum_failures_total")
		f := files[2]
		flip(f)
		corrupted = append(corrupted, f)
		if got := get(); !bytes.Equal(got, data) {
			t.Fatalf("GET returned wrong bytes with %s corrupt", f)
		}
		if metricValue(t, s, "ecstore_checksum_failures_total") <= before {
			t.Fatal("a corrupt data shard was read without ecstore_checksum_failures_total moving")
		}
	}
	if metricValue(t, s, "ecstore_degraded_reads_total") < 1 {
		t.Error("ecstore_degraded_reads_total did not count the read that met bitrot")
	}
	// A deep heal (the scrub) rewrites every corrupt file byte for byte.
	if out, err := healCmd(ctx, s.Endpoint).CombinedOutput(); err != nil {
		t.Fatalf("admin heal --deep: %v\n%s", err, out)
	}
	for _, f := range corrupted {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("%s after heal: %v", f, err)
		}
		if !bytes.Equal(b, originals[f]) {
			t.Errorf("%s was not restored by the deep heal", f)
		}
	}
	if metricValue(t, s, "ecstore_heal_shards_total") < float64(len(corrupted)) {
		t.Errorf("ecstore_heal_shards_total below the %d shards repaired", len(corrupted))
	}
}

// healCmd is `ecstore admin heal --deep` against endpoint, with the test
// credentials.
func healCmd(ctx context.Context, endpoint string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binPath, "admin", "heal", "--deep", "--endpoint", endpoint)
	cmd.Env = append(os.Environ(), "ECSTORE_ACCESS_KEY="+testAccessKey, "ECSTORE_SECRET_KEY="+testSecretKey)
	return cmd
}
