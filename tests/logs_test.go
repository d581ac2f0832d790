package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestJSONAccessLog: with --log-format json every log line is a JSON
// object; each S3 request leaves one access line whose id is the
// x-amz-request-id the client got; the secret key is never logged.
func TestJSONAccessLog(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6), "--log-format", "json")
	ids := map[string]int{} // request id -> expected status
	for _, path := range []string{"/", "/no-such-bucket", "/no-such-bucket/key"} {
		r := signedDo(ctx, t, s, http.MethodGet, path, "", nil, nil)
		id := r.Header.Get("x-amz-request-id")
		if id == "" {
			t.Fatalf("GET %s: no x-amz-request-id", path)
		}
		ids[id] = r.Status
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		found := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSpace(s.Log()), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line is not JSON: %q", line)
			}
			if rec["msg"] != "s3" {
				continue
			}
			id, _ := rec["id"].(string)
			want, ok := ids[id]
			if !ok {
				continue
			}
			found[id] = true
			if st, _ := rec["status"].(float64); int(st) != want || rec["api"] == "" || rec["method"] != "GET" {
				t.Errorf("access line %v: want status %d, an api and the method", rec, want)
			}
		}
		if len(found) == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("access lines found for %d of %d request ids:\n%s", len(found), len(ids), s.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(s.Log(), testSecretKey) {
		t.Error("the secret key appears in the log")
	}
}
