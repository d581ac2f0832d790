package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// survivalObject is one object written before the drives are wiped.
type survivalObject struct {
	key      string
	data     []byte
	partSize uint64 // > 0: uploaded in parts of this size
}

// survivalSet is ~30 objects from 0 B to ~9 MiB, some multipart.
func survivalSet(prefix string, seed uint64) []survivalObject {
	const mib = 1 << 20
	sizes := []int{
		0, 1, 2, 3, 15, 16, 17, 100, 1000, 4095, 4096, 4097, 65535, 65536, 65537,
		mib - 1, mib, mib + 1, 2*mib - 3, 3*mib + 5, 4 * mib, 4*mib + 1, 5*mib - 1, 6*mib + 7, 9 * mib,
	}
	var out []survivalObject
	for i, n := range sizes {
		out = append(out, survivalObject{key: fmt.Sprintf("%s/obj-%02d-%d", prefix, i, n), data: randData(seed+uint64(i), n)})
	}
	// Multipart uploads (minio-go's smallest part size is 5 MiB).
	for i, n := range []int{5*mib + 1, 7 * mib, 9*mib + 3, 10 * mib} {
		out = append(out, survivalObject{key: fmt.Sprintf("%s/mpu-%02d-%d", prefix, i, n), data: randData(seed+100+uint64(i), n), partSize: 5 * mib})
	}
	out = append(out, survivalObject{key: prefix + "/dir/ünï cødé//nested/", data: []byte("odd key")})
	return out
}

func putSurvivalSet(ctx context.Context, t *testing.T, c *minio.Client, bucket string, objs []survivalObject) {
	t.Helper()
	for _, o := range objs {
		info, err := c.PutObject(ctx, bucket, o.key, bytes.NewReader(o.data), int64(len(o.data)), minio.PutObjectOptions{PartSize: o.partSize})
		if err != nil {
			t.Fatalf("PutObject %s: %v", o.key, err)
		}
		want := md5Hex(o.data)
		if o.partSize > 0 {
			want = multipartETag(o.data, int(o.partSize))
		}
		if info.ETag != want {
			t.Fatalf("PutObject %s: ETag %s, want %s", o.key, info.ETag, want)
		}
	}
}

// checkReadable reads every object back and compares it with what was
// written, and checks that a listing shows each with its size.
func checkReadable(ctx context.Context, t *testing.T, c *minio.Client, bucket string, objs []survivalObject) {
	t.Helper()
	for _, o := range objs {
		got, err := getAll(ctx, c, bucket, o.key, minio.GetObjectOptions{})
		if err != nil {
			t.Errorf("GetObject %s (%d bytes): %v", o.key, len(o.data), err)
			continue
		}
		if sha256Hex(got) != sha256Hex(o.data) {
			t.Errorf("GetObject %s: %d bytes with sha256 %s, wrote %d bytes with sha256 %s",
				o.key, len(got), sha256Hex(got), len(o.data), sha256Hex(o.data))
		}
	}
	_, sizes := listKeys(ctx, t, c, bucket, minio.ListObjectsOptions{Recursive: true})
	for _, o := range objs {
		if n, ok := sizes[o.key]; !ok || n != int64(len(o.data)) {
			t.Errorf("listing: %s listed=%v size %d, want size %d", o.key, ok, n, len(o.data))
		}
	}
}

// wipe removes drive folders as a dead disk replaced by an empty one would.
func wipe(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSurvivalTwoDrivesLost writes objects, loses two of six drives (EC
// 4+2: everything must survive), then a third (old objects must fail
// cleanly, never with wrong bytes).
func TestSurvivalTwoDrivesLost(t *testing.T) {
	parallelHeavy(t, 20*time.Second)
	ctx := testCtx(t, 5*time.Minute)
	dirs := NewDriveDirs(t, 6)
	s := StartServer(t, dirs)
	const bucket = "survive"
	c := s.Minio(t)
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	old := survivalSet("old", 1000)
	putSurvivalSet(ctx, t, c, bucket, old)
	checkReadable(ctx, t, c, bucket, old)

	// Two drives lost: EC 4+2 still has 4 shards of everything.
	s.Stop()
	wipe(t, dirs[1], dirs[4])
	s.Restart()
	c = s.Minio(t)
	checkReadable(ctx, t, c, bucket, old)
	if t.Failed() {
		t.FailNow()
	}

	// Heal: `ecstore admin heal` rebuilds the wiped drives' shards (the
	// server's background scanner may already have done part of it).
	heal := exec.CommandContext(ctx, binPath, "admin", "heal", "--endpoint", s.Endpoint)
	heal.Env = append(os.Environ(), "ECSTORE_ACCESS_KEY="+testAccessKey, "ECSTORE_SECRET_KEY="+testSecretKey)
	out, err := heal.CombinedOutput()
	if err != nil {
		t.Fatalf("ecstore admin heal: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("objects %d/%d", len(old), len(old))) {
		t.Fatalf("admin heal did not walk all %d objects:\n%s", len(old), out)
	}
	// Proof of the heal: lose two *other* drives; everything must still be
	// readable, which needs the rebuilt shards on the first two.
	s.Stop()
	wipe(t, dirs[0], dirs[2])
	s.Restart()
	c = s.Minio(t)
	checkReadable(ctx, t, c, bucket, old)
	if t.Failed() {
		t.FailNow()
	}

	// New writes work on the restarted server and are readable.
	fresh := survivalSet("new", 5000)[20:]
	putSurvivalSet(ctx, t, c, bucket, fresh)
	checkReadable(ctx, t, c, bucket, append(append([]survivalObject{}, old...), fresh...))

	// Three drives lost at once: every object has 3 shards left, fewer than
	// the 4 needed. Every read must fail with an S3 error, never return bytes.
	s.Stop()
	wipe(t, dirs[1], dirs[3], dirs[5])
	// Below the set's quorum the server refuses empty folders (they may be
	// the wrong folders, or disks not mounted) ...
	if out := startRefused(ctx, t, dirs); !strings.Contains(out, "--adopt-empty-drives") {
		t.Errorf("start with 3 of 6 drive folders empty: refusal does not say how to go on:\n%s", out)
	}
	// ... until the operator says the drives were really replaced.
	s.Args = append(s.Args, "--adopt-empty-drives")
	s.Restart()
	c = minioWith(t, s, testAccessKey, testSecretKey, 1)
	for _, o := range old {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			r := signedDo(ctx, t, s, method, objectPath(bucket, o.key), "", nil, nil)
			switch {
			case r.Status == http.StatusOK && method == http.MethodGet && !bytes.Equal(r.Body, o.data):
				t.Errorf("GET %s after losing 3 drives: 200 with %d WRONG bytes (wrote %d)", o.key, len(r.Body), len(o.data))
			case r.Status < 400:
				t.Errorf("%s %s after losing 3 of 6 drives: status %d, want an S3 error", method, o.key, r.Status)
			case method == http.MethodGet && r.Err().Code == "":
				t.Errorf("GET %s: status %d without an S3 error body:\n%s", o.key, r.Status, r.Body)
			case r.Status >= 500 && r.Status != http.StatusServiceUnavailable:
				t.Errorf("%s %s: status %d (%s), want 503 ServiceUnavailable for a read below quorum", method, o.key, r.Status, r.Err().Code)
			}
		}
		// Ranged reads too, through minio-go (no retries).
		var opts minio.GetObjectOptions
		_ = opts.SetRange(0, 0)
		if got, err := getAll(ctx, c, bucket, o.key, opts); err == nil {
			if len(o.data) > 0 && !bytes.Equal(got, o.data[:1]) {
				t.Errorf("ranged GET %s: WRONG bytes %x", o.key, got)
			} else {
				t.Errorf("ranged GET %s after losing 3 drives succeeded, want an error", o.key)
			}
		} else if code := minio.ToErrorResponse(err).Code; code == "" {
			t.Errorf("ranged GET %s: %v, not an S3 error", o.key, err)
		}
	}
	// The objects written after the heal lost 3 shards too: errors, never
	// wrong bytes.
	for _, o := range fresh {
		got, err := getAll(ctx, c, bucket, o.key, minio.GetObjectOptions{})
		if err == nil {
			t.Errorf("GetObject %s after losing 3 of its 6 shards succeeded (equal %v), want an error", o.key, bytes.Equal(got, o.data))
		} else if minio.ToErrorResponse(err).Code == "" {
			t.Errorf("GetObject %s: %v, not an S3 error", o.key, err)
		}
	}
	// Whatever a listing shows, it is only keys that were written.
	written := map[string]int64{}
	for _, o := range append(append([]survivalObject{}, old...), fresh...) {
		written[o.key] = int64(len(o.data))
	}
	for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			if minio.ToErrorResponse(obj.Err).Code == "" {
				t.Errorf("listing after losing 3 drives: %v, not an S3 error", obj.Err)
			}
			break
		}
		if n, ok := written[obj.Key]; !ok || n != obj.Size {
			t.Errorf("listing after losing 3 drives shows %q size %d, never written with that size", obj.Key, obj.Size)
		}
	}

	// The server keeps answering: buckets, new writes, reads.
	if _, err := c.ListBuckets(ctx); err != nil {
		t.Errorf("ListBuckets after the failed reads: %v", err)
	}
	// The bucket's record is gone from 3 of 6 drives too (below its
	// majority), so new data goes to a new bucket: the drives themselves
	// (empty replacements) are all online and take writes.
	const bucket2 = "after-loss"
	if err := c.MakeBucket(ctx, bucket2, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket after losing 3 drives' contents: %v", err)
	}
	after := randData(9999, 2<<20+3)
	if _, err := c.PutObject(ctx, bucket2, "after/third-loss", bytes.NewReader(after), int64(len(after)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject after losing a third drive: %v", err)
	}
	obj, err := c.GetObject(ctx, bucket2, "after/third-loss", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || !bytes.Equal(got, after) {
		t.Errorf("object written after the third loss: err %v, equal %v", err, bytes.Equal(got, after))
	}
}
