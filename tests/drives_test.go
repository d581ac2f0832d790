package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// emptyFolder removes everything inside dir, as `rm -rf dir/*` does.
func emptyFolder(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// copyTree copies the folder src to dst (which must not exist).
func copyTree(t *testing.T, dst, src string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// replaceWith makes dir a copy of src, whatever dir held.
func replaceWith(t *testing.T, dir, src string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	copyTree(t, dir, src)
}

// startRefused runs `ecstore server` on dirs and expects it to exit with a
// non-zero status at start (within 30 s); it returns what it printed.
func startRefused(ctx context.Context, t *testing.T, dirs []string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	args := append(append([]string{"server", "--address", freeAddr(t)}, extra...), dirs...)
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(os.Environ(), "ECSTORE_ACCESS_KEY="+testAccessKey, "ECSTORE_SECRET_KEY="+testSecretKey)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("ecstore server started (still running after 30s) where it must refuse:\n%s", out)
	}
	if err == nil {
		t.Fatalf("ecstore server exited with status 0, want a refusal:\n%s", out)
	}
	return string(out)
}

// ready returns the status of /health/ready.
func ready(ctx context.Context, t *testing.T, s *Server) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+"/health/ready", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// checkObjects reads every object back through c and compares its bytes.
func checkObjects(ctx context.Context, t *testing.T, c *minio.Client, bucket string, want map[string][]byte) {
	t.Helper()
	for key, data := range want {
		got, err := getAll(ctx, c, bucket, key, minio.GetObjectOptions{})
		if err != nil {
			t.Errorf("GET %s/%s: %v", bucket, key, err)
		} else if !bytes.Equal(got, data) {
			t.Errorf("GET %s/%s: %d bytes, not the %d written", bucket, key, len(got), len(data))
		}
	}
}

// TestDrivesEmptiedUnderRunningServer empties 3 of 6 drive folders under a
// running server: no write may be acknowledged after that (small objects
// stored inline in the index, large ones, buckets, multipart uploads all
// answer 503), /health/ready says 503, and after the drives are put back
// and the server restarted, everything acknowledged is there.
func TestDrivesEmptiedUnderRunningServer(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 3*time.Minute)
	dirs := NewDriveDirs(t, 6)
	s := StartServer(t, dirs)
	c := s.Minio(t)
	const bucket = "vanish"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	acked := map[string][]byte{"before/small": randData(1, 1<<10), "before/large": randData(2, 1<<20+5)}
	for k, v := range acked {
		if _, err := c.PutObject(ctx, bucket, k, bytes.NewReader(v), int64(len(v)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Keep a copy of the drives that will be emptied (taken while stopped),
	// to put them back later as an operator who remounts a disk would.
	s.Stop()
	backup := t.TempDir()
	lost := []int{0, 2, 4}
	for _, i := range lost {
		copyTree(t, filepath.Join(backup, filepath.Base(dirs[i])), dirs[i])
	}
	s.start()
	if code := ready(ctx, t, s); code != http.StatusOK {
		t.Fatalf("/health/ready before the loss: %d", code)
	}

	for _, i := range lost {
		emptyFolder(t, dirs[i])
	}
	time.Sleep(20 * time.Millisecond)

	// Every write must fail now; record any that is acknowledged.
	after := map[string][]byte{}
	for i, size := range []int{1 << 10, 1 << 10, 100 << 10, 1<<20 + 7} {
		key := "after/" + string(rune('a'+i))
		data := randData(uint64(100+i), size)
		r := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, key), "", data, nil)
		if r.Status == http.StatusOK {
			after[key] = data
			t.Errorf("PUT %s (%d bytes) with 3 of 6 drive folders emptied: 200, want 503", key, size)
		} else if r.Status != http.StatusServiceUnavailable {
			t.Errorf("PUT %s (%d bytes) with 3 of 6 drive folders emptied: %d %s, want 503", key, size, r.Status, r.Err().Code)
		}
	}
	bucketAcked := false
	if r := signedDo(ctx, t, s, http.MethodPut, "/vanish-new-bucket", "", nil, nil); r.Status != http.StatusServiceUnavailable {
		bucketAcked = r.Status == http.StatusOK
		t.Errorf("CreateBucket with 3 of 6 drive folders emptied: %d %s, want 503", r.Status, r.Err().Code)
	}
	if r := signedDo(ctx, t, s, http.MethodPost, objectPath(bucket, "after/mp"), "uploads=", nil, nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("CreateMultipartUpload with 3 of 6 drive folders emptied: %d %s, want 503", r.Status, r.Err().Code)
	}
	if code := ready(ctx, t, s); code != http.StatusServiceUnavailable {
		t.Errorf("/health/ready with 3 of 6 drive folders emptied: %d, want 503", code)
	}
	if !strings.Contains(s.Log(), "drive lost") {
		t.Errorf("the server did not log the lost drives")
	}

	// The disks come back; nothing acknowledged may be missing.
	s.Stop()
	for _, i := range lost {
		replaceWith(t, dirs[i], filepath.Join(backup, filepath.Base(dirs[i])))
	}
	s.start()
	c = s.Minio(t)
	checkObjects(ctx, t, c, bucket, acked)
	checkObjects(ctx, t, c, bucket, after)
	if ok, err := c.BucketExists(ctx, "vanish-new-bucket"); bucketAcked && !ok {
		t.Errorf("the bucket created (200) while the drives were gone is missing after the restart (%v)", err)
	}
}

// TestDrivesUnusableFolderAtStart: one or two unusable drive folders (a
// file where the folder should be, a corrupt drive.json) do not stop a 4+2
// server: it starts with them offline, says so at ERROR naming the folder,
// and serves. A third is refused, naming all three.
func TestDrivesUnusableFolderAtStart(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 3*time.Minute)
	dirs := NewDriveDirs(t, 6)
	s := StartServer(t, dirs)
	c := s.Minio(t)
	const bucket = "unusable"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	objs := map[string][]byte{"small": randData(11, 3<<10), "large": randData(12, 2<<20+1)}
	for k, v := range objs {
		if _, err := c.PutObject(ctx, bucket, k, bytes.NewReader(v), int64(len(v)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	s.Stop()

	if err := os.RemoveAll(dirs[1]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dirs[1], []byte("a file where drive2's folder was\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirs[3], "drive.json"), []byte("{\"format\": \"ecstore-dr"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.start()
	log := s.Log()
	for _, want := range []string{"level=ERROR", dirs[1], "not a folder", dirs[3], "drive.json"} {
		if !strings.Contains(log, want) {
			t.Errorf("start log does not say %q:\n%s", want, log)
		}
	}
	c = s.Minio(t)
	checkObjects(ctx, t, c, bucket, objs)
	more := randData(13, 300<<10)
	if _, err := c.PutObject(ctx, bucket, "more", bytes.NewReader(more), int64(len(more)), minio.PutObjectOptions{}); err != nil {
		t.Errorf("PUT with 2 of 6 drives offline: %v", err)
	}
	if code := ready(ctx, t, s); code != http.StatusOK {
		t.Errorf("/health/ready with 4 of 6 drives (the quorum): %d, want 200", code)
	}
	s.Stop()

	// A third: an index that cannot be opened.
	if err := os.RemoveAll(filepath.Join(dirs[5], "index")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirs[5], "index"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := startRefused(ctx, t, dirs)
	for _, want := range []string{"refusing to start", dirs[1], dirs[3], dirs[5], "3 of 6"} {
		if !strings.Contains(out, want) {
			t.Errorf("refusal does not say %q:\n%s", want, out)
		}
	}
}

// TestDrivesReplacedByEmptyFolders: with 3 of 6 folders replaced by empty
// ones the server refuses to start and names them (today's main formatted
// them and served an empty store); with 2, it adopts them, logs it, serves
// every object, and after `ecstore admin heal` the new drives hold their
// shards (proved by losing two other drives).
func TestDrivesReplacedByEmptyFolders(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 4*time.Minute)
	dirs := NewDriveDirs(t, 6)
	s := StartServer(t, dirs)
	c := s.Minio(t)
	const bucket = "replaced"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	objs := map[string][]byte{}
	for i, size := range []int{0, 1 << 10, 64 << 10, 200 << 10, 1<<20 + 3, 3 << 20} {
		key := "obj/" + string(rune('a'+i))
		objs[key] = randData(uint64(20+i), size)
		if _, err := c.PutObject(ctx, bucket, key, bytes.NewReader(objs[key]), int64(size), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	s.Stop()
	backup := filepath.Join(t.TempDir(), "drive5")
	copyTree(t, backup, dirs[4])
	for _, i := range []int{0, 2, 4} {
		if err := os.RemoveAll(dirs[i]); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(dirs[i], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out := startRefused(ctx, t, dirs)
	for _, want := range []string{"refusing to start", dirs[0], dirs[2], dirs[4], "--adopt-empty-drives"} {
		if !strings.Contains(out, want) {
			t.Errorf("refusal does not say %q:\n%s", want, out)
		}
	}
	for _, i := range []int{0, 2, 4} {
		if ents, _ := os.ReadDir(dirs[i]); len(ents) > 0 {
			t.Errorf("the refused start wrote into the empty folder %s", dirs[i])
		}
	}

	// Only two replaced: drive5 comes back.
	replaceWith(t, dirs[4], backup)
	s.start()
	log := s.Log()
	for _, want := range []string{"adopted as a replacement", "drive1", "drive3"} {
		if !strings.Contains(log, want) {
			t.Errorf("start log does not say %q:\n%s", want, log)
		}
	}
	c = s.Minio(t)
	checkObjects(ctx, t, c, bucket, objs)
	heal := exec.CommandContext(ctx, binPath, "admin", "heal", "--endpoint", s.Endpoint)
	heal.Env = append(os.Environ(), "ECSTORE_ACCESS_KEY="+testAccessKey, "ECSTORE_SECRET_KEY="+testSecretKey)
	if hout, err := heal.CombinedOutput(); err != nil {
		t.Fatalf("ecstore admin heal: %v\n%s", err, hout)
	}
	s.Stop()
	for _, i := range []int{0, 2} {
		if n := countFiles(t, filepath.Join(dirs[i], "data")); n == 0 {
			t.Errorf("adopted drive %s holds no shard file after the heal", dirs[i])
		}
	}
	// Proof: lose two other drives (replaced by empty folders, adopted).
	for _, i := range []int{1, 3} {
		if err := os.RemoveAll(dirs[i]); err != nil {
			t.Fatal(err)
		}
	}
	s.start()
	c = s.Minio(t)
	checkObjects(ctx, t, c, bucket, objs)
}

// countFiles counts the regular files under root.
func countFiles(t *testing.T, root string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// The upgrade fixture: a store written by the previous release's binary
// (commit e5af7b8, drive.json format 1, no set identity) by
// TestWriteUpgradeFixture.
const upgradeFixture = "testdata/upgrade-e5af7b8"

const upgradeBucket = "upgrade"

// upgradeObjects are the finished objects of the upgrade fixture.
func upgradeObjects() map[string][]byte {
	return map[string][]byte{
		"small/a.txt":    randData(101, 1<<10),
		"small/empty":    {},
		"small/b.bin":    randData(102, 20<<10),
		"large.bin":      randData(103, 140<<10), // above the inline limit: shard files
		"mp/single-part": randData(104, 100<<10), // a multipart object of one part
	}
}

// upgradeUpload is the part of the fixture's unfinished multipart upload.
func upgradeUpload() (key string, part []byte) { return "mp/in-progress", randData(105, 60<<10) }

// TestWriteUpgradeFixture writes the upgrade fixture with the binary that
// ECSTORE_UPGRADE_FIXTURE_BINARY names (the previous release); skipped
// otherwise. How it was made:
//
//	git worktree add --detach /tmp/old e5af7b8
//	(cd /tmp/old && go build -o /tmp/ecstore-old ./cmd/ecstore)
//	ECSTORE_UPGRADE_FIXTURE_BINARY=/tmp/ecstore-old go test -run TestWriteUpgradeFixture ./tests/
//
// Serial: it points binPath, which every test starts, at the old binary.
func TestWriteUpgradeFixture(t *testing.T) {
	useOldBinary(t, "ECSTORE_UPGRADE_FIXTURE_BINARY", upgradeFixture)
	ctx := testCtx(t, 2*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6))
	c := minio.Core{Client: s.Minio(t)}
	if err := c.MakeBucket(ctx, upgradeBucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for key, data := range upgradeObjects() {
		if key == "mp/single-part" {
			continue
		}
		if _, err := c.Client.PutObject(ctx, upgradeBucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	data := upgradeObjects()["mp/single-part"]
	id, err := c.NewMultipartUpload(ctx, upgradeBucket, "mp/single-part", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.PutObjectPart(ctx, upgradeBucket, "mp/single-part", id, 1, bytes.NewReader(data), int64(len(data)), minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, upgradeBucket, "mp/single-part", id,
		[]minio.CompletePart{{PartNumber: 1, ETag: p.ETag}}, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	key, part := upgradeUpload()
	if id, err = c.NewMultipartUpload(ctx, upgradeBucket, key, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObjectPart(ctx, upgradeBucket, key, id, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	saveFixture(t, s, upgradeFixture)
}

// useOldBinary points binPath, until t ends, at the binary the
// environment variable env names (an earlier version's, to write
// fixture); it skips t when env is unset.
func useOldBinary(t *testing.T, env, fixture string) {
	t.Helper()
	old := os.Getenv(env)
	if old == "" {
		t.Skip("set " + env + " to the earlier version's binary to write " + fixture)
	}
	saved := binPath
	binPath = old
	t.Cleanup(func() { binPath = saved })
}

// saveFixture stops s and copies its drive folders into fixture (a
// testdata folder), replacing what was there.
func saveFixture(t *testing.T, s *Server, fixture string) {
	t.Helper()
	s.Stop()
	if err := os.RemoveAll(fixture); err != nil {
		t.Fatal(err)
	}
	for _, d := range s.Dirs {
		copyTree(t, filepath.Join(fixture, filepath.Base(d)), d)
	}
}

// openFixture copies fixture's drive1..drive6 to a temporary folder as a
// git checkout holds them (no empty folders; each drive's tmp/ made again)
// and returns the drive folders.
func openFixture(t *testing.T, fixture string) []string {
	t.Helper()
	root := t.TempDir()
	copyTree(t, root+"/store", fixture)
	removeEmptyDirs(t, root+"/store")
	var dirs []string
	for i := 1; i <= 6; i++ {
		dir := filepath.Join(root, "store", "drive"+string(rune('0'+i)))
		if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	return dirs
}

// TestDrivesUpgradeFromPreviousRelease serves a store that the previous
// release wrote (drive.json format 1 without set identity; its records):
// every object reads back, the unfinished upload completes, the drives
// join one set (drive.json format 2), and a replaced drive is then told
// apart from a wrong folder.
func TestDrivesUpgradeFromPreviousRelease(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 3*time.Minute)
	dirs := openFixture(t, upgradeFixture)
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "drive.json"))
		if err != nil || !bytes.Contains(b, []byte(`"version": 1`)) {
			t.Fatalf("fixture drive.json %s: %s %v, want the previous release's format 1", dir, b, err)
		}
	}
	s := StartServer(t, dirs)
	c := minio.Core{Client: s.Minio(t)}
	checkObjects(ctx, t, c.Client, upgradeBucket, upgradeObjects())
	key, part := upgradeUpload()
	res, err := c.ListMultipartUploads(ctx, upgradeBucket, key, "", "", "", 10)
	if err != nil || len(res.Uploads) != 1 {
		t.Fatalf("ListMultipartUploads: %+v, %v; want the fixture's one upload", res.Uploads, err)
	}
	parts, err := c.ListObjectParts(ctx, upgradeBucket, key, res.Uploads[0].UploadID, 0, 10)
	if err != nil || len(parts.ObjectParts) != 1 {
		t.Fatalf("ListObjectParts: %+v, %v", parts.ObjectParts, err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, upgradeBucket, key, res.Uploads[0].UploadID,
		[]minio.CompletePart{{PartNumber: 1, ETag: parts.ObjectParts[0].ETag}}, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("completing the previous release's upload: %v", err)
	}
	checkObjects(ctx, t, c.Client, upgradeBucket, map[string][]byte{key: part})
	fresh := randData(106, 300<<10)
	if _, err := c.Client.PutObject(ctx, upgradeBucket, "fresh", bytes.NewReader(fresh), int64(len(fresh)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Stop()

	// The drives joined one set.
	var set string
	for _, dir := range dirs {
		var f struct {
			Version int `json:"version"`
			Set     *struct {
				ID     string   `json:"id"`
				Drives []string `json:"drives"`
			} `json:"set"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "drive.json"))
		if err == nil {
			err = json.Unmarshal(b, &f)
		}
		if err != nil || f.Version != 2 || f.Set == nil || len(f.Set.Drives) != 6 || (set != "" && f.Set.ID != set) {
			t.Fatalf("%s after the upgrade: %s (%v), want format 2 naming one set of 6 drives", dir, b, err)
		}
		set = f.Set.ID
	}
	// And the set is enforced from now on: three empty folders are refused.
	for _, i := range []int{1, 3, 5} {
		if err := os.Rename(dirs[i], dirs[i]+".away"); err != nil {
			t.Fatal(err)
		}
	}
	startRefused(ctx, t, dirs)
	for _, i := range []int{1, 3, 5} {
		if err := os.RemoveAll(dirs[i]); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(dirs[i]+".away", dirs[i]); err != nil {
			t.Fatal(err)
		}
	}
	s.start()
	all := upgradeObjects()
	all[key], all["fresh"] = part, fresh
	checkObjects(ctx, t, s.Minio(t), upgradeBucket, all)
}

// TestDrivesNodeUnusableFolder: a storage node with one unusable drive
// folder (a file where the folder should be) starts with that drive
// offline and says so; the cluster serves every object.
func TestDrivesNodeUnusableFolder(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 3*time.Minute)
	c := StartCluster(t, 3, 2, 1, 1)
	gw := c.Gateway(0)
	mc := gw.Minio(t)
	const bucket = "node-unusable"
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	objs := map[string][]byte{"small": randData(31, 2<<10), "large": randData(32, 1<<20+9)}
	for k, v := range objs {
		if _, err := mc.PutObject(ctx, bucket, k, bytes.NewReader(v), int64(len(v)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c.StopNode(0)
	dir := c.Nodes[0].Dirs[1]
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a drive\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.RestartNode(0) // fails the test if the node does not come up
	if logs := c.Logs(); !strings.Contains(logs, "drive folder unusable") || !strings.Contains(logs, dir) {
		t.Errorf("the node did not log its unusable folder %s:\n%s", dir, logs)
	}
	checkObjects(ctx, t, mc, bucket, objs)
	more := randData(33, 200<<10)
	if _, err := mc.PutObject(ctx, bucket, "more", bytes.NewReader(more), int64(len(more)), minio.PutObjectOptions{}); err != nil {
		t.Errorf("PUT with one drive of the cluster offline: %v", err)
	}
}
