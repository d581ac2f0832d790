package tests

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// gatewayMetric reads one unlabelled metric from a gateway's Prometheus
// endpoint.
func gatewayMetric(ctx context.Context, g *ClusterGateway, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.Endpoint+"/_ecstore/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("metric %s not found (HTTP %d)", name, resp.StatusCode)
}

// TestClusterHealsAfterNodesReturn: objects written while 2 nodes are down
// have only 4 of their 6 shards where the write found no spare drive, or
// shards on spare drives of nodes that hold another shard. When the nodes
// come back, the gateway must bring them back to 6 shards on their home
// drives on its own, so that losing other nodes later does not make them
// unreadable.
func TestClusterHealsAfterNodesReturn(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster; skipped with -short")
	}
	parallelHeavy(t, 5*time.Second)
	ctx := testCtx(t, 4*time.Minute)
	c := StartCluster(t, 6, 2, 3, 1)
	g := c.Gateway(0)
	mc := g.Minio(t)
	const bucket = "healreturn"
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	c.KillNode(0)
	c.KillNode(1)
	objs := []*clusterObject{
		newClusterObject("multipart", 20<<20+5, 1, "minio", 0),
		newClusterObject("single", 3<<20, 2, "minio", 0),
	}
	for _, o := range objs {
		if _, err := mc.PutObject(ctx, bucket, o.key, streamOf(o.seed, o.size), o.size, minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
			t.Fatalf("PUT %s with 2 nodes down: %v", o.key, err)
		}
	}
	healed0, err := gatewayMetric(ctx, g, "ecstore_heal_shards_total")
	if err != nil {
		t.Fatal(err)
	}
	c.RestartNode(0)
	c.RestartNode(1)
	c.WaitAllOnline(60 * time.Second)

	// The multipart object misses 2 shards (one per returned node's
	// placement) and the single PUT has 2 shards on fallback drives: wait
	// for the gateway to rebuild the first and move the second home (4
	// shards), by itself.
	deadline := time.Now().Add(60 * time.Second)
	for {
		healed, err := gatewayMetric(ctx, g, "ecstore_heal_shards_total")
		if err != nil {
			t.Fatal(err)
		}
		if healed-healed0 >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("60s after the nodes came back the gateway has rewritten %v shards, want >= 4 (2 rebuilt for the multipart object, 2 moved home for the single PUT)", healed-healed0)
		}
		time.Sleep(time.Second)
	}
	// Let the queue drain (bounded; the reads below tell whether it did).
	for drained := time.Now().Add(30 * time.Second); time.Now().Before(drained); {
		if q, err := gatewayMetric(ctx, g, "ecstore_heal_queue_length"); err == nil && q == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Now any 2 nodes may go again.
	c.KillNode(2)
	c.KillNode(5)
	for _, o := range objs {
		if err := readObject(ctx, mc, bucket, o); err != nil {
			t.Errorf("after the heal, with 2 other nodes down: %v", err)
		}
	}
}

// TestClusterMultipartWithANodeDown: parts uploaded while a node is down
// (SIGKILL) go to the spare drive, as single PUTs do, so each completed
// object has all 6 shards at once: 2 more nodes may go (SIGKILL) and every
// acknowledged byte still reads back, before any heal ran.
func TestClusterMultipartWithANodeDown(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster; skipped with -short")
	}
	ctx := testCtx(t, 2*time.Minute)
	c := StartCluster(t, 7, 1, 7, 1) // 4+2 over 7 drives: one spare
	mc := c.Gateway(0).Minio(t)
	const bucket = "mpdown"
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	c.KillNode(0)
	var objs []*clusterObject
	for i := range 4 {
		o := newClusterObject(fmt.Sprintf("mp-%d", i), 11<<20+int64(i), uint64(40+i), "minio", 0)
		if _, err := mc.PutObject(ctx, bucket, o.key, streamOf(o.seed, o.size), o.size, minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
			t.Fatalf("multipart PUT %s with node 0 down: %v", o.key, err)
		}
		objs = append(objs, o)
	}
	c.KillNode(1)
	c.KillNode(2)
	for _, o := range objs {
		if err := readObject(ctx, mc, bucket, o); err != nil {
			t.Errorf("nodes 0, 1 and 2 down: %v", err)
		}
	}
}

// TestClusterHungNode: a node that hangs (SIGSTOP: it accepts connections
// and answers nothing, as a node cut off the network) must cost the
// gateway one timeout, not one per request: after the first timeouts,
// reads and writes touching the node's drives must finish quickly from the
// other drives.
func TestClusterHungNode(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster; skipped with -short")
	}
	parallelHeavy(t, 65*time.Second)
	ctx := testCtx(t, 4*time.Minute)
	c := StartCluster(t, 6, 2, 3, 1)
	g := c.Gateway(0)
	mc := minioWith(t, g.Server, testAccessKey, testSecretKey, 1)
	const bucket = "hungnode"
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	var objs []*clusterObject
	for i := range 24 {
		o := newClusterObject(fmt.Sprintf("obj-%02d", i), int64(1000+i*50_000), uint64(i), "minio", 0)
		if _, err := mc.PutObject(ctx, bucket, o.key, streamOf(o.seed, o.size), o.size, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}

	c.PauseNode(0)
	t.Cleanup(func() { c.ResumeNode(0) })
	// The warm-up covers the first timeouts: three of the gateway's 5 s
	// internode call timeout (it was 35 s when that timeout was 30 s).
	const warmUp, watch, slow = 15 * time.Second, 45 * time.Second, 5 * time.Second
	start := time.Now()
	var (
		mu      sync.Mutex
		slowOps []string
		ops     int
		wg      sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for i := w; time.Since(start) < warmUp+watch; i += 4 {
				o := objs[i%len(objs)]
				op := "GET " + o.key
				rctx, cancel := context.WithTimeout(ctx, 40*time.Second)
				t0 := time.Now()
				var err error
				if i%3 == 0 {
					op = "PUT " + o.key
					_, err = mc.PutObject(rctx, bucket, o.key, streamOf(o.seed, o.size), o.size, minio.PutObjectOptions{})
				} else {
					err = readObject(rctx, mc, bucket, o)
				}
				cancel()
				d := time.Since(t0)
				if err != nil {
					t.Errorf("%s with a node hung: %v", op, err)
				}
				mu.Lock()
				if t0.Sub(start) > warmUp {
					ops++
					if d > slow {
						slowOps = append(slowOps, fmt.Sprintf("%s at %.0fs took %.1fs", op, t0.Sub(start).Seconds(), d.Seconds()))
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("after a %v warm-up: %d requests, %d slower than %v", warmUp, ops, len(slowOps), slow)
	if len(slowOps) > 0 {
		t.Errorf("with node1 hung, requests still wait for it after the first timeouts:\n  %s", strings.Join(slowOps, "\n  "))
	}
}
