package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// folderShards lists, per drive, the files of bucket that the earlier
// layout kept in a version's folder under the single PUT's name
// (data/<bucket>/<version>/part.1).
func folderShards(t *testing.T, dirs []string, bucket string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, d := range dirs {
		matches, err := filepath.Glob(filepath.Join(d, "data", bucket, "*", "part.1"))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			out[filepath.Base(filepath.Dir(m))] = append(out[filepath.Base(filepath.Dir(m))], m)
		}
	}
	return out
}

// filesNaming lists the shard files under the drives' data/<bucket> whose
// path contains version.
func filesNaming(t *testing.T, dirs []string, bucket, version string) []string {
	t.Helper()
	var out []string
	for _, p := range shardFiles(t, dirs, bucket) {
		if strings.Contains(p, version) {
			out = append(out, p)
		}
	}
	return out
}

// TestFlatLayoutUpgrade serves a store written before flat shard files (a
// single PUT's shard in a folder of its own, data/<bucket>/<version>/part.1)
// with this release, which writes them flat (data/<bucket>/<version>~part.1):
// the old files read; a lost one is healed as a flat file, which then reads
// together with the old ones when two other drives lose theirs; an
// overwrite and a version delete remove the old folders; everything reads
// after a restart.
func TestFlatLayoutUpgrade(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 3*time.Minute)
	dirs := openFixture(t, sseUpgradeFixture)
	plain := folderShards(t, dirs, "old-plain")
	if len(plain) != 1 {
		t.Fatalf("the fixture's old-plain holds %d single-PUT versions, want 1 (large): %v", len(plain), plain)
	}
	var large string
	var largeFiles []string
	for v, files := range plain {
		large, largeFiles = v, files
	}
	if len(largeFiles) != 6 {
		t.Fatalf("large has %d shard files in the earlier layout, want 6", len(largeFiles))
	}
	slices.Sort(largeFiles) // by drive
	// One drive has lost its shard of large.
	if err := os.Remove(largeFiles[0]); err != nil {
		t.Fatal(err)
	}
	s := StartServer(t, dirs, "--delete-grace", "-1s")
	c := s.Minio(t)
	checkObjects(ctx, t, c, "old-plain", sseUpgradeObjects())
	if t.Failed() {
		t.FailNow()
	}

	if out, err := healCmd(ctx, s.Endpoint).CombinedOutput(); err != nil {
		t.Fatalf("admin heal --deep: %v\n%s", err, out)
	}
	healed := filepath.Join(filepath.Dir(filepath.Dir(largeFiles[0])), large+"~part.1")
	if _, err := os.Stat(healed); err != nil {
		t.Fatalf("the heal did not write the lost shard as a flat file: %v", err)
	}

	// Two more drives lose their (old) shard of large: the healed flat
	// file reads with the three old ones left.
	s.Stop()
	for _, f := range largeFiles[1:3] {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	s.Restart()
	c = s.Minio(t)
	checkObjects(ctx, t, c, "old-plain", sseUpgradeObjects())
	if t.Failed() {
		t.FailNow()
	}

	// An overwrite removes the old version's files, flat and in folders.
	fresh := randData(401, 300<<10)
	if _, err := c.PutObject(ctx, "old-plain", "large", bytes.NewReader(fresh), int64(len(fresh)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if left := filesNaming(t, dirs, "old-plain", large); len(left) > 0 {
		t.Fatalf("the overwritten version's files are still there: %v", left)
	}
	// Deleting the old 200 KiB version (in folders) removes its files.
	old := folderShards(t, dirs, "old-versions")
	if len(old) != 1 {
		t.Fatalf("the fixture's old-versions holds %d single-PUT versions in folders, want 1", len(old))
	}
	var oldID string
	for v := range old {
		oldID = v
	}
	var ids []string
	for v := range c.ListObjects(ctx, "old-versions", minio.ListObjectsOptions{WithVersions: true}) {
		if v.Err != nil {
			t.Fatal(v.Err)
		}
		ids = append(ids, v.VersionID)
	}
	if len(ids) != 2 || ids[0] != oldID {
		t.Fatalf("old-versions lists %v; want 2 versions, the newest %s", ids, oldID)
	}
	if err := c.RemoveObject(ctx, "old-versions", "v", minio.RemoveObjectOptions{VersionID: oldID}); err != nil {
		t.Fatal(err)
	}
	if left := filesNaming(t, dirs, "old-versions", oldID); len(left) > 0 {
		t.Fatalf("the deleted version's files are still there: %v", left)
	}

	s.Restart()
	c = s.Minio(t)
	want := sseUpgradeObjects()
	want["large"] = fresh
	checkObjects(ctx, t, c, "old-plain", want)
	checkObjects(ctx, t, c, "old-versions", map[string][]byte{"v": sseUpgradeVersions()[0]})
	var flat int
	for _, d := range dirs {
		m, _ := filepath.Glob(filepath.Join(d, "data", "old-plain", "*~part.1"))
		flat += len(m)
	}
	if flat != 6 {
		t.Errorf("%d flat files in old-plain after the overwrite, want 6 (one per drive)", flat)
	}
}
