package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// metaStatus is a node's /health/meta answer (meta.Status).
type metaStatus struct {
	ID     string
	State  string
	Leader struct{ ID, Address string }
	Term   uint64
	Voters []struct{ ID, Address string }
}

func nodeMetaStatus(n *ClusterNode) (metaStatus, error) {
	var st metaStatus
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(n.URL("/health/meta"))
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// metaLeader waits (at most 30 s) until a live node of c says it leads
// the metadata group and returns its index.
func metaLeader(t *testing.T, c *Cluster, skip ...int) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for i, n := range c.Nodes {
			if containsInt(skip, i) {
				continue
			}
			if st, err := nodeMetaStatus(n); err == nil && st.State == "Leader" {
				return i
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no node leads the metadata group after 30 s")
	return -1
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TestMetadataAcrossGateways (issue 16): the bucket table is one for
// every gateway. A bucket created through gateway A is usable through B at
// once; deleted through A, it is refused through B at once (HeadBucket,
// PUT and ListBuckets). With 2 of 5 nodes down, the metadata leader among
// them, buckets are still created and deleted.
func TestMetadataAcrossGateways(t *testing.T) {
	parallelHeavy(t, 40*time.Second)
	c := StartCluster(t, 5, 2, 3, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a, b := c.Gateway(0).Minio(t), c.Gateway(1).Minio(t)

	st, err := nodeMetaStatus(c.Nodes[0])
	if err != nil || len(st.Voters) != 5 {
		t.Fatalf("node1's metadata status: %+v, %v (want 5 voters)", st, err)
	}

	put := func(cl *minio.Client, bucket, key, body string) error {
		_, err := cl.PutObject(ctx, bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		return err
	}
	listed := func(cl *minio.Client, bucket string) bool {
		t.Helper()
		bs, err := cl.ListBuckets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range bs {
			if x.Name == bucket {
				return true
			}
		}
		return false
	}
	for round := range 10 {
		name := fmt.Sprintf("across-%d", round)
		if err := a.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("round %d: create through A: %v", round, err)
		}
		if ok, err := b.BucketExists(ctx, name); err != nil || !ok {
			t.Fatalf("round %d: HeadBucket through B right after the create through A: %v, %v", round, ok, err)
		}
		if !listed(b, name) {
			t.Fatalf("round %d: ListBuckets through B lacks the bucket created through A", round)
		}
		if err := put(b, name, "k", "v"); err != nil {
			t.Fatalf("round %d: PUT through B right after the create through A: %v", round, err)
		}
		if err := b.RemoveObject(ctx, name, "k", minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := a.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err == nil {
			t.Fatalf("round %d: a second create succeeded", round)
		}
		if err := a.RemoveBucket(ctx, name); err != nil {
			t.Fatalf("round %d: delete through A: %v", round, err)
		}
		if ok, err := b.BucketExists(ctx, name); err != nil || ok {
			t.Fatalf("round %d: HeadBucket through B right after the delete through A: %v, %v", round, ok, err)
		}
		if listed(b, name) {
			t.Fatalf("round %d: ListBuckets through B still shows the bucket deleted through A", round)
		}
		err := put(b, name, "late", "v")
		if minio.ToErrorResponse(err).Code != "NoSuchBucket" {
			t.Fatalf("round %d: PUT through B right after the delete through A: %v, want NoSuchBucket", round, err)
		}
	}

	if err := a.MakeBucket(ctx, "kept", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}

	// Two of five nodes down, the metadata leader among them.
	leader := metaLeader(t, c)
	other := (leader + 1) % len(c.Nodes)
	c.KillNode(leader)
	c.KillNode(other)
	t.Logf("killed node%d (the metadata leader) and node%d", leader+1, other+1)
	start := time.Now()
	if err := b.MakeBucket(ctx, "after-loss", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("create with 2 of 5 nodes down: %v", err)
	}
	t.Logf("first bucket created %v after the leader died", time.Since(start).Round(time.Millisecond))
	if ok, err := a.BucketExists(ctx, "after-loss"); err != nil || !ok {
		t.Fatalf("HeadBucket through A: %v, %v", ok, err)
	}
	// (Objects are another matter: with 4 of 10 drives down, some keys
	// have more than m shards there. The table is what is tested here.)
	if ok, err := b.BucketExists(ctx, "kept"); err != nil || !ok {
		t.Fatalf("HeadBucket of a bucket made before the faults: %v, %v", ok, err)
	}
	if err := a.RemoveBucket(ctx, "after-loss"); err != nil {
		t.Fatalf("delete with 2 of 5 nodes down: %v", err)
	}
	if ok, err := b.BucketExists(ctx, "after-loss"); err != nil || ok {
		t.Fatalf("HeadBucket through B after the delete through A: %v, %v", ok, err)
	}
	// admin status shows the group: the new leader, the two dead voters
	// down, the others with their applied index.
	out, err := adminRunCtx(ctx, c.Gateway(0).Endpoint, "status")
	if err != nil {
		t.Fatalf("admin status: %v\n%s", err, out)
	}
	t.Logf("admin status:\n%s", out)
	for _, want := range []string{`metadata group: leader node\d`, `job scanner: run by \S+`, `job upload-expiry: run by \S+`, fmt.Sprintf(`node%d\s+voter\s+DOWN`, leader+1), fmt.Sprintf(`node%d\s+voter\s+DOWN`, other+1)} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("admin status lacks %q", want)
		}
	}
	if n := len(regexp.MustCompile(`voter\s+(Follower|Leader)`).FindAllString(out, -1)); n != 3 {
		t.Errorf("admin status lists %d live voters, want 3", n)
	}
	if l := metaLeader(t, c, leader, other); l == leader || l == other {
		t.Fatalf("leader %d is a killed node", l)
	}
}

// TestMetadataMajorityCut (issue 16): with the metadata (Raft) network of
// 3 of 5 voters cut while their drives keep serving, a metadata change
// fails within 10 s with a 503, while reads and writes of objects in
// existing buckets go on (HeadBucket, a question about the table, answers
// 503 too); once the network is back, changes commit again.
func TestMetadataMajorityCut(t *testing.T) {
	parallelHeavy(t, 40*time.Second)
	var cutFiles []string
	c := StartClusterWith(t, 5, 2, 3, 1, func(c *Cluster) {
		for _, n := range c.Nodes {
			f := filepath.Join(c.Dir, "cut-"+n.ID)
			cutFiles = append(cutFiles, f)
			n.proc.env = append(n.proc.env, "ECSTORE_TEST_META_CUT="+f)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl := c.Gateway(0).Minio(t)
	if err := cl.MakeBucket(ctx, "before", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("existing bucket data ", 1000)
	if _, err := cl.PutObject(ctx, "before", "old", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	leader := metaLeader(t, c)
	cut := []int{leader, (leader + 1) % 5, (leader + 2) % 5}
	for _, i := range cut {
		if err := os.WriteFile(cutFiles[i], nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("cut the metadata network of node%d (leader), node%d, node%d", cut[0]+1, cut[1]+1, cut[2]+1)

	// One try: minio-go would retry the 503 ten times.
	once := minioWith(t, c.Gateway(0).Server, testAccessKey, testSecretKey, 1)
	start := time.Now()
	err := once.MakeBucket(ctx, "during-cut", minio.MakeBucketOptions{})
	took := time.Since(start)
	resp := minio.ToErrorResponse(err)
	if err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("CreateBucket without a metadata majority: %v (status %d), want a 503", err, resp.StatusCode)
	}
	if !strings.Contains(resp.Message, "metadata store") {
		t.Errorf("the 503 does not say why: %q", resp.Message)
	}
	if took > 10*time.Second {
		t.Fatalf("CreateBucket without a metadata majority took %v to fail, want at most 10 s", took)
	}
	t.Logf("CreateBucket failed after %v: %s", took.Round(time.Millisecond), resp.Message)

	// The data path goes on: existing bucket, existing and new objects.
	o, err := cl.GetObject(ctx, "before", "old", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(o)
	if err != nil || string(got) != body {
		t.Fatalf("GET during the cut: %d bytes, %v", len(got), err)
	}
	if _, err := cl.PutObject(ctx, "before", "new", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PUT into an existing bucket during the cut: %v", err)
	}
	// HeadBucket asks the store (its answer must not be a stale copy's):
	// a 503 that says so, while the object calls above go on.
	if _, err := once.BucketExists(ctx, "before"); minio.ToErrorResponse(err).StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("HeadBucket during the cut: %v, want a 503 (the copy cannot be confirmed)", err)
	}

	for _, i := range cut {
		if err := os.Remove(cutFiles[i]); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := cl.MakeBucket(ctx, "after-cut", minio.MakeBucketOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CreateBucket 30 s after the network came back: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if ok, err := cl.BucketExists(ctx, "during-cut"); err != nil || ok {
		t.Fatalf("the failed create left a bucket: %v, %v", ok, err)
	}
}

// TestMetadataUpgradeCluster (issue 16): a cluster whose buckets live only
// in the drives' records, as every version before the metadata store left
// them (here: the nodes' metadata folders removed while all is stopped),
// starts with its buckets and objects: the group is bootstrapped anew and
// the gateway imports the buckets once.
func TestMetadataUpgradeCluster(t *testing.T) {
	parallelHeavy(t, 30*time.Second)
	c := StartCluster(t, 3, 2, 3, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl := c.Gateway(0).Minio(t)
	for _, b := range []string{"upgraded-a", "upgraded-b"} {
		if err := cl.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	body := "written by the old layout"
	if _, err := cl.PutObject(ctx, "upgraded-a", "k", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	c.Gateway(0).Stop()
	for i, n := range c.Nodes {
		c.StopNode(i)
		for _, d := range n.Dirs {
			if err := os.RemoveAll(filepath.Join(d, "meta")); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range c.Nodes {
		c.Nodes[i].proc.launch()
	}
	for i := range c.Nodes {
		c.Nodes[i].proc.waitReady()
	}
	c.Gateway(0).Start()
	cl = c.Gateway(0).Minio(t)
	bs, err := cl.ListBuckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
	}
	if strings.Join(names, ",") != "upgraded-a,upgraded-b" {
		t.Fatalf("buckets after the upgrade: %v", names)
	}
	o, err := cl.GetObject(ctx, "upgraded-a", "k", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(o)
	if err != nil || string(got) != body {
		t.Fatalf("object after the upgrade: %q, %v", got, err)
	}
	if !strings.Contains(c.Gateway(0).log(), "imported the drives' buckets") {
		t.Error("the gateway did not log the import")
	}
}

// TestMetadataRecoverFromSurvivor (issue 16): a cluster of 7 nodes (voters
// node1..node5, the others non-voters) loses 3 voters for good. Without a
// majority of voters bucket changes fail (503). The two surviving voters,
// restarted once with --meta-recover node1,node2, become the group; bucket
// changes work again with every bucket of before; a restart that still
// carries the flag changes nothing.
func TestMetadataRecoverFromSurvivor(t *testing.T) {
	parallelHeavy(t, 40*time.Second)
	c := StartCluster(t, 7, 2, 3, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl := c.Gateway(0).Minio(t)
	if err := cl.MakeBucket(ctx, "before-loss", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := nodeMetaStatus(c.Nodes[0])
	if err != nil || len(st.Voters) != 5 {
		t.Fatalf("status: %+v, %v", st, err)
	}
	for _, i := range []int{2, 3, 4} { // node3..node5: voters, lost for good
		c.KillNode(i)
	}
	once := minioWith(t, c.Gateway(0).Server, testAccessKey, testSecretKey, 1)
	if err := once.MakeBucket(ctx, "no-majority", minio.MakeBucketOptions{}); minio.ToErrorResponse(err).StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("CreateBucket with 2 of 5 voters: %v, want a 503", err)
	}

	plain := map[int][]string{}
	for _, i := range []int{0, 1} {
		p := c.Nodes[i].proc
		plain[i] = p.args
		p.args = append([]string{"node", "--meta-recover", "node1,node2"}, plain[i][1:]...)
		c.StopNode(i)
	}
	for _, i := range []int{0, 1} {
		c.Nodes[i].proc.start()
	}
	t.Log("node1 and node2 restarted with --meta-recover node1,node2")
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := cl.MakeBucket(ctx, "after-recovery", minio.MakeBucketOptions{})
		if err == nil || minio.ToErrorResponse(err).Code == "BucketAlreadyOwnedByYou" {
			// (A try that timed out while the group came back may have
			// committed: a 503 leaves the outcome open, as S3's does.)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CreateBucket 30 s after the recovery: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if ok, err := cl.BucketExists(ctx, "before-loss"); err != nil || !ok {
		t.Fatalf("a bucket of before the loss: %v, %v", ok, err)
	}
	// The create refused without a majority may have reached a
	// survivor's log; recovery takes the survivors' logs whole (as
	// raft.RecoverCluster documents), so it may now exist: whole, if so.
	if ok, err := cl.BucketExists(ctx, "no-majority"); err != nil {
		t.Fatal(err)
	} else if ok {
		t.Log("the create refused before the recovery was in a survivor's log and is committed now")
	}

	// A restart that still carries the flag changes nothing (the
	// reconcile has added the other nodes back as members meanwhile).
	time.Sleep(4 * time.Second)
	before, err := nodeMetaStatus(c.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	c.RestartNode(0)
	for _, i := range []int{0, 1} {
		c.Nodes[i].proc.args = plain[i]
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		err := cl.MakeBucket(ctx, "after-restart", minio.MakeBucketOptions{})
		if err == nil || minio.ToErrorResponse(err).Code == "BucketAlreadyOwnedByYou" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CreateBucket after a restart with the flag again: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	after, err := nodeMetaStatus(c.Nodes[1])
	if err != nil || len(after.Voters) != len(before.Voters) {
		t.Fatalf("voters before the restart %v, after %v (%v)", before.Voters, after.Voters, err)
	}
	t.Logf("voters after the recovery: %v", after.Voters)
}

// TestMapChangesRacing (issue 16): map changes made at once through two
// gateways are ordered by the metadata group: every change that reports
// success is in the map afterwards, and the loser is told the map changed.
// (The nodes' own check, a majority refusing a second map of one epoch,
// refused the loser before too, as long as pushes reached a majority; this
// guards the ordering now that the group decides first.)
func TestMapChangesRacing(t *testing.T) {
	parallelHeavy(t, 40*time.Second)
	c := StartCluster(t, 6, 2, 3, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	weightOf := func(st *elasticStatus, node string) float64 {
		for _, d := range st.Drives {
			if d.Node == node {
				return d.Weight
			}
		}
		return -1
	}
	settled := func() *elasticStatus {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			a, errA := tryStatus(ctx, c.Gateway(0))
			b, errB := tryStatus(ctx, c.Gateway(1))
			if errA == nil && errB == nil && a.MapEpoch == b.MapEpoch && !a.Rebalance.Pending && !a.Rebalance.Running && !b.Rebalance.Pending && !b.Rebalance.Running {
				return a
			}
			if time.Now().After(deadline) {
				t.Fatalf("the gateways did not settle on one map: %v / %v", errA, errB)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	lost, refused := 0, 0
	for round := range 3 {
		settled()
		nodes := [2]string{fmt.Sprintf("node%d", round%6+1), fmt.Sprintf("node%d", (round+3)%6+1)}
		weights := [2]string{fmt.Sprintf("%d.5", round+2), fmt.Sprintf("%d.25", round+2)}
		var outs [2]string
		var errs [2]error
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				outs[i], errs[i] = adminRunCtx(ctx, c.Gateway(i).Endpoint, "node", "weight", nodes[i], weights[i])
			})
		}
		wg.Wait()
		st := settled()
		for i := range 2 {
			if errs[i] != nil {
				refused++
				t.Logf("round %d: %s weight %s through gateway%d refused: %s", round, nodes[i], weights[i], i+1, strings.TrimSpace(outs[i]))
				continue
			}
			want, _ := strconv.ParseFloat(weights[i], 64)
			if got := weightOf(st, nodes[i]); got != want {
				lost++
				t.Errorf("round %d: %s weight %s through gateway%d succeeded, but the map has %v", round, nodes[i], weights[i], i+1, got)
			}
		}
	}
	t.Logf("3 rounds of 2 racing changes: %d refused, %d acknowledged and lost", refused, lost)
}
