package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// writeKeyRing writes a key file with one key under id and returns its path.
func writeKeyRing(t *testing.T, id string) string {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	f := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(f, []byte(id+":"+base64.StdEncoding.EncodeToString(k)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// startTLSServer starts the embedded server over HTTPS with extra flags.
func startTLSServer(t *testing.T, dirs []string, pki *testPKI, extra ...string) *Server {
	t.Helper()
	s := &Server{t: t, Dirs: dirs, TLS: pki, Args: append([]string{"server"}, extra...)}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// newMarker is a random 16-byte marker, in hex.
func newMarker() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// withMarker is n random bytes with marker every 4 KiB.
func withMarker(marker string, seed uint64, n int) []byte {
	b := randData(seed, n)
	for i := 0; i+len(marker) < n; i += 4096 {
		copy(b[i:], marker)
	}
	return b
}

// filesHolding returns the files under roots whose bytes contain marker.
func filesHolding(t *testing.T, marker string, roots ...string) []string {
	t.Helper()
	var out []string
	for _, root := range roots {
		err := filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(marker)) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestSSE: server-side encryption end to end, over HTTPS, with a key ring.
//   - tests/boto3_sse.py: SSE-S3 and SSE-C through PUT, GET, HEAD, ranges
//     at package edges, multipart, copies between every pair of settings,
//     the bucket's default encryption, versions, and S3's errors;
//   - the aws CLI's --sse, --sse-c and s3api put-bucket-encryption;
//   - minio-go's encrypt.NewSSE and encrypt.NewSSEC;
//   - no plaintext at rest: each body repeats its own random marker; the
//     plain object's marker is found in the drive folders (the control),
//     no encrypted object's marker is found anywhere there or in the log;
//   - two drive folders wiped: every encrypted object reads back whole;
//   - a restart with another key under the same id, or with none, is
//     refused with the key check value; the right ring reads again.
func TestSSE(t *testing.T) {
	parallelHeavy(t, 60*time.Second)
	ctx := testCtx(t, 5*time.Minute)
	pki := newTestPKI(t)
	ring := writeKeyRing(t, "k1")
	dirs := NewDriveDirs(t, 6)
	s := startTLSServer(t, dirs, pki, "--kms-key-file", ring)

	markers := map[string]string{}
	var env []string
	for _, name := range []string{"PLAIN", "S3", "C", "SMALL_S3", "SMALL_C", "MP", "DEFAULT", "CLI_S3", "CLI_C", "MINIO_S3", "MINIO_C", "COPY", "KMS", "CLI_KMS"} {
		markers[name] = newMarker()
		env = append(env, "MARKER_"+name+"="+markers[name])
	}
	// A named SSE-KMS key, made with the admin CLI (over HTTPS: SSL_CERT_FILE).
	admin := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, binPath, append([]string{"admin"}, args...)...)
		cmd.Env = append(os.Environ(), "ECSTORE_ACCESS_KEY="+testAccessKey, "ECSTORE_SECRET_KEY="+testSecretKey, "SSL_CERT_FILE="+pki.CA)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ecstore admin %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	admin("kms", "key", "create", "--endpoint", s.Endpoint, "app-key")
	if out := admin("kms", "key", "list", "--endpoint", s.Endpoint); !strings.Contains(out, "app-key") {
		t.Errorf("admin kms key list: %s", out)
	}
	env = append(env, "KMS_KEY=app-key")
	runBoto3Script(t, ctx, s, "boto3_sse.py", "boto3 sse: ", env...)
	if out := admin("kms", "status", "--endpoint", s.Endpoint); !strings.Contains(out, "default") || !strings.Contains(out, "app-key") || !strings.Contains(out, "(active") || strings.Contains(out, "DOES NOT OPEN") {
		t.Errorf("admin kms status:\n%s", out)
	}

	// The aws CLI.
	work := t.TempDir()
	ckey := filepath.Join(work, "ckey")
	if err := os.WriteFile(ckey, bytes.Repeat([]byte{0x42}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	aws := func(args ...string) string {
		t.Helper()
		out, err := s.AWS(ctx, "", args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	cliS3, cliC := withMarker(markers["CLI_S3"], 1, 400_000), withMarker(markers["CLI_C"], 2, 400_000)
	src1, src2 := filepath.Join(work, "s3.bin"), filepath.Join(work, "c.bin")
	os.WriteFile(src1, cliS3, 0o600)
	os.WriteFile(src2, cliC, 0o600)
	aws("s3", "mb", "s3://sse-cli")
	aws("s3", "cp", "--only-show-errors", "--sse", "AES256", src1, "s3://sse-cli/s3.bin")
	aws("s3", "cp", "--only-show-errors", "--sse-c", "AES256", "--sse-c-key", "fileb://"+ckey, src2, "s3://sse-cli/c.bin")
	if out := aws("s3api", "head-object", "--bucket", "sse-cli", "--key", "s3.bin"); !strings.Contains(out, `"ServerSideEncryption": "AES256"`) {
		t.Errorf("head-object of an --sse object: %s", out)
	}
	back := filepath.Join(work, "back")
	aws("s3", "cp", "--only-show-errors", "--sse-c", "AES256", "--sse-c-key", "fileb://"+ckey, "s3://sse-cli/c.bin", back)
	if b, _ := os.ReadFile(back); !bytes.Equal(b, cliC) {
		t.Error("aws s3 cp --sse-c: the download differs")
	}
	if out, err := s.AWS(ctx, "", "s3", "cp", "--only-show-errors", "s3://sse-cli/c.bin", back); err == nil {
		t.Errorf("an SSE-C download without the key succeeded: %s", out)
	}
	cliKMS := withMarker(markers["CLI_KMS"], 5, 400_000)
	src3 := filepath.Join(work, "kms.bin")
	os.WriteFile(src3, cliKMS, 0o600)
	aws("s3", "cp", "--only-show-errors", "--sse", "aws:kms", "--sse-kms-key-id", "app-key", src3, "s3://sse-cli/kms.bin")
	if out := aws("s3api", "head-object", "--bucket", "sse-cli", "--key", "kms.bin"); !strings.Contains(out, `"SSEKMSKeyId": "app-key"`) {
		t.Errorf("head-object of an --sse aws:kms object: %s", out)
	}
	aws("s3", "cp", "--only-show-errors", "s3://sse-cli/kms.bin", back)
	if b, _ := os.ReadFile(back); !bytes.Equal(b, cliKMS) {
		t.Error("aws s3 cp of an SSE-KMS object: the download differs")
	}
	if out, err := s.AWS(ctx, "", "s3", "cp", "--only-show-errors", "--sse", "aws:kms", "--sse-kms-key-id", "nope", src1, "s3://sse-cli/nope.bin"); err == nil || !strings.Contains(out, "KMS.NotFoundException") {
		t.Errorf("--sse-kms-key-id of a missing key: %v %s", err, out)
	}
	aws("s3api", "put-bucket-encryption", "--bucket", "sse-cli", "--server-side-encryption-configuration",
		`{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}`)
	if out := aws("s3api", "get-bucket-encryption", "--bucket", "sse-cli"); !strings.Contains(out, "AES256") {
		t.Errorf("get-bucket-encryption: %s", out)
	}

	// minio-go, with the objects the heal check reads back.
	c := s.Minio(t)
	sseC, err := encrypt.NewSSEC(bytes.Repeat([]byte{0x17}, 32))
	if err != nil {
		t.Fatal(err)
	}
	mS3, mC := withMarker(markers["MINIO_S3"], 3, 2<<20), withMarker(markers["MINIO_C"], 4, 2<<20)
	if err := c.MakeBucket(ctx, "sse-minio", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for key, o := range map[string]struct {
		data []byte
		sse  encrypt.ServerSide
	}{"s3": {mS3, encrypt.NewSSE()}, "c": {mC, sseC}} {
		if _, err := c.PutObject(ctx, "sse-minio", key, bytes.NewReader(o.data), int64(len(o.data)), minio.PutObjectOptions{ServerSideEncryption: o.sse}); err != nil {
			t.Fatalf("minio-go PUT %s: %v", key, err)
		}
	}
	readMinio := func(what string) {
		t.Helper()
		c := s.Minio(t)
		for key, want := range map[string][]byte{"s3": mS3, "c": mC} {
			opts := minio.GetObjectOptions{}
			if key == "c" {
				opts.ServerSideEncryption = sseC
			}
			obj, err := c.GetObject(ctx, "sse-minio", key, opts)
			if err != nil {
				t.Fatalf("%s: GET %s: %v", what, key, err)
			}
			got, err := io.ReadAll(obj)
			obj.Close()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: GET %s: %v, equal %v", what, key, err, bytes.Equal(got, want))
			}
		}
	}
	readMinio("minio-go")

	// No plaintext at rest (the server stopped: pebble closed its files).
	s.Stop()
	logDir := t.TempDir()
	os.WriteFile(filepath.Join(logDir, "server.log"), []byte(s.Log()), 0o600)
	if got := filesHolding(t, markers["PLAIN"], dirs...); len(got) == 0 {
		t.Fatal("the control failed: the plain object's marker is nowhere in the drive folders")
	}
	for name, m := range markers {
		if name == "PLAIN" || name == "COPY" { // COPY: copied to plain too
			continue
		}
		if got := filesHolding(t, m, append([]string{logDir}, dirs...)...); len(got) > 0 {
			t.Errorf("the marker of the %s object is stored in clear: %v", name, got)
		}
	}

	// Two drive folders lost: the encrypted objects read back from the rest.
	for _, d := range dirs[:2] {
		if err := os.RemoveAll(d); err != nil {
			t.Fatal(err)
		}
	}
	s.start()
	readMinio("two drive folders lost")
	s.Stop()

	// Another key under the same id, and no key file: refused at start.
	for _, args := range [][]string{{"--kms-key-file", writeKeyRing(t, "k1")}, {}} {
		cmd := exec.CommandContext(ctx, binPath, append(append([]string{"server", "--address", freeAddr(t)}, args...), dirs...)...)
		cmd.Env = append(os.Environ(), "ECSTORE_ACCESS_KEY="+testAccessKey, "ECSTORE_SECRET_KEY="+testSecretKey)
		done := make(chan struct{})
		var out []byte
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("a start with %v did not end:\n%s", args, out)
		}
		if err == nil || !strings.Contains(string(out), "key check value") {
			t.Errorf("a start with %v: %v\n%s", args, err, out)
		}
	}
	s.start()
	readMinio("restarted with the right ring")
}

// TestSSECrash: SIGKILL while SSE-S3 objects (inline, shard files,
// multipart) are written, at a random moment and at the crash point after
// the shards committed; every acknowledged object reads back whole after
// the restart, and every object reads whole or not at all.
func TestSSECrash(t *testing.T) {
	parallelHeavy(t, 40*time.Second)
	ctx := testCtx(t, 4*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6), "--kms-key-file", writeKeyRing(t, "k1"))
	if err := s.Minio(t).MakeBucket(ctx, "ssecrash", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string][]byte{}
	check := func(what string) {
		t.Helper()
		c := s.Minio(t)
		mu.Lock()
		defer mu.Unlock()
		for key, want := range acked {
			obj, err := c.GetObject(ctx, "ssecrash", key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatalf("%s: %s: %v", what, key, err)
			}
			got, err := io.ReadAll(obj)
			obj.Close()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: %s: %v (equal %v)", what, key, err, bytes.Equal(got, want))
			}
			if st, err := c.StatObject(ctx, "ssecrash", key, minio.StatObjectOptions{}); err != nil || st.Metadata.Get("X-Amz-Server-Side-Encryption") != "AES256" {
				t.Fatalf("%s: %s is not answered as SSE-S3: %v %v", what, key, err, st.Metadata)
			}
		}
	}
	rng := mrand.New(mrand.NewPCG(7, 7))
	for round := range 3 {
		// inline, shard files, multipart (parts of 5 MiB)
		putsUntilKilled(t, ctx, s, "ssecrash", round, rng, []int{3_000, 200_000, 7 << 20},
			minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE(), PartSize: 5 << 20}, &mu, acked)
		check("after a SIGKILL under SSE-S3 PUTs")
	}
	// The named point: an encrypted overwrite committed its record with
	// quorum, before the replaced version's files go: the key reads as the
	// old version or the new one, whole, never undecryptable.
	old, data := randData(98, 300_000), randData(99, 300_000)
	if _, err := s.Minio(t).PutObject(ctx, "ssecrash", "at-point", bytes.NewReader(old), int64(len(old)), minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()}); err != nil {
		t.Fatal(err)
	}
	crashAt(t, s, "put.committed", func(c minio.Core) error {
		_, err := c.PutObject(context.Background(), "ssecrash", "at-point", bytes.NewReader(data), int64(len(data)), "", "", minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()})
		return err
	})
	s.start()
	check("after the crash point")
	obj, err := s.Minio(t).GetObject(ctx, "ssecrash", "at-point", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !(bytes.Equal(got, data) || bytes.Equal(got, old)) {
		t.Fatalf("the overwrite cut short by the crash: %v, %d bytes, neither version", err, len(got))
	}
	t.Logf("%d acknowledged SSE-S3 objects survived 3 SIGKILLs, each read back whole", len(acked))
}
