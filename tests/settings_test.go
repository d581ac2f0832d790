package tests

import (
	"context"
	"encoding/xml"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBucketSettings: bucket tagging and the "nothing set" answers with
// real clients. In a cluster of two gateways, tags put with the aws CLI
// through one are read through the other at once (the metadata store
// orders the change; the reading gateway Syncs first), boto3 then reads,
// deletes and checks the rules and the nothing-set answers through the
// second, and the first sees its last change at once. The same runs
// against the embedded server.
func TestBucketSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("aws CLI and boto3 runs are slow; skipped with -short")
	}
	if out, err := exec.Command("python3", "-c", "import boto3").CombinedOutput(); err != nil {
		t.Skipf("boto3 not importable: %v %s", err, out)
	}
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not found")
	}
	t.Run("cluster", func(t *testing.T) {
		parallelHeavy(t, 20*time.Second)
		ctx := testCtx(t, 3*time.Minute)
		c := StartCluster(t, 3, 2, 3, 2)
		g1, g2 := c.Gateway(0).Server, c.Gateway(1).Server
		const b = "settings-cluster"
		tagThroughCLI(t, ctx, g1, b)
		wantTags(ctx, t, g2, b, []string{"team=storage", "env=test"}, "through gateway 2 at once")
		runBoto3Settings(t, ctx, g2, b)
		// The script's last change, through gateway 2: 50 tags.
		if got := tagsOf(ctx, t, g1, b); len(got) != 50 {
			t.Errorf("through gateway 1 at once after boto3's put through gateway 2: %d tags, want 50", len(got))
		}
	})
	t.Run("embedded", func(t *testing.T) {
		parallelLight(t)
		ctx := testCtx(t, 3*time.Minute)
		s := StartServer(t, NewDriveDirs(t, 6))
		const b = "settings-embedded"
		tagThroughCLI(t, ctx, s, b)
		wantTags(ctx, t, s, b, []string{"team=storage", "env=test"}, "after put-bucket-tagging")
		runBoto3Settings(t, ctx, s, b)
		// Settings survive a restart (they are in the metadata store).
		s.Restart()
		if got := tagsOf(ctx, t, s, b); len(got) != 50 {
			t.Errorf("after a restart: %d tags, want 50", len(got))
		}
	})
}

// tagThroughCLI creates bucket b holding one object and tags it with the
// aws CLI (team=storage, env=test).
func tagThroughCLI(t *testing.T, ctx context.Context, s *Server, b string) {
	t.Helper()
	cli := awsCLI{t: t, ctx: ctx, s: s}
	body := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(body, []byte("settings"), 0o644); err != nil {
		t.Fatal(err)
	}
	cli.ok("s3api", "create-bucket", "--bucket", b)
	cli.ok("s3api", "put-object", "--bucket", b, "--key", "k", "--body", body)
	cli.ok("s3api", "put-bucket-tagging", "--bucket", b, "--tagging", "TagSet=[{Key=team,Value=storage},{Key=env,Value=test}]")
	if out := cli.fails("s3api", "put-bucket-tagging", "--bucket", b, "--tagging", "TagSet=[{Key=aws:x,Value=1}]"); !strings.Contains(out, "InvalidTag") {
		t.Errorf("put-bucket-tagging of an aws: key: %s", out)
	}
}

// tagsOf reads bucket b's tags through s ("key=value" in order).
func tagsOf(ctx context.Context, t *testing.T, s *Server, b string) []string {
	t.Helper()
	r := signedDo(ctx, t, s, http.MethodGet, objectPath(b, ""), "tagging=", nil, nil)
	var tg struct {
		TagSet struct {
			Tags []struct{ Key, Value string } `xml:"Tag"`
		}
	}
	if r.Status != http.StatusOK {
		t.Fatalf("GetBucketTagging through %s: HTTP %d\n%s", s.Endpoint, r.Status, r.Body)
	}
	if err := xml.Unmarshal(r.Body, &tg); err != nil {
		t.Fatalf("GetBucketTagging: %v\n%s", err, r.Body)
	}
	var out []string
	for _, tag := range tg.TagSet.Tags {
		out = append(out, tag.Key+"="+tag.Value)
	}
	return out
}

func wantTags(ctx context.Context, t *testing.T, s *Server, b string, want []string, when string) {
	t.Helper()
	if got := tagsOf(ctx, t, s, b); !slices.Equal(got, want) {
		t.Errorf("tags %s: %v, want %v", when, got, want)
	}
}

// runBoto3Settings runs tests/boto3_settings.py against bucket b (tagged
// by tagThroughCLI) through s; each failed check fails the test.
func runBoto3Settings(t *testing.T, ctx context.Context, s *Server, b string) {
	t.Helper()
	runBoto3Script(t, ctx, s, "boto3_settings.py", "boto3 settings: ", "BUCKET="+b, "KEY=k", "TAGS=team=storage,env=test")
}

// runBoto3Script runs the boto3 check script of tests/ named script
// against s with env added: each "FAIL name" line it prints fails the
// test, and so does a run that does not reach its summary line (which
// starts with summary).
func runBoto3Script(t *testing.T, ctx context.Context, s *Server, script, summary string, env ...string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.CommandContext(ctx, "python3", filepath.Join(filepath.Dir(file), script))
	cmd.Env = append(append(os.Environ(),
		"S3_ENDPOINT="+s.Endpoint, "AWS_ACCESS_KEY_ID="+testAccessKey, "AWS_SECRET_ACCESS_KEY="+testSecretKey,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"), env...)
	if s.TLS != nil {
		cmd.Env = append(cmd.Env, "AWS_CA_BUNDLE="+s.TLS.CA)
	}
	out, err := cmd.CombinedOutput()
	t.Logf("%s:\n%s", script, out)
	done := false
	for _, line := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(line, "FAIL "); ok {
			t.Errorf("%s", name)
		}
		done = done || strings.HasPrefix(line, summary)
	}
	if !done {
		t.Errorf("%s did not finish (err %v)", script, err)
	}
}
