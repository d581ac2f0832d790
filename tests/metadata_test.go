package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
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

func nodeMetaStatus(addr string) (metaStatus, error) {
	var st metaStatus
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/health/meta")
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
			if st, err := nodeMetaStatus(n.Addr); err == nil && st.State == "Leader" {
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

	st, err := nodeMetaStatus(c.Nodes[0].Addr)
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
	if l := metaLeader(t, c, leader, other); l == leader || l == other {
		t.Fatalf("leader %d is a killed node", l)
	}
}
