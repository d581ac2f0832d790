package tests

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/ecstore/ecstore/internal/crashpoint"
)

// TestSSERotateKeys: `ecstore admin kms rotate --to k2` over a store whose
// SSE-S3 versions and SSE-KMS key were sealed by k1. The first rotation
// is SIGKILLed when its first record change has reached one drive
// (record.partial); every object still reads with both keys; the rotation
// run again finishes and the store forgets k1; then a key file with k2
// alone serves every version, and one with k1 alone is refused.
func TestSSERotateKeys(t *testing.T) {
	parallelHeavy(t, 30*time.Second)
	ctx := testCtx(t, 4*time.Minute)
	dir := t.TempDir()
	line := func(id string) string {
		k := make([]byte, 32)
		rand.Read(k)
		return id + ":" + base64.StdEncoding.EncodeToString(k)
	}
	k1, k2 := line("k1"), line("k2")
	ringFile := func(name string, lines ...string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	r1, r21, r2 := ringFile("r1", k1), ringFile("r21", k2, k1), ringFile("r2", k2)
	dirs := NewDriveDirs(t, 6)
	s := StartServer(t, dirs, "--kms-key-file", r1)
	// admin runs `ecstore admin SUB... --endpoint E REST...`.
	admin := func(sub string, rest ...string) (string, error) {
		args := append(append(append([]string{"admin"}, strings.Fields(sub)...), "--endpoint", s.Endpoint), rest...)
		cmd := exec.CommandContext(ctx, binPath, args...)
		cmd.Env = append(os.Environ(), "ECSTORE_ACCESS_KEY="+testAccessKey, "ECSTORE_SECRET_KEY="+testSecretKey)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := admin("kms key create", "app"); err != nil {
		t.Fatalf("kms key create: %v %s", err, out)
	}
	c := s.Minio(t)
	if err := c.MakeBucket(ctx, "rot", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "rotv", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.EnableVersioning(ctx, "rotv"); err != nil {
		t.Fatal(err)
	}
	kms, err := encrypt.NewSSEKMS("app", nil)
	if err != nil {
		t.Fatal(err)
	}
	type obj struct {
		bucket, key, vid string
		data             []byte
	}
	var objs []obj
	for i := range 24 {
		data := randData(uint64(500+i), []int{2_000, 150_000, 600_000}[i%3])
		opts := minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()}
		if i%4 == 3 {
			opts.ServerSideEncryption = kms
		}
		bucket := "rot"
		if i%2 == 1 {
			bucket = "rotv"
		}
		key := fmt.Sprintf("o%d", i%10) // versions of a few keys in rotv
		info, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), opts)
		if err != nil {
			t.Fatal(err)
		}
		if bucket == "rot" {
			// the null version: only the last write of the key stays
			for j := range objs {
				if objs[j].bucket == "rot" && objs[j].key == key {
					objs = append(objs[:j], objs[j+1:]...)
					break
				}
			}
		}
		objs = append(objs, obj{bucket, key, info.VersionID, data})
	}
	checkAll := func(what string) {
		t.Helper()
		c := s.Minio(t)
		for _, o := range objs {
			r, err := c.GetObject(ctx, o.bucket, o.key, minio.GetObjectOptions{VersionID: o.vid})
			if err != nil {
				t.Fatalf("%s: %s/%s@%s: %v", what, o.bucket, o.key, o.vid, err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, o.data) {
				t.Fatalf("%s: %s/%s@%s: %v (equal %v)", what, o.bucket, o.key, o.vid, err, bytes.Equal(got, o.data))
			}
		}
	}
	checkAll("written under k1")

	// k2 first; the rotation dies at its first record change.
	s.Stop()
	s.Args = []string{"server", "--kms-key-file", r21}
	s.Env = []string{crashpoint.Env + "=" + crashpoint.RecordPartial}
	s.start()
	s.Env = nil
	if out, err := admin("kms rotate", "--to", "k2"); err == nil && strings.Contains(out, "done") {
		t.Fatalf("the rotation finished; the crash point was not reached: %s", out)
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the process did not die at record.partial")
	}
	s.cmd = nil
	s.start()
	checkAll("after a SIGKILL in the rotation, both keys")
	out, err := admin("kms rotate", "--to", "k2")
	if err != nil || !strings.Contains(out, "forgot master keys k1") {
		t.Fatalf("the rotation run again: %v\n%s", err, out)
	}
	if out, _ := admin("kms status"); !strings.Contains(out, "app") || strings.Contains(out, "DOES NOT OPEN") {
		t.Fatalf("kms status after the rotation:\n%s", out)
	}
	checkAll("after the rotation")

	// k2 alone serves everything; k1 alone is refused.
	s.Stop()
	s.Args = []string{"server", "--kms-key-file", r2}
	s.start()
	checkAll("with k2 alone")
	s.Stop()
	cmd := exec.CommandContext(ctx, binPath, append([]string{"server", "--address", freeAddr(t), "--kms-key-file", r1}, dirs...)...)
	cmd.Env = append(os.Environ(), "ECSTORE_ACCESS_KEY="+testAccessKey, "ECSTORE_SECRET_KEY="+testSecretKey)
	done := make(chan []byte, 1)
	go func() { b, _ := cmd.CombinedOutput(); done <- b }()
	select {
	case b := <-done:
		if !strings.Contains(string(b), "key check value") {
			t.Fatalf("a start with k1 alone:\n%s", b)
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("a start with k1 alone did not end")
	}
}
