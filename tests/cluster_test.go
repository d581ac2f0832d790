package tests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// clusterObject is one object of a cluster workload. Its content is the
// deterministic byte stream of seed, so even a 64 MiB object is never held
// in memory whole.
type clusterObject struct {
	key    string
	size   int64
	seed   uint64
	sha    string // SHA-256 of the content
	client string // "minio" or "aws": the client that wrote it
	gw     int    // the gateway it was written through
}

// streamOf returns the n-byte content of seed.
func streamOf(seed uint64, n int64) io.Reader {
	key := [32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24), 0xc1, 0x05}
	return io.LimitReader(rand.NewChaCha8(key), n)
}

// sha256Of hashes everything r yields.
func sha256Of(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

func newClusterObject(key string, size int64, seed uint64, client string, gw int) *clusterObject {
	sum, _, _ := sha256Of(streamOf(seed, size))
	return &clusterObject{key: key, size: size, seed: seed, sha: sum, client: client, gw: gw}
}

// nodeLossWorkload is 500 objects from 0 B to 64 MiB, about 390 MiB in
// all: 8 of 8-64 MiB, 32 of 1-8 MiB, edge sizes, and the rest up to 256
// KiB. Object i is written by client/gateway i%4: minio-go via gateway 0,
// minio-go via 1, the aws CLI via 0, the aws CLI via 1, so every writer gets
// large and small objects.
func nodeLossWorkload() []*clusterObject {
	const ki, mi = 1 << 10, 1 << 20
	r := rand.New(rand.NewPCG(5, 500))
	sizes := []int64{64 * mi, 48*mi + 7, 32 * mi, 24*mi + 1, 16 * mi, 12*mi + 3, 8 * mi, 8*mi + 1}
	for range 32 {
		sizes = append(sizes, mi+r.Int64N(7*mi))
	}
	sizes = append(sizes, 0, 0, 1, 1, 2, 15, 16, 17, 4095, 4096, 4097, 65535, 65536, 65537, mi-1, mi, mi+1, mi+2)
	for len(sizes) < 500 {
		switch r.IntN(3) {
		case 0:
			sizes = append(sizes, r.Int64N(ki))
		case 1:
			sizes = append(sizes, ki+r.Int64N(63*ki))
		default:
			sizes = append(sizes, 64*ki+r.Int64N(192*ki))
		}
	}
	objs := make([]*clusterObject, len(sizes))
	var wg sync.WaitGroup
	for i, n := range sizes {
		client, gw := "minio", i%2
		if i%4 >= 2 {
			client = "aws"
		}
		dir := fmt.Sprintf("%s-gw%d", client, gw)
		key := fmt.Sprintf("%s/%03d-%d.bin", dir, i, n)
		switch i % 50 {
		case 3, 4, 5, 6:
			key = fmt.Sprintf("%s/sub dir/ünï-%03d.bin", dir, i)
		case 7, 8, 9, 10:
			key = fmt.Sprintf("%s/a/b/c/%03d", dir, i)
		}
		wg.Go(func() { objs[i] = newClusterObject(key, n, uint64(1000+i), client, gw) })
	}
	wg.Wait()
	return objs
}

// parallel runs fn(i) for i in [0, n) on `workers` goroutines and returns
// every error.
func parallel(n, workers int, fn func(i int) error) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

// reportErrors fails the test with the first few errors.
func reportErrors(t *testing.T, what string, errs []error) {
	t.Helper()
	if len(errs) == 0 {
		return
	}
	var b strings.Builder
	for i, err := range errs {
		if i == 15 {
			fmt.Fprintf(&b, "\n  ... and %d more", len(errs)-i)
			break
		}
		fmt.Fprintf(&b, "\n  %v", err)
	}
	t.Errorf("%s: %d errors:%s", what, len(errs), b.String())
}

// readObject reads o through c and checks its size and SHA-256.
func readObject(ctx context.Context, c *minio.Client, bucket string, o *clusterObject) error {
	obj, err := c.GetObject(ctx, bucket, o.key, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("GET %s: %w", o.key, err)
	}
	defer obj.Close()
	sum, n, err := sha256Of(obj)
	if err != nil {
		return fmt.Errorf("GET %s: %w", o.key, err)
	}
	if n != o.size || sum != o.sha {
		return fmt.Errorf("GET %s: WRONG BYTES: %d bytes sha256 %s, wrote %d bytes sha256 %s", o.key, n, sum, o.size, o.sha)
	}
	return nil
}

// verifyObjects reads every object through g and checks it byte for byte.
func verifyObjects(ctx context.Context, t *testing.T, g *ClusterGateway, bucket string, objs []*clusterObject) {
	t.Helper()
	c := g.Minio(t)
	errs := parallel(len(objs), 3, func(i int) error { return readObject(ctx, c, bucket, objs[i]) })
	reportErrors(t, "reading through "+g.Name, errs)
}

// verifyListing lists the bucket through g and checks that every object is
// listed with its size.
func verifyListing(ctx context.Context, t *testing.T, g *ClusterGateway, bucket string, objs []*clusterObject) {
	t.Helper()
	_, sizes := listKeys(ctx, t, g.Minio(t), bucket, minio.ListObjectsOptions{Recursive: true})
	var errs []error
	for _, o := range objs {
		if n, ok := sizes[o.key]; !ok || n != o.size {
			errs = append(errs, fmt.Errorf("%s: listed=%v size %d, want %d", o.key, ok, n, o.size))
		}
	}
	reportErrors(t, "listing through "+g.Name, errs)
}

// putMinio writes o through w with minio-go, then at once reads it back,
// stats it and lists it through the other gateway r (read-after-write and
// list-after-write across gateways).
func putMinio(ctx context.Context, w, r *minio.Client, bucket string, o *clusterObject) error {
	info, err := w.PutObject(ctx, bucket, o.key, streamOf(o.seed, o.size), o.size, minio.PutObjectOptions{})
	if err != nil {
		return fmt.Errorf("PUT %s (%d bytes): %w", o.key, o.size, err)
	}
	st, err := r.StatObject(ctx, bucket, o.key, minio.StatObjectOptions{})
	if err != nil {
		return fmt.Errorf("HEAD %s on the other gateway right after the PUT: %w", o.key, err)
	}
	if st.Size != o.size || st.ETag != info.ETag {
		return fmt.Errorf("HEAD %s on the other gateway: size %d ETag %s, PUT gave size %d ETag %s", o.key, st.Size, st.ETag, o.size, info.ETag)
	}
	if o.size <= 1<<20 {
		if err := readObject(ctx, r, bucket, o); err != nil {
			return fmt.Errorf("on the other gateway right after the PUT: %w", err)
		}
	}
	found := false
	for li := range r.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: o.key, Recursive: true}) {
		if li.Err != nil {
			return fmt.Errorf("LIST %s on the other gateway: %w", o.key, li.Err)
		}
		if li.Key == o.key && li.Size == o.size {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("LIST prefix %s on the other gateway right after the PUT: not listed", o.key)
	}
	return nil
}

// writeObjectFiles writes the content of objs under dir, each at its key
// with the first n path elements cut (for `aws s3 cp --recursive`).
func writeObjectFiles(t *testing.T, dir string, objs []*clusterObject, cut int) {
	t.Helper()
	for _, o := range objs {
		rel := strings.SplitN(o.key, "/", cut+1)[cut]
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, streamOf(o.seed, o.size)); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// awsV2 returns the aws CLI v2 binary when installed, else "" (v1).
func awsV2() string {
	out, err := exec.Command("/usr/bin/aws", "--version").CombinedOutput()
	if err == nil && strings.HasPrefix(string(out), "aws-cli/2") {
		return "/usr/bin/aws"
	}
	return ""
}

// clusterPut writes objs through the gateways: minio-go objects with two
// workers per gateway, each checked at once through the other gateway; aws
// objects with one `aws s3 cp --recursive` per gateway (v1 through gateway
// 0, v2 when installed through gateway 1), whose keys are then listed
// through the other gateway with the same CLI.
func clusterPut(ctx context.Context, t *testing.T, gws []*ClusterGateway, bucket string, objs []*clusterObject) {
	t.Helper()
	mc := []*minio.Client{gws[0].Minio(t), gws[1].Minio(t)}
	bins := []string{"", awsV2()}
	var wg sync.WaitGroup
	for gw := range 2 {
		var mine, viaAWS []*clusterObject
		for _, o := range objs {
			switch {
			case o.gw != gw:
			case o.client == "minio":
				mine = append(mine, o)
			default:
				viaAWS = append(viaAWS, o)
			}
		}
		wg.Go(func() {
			errs := parallel(len(mine), 2, func(i int) error { return putMinio(ctx, mc[gw], mc[1-gw], bucket, mine[i]) })
			reportErrors(t, "minio-go writes through "+gws[gw].Name, errs)
		})
		if len(viaAWS) == 0 {
			continue
		}
		// All keys of one aws batch share their first path element.
		prefix, _, _ := strings.Cut(viaAWS[0].key, "/")
		dir := filepath.Join(t.TempDir(), prefix)
		writeObjectFiles(t, dir, viaAWS, 1)
		wg.Go(func() {
			w, r := gws[gw], gws[1-gw]
			if out, err := w.AWS(ctx, bins[gw], "s3", "cp", "--recursive", "--no-progress", dir, "s3://"+bucket+"/"+prefix+"/"); err != nil {
				t.Errorf("aws s3 cp --recursive through %s: %v\n%s", w.Name, err, out)
				return
			}
			out, err := r.AWS(ctx, bins[gw], "s3", "ls", "--recursive", "s3://"+bucket+"/"+prefix+"/")
			if err != nil {
				t.Errorf("aws s3 ls through %s: %v\n%s", r.Name, err, out)
				return
			}
			listed, _ := parseS3Ls(out)
			var errs []error
			for _, o := range viaAWS {
				if n, ok := listed[o.key]; !ok || n != o.size {
					errs = append(errs, fmt.Errorf("%s: listed=%v size %d, want %d", o.key, ok, n, o.size))
				}
			}
			reportErrors(t, fmt.Sprintf("aws s3 ls through %s right after aws s3 cp through %s", r.Name, w.Name), errs)
		})
	}
	wg.Wait()
}

// awsDownloadCheck downloads prefix through g with the aws CLI and checks
// every file against objs.
func awsDownloadCheck(ctx context.Context, t *testing.T, g *ClusterGateway, bucket, prefix string, objs []*clusterObject) {
	t.Helper()
	dir := t.TempDir()
	if out, err := g.AWS(ctx, "", "s3", "cp", "--recursive", "--no-progress", "s3://"+bucket+"/"+prefix+"/", dir); err != nil {
		t.Errorf("aws s3 cp --recursive from %s: %v\n%s", g.Name, err, out)
		return
	}
	got := treeSHA256(t, dir)
	var errs []error
	for _, o := range objs {
		rel, ok := strings.CutPrefix(o.key, prefix+"/")
		if !ok {
			continue
		}
		if sum, ok := got[rel]; !ok || sum != o.sha {
			errs = append(errs, fmt.Errorf("%s: downloaded=%v sha256 %s, want %s", o.key, ok, sum, o.sha))
		}
		delete(got, rel)
	}
	for rel := range got {
		errs = append(errs, fmt.Errorf("%s/%s: downloaded but never written", prefix, rel))
	}
	reportErrors(t, "aws s3 cp --recursive from "+g.Name, errs)
}

// TestClusterNodeLoss runs the cluster of the README (6 node processes of 2
// drives in 3 zones, EC 4+2, 2 gateways), writes 500 objects (0 B to 64
// MiB, ~390 MiB) through both gateways with minio-go and the aws CLI,
// SIGKILLs 2 nodes in different zones and reads everything back through
// both gateways, writes more with 2 nodes down, then kills a 3rd node and
// checks that reads fail cleanly (503) and never return wrong bytes, and
// finally restarts the 3 nodes and reads again.
func TestClusterNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster with ~400 MiB of data; skipped with -short")
	}
	parallelHeavy(t, 60*time.Second)
	ctx := testCtx(t, 6*time.Minute)
	start := time.Now()
	phase := func(what string) { t.Logf("%6.1fs  %s", time.Since(start).Seconds(), what) }

	c := StartCluster(t, 6, 2, 3, 2)
	a, b := c.Gateway(0), c.Gateway(1)
	ma, mb := a.Minio(t), b.Minio(t)
	phase("cluster up: 6 nodes, 2 gateways")

	const bucket = "nodeloss"
	if err := ma.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket through gateway1: %v", err)
	}
	if ok, err := mb.BucketExists(ctx, bucket); err != nil || !ok {
		t.Fatalf("BucketExists through gateway2 right after MakeBucket through gateway1: %v, %v", ok, err)
	}

	objs := nodeLossWorkload()
	var total int64
	for _, o := range objs {
		total += o.size
	}
	phase(fmt.Sprintf("workload: %d objects, %d MiB", len(objs), total>>20))
	clusterPut(ctx, t, c.Gateways, bucket, objs)
	if t.Failed() {
		t.FailNow()
	}
	phase("written through both gateways (minio-go and aws CLI), each checked through the other gateway")

	// Two nodes in different zones die.
	if c.Nodes[0].Zone == c.Nodes[1].Zone {
		t.Fatalf("nodes 1 and 2 share zone %s", c.Nodes[0].Zone)
	}
	c.KillNode(0)
	c.KillNode(1)
	phase(fmt.Sprintf("SIGKILLed %s (%s) and %s (%s)", c.Nodes[0].ID, c.Nodes[0].Zone, c.Nodes[1].ID, c.Nodes[1].Zone))

	verifyListing(ctx, t, a, bucket, objs)
	verifyListing(ctx, t, b, bucket, objs)
	verifyObjects(ctx, t, a, bucket, objs)
	phase("all objects read back byte-identical through gateway1")
	verifyObjects(ctx, t, b, bucket, objs)
	phase("all objects read back byte-identical through gateway2")
	awsDownloadCheck(ctx, t, b, bucket, "aws-gw0", objs)
	phase("aws CLI download through gateway2 of what the aws CLI wrote through gateway1")

	// New writes with 2 nodes down.
	var more []*clusterObject
	for i, n := range []int64{0, 1, 1000, 100 << 10, 1<<20 + 1, 5 << 20, 17<<20 + 5, 3, 70 << 10, 9<<20 + 1} {
		client := []string{"minio", "aws"}[i/5]
		more = append(more, newClusterObject(fmt.Sprintf("down2-%s-gw%d/%02d-%d", client, i%2, i, n), n, uint64(9000+i), client, i%2))
	}
	clusterPut(ctx, t, c.Gateways, bucket, more)
	verifyObjects(ctx, t, a, bucket, more)
	verifyObjects(ctx, t, b, bucket, more)
	verifyListing(ctx, t, b, bucket, append(append([]*clusterObject{}, objs...), more...))
	phase("with 2 nodes down: new writes succeed and read back through both gateways")
	if t.Failed() {
		t.FailNow()
	}

	// A third node dies: reads must fail cleanly, never with wrong bytes.
	c.KillNode(2)
	phase(fmt.Sprintf("SIGKILLed %s (%s): 3 nodes (6 of 12 drives) down", c.Nodes[2].ID, c.Nodes[2].Zone))
	checkCleanFailures(ctx, t, c, bucket, objs)
	phase("with 3 nodes down: every read is byte-identical or a clean 503")

	// Everything back.
	for i := range 3 {
		c.RestartNode(i)
	}
	phase("restarted the 3 nodes")
	c.WaitAllOnline(60 * time.Second)
	phase("the gateways see every drive online again")
	var small []*clusterObject
	for _, o := range objs {
		if o.size <= 1<<20 {
			small = append(small, o)
		}
	}
	all := append(append([]*clusterObject{}, objs...), more...)
	verifyListing(ctx, t, a, bucket, all)
	verifyObjects(ctx, t, a, bucket, append(small, more...))
	verifyObjects(ctx, t, b, bucket, append(small, objs[0]))
	phase(fmt.Sprintf("after the restart: %d objects read back through both gateways", len(small)+len(more)))
}

// rawGetCheck GETs o through s with a signed raw request (no client-side
// retries) and returns its HTTP status and S3 error code, or an error when
// the answer is neither the exact object nor an S3 error document.
func rawGetCheck(ctx context.Context, t *testing.T, s *Server, bucket string, o *clusterObject) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req := signV4(newRawRequest(ctx, t, s, http.MethodGet, objectPath(bucket, o.key), "", nil), nil, testAccessKey, testSecretKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s: %w", o.key, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		sum, n, err := sha256Of(resp.Body)
		switch {
		case err != nil:
			return 200, "", fmt.Errorf("GET %s: 200, then reading the body: %w", o.key, err)
		case n != o.size || sum != o.sha:
			return 200, "", fmt.Errorf("GET %s: WRONG BYTES: %d bytes sha256 %s, wrote %d bytes sha256 %s", o.key, n, sum, o.size, o.sha)
		}
		return 200, "", nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := (&rawResp{Body: body}).Err()
	if e.Code == "" {
		return resp.StatusCode, "", fmt.Errorf("GET %s: HTTP %d without an S3 error document: %q", o.key, resp.StatusCode, body)
	}
	return resp.StatusCode, e.Code, nil
}

// checkCleanFailures reads objs through both gateways and checks that each
// read either returns the exact bytes or fails with an S3 503 error, and
// that at least one fails; minio-go, lists, PUTs and the aws CLI must see
// the same clean failure.
func checkCleanFailures(ctx context.Context, t *testing.T, c *Cluster, bucket string, objs []*clusterObject) {
	t.Helper()
	var (
		mu         sync.Mutex
		ok, failed int
		codes      = map[string]int{}
		failedKey  string
	)
	for _, g := range c.Gateways {
		errs := parallel(len(objs), 3, func(i int) error {
			status, code, err := rawGetCheck(ctx, t, g.Server, bucket, objs[i])
			if err != nil {
				return fmt.Errorf("through %s: %w", g.Name, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if status == http.StatusOK {
				ok++
				return nil
			}
			failed++
			failedKey = objs[i].key
			codes[fmt.Sprintf("%d %s", status, code)]++
			if status != http.StatusServiceUnavailable {
				return fmt.Errorf("through %s: GET %s: HTTP %d %s, want 200 with the exact bytes or 503", g.Name, objs[i].key, status, code)
			}
			return nil
		})
		reportErrors(t, "reads with 3 nodes down through "+g.Name, errs)
	}
	t.Logf("reads with 3 nodes down: %d byte-identical, %d failed: %v", ok, failed, codes)
	if failed == 0 {
		t.Fatalf("with 3 of 6 nodes down every read succeeded; want 503s")
	}

	// minio-go (no retries) gets an S3 error response.
	g := c.Gateway(1)
	mc := minioWith(t, g.Server, testAccessKey, testSecretKey, 1)
	_, err := getAll(ctx, mc, bucket, failedKey, minio.GetObjectOptions{})
	if status, code := s3Status(err); status != http.StatusServiceUnavailable {
		t.Errorf("minio-go GET %s with 3 nodes down: %v (HTTP %d %s), want a 503 error response", failedKey, err, status, code)
	}

	// Listing and writing fail the same way (or a write succeeds and reads
	// back).
	for li := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if li.Err != nil {
			if status, _ := s3Status(li.Err); status != http.StatusServiceUnavailable {
				t.Errorf("LIST with 3 nodes down: %v (HTTP %d), want 503", li.Err, status)
			}
			break
		}
	}
	o := newClusterObject("down3/put", 300<<10, 77, "minio", 1)
	if _, err := mc.PutObject(ctx, bucket, o.key, streamOf(o.seed, o.size), o.size, minio.PutObjectOptions{}); err != nil {
		if status, _ := s3Status(err); status != http.StatusServiceUnavailable {
			t.Errorf("PUT with 3 nodes down: %v (HTTP %d), want success or 503", err, status)
		}
	} else if err := readObject(ctx, mc, bucket, o); err != nil {
		t.Errorf("PUT with 3 nodes down succeeded, but: %v", err)
	}

	// The aws CLI reports the failure (after its own retries).
	if out, err := g.AWS(ctx, "", "s3", "cp", "s3://"+bucket+"/"+failedKey, "-"); err == nil {
		t.Errorf("aws s3 cp with 3 nodes down succeeded:\n%.300s", out)
	} else if !strings.Contains(out, "503") && !strings.Contains(out, "ServiceUnavailable") {
		t.Errorf("aws s3 cp with 3 nodes down: %v, want a 503 / ServiceUnavailable message:\n%s", err, out)
	}
}

// s3Status returns the HTTP status and S3 code of a minio-go error (0, ""
// when it is not an S3 error response).
func s3Status(err error) (int, string) {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.StatusCode, er.Code
	}
	return 0, ""
}
