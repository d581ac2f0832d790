package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// The metadata upgrade fixture (issue 16): stores written by the binary of
// commit 7537638, the last before the metadata group, by
// TestWriteMetaUpgradeFixture: an embedded server's 6 drive folders, and a
// cluster of 3 nodes × 2 drives whose map was changed once (epoch 2). Its
// buckets live only in the drives' records and its map only in the nodes'
// files.
const metaUpgradeFixture = "testdata/upgrade-7537638"

// metaUpgradeBuckets are the fixture's buckets (in both stores).
var metaUpgradeBuckets = []string{"meta-a", "meta-b", "meta-empty"}

// metaUpgradeObjects are the objects of bucket meta-a (meta-b holds one
// object, "b", of metaUpgradeObjects()["small"]).
func metaUpgradeObjects() map[string][]byte {
	return map[string][]byte{
		"small":     randData(201, 2<<10),
		"dir/large": randData(202, 300<<10), // shard files
	}
}

// metaUpgradeAddrs is the fixture cluster's addresses file: the node
// addresses the old binary ran on, which a test rewrites to its own.
type metaUpgradeAddrs struct {
	Nodes []string `json:"nodes"`
}

// TestWriteMetaUpgradeFixture writes the metadata upgrade fixture with the
// binary that ECSTORE_META_FIXTURE_BINARY names; skipped otherwise. How it
// was made:
//
//	git worktree add --detach /tmp/old 7537638
//	(cd /tmp/old && go build -o /tmp/ecstore-old ./cmd/ecstore)
//	ECSTORE_META_FIXTURE_BINARY=/tmp/ecstore-old go test -run TestWriteMetaUpgradeFixture ./tests/
//
// Serial: it points binPath, which every test starts, at the old binary.
func TestWriteMetaUpgradeFixture(t *testing.T) {
	old := os.Getenv("ECSTORE_META_FIXTURE_BINARY")
	if old == "" {
		t.Skip("set ECSTORE_META_FIXTURE_BINARY to the previous commit's binary to write " + metaUpgradeFixture)
	}
	ctx := testCtx(t, 3*time.Minute)
	saved := binPath
	binPath = old
	defer func() { binPath = saved }()
	if err := os.RemoveAll(metaUpgradeFixture); err != nil {
		t.Fatal(err)
	}
	fill := func(cl *minio.Client) {
		for _, b := range metaUpgradeBuckets {
			if err := cl.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		for key, data := range metaUpgradeObjects() {
			if _, err := cl.PutObject(ctx, "meta-a", key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		small := metaUpgradeObjects()["small"]
		if _, err := cl.PutObject(ctx, "meta-b", "b", bytes.NewReader(small), int64(len(small)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// The embedded server.
	dirs := NewDriveDirs(t, 6)
	s := StartServer(t, dirs)
	fill(s.Minio(t))
	s.Stop()
	for _, d := range dirs {
		copyTree(t, filepath.Join(metaUpgradeFixture, "embedded", filepath.Base(d)), d)
	}

	// The cluster: the old map knows no `meta:` addresses.
	c := StartClusterWith(t, 3, 2, 3, 1, func(c *Cluster) {
		b, err := os.ReadFile(c.MapFile)
		if err != nil {
			t.Fatal(err)
		}
		var keep []string
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "meta:") {
				keep = append(keep, l)
			}
		}
		if err := os.WriteFile(c.MapFile, []byte(strings.Join(keep, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	fill(c.Gateway(0).Minio(t))
	if out, err := adminRunCtx(ctx, c.Gateway(0).Endpoint, "node", "weight", "node2", "2"); err != nil {
		t.Fatalf("admin node weight: %v\n%s", err, out)
	}
	c.Gateway(0).Stop()
	var addrs metaUpgradeAddrs
	for i, n := range c.Nodes {
		c.StopNode(i)
		addrs.Nodes = append(addrs.Nodes, n.Addr)
		for _, d := range n.Dirs {
			copyTree(t, filepath.Join(metaUpgradeFixture, "cluster", n.ID, filepath.Base(d)), d)
		}
	}
	b, _ := json.MarshalIndent(addrs, "", "  ")
	if err := os.WriteFile(filepath.Join(metaUpgradeFixture, "cluster", "addrs.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// restoreMetaFixture copies the fixture's tree src into dst, making the
// empty folders git does not keep (tmp), and replaces each old address
// with its new one in every cluster-map.json.
func restoreMetaFixture(t *testing.T, dst, src string, rename map[string]string) {
	t.Helper()
	copyTree(t, dst, src)
	if err := os.MkdirAll(filepath.Join(dst, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "cluster-map.json" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for from, to := range rename {
			b = bytes.ReplaceAll(b, []byte(`"`+from+`"`), []byte(`"`+to+`"`))
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return nil
	})
}

// checkMetaUpgrade checks a store of the fixture through cl: its buckets
// (listed, so the metadata group holds them), its objects, and that
// buckets can be created and deleted again.
func checkMetaUpgrade(ctx context.Context, t *testing.T, cl *minio.Client) {
	t.Helper()
	bs, err := cl.ListBuckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
	}
	if !slices.Equal(names, metaUpgradeBuckets) {
		t.Fatalf("buckets after the upgrade: %v, want %v", names, metaUpgradeBuckets)
	}
	checkObjects(ctx, t, cl, "meta-a", metaUpgradeObjects())
	checkObjects(ctx, t, cl, "meta-b", map[string][]byte{"b": metaUpgradeObjects()["small"]})
	if err := cl.MakeBucket(ctx, "after-upgrade", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("CreateBucket after the upgrade: %v", err)
	}
	if err := cl.RemoveBucket(ctx, "meta-empty"); err != nil {
		t.Fatalf("DeleteBucket of an imported bucket: %v", err)
	}
	if err := cl.MakeBucket(ctx, "meta-a", minio.MakeBucketOptions{}); minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
		t.Fatalf("CreateBucket of an imported bucket: %v, want BucketAlreadyOwnedByYou", err)
	}
}

// TestMetadataUpgradeFromPreviousBinary (issue 16): stores written by the
// binary of the commit before the metadata group (testdata, made by
// TestWriteMetaUpgradeFixture) are served by this one: the embedded
// server's buckets and objects, imported once and there after a restart;
// and a cluster's buckets, objects and map (epoch 2, node2 at weight 2),
// whose first map is imported with its own epoch, and whose map changes
// then go through the group.
func TestMetadataUpgradeFromPreviousBinary(t *testing.T) {
	parallelHeavy(t, 30*time.Second)
	ctx := testCtx(t, 4*time.Minute)

	// The embedded server.
	root := t.TempDir()
	var dirs []string
	for i := 1; i <= 6; i++ {
		d := filepath.Join(root, "drive"+string(rune('0'+i)))
		restoreMetaFixture(t, d, filepath.Join(metaUpgradeFixture, "embedded", filepath.Base(d)), nil)
		if _, err := os.Stat(filepath.Join(d, "meta")); err == nil {
			t.Fatalf("fixture drive %s has a meta folder: not written by the old binary", d)
		}
		dirs = append(dirs, d)
	}
	s := StartServer(t, dirs)
	checkMetaUpgrade(ctx, t, s.Minio(t))
	// Objects written before versions existed are their keys' null
	// versions (issue 17).
	n := 0
	for o := range s.Minio(t).ListObjects(ctx, "meta-a", minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
		if o.Err != nil || o.VersionID != "null" || !o.IsLatest {
			t.Fatalf("version of an object from before versions: %+v, %v; want the null version, latest", o, o.Err)
		}
		n++
	}
	if n != len(metaUpgradeObjects()) {
		t.Fatalf("%d versions listed in meta-a, want %d", n, len(metaUpgradeObjects()))
	}
	if !strings.Contains(s.Log(), "imported") {
		t.Error("the embedded server did not log the import of the drives' buckets")
	}
	s.Stop()
	s.start()
	bs, err := s.Minio(t).ListBuckets(ctx)
	if err != nil || len(bs) != 3 || bs[0].Name != "after-upgrade" {
		t.Fatalf("buckets after a restart: %v, %v; want after-upgrade, meta-a, meta-b", bs, err)
	}
	s.Stop()

	// The cluster.
	raw, err := os.ReadFile(filepath.Join(metaUpgradeFixture, "cluster", "addrs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var old metaUpgradeAddrs
	if err := json.Unmarshal(raw, &old); err != nil || len(old.Nodes) != 3 {
		t.Fatalf("fixture addrs.json: %s, %v", raw, err)
	}
	c := StartClusterWith(t, 3, 2, 3, 1, func(c *Cluster) {
		rename := map[string]string{}
		for i, n := range c.Nodes {
			rename[old.Nodes[i]] = n.Addr
		}
		for _, n := range c.Nodes {
			for _, d := range n.Dirs {
				restoreMetaFixture(t, d, filepath.Join(metaUpgradeFixture, "cluster", n.ID, filepath.Base(d)), rename)
			}
		}
	})
	cl := c.Gateway(0).Minio(t)
	checkMetaUpgrade(ctx, t, cl)
	st := elasticStatusOf(ctx, t, c.Gateway(0))
	for _, d := range st.Drives {
		if want := map[bool]float64{true: 2, false: 1}[d.Node == "node2"]; d.Weight != want {
			t.Fatalf("drive %s of %s at weight %v after the upgrade, want %v (the old map's)", d.ID, d.Node, d.Weight, want)
		}
	}
	if st.MapEpoch != 2 {
		t.Fatalf("map epoch %d after the upgrade, want 2: the imported map keeps its own", st.MapEpoch)
	}
	out, err := adminRunCtx(ctx, c.Gateway(0).Endpoint, "node", "weight", "node3", "2")
	if err != nil {
		t.Fatalf("a map change after the upgrade: %v\n%s", err, out)
	}
	st = elasticStatusOf(ctx, t, c.Gateway(0))
	if st.MapEpoch <= 2 {
		t.Fatalf("map epoch %d after a change, want above 2", st.MapEpoch)
	}
	if !strings.Contains(c.Gateway(0).log(), "imported the drives' buckets") {
		t.Error("the gateway did not log the import of the drives' buckets")
	}
}
