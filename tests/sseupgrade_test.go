package tests

import (
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// sseUpgradeFixture is a store written by the binary of 6b7084c, the
// commit before server-side encryption: plain objects (inline, shard
// files, multipart), a versioned bucket with two versions of a key, and
// an unfinished upload.
const sseUpgradeFixture = "testdata/upgrade-6b7084c"

// sseUpgradeRing is the key ring the upgraded store starts with (the
// fixture has none: the previous binary had no encryption).
var sseUpgradeRing = "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x33}, 32)) + "\n"

func sseUpgradeObjects() map[string][]byte {
	return map[string][]byte{
		"small":    randData(301, 3<<10),
		"large":    randData(302, 400<<10),
		"mp/whole": randData(303, 100<<10), // a multipart object of one part
	}
}

func sseUpgradeVersions() [][]byte { return [][]byte{randData(304, 10<<10), randData(305, 200<<10)} }

func sseUpgradeUpload() (string, []byte) { return "mp/open", randData(306, 60<<10) }

// TestWriteSSEUpgradeFixture writes sseUpgradeFixture with the binary
// ECSTORE_SSE_FIXTURE_BINARY names; skipped otherwise. How it was made:
//
//	git worktree add --detach /tmp/old6b 6b7084c
//	(cd /tmp/old6b && go build -o /tmp/ecstore-6b7084c ./cmd/ecstore)
//	ECSTORE_SSE_FIXTURE_BINARY=/tmp/ecstore-6b7084c go test -run TestWriteSSEUpgradeFixture ./tests/
//
// Serial: it points binPath, which every test starts, at the old binary.
func TestWriteSSEUpgradeFixture(t *testing.T) {
	useOldBinary(t, "ECSTORE_SSE_FIXTURE_BINARY", sseUpgradeFixture)
	ctx := testCtx(t, 2*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6))
	c := minio.Core{Client: s.Minio(t)}
	for _, b := range []string{"old-plain", "old-versions"} {
		if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for key, data := range sseUpgradeObjects() {
		if key == "mp/whole" {
			continue
		}
		if _, err := c.Client.PutObject(ctx, "old-plain", key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mp := sseUpgradeObjects()["mp/whole"]
	mid, err := c.NewMultipartUpload(ctx, "old-plain", "mp/whole", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.PutObjectPart(ctx, "old-plain", "mp/whole", mid, 1, bytes.NewReader(mp), int64(len(mp)), minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, "old-plain", "mp/whole", mid, []minio.CompletePart{{PartNumber: 1, ETag: p.ETag}}, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.EnableVersioning(ctx, "old-versions"); err != nil {
		t.Fatal(err)
	}
	for _, data := range sseUpgradeVersions() {
		if _, err := c.Client.PutObject(ctx, "old-versions", "v", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	key, part := sseUpgradeUpload()
	id, err := c.NewMultipartUpload(ctx, "old-plain", key, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObjectPart(ctx, "old-plain", key, id, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	saveFixture(t, s, sseUpgradeFixture)
}

// TestSSEUpgradeFromPreviousCommit serves the store the commit before
// encryption wrote, now with a key ring: every object and version reads
// back, the unfinished upload completes, SSE-S3 objects go into the old
// buckets (the ring's key registers in the old metadata store), and all
// of it reads again after a restart.
func TestSSEUpgradeFromPreviousCommit(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 3*time.Minute)
	dirs := openFixture(t, sseUpgradeFixture)
	ring := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(ring, []byte(sseUpgradeRing), 0o600); err != nil {
		t.Fatal(err)
	}
	s := StartServer(t, dirs, "--kms-key-file", ring)
	c := minio.Core{Client: s.Minio(t)}
	checkAll := func(what string) {
		t.Helper()
		checkObjects(ctx, t, c.Client, "old-plain", sseUpgradeObjects())
		versions := sseUpgradeVersions()
		var ids []string
		for v := range c.Client.ListObjects(ctx, "old-versions", minio.ListObjectsOptions{WithVersions: true}) {
			if v.Err != nil {
				t.Fatalf("%s: list versions: %v", what, v.Err)
			}
			ids = append(ids, v.VersionID)
		}
		if len(ids) != 2 {
			t.Fatalf("%s: %d versions, want 2", what, len(ids))
		}
		for i, id := range ids { // newest first
			obj, err := c.Client.GetObject(ctx, "old-versions", "v", minio.GetObjectOptions{VersionID: id})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(obj)
			obj.Close()
			if err != nil || !bytes.Equal(got, versions[len(versions)-1-i]) {
				t.Fatalf("%s: version %s: %v", what, id, err)
			}
		}
	}
	checkAll("the upgraded store")
	key, part := sseUpgradeUpload()
	res, err := c.ListMultipartUploads(ctx, "old-plain", key, "", "", "", 10)
	if err != nil || len(res.Uploads) != 1 {
		t.Fatalf("ListMultipartUploads: %+v, %v", res.Uploads, err)
	}
	parts, err := c.ListObjectParts(ctx, "old-plain", key, res.Uploads[0].UploadID, 0, 10)
	if err != nil || len(parts.ObjectParts) != 1 {
		t.Fatalf("ListObjectParts: %+v, %v", parts.ObjectParts, err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, "old-plain", key, res.Uploads[0].UploadID,
		[]minio.CompletePart{{PartNumber: 1, ETag: parts.ObjectParts[0].ETag}}, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("completing the previous commit's upload: %v", err)
	}
	enc := map[string][]byte{"sse/small": randData(307, 2<<10), "sse/large": randData(308, 500<<10)}
	for k, data := range enc {
		if _, err := c.Client.PutObject(ctx, "old-plain", k, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()}); err != nil {
			t.Fatalf("SSE-S3 into an old bucket: %v", err)
		}
	}
	if _, err := c.Client.PutObject(ctx, "old-versions", "v", bytes.NewReader(enc["sse/large"]), int64(len(enc["sse/large"])), minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()}); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	c = minio.Core{Client: s.Minio(t)}
	checkObjects(ctx, t, c.Client, "old-plain", enc)
	checkObjects(ctx, t, c.Client, "old-plain", map[string][]byte{key: part})
	checkObjects(ctx, t, c.Client, "old-plain", sseUpgradeObjects())
}

// removeEmptyDirs removes the empty folders under root, deepest first.
func removeEmptyDirs(t *testing.T, root string) {
	t.Helper()
	var dirs []string
	filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if ents, err := os.ReadDir(dirs[i]); err == nil && len(ents) == 0 {
			os.Remove(dirs[i])
		}
	}
}
