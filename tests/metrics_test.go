package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// scrape reads the server's /metrics (unsigned, as Prometheus does) into
// series → value, the series written as in the exposition format.
func scrape(t *testing.T, s *Server) map[string]float64 {
	t.Helper()
	resp, err := http.Get(s.Endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// sumSeries adds the values of name's series whose labels contain every
// one of labels (each written as `key="value"`).
func sumSeries(m map[string]float64, name string, labels ...string) (sum float64, n int) {
	for series, v := range m {
		base, rest, _ := strings.Cut(series, "{")
		if base != name {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(rest, l)
		}
		if ok {
			sum += v
			n++
		}
	}
	return sum, n
}

func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsAndHealth runs a workload and checks that the Prometheus
// counters moved by what it did: requests, bytes in and out, per-drive shard
// bytes, a forced checksum failure per corrupted data shard, degraded reads;
// then takes drives away and checks liveness, readiness and drive gauges.
func TestMetricsAndHealth(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 3*time.Minute)
	dirs := NewDriveDirs(t, 6)
	s := StartServer(t, dirs)
	c := s.Minio(t)

	if code, _ := getStatus(t, s.Endpoint+"/health/live"); code != 200 {
		t.Fatalf("/health/live: %d", code)
	}
	if code, body := getStatus(t, s.Endpoint+"/health/ready"); code != 200 {
		t.Fatalf("/health/ready with all drives: %d %s", code, body)
	}
	before := scrape(t, s)

	// The workload: 5 PUTs and 5 GETs of 1 MiB, and one missing bucket.
	const bucket, size = "metrics", 1 << 20
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		data := randData(uint64(i), size)
		key := "obj" + strconv.Itoa(i)
		if _, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), size, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := getAll(ctx, c, bucket, key, minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GET %s: %v", key, err)
		}
	}
	if _, err := c.StatObject(ctx, "no-such-bucket-here", "x", minio.StatObjectOptions{}); err == nil {
		t.Fatal("HEAD in a missing bucket succeeded")
	}
	// A signed GET /metrics is S3 (ListObjects of the bucket "metrics"),
	// not the metrics page.
	if keys, _ := listKeys(ctx, t, c, bucket, minio.ListObjectsOptions{}); len(keys) != 5 {
		t.Fatalf("signed listing of bucket metrics: %d keys, want 5", len(keys))
	}

	// Corrupt each shard file of one object in turn (restoring it after):
	// the 4 data shards are read and fail their checksum, the 2 parity
	// shards are not read.
	victim := randData(99, size)
	if _, err := c.PutObject(ctx, "victims", "v", bytes.NewReader(victim), size, minio.PutObjectOptions{}); err == nil {
		t.Fatal("PUT into a bucket never created succeeded")
	}
	if err := c.MakeBucket(ctx, "victims", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, "victims", "v", bytes.NewReader(victim), size, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	files := shardFiles(t, dirs, "victims")
	if len(files) != 6 {
		t.Fatalf("%d shard files, want 6", len(files))
	}
	mid := scrape(t, s)
	for _, f := range files {
		orig, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bad := append([]byte{}, orig...)
		bad[len(bad)/2] ^= 0xa5
		if err := os.WriteFile(f, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := getAll(ctx, c, "victims", "v", minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, victim) {
			t.Fatalf("GET with %s corrupt: %v (or wrong bytes)", f, err)
		}
		if err := os.WriteFile(f, orig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	after := scrape(t, s)

	delta := func(name string, labels ...string) float64 {
		a, n := sumSeries(after, name, labels...)
		if n == 0 {
			t.Errorf("metric %s%v not exported", name, labels)
		}
		b, _ := sumSeries(before, name, labels...)
		return a - b
	}
	at := func(m map[string]float64, name string) float64 { v, _ := sumSeries(m, name); return v }
	if d := delta("ecstore_s3_requests_total", `api="PutObject"`, `status="200"`); d != 6 {
		t.Errorf("PutObject 200s counted: %v, want 6", d)
	}
	if d := delta("ecstore_s3_requests_total", `api="PutObject"`, `status="404"`); d != 1 {
		t.Errorf("PutObject 404s counted: %v, want 1", d)
	}
	if d := delta("ecstore_s3_requests_total", `api="GetObject"`, `status="200"`); d < 11 {
		t.Errorf("GetObject 200s counted: %v, want at least 11", d)
	}
	if d := delta("ecstore_s3_requests_total", `api="HeadObject"`, `status="404"`); d != 1 {
		t.Errorf("HeadObject 404s counted: %v, want 1", d)
	}
	if d := delta("ecstore_s3_received_bytes_total", `api="PutObject"`); d < 6*size {
		t.Errorf("bytes received by PutObject: %v, want at least %d", d, 6*size)
	}
	if d := delta("ecstore_s3_sent_bytes_total", `api="GetObject"`); d < 11*size {
		t.Errorf("bytes sent by GetObject: %v, want at least %d", d, 11*size)
	}
	// 6 PUTs of 1 MiB at 4+2 write 1.5 MiB of shards each (plus frames).
	if d := delta("ecstore_drive_shard_bytes_total", `op="shard_write"`); d < 6*size*3/2 {
		t.Errorf("shard bytes written: %v, want at least %d", d, 6*size*3/2)
	}
	if d := delta("ecstore_drive_shard_bytes_total", `op="shard_read"`); d < 11*size {
		t.Errorf("shard bytes read: %v, want at least %d", d, 11*size)
	}
	if _, n := sumSeries(after, "ecstore_drive_operation_duration_seconds_count", `op="meta_write"`); n != 6 {
		t.Errorf("meta_write latency series: %d drives, want 6", n)
	}
	if d := at(after, "ecstore_checksum_failures_total") - at(mid, "ecstore_checksum_failures_total"); d != 4 {
		t.Errorf("checksum failures after corrupting each of 6 shards in turn: %v, want 4 (the data shards)", d)
	}
	if d := at(after, "ecstore_degraded_reads_total") - at(mid, "ecstore_degraded_reads_total"); d != 4 {
		t.Errorf("degraded reads: %v, want 4", d)
	}
	if v, n := sumSeries(after, "ecstore_drive_online"); v != 6 || n != 6 {
		t.Errorf("drives online: %v of %d series, want 6 of 6", v, n)
	}
	if v, n := sumSeries(after, "ecstore_drive_capacity_bytes"); n != 6 || v <= 0 {
		t.Errorf("drive capacity: %v over %d series", v, n)
	}
	if at(after, "ecstore_ready") != 1 {
		t.Error("ecstore_ready is not 1 with every drive present")
	}

	// Take 3 drives away (of 6, EC 4+2): live still, not ready.
	for _, d := range dirs[:3] {
		if err := os.Rename(d, d+".gone"); err != nil {
			t.Fatal(err)
		}
	}
	if code, _ := getStatus(t, s.Endpoint+"/health/live"); code != 200 {
		t.Errorf("/health/live with 3 drives gone: %d, want 200", code)
	}
	if code, body := getStatus(t, s.Endpoint+"/health/ready"); code != http.StatusServiceUnavailable || !strings.Contains(body, "3 drives online") {
		t.Errorf("/health/ready with 3 of 6 drives gone: %d %q, want 503 and the count", code, body)
	}
	gone := scrape(t, s)
	if v, n := sumSeries(gone, "ecstore_drive_online"); v != 3 || n != 6 {
		t.Errorf("drives online with 3 gone: %v of %d series, want 3 of 6", v, n)
	}
	if at(gone, "ecstore_ready") != 0 || at(gone, "ecstore_drives_online") != 3 {
		t.Errorf("ecstore_ready %v, ecstore_drives_online %v with 3 drives gone; want 0 and 3", at(gone, "ecstore_ready"), at(gone, "ecstore_drives_online"))
	}
	for _, d := range dirs[:3] {
		if err := os.Rename(d+".gone", d); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := getStatus(t, s.Endpoint+"/health/ready"); code != 200 {
		t.Errorf("/health/ready with the drives back: %d %s", code, body)
	}
}

// adminStatus runs `ecstore admin status` against s.
func adminStatus(t *testing.T, s *Server, extra ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"admin", "status", "--endpoint", s.Endpoint}, extra...)...)
	cmd.Env = append(os.Environ(), "ECSTORE_ACCESS_KEY="+testAccessKey, "ECSTORE_SECRET_KEY="+testSecretKey)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestAdminStatus: `ecstore admin status` shows every drive with its state
// and capacity and says whether the cluster is ready; with 3 of 6 drives
// taken away it shows them offline and fails.
func TestAdminStatus(t *testing.T) {
	parallelLight(t)
	dirs := NewDriveDirs(t, 6)
	s := StartServer(t, dirs)
	out, err := adminStatus(t, s)
	if err != nil {
		t.Fatalf("admin status: %v\n%s", err, out)
	}
	for _, want := range []string{"cluster: READY", "erasure code 4+2", "drives online 6/6", "drive6", "heal:"} {
		if !strings.Contains(out, want) {
			t.Errorf("admin status lacks %q:\n%s", want, out)
		}
	}
	for _, d := range dirs[:3] {
		if err := os.Rename(d, d+".gone"); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, d := range dirs[:3] {
			_ = os.Rename(d+".gone", d)
		}
	}()
	out, err = adminStatus(t, s)
	if err == nil || !strings.Contains(out, "NOT READY") || strings.Count(out, "OFFLINE") != 3 {
		t.Errorf("admin status with 3 drives gone: err %v, want a failure, NOT READY and 3 OFFLINE drives:\n%s", err, out)
	}
	js, _ := adminStatus(t, s, "--json")
	var st struct {
		DrivesOnline int  `json:"drives_online"`
		Ready        bool `json:"ready"`
		Drives       []struct {
			ID     string `json:"id"`
			Online bool   `json:"online"`
		} `json:"drives"`
	}
	if err := json.Unmarshal([]byte(js), &st); err != nil {
		t.Fatalf("admin status --json: %v\n%s", err, js)
	}
	if st.DrivesOnline != 3 || st.Ready || len(st.Drives) != 6 || st.Drives[0].Online {
		t.Errorf("admin status --json: %+v", st)
	}
}
