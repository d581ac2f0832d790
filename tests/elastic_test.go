package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// Tests of elastic clusters: nodes added, drained and removed while the
// cluster serves S3, with the gateway's rebalancer moving shards to where
// the new cluster map places them.

// adminRun runs `ecstore admin ARGS...` against endpoint with the test
// credentials and returns its combined output. --endpoint goes right after
// the subcommand (`status`, `rebalance`, `heal`, or the two words `node
// add`...), before the subcommand's own flags and arguments. It gives up
// after 3 minutes.
func adminRun(t *testing.T, endpoint string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return adminRunCtx(ctx, endpoint, args...)
}

func adminRunCtx(ctx context.Context, endpoint string, args ...string) (string, error) {
	n := 1
	if len(args) > 1 && args[0] == "node" {
		n = 2
	}
	n = min(n, len(args))
	full := append([]string{"admin"}, args[:n]...)
	full = append(full, "--endpoint", endpoint)
	full = append(full, args[n:]...)
	cmd := exec.CommandContext(ctx, binPath, full...)
	cmd.Env = clusterEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// elasticStatus is the part of `ecstore admin status --json` these tests
// read.
type elasticStatus struct {
	Ready        bool `json:"ready"`
	DrivesOnline int  `json:"drives_online"`
	Drives       []struct {
		ID       string  `json:"id"`
		Node     string  `json:"node"`
		Zone     string  `json:"zone"`
		Weight   float64 `json:"weight"`
		Online   bool    `json:"online"`
		Records  int64   `json:"records"`
		Draining bool    `json:"draining"`
	} `json:"drives"`
	MapEpoch  int64           `json:"map_epoch"`
	Nodes     []elasticNode   `json:"nodes"`
	Rebalance rebalanceStatus `json:"rebalance"`
	Heal      struct {
		Running         bool   `json:"running"`
		Started         string `json:"started"`
		ObjectsScanned  int64  `json:"objects_scanned"`
		ObjectsRepaired int64  `json:"objects_repaired"`
		ObjectsFailed   int64  `json:"objects_failed"`
		DanglingRemoved int64  `json:"dangling_removed"`
	} `json:"heal"`
}

// elasticNode is a node of the cluster map in the status.
type elasticNode struct {
	ID           string `json:"id"`
	Address      string `json:"address"`
	Zone         string `json:"zone"`
	Draining     bool   `json:"draining"`
	SafeToRemove bool   `json:"safe_to_remove"`
}

// rebalanceStatus is the rebalance part of the status.
type rebalanceStatus struct {
	Pending        bool   `json:"pending"`
	Running        bool   `json:"running"`
	Epoch          int64  `json:"epoch"`
	ObjectsTotal   int64  `json:"objects_total"`
	ObjectsScanned int64  `json:"objects_scanned"`
	ObjectsFailed  int64  `json:"objects_failed"`
	ShardsScanned  int64  `json:"shards_scanned"`
	ShardsMoved    int64  `json:"shards_moved"`
	BytesMoved     int64  `json:"bytes_moved"`
	Started        string `json:"started"`
	Finished       string `json:"finished"`
	Error          string `json:"error"`
	Cursor         struct {
		Bucket string `json:"bucket"`
		Key    string `json:"key"`
	} `json:"cursor"`
}

func (r rebalanceStatus) String() string {
	return fmt.Sprintf("epoch %d pending=%v running=%v objects %d/%d (failed %d) shards moved %d of %d scanned, %d bytes moved, started %s finished %s error %q",
		r.Epoch, r.Pending, r.Running, r.ObjectsScanned, r.ObjectsTotal, r.ObjectsFailed, r.ShardsMoved, r.ShardsScanned, r.BytesMoved, r.Started, r.Finished, r.Error)
}

// duration is finished - started, 0 when either is unknown.
func (r rebalanceStatus) duration() time.Duration {
	s, err1 := time.Parse(time.RFC3339Nano, r.Started)
	f, err2 := time.Parse(time.RFC3339Nano, r.Finished)
	if err1 != nil || err2 != nil || s.IsZero() || f.IsZero() {
		return 0
	}
	return f.Sub(s)
}

// records adds the records of every drive.
func (st *elasticStatus) records() int64 {
	var n int64
	for _, d := range st.Drives {
		n += d.Records
	}
	return n
}

// driveRecords lists every drive as id=records.
func (st *elasticStatus) driveRecords() string {
	var parts []string
	for _, d := range st.Drives {
		s := fmt.Sprintf("%s=%d", d.ID, d.Records)
		if d.Draining {
			s += "(draining)"
		}
		if !d.Online {
			s += "(OFFLINE)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// node returns the node id of the map, or nil.
func (st *elasticStatus) node(id string) *elasticNode {
	for i := range st.Nodes {
		if st.Nodes[i].ID == id {
			return &st.Nodes[i]
		}
	}
	return nil
}

// tryStatus reads `ecstore admin status --json` through g.
func tryStatus(ctx context.Context, g *ClusterGateway) (*elasticStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := adminRunCtx(ctx, g.Endpoint, "status", "--json")
	i := strings.IndexByte(out, '{')
	if i < 0 {
		return nil, fmt.Errorf("admin status --json: %v, no JSON:\n%s", err, out)
	}
	var st elasticStatus
	if err := json.NewDecoder(strings.NewReader(out[i:])).Decode(&st); err != nil {
		return nil, fmt.Errorf("admin status --json: decoding: %v\n%s", err, out)
	}
	return &st, nil
}

// elasticStatusOf reads the status through g or fails the test.
func elasticStatusOf(ctx context.Context, t *testing.T, g *ClusterGateway) *elasticStatus {
	t.Helper()
	st, err := tryStatus(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// adminOK runs an admin command that must succeed and returns its output.
func adminOK(t *testing.T, c *Cluster, args ...string) string {
	t.Helper()
	out, err := adminRun(t, c.Gateway(0).Endpoint, args...)
	if err != nil {
		t.Fatalf("ecstore admin %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("ecstore admin %s:\n%s", strings.Join(args, " "), strings.TrimSpace(out))
	return out
}

// addNode starts a new node (id, zone, one drive) and adds it to the
// cluster with `ecstore admin node add`.
func addNode(t *testing.T, c *Cluster, id, zone string) *ClusterNode {
	t.Helper()
	n := c.StartNewNode(id, zone, 1)
	adminOK(t, c, "node", "add", "--address", n.Addr, "--zone", zone)
	return n
}

// rebalanceResult is what followRebalance saw.
type rebalanceResult struct {
	runs  []rebalanceStatus // the last status seen of each rebalance run (epoch and start), oldest first
	final *elasticStatus    // the status once no rebalance is pending
	wall  time.Duration     // from the call to the end
}

// moved, scanned: the shards moved by every run seen, and the shards the
// last run scanned (every shard of the cluster, as it was then).
func (r rebalanceResult) moved() (moved, scanned, bytes int64) {
	for _, run := range r.runs {
		moved += run.ShardsMoved
		bytes += run.BytesMoved
	}
	return moved, r.final.Rebalance.ShardsScanned, bytes
}

// duration is the time from the start of the first run to the end of the
// last, from the status (the wall time when it does not say).
func (r rebalanceResult) duration() time.Duration {
	if len(r.runs) == 0 {
		return r.wall
	}
	s, err1 := time.Parse(time.RFC3339Nano, r.runs[0].Started)
	f, err2 := time.Parse(time.RFC3339Nano, r.runs[len(r.runs)-1].Finished)
	if err1 != nil || err2 != nil || !f.After(s) {
		return r.wall
	}
	return f.Sub(s)
}

// followRebalance runs `ecstore admin rebalance --wait` and, beside it,
// polls the status every 500ms, keeping the last status of every rebalance
// run (a walk: its epoch and start time) of an epoch after sinceEpoch, until the command has returned and the
// status shows map epoch >= wantEpoch and no rebalance pending or running.
// It fails the test after timeout, or when the command fails (a rebalance
// that ended with failures).
func followRebalance(ctx context.Context, t *testing.T, c *Cluster, sinceEpoch, wantEpoch int64, timeout time.Duration) rebalanceResult {
	t.Helper()
	g := c.Gateway(0)
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		out string
		err error
	}
	waited := make(chan result, 1)
	go func() {
		out, err := adminRunCtx(wctx, g.Endpoint, "rebalance", "--wait")
		waited <- result{out, err}
	}()
	type runID struct {
		epoch   int64
		started string
	}
	runs := map[runID]rebalanceStatus{} // a failed walk is run again, same epoch
	var (
		cmdDone bool
		last    *elasticStatus
		lastErr error
	)
	for {
		select {
		case r := <-waited:
			cmdDone = true
			out := strings.TrimSpace(r.out)
			if i := strings.LastIndexByte(out, '\r'); i >= 0 {
				out = out[i+1:] // the last progress line
			}
			if r.err != nil {
				t.Errorf("ecstore admin rebalance --wait: %v after %v\n%s", r.err, time.Since(start).Round(time.Millisecond), r.out)
			} else {
				t.Logf("ecstore admin rebalance --wait returned after %v: %s", time.Since(start).Round(time.Millisecond), out)
			}
		case <-time.After(500 * time.Millisecond):
		}
		st, err := tryStatus(ctx, g)
		if err == nil {
			last = st
			if rb := st.Rebalance; rb.Epoch > sinceEpoch {
				runs[runID{rb.Epoch, rb.Started}] = rb
			}
			rb := st.Rebalance
			if cmdDone && !rb.Pending && !rb.Running && st.MapEpoch >= wantEpoch {
				if rb.Epoch != st.MapEpoch {
					// The map gets one more epoch when a rebalance ends:
					// the earlier layouts are dropped.
					t.Logf("the rebalance of epoch %d is over; map epoch now %d", rb.Epoch, st.MapEpoch)
				}
				res := rebalanceResult{final: st, wall: time.Since(start)}
				for _, run := range runs {
					res.runs = append(res.runs, run)
				}
				sort.Slice(res.runs, func(i, j int) bool {
					a, b := res.runs[i], res.runs[j]
					return a.Epoch < b.Epoch || a.Epoch == b.Epoch && a.Started < b.Started
				})
				return res
			}
		} else {
			lastErr = err
		}
		if time.Since(start) > timeout {
			if last != nil {
				t.Fatalf("after %v the rebalance is not over (want map epoch >= %d): map epoch %d, rebalance %v; last status error: %v", timeout, wantEpoch, last.MapEpoch, last.Rebalance, lastErr)
			}
			t.Fatalf("after %v no status: %v", timeout, lastErr)
		}
	}
}

// logRebalance logs a rebalance's numbers and checks the fraction of the
// shards it moved against ideal: within [0.5, 1.25] x ideal. The fraction
// is below the ideal when a workload runs beside it: new writes go to
// their new placement at once and need no move.
// It also logs the share of all shards that the new nodes hold now: with
// no workload beside it, the share a rebalance must move.
func logRebalance(t *testing.T, what string, r rebalanceResult, ideal float64, newNodes ...string) {
	t.Helper()
	for _, run := range r.runs {
		t.Logf("%s: run %v (%v)", what, run, run.duration().Round(time.Millisecond))
	}
	var onNew int64
	for _, d := range r.final.Drives {
		if slices.Contains(newNodes, d.Node) {
			onNew += d.Records
		}
	}
	if all := r.final.records(); all > 0 {
		t.Logf("%s: the new nodes %v hold %d of the %d shards = %.4f (ideal %.4f); records per drive: %s",
			what, newNodes, onNew, all, float64(onNew)/float64(all), ideal, r.final.driveRecords())
	}
	moved, scanned, bytes := r.moved()
	d := r.duration()
	frac := 0.0
	if scanned > 0 {
		frac = float64(moved) / float64(scanned)
	}
	mbs := 0.0
	if d > 0 {
		mbs = float64(bytes) / (1 << 20) / d.Seconds()
	}
	t.Logf("%s: %d runs; shards moved %d of %d scanned = %.4f (ideal %.4f, ratio %.2f); %.1f MiB moved in %v (%.1f MiB/s); %d objects scanned, %d failed; wall %v",
		what, len(r.runs), moved, scanned, frac, ideal, frac/ideal, float64(bytes)/(1<<20), d.Round(time.Millisecond), mbs,
		r.final.Rebalance.ObjectsScanned, r.final.Rebalance.ObjectsFailed, r.wall.Round(time.Millisecond))
	if scanned == 0 {
		t.Errorf("%s: the rebalance scanned no shards: %v", what, r.final.Rebalance)
		return
	}
	if frac > 1.25*ideal || frac < 0.5*ideal {
		t.Errorf("%s: moved %.4f of the shards, want within [%.4f, %.4f] (0.5 to 1.25 x the ideal %.4f)", what, frac, 0.5*ideal, 1.25*ideal, ideal)
	}
	if r.final.Rebalance.ObjectsFailed != 0 || r.final.Rebalance.Error != "" {
		t.Errorf("%s: the rebalance ended with %d objects failed, error %q", what, r.final.Rebalance.ObjectsFailed, r.final.Rebalance.Error)
	}
}

// elasticObjects returns n objects under prefix with seeds from seed0: most
// of 1-100 KiB, 1 in 10 of 200 KiB-1.5 MiB.
func elasticObjects(prefix string, n int, seed0 uint64) []*clusterObject {
	const ki = 1 << 10
	r := rand.New(rand.NewPCG(seed0, 7))
	objs := make([]*clusterObject, n)
	var wg sync.WaitGroup
	for i := range n {
		size := ki + r.Int64N(99*ki)
		if i%10 == 9 {
			size = 200*ki + r.Int64N(1336*ki)
		}
		wg.Go(func() {
			objs[i] = newClusterObject(fmt.Sprintf("%s/%04d", prefix, i), size, seed0+uint64(i), "minio", 0)
		})
	}
	wg.Wait()
	return objs
}

// uploadObjects writes objs through g with 4 workers.
func uploadObjects(ctx context.Context, t *testing.T, g *ClusterGateway, bucket string, objs []*clusterObject) {
	t.Helper()
	mc := g.Minio(t)
	start := time.Now()
	var total int64
	for _, o := range objs {
		total += o.size
	}
	errs := parallel(len(objs), 4, func(i int) error {
		o := objs[i]
		if _, err := mc.PutObject(ctx, bucket, o.key, streamOf(o.seed, o.size), o.size, minio.PutObjectOptions{}); err != nil {
			return fmt.Errorf("PUT %s (%d bytes): %w", o.key, o.size, err)
		}
		return nil
	})
	reportErrors(t, "uploading", errs)
	if t.Failed() {
		t.FailNow()
	}
	d := time.Since(start)
	t.Logf("uploaded %d objects, %.1f MiB, in %v (%.1f MiB/s)", len(objs), float64(total)/(1<<20), d.Round(time.Millisecond), float64(total)/(1<<20)/d.Seconds())
}

// elasticWorkload is a bounded S3 workload that runs beside a cluster
// change: PUTs of new keys, GETs checked byte for byte, overwrites, deletes
// (and GETs of deleted keys, which must say NoSuchKey). Each worker owns
// its keys, so the expected final state is exact. Only 503s, retried, are
// tolerated; any other error fails the test.
type elasticWorkload struct {
	t       *testing.T
	ctx     context.Context
	bucket  string
	mc      *minio.Client
	stop    atomic.Bool
	wg      sync.WaitGroup
	started time.Time

	maxDur time.Duration
	maxOps int64

	ops, gets, puts, overwrites, deletes, missing, heads, retries atomic.Int64

	mu      sync.Mutex
	errs    []error
	objs    map[string]*clusterObject // the expected state at the end
	deleted map[string]bool           // keys deleted and not written again
}

// startWorkload starts `workers` workers over g that own the initial
// objects objs (split among them) and run until stopped, for at most maxDur
// and maxOps operations in all.
func startWorkload(ctx context.Context, t *testing.T, g *ClusterGateway, bucket string, objs []*clusterObject, workers int, maxDur time.Duration, maxOps int64) *elasticWorkload {
	w := &elasticWorkload{t: t, ctx: ctx, bucket: bucket, mc: minioWith(t, g.Server, testAccessKey, testSecretKey, 1),
		started: time.Now(), maxDur: maxDur, maxOps: maxOps, objs: map[string]*clusterObject{}, deleted: map[string]bool{}}
	for i := range workers {
		var mine []*clusterObject
		for j := i; j < len(objs); j += workers {
			mine = append(mine, objs[j])
		}
		w.wg.Go(func() { w.run(i, mine) })
	}
	return w
}

// Stop ends the workload, waits for it, fails the test with its errors and
// returns the expected objects (sorted by key) and the deleted keys.
func (w *elasticWorkload) Stop() ([]*clusterObject, map[string]bool) {
	w.t.Helper()
	w.stop.Store(true)
	w.wg.Wait()
	w.t.Logf("workload: %d ops in %v: %d GETs, %d HEADs, %d PUTs of new keys, %d overwrites, %d deletes, %d GETs of deleted keys; %d retried 503s; %d errors",
		w.ops.Load(), time.Since(w.started).Round(time.Millisecond), w.gets.Load(), w.heads.Load(), w.puts.Load(), w.overwrites.Load(), w.deletes.Load(), w.missing.Load(), w.retries.Load(), len(w.errs))
	reportErrors(w.t, "workload during the cluster change", w.errs)
	var out []*clusterObject
	for _, o := range w.objs {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, w.deleted
}

// halt stops the workload and waits for it, without checking anything
// (for a test that ends early).
func (w *elasticWorkload) halt() {
	w.stop.Store(true)
	w.wg.Wait()
}

func (w *elasticWorkload) fail(err error) {
	w.mu.Lock()
	w.errs = append(w.errs, fmt.Errorf("at %.1fs: %w", time.Since(w.started).Seconds(), err))
	w.mu.Unlock()
}

// retry runs fn until it succeeds or fails with something other than a 503
// (at most 10 tries).
func (w *elasticWorkload) retry(fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if status, _ := s3Status(err); err == nil || status != http.StatusServiceUnavailable || attempt == 10 {
			return err
		}
		w.retries.Add(1)
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
}

func (w *elasticWorkload) run(id int, objs []*clusterObject) {
	const ki = 1 << 10
	r := rand.New(rand.NewPCG(uint64(id), 77))
	live := append([]*clusterObject{}, objs...)
	var deleted []string
	gone := map[string]bool{}
	seed := uint64(1_000_000 * (id + 1))
	newObj := func(key string) *clusterObject {
		seed++
		size := ki + r.Int64N(63*ki)
		if r.IntN(10) == 0 {
			size = 200*ki + r.Int64N(400*ki)
		}
		return newClusterObject(key, size, seed, "minio", 0)
	}
	put := func(o *clusterObject) error {
		return w.retry(func() error {
			_, err := w.mc.PutObject(w.ctx, w.bucket, o.key, streamOf(o.seed, o.size), o.size, minio.PutObjectOptions{})
			return err
		})
	}
	for n := 0; !w.stop.Load() && time.Since(w.started) < w.maxDur && w.ops.Add(1) <= w.maxOps; n++ {
		if w.ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond) // a background load: most of the 2 cores go to the rebalance
		op := r.IntN(100)
		switch {
		case op < 15 || len(live) == 0: // PUT a new key
			o := newObj(fmt.Sprintf("wl/%d/%05d", id, n))
			if err := put(o); err != nil {
				w.fail(fmt.Errorf("PUT new %s (%d bytes): %w", o.key, o.size, err))
				continue
			}
			live = append(live, o)
			w.puts.Add(1)
		case op < 55: // GET and check
			o := live[r.IntN(len(live))]
			if err := w.retry(func() error { return readObject(w.ctx, w.mc, w.bucket, o) }); err != nil {
				w.fail(err)
			}
			w.gets.Add(1)
		case op < 65: // HEAD
			o := live[r.IntN(len(live))]
			err := w.retry(func() error {
				st, err := w.mc.StatObject(w.ctx, w.bucket, o.key, minio.StatObjectOptions{})
				if err == nil && st.Size != o.size {
					return fmt.Errorf("HEAD %s: size %d, want %d", o.key, st.Size, o.size)
				}
				return err
			})
			if err != nil {
				w.fail(fmt.Errorf("HEAD %s: %w", o.key, err))
			}
			w.heads.Add(1)
		case op < 80: // overwrite
			i := r.IntN(len(live))
			o := newObj(live[i].key)
			if err := put(o); err != nil {
				w.fail(fmt.Errorf("overwrite %s (%d bytes): %w", o.key, o.size, err))
				continue
			}
			live[i] = o
			w.overwrites.Add(1)
		case op < 92: // delete
			i := r.IntN(len(live))
			o := live[i]
			if err := w.retry(func() error { return w.mc.RemoveObject(w.ctx, w.bucket, o.key, minio.RemoveObjectOptions{}) }); err != nil {
				w.fail(fmt.Errorf("DELETE %s: %w", o.key, err))
				continue
			}
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
			if !gone[o.key] {
				deleted = append(deleted, o.key)
			}
			gone[o.key] = true
			w.deletes.Add(1)
		default: // GET a deleted key
			if len(deleted) == 0 {
				continue
			}
			key := deleted[r.IntN(len(deleted))]
			if !gone[key] {
				continue
			}
			err := w.retry(func() error {
				_, err := getAll(w.ctx, w.mc, w.bucket, key, minio.GetObjectOptions{})
				return err
			})
			if _, code := s3Status(err); code != "NoSuchKey" {
				w.fail(fmt.Errorf("GET %s after its DELETE: %v, want NoSuchKey", key, err))
			}
			w.missing.Add(1)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range live {
		w.objs[o.key] = o
		gone[o.key] = false
	}
	for k, g := range gone {
		if g {
			w.deleted[k] = true
		}
	}
}

// verifyFinalState checks, through g, that every expected object reads
// back byte-identical, that every deleted key is gone, and that a listing
// shows exactly the expected keys with their sizes.
func verifyFinalState(ctx context.Context, t *testing.T, g *ClusterGateway, bucket string, objs []*clusterObject, deleted map[string]bool) {
	t.Helper()
	start := time.Now()
	verifyObjects(ctx, t, g, bucket, objs)
	mc := g.Minio(t)
	var keys []string
	for k := range deleted {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	errs := parallel(len(keys), 3, func(i int) error {
		_, err := mc.StatObject(ctx, bucket, keys[i], minio.StatObjectOptions{})
		if _, code := s3Status(err); code != "NoSuchKey" {
			return fmt.Errorf("HEAD %s after its DELETE: %v, want NoSuchKey", keys[i], err)
		}
		return nil
	})
	reportErrors(t, "deleted keys", errs)
	_, sizes := listKeys(ctx, t, mc, bucket, minio.ListObjectsOptions{Recursive: true})
	errs = nil
	for _, o := range objs {
		if n, ok := sizes[o.key]; !ok || n != o.size {
			errs = append(errs, fmt.Errorf("%s: listed=%v size %d, want %d", o.key, ok, n, o.size))
		}
		delete(sizes, o.key)
	}
	for k := range sizes {
		errs = append(errs, fmt.Errorf("%s: listed, but deleted=%v and never left by a write", k, deleted[k]))
	}
	reportErrors(t, "listing", errs)
	t.Logf("final state checked in %v: %d objects byte-identical, %d deleted keys gone, listing exact", time.Since(start).Round(time.Millisecond), len(objs), len(keys))
}

// checkRecords checks that the drives hold objects*(k+m) records in all
// and, when balanced, each within ±10% of objects*(k+m)/drives.
func checkRecords(t *testing.T, st *elasticStatus, objects int, balanced bool) {
	t.Helper()
	want := int64(objects) * 6
	if got := st.records(); got != want {
		t.Errorf("the drives hold %d records in all, want %d (%d objects x 6 shards): %s", got, want, objects, st.driveRecords())
	}
	if !balanced || len(st.Drives) == 0 {
		return
	}
	ideal := float64(want) / float64(len(st.Drives))
	worst, worstDrive := 0.0, ""
	for _, d := range st.Drives {
		if dev := float64(d.Records)/ideal - 1; abs(dev) > abs(worst) {
			worst, worstDrive = dev, d.ID
		}
	}
	t.Logf("records per drive (ideal %.1f = %d objects x 6/%d): %s; worst %s %+.1f%%", ideal, objects, len(st.Drives), st.driveRecords(), worstDrive, 100*worst)
	if abs(worst) > 0.10 {
		t.Errorf("drive %s holds %+.1f%% records off the ideal %.1f, want within ±10%%: %s", worstDrive, 100*worst, ideal, st.driveRecords())
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// TestElasticGrow grows a 6-node cluster (1 drive per node, EC 4+2) to 7,
// then to 9 nodes while a workload runs, and checks that the rebalancer
// moves about the ideal fraction of the shards (1/7, then 2/9), that nothing
// is lost or resurrected, and that the 9 drives end up balanced.
func TestElasticGrow(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process elastic cluster; skipped with -short")
	}
	parallelHeavy(t, 50*time.Second)
	ctx := testCtx(t, 10*time.Minute)
	start := time.Now()
	phase := func(what string) { t.Logf("%6.1fs  %s", time.Since(start).Seconds(), what) }
	c := StartCluster(t, 6, 1, 3, 1)
	g := c.Gateway(0)
	const bucket = "grow"
	if err := g.Minio(t).MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	objs := elasticObjects("obj", 1200, 10_000)
	uploadObjects(ctx, t, g, bucket, objs)
	st := elasticStatusOf(ctx, t, g)
	checkRecords(t, st, len(objs), true)
	epoch0 := st.MapEpoch
	phase(fmt.Sprintf("cluster of 6 up, %d objects written; map epoch %d", len(objs), epoch0))

	wl := startWorkload(ctx, t, g, bucket, objs, 2, 2*time.Minute, 6000)
	defer wl.halt()

	// 6 -> 7 nodes.
	addNode(t, c, "node7", "zone1")
	st = elasticStatusOf(ctx, t, g)
	if st.MapEpoch <= epoch0 || len(st.Nodes) != 7 || len(st.Drives) != 7 {
		t.Fatalf("after node add node7: map epoch %d (was %d), %d nodes, %d drives; want a new epoch, 7 nodes and 7 drives", st.MapEpoch, epoch0, len(st.Nodes), len(st.Drives))
	}
	epoch1 := st.MapEpoch
	phase(fmt.Sprintf("node7 added: map epoch %d", epoch1))
	// The ideal 1/7 assumes placement ignores zones. Placing 2 shards of
	// each object per zone, node7 (the 3rd node of zone1) can take only
	// 1/9 of the shards, which the 0.5x lower bound allows for.
	r1 := followRebalance(ctx, t, c, epoch0, epoch1, 4*time.Minute)
	phase("rebalance to 7 nodes done")
	logRebalance(t, "grow 6->7", r1, 1.0/7, "node7")

	// 7 -> 9 nodes, the two added back to back: one rebalance (of the last
	// epoch) covers both, replacing the one of the first add if it started.
	// We compare the shards moved by every walk seen after the first add
	// (normally one walk, of the last epoch; a walk that ends with failures
	// is run again, and the moves of both count) with the shards the last
	// walk scanned.
	n8 := c.StartNewNode("node8", "zone2", 1)
	n9 := c.StartNewNode("node9", "zone3", 1)
	adminOK(t, c, "node", "add", "--address", n8.Addr, "--zone", n8.Zone)
	// node9's metadata listener is named (--meta), not its port + 1000; a
	// name another node's listener has is refused first.
	if out, err := adminRunCtx(ctx, g.Endpoint, "node", "add", "--address", n9.Addr, "--meta", c.Nodes[0].Meta, "--zone", n9.Zone); err == nil || !strings.Contains(out, "already belongs to node") {
		t.Fatalf("admin node add with node1's metadata address: err %v, output %q; want a refusal", err, out)
	}
	n9.Meta = freeNodeAddr(t)
	adminOK(t, c, "node", "add", "--address", n9.Addr, "--meta", n9.Meta, "--zone", n9.Zone)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", n9.Meta, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node9 does not listen on the metadata address given with --meta (%s) 30 s after the add: %v", n9.Meta, err)
		}
	}
	st = elasticStatusOf(ctx, t, g)
	if st.MapEpoch < epoch1+2 || len(st.Nodes) != 9 || len(st.Drives) != 9 {
		t.Fatalf("after adding node8 and node9: map epoch %d (was %d), %d nodes, %d drives; want 2 new epochs, 9 nodes and 9 drives", st.MapEpoch, epoch1, len(st.Nodes), len(st.Drives))
	}
	epoch2 := st.MapEpoch
	phase(fmt.Sprintf("node8 and node9 added: map epoch %d", epoch2))
	r2 := followRebalance(ctx, t, c, epoch1, epoch2, 4*time.Minute)
	phase("rebalance to 9 nodes done")
	logRebalance(t, "grow 7->9", r2, 2.0/9, "node8", "node9")

	final, deleted := wl.Stop()
	phase(fmt.Sprintf("workload stopped: %d objects expected, %d keys deleted", len(final), len(deleted)))
	verifyFinalState(ctx, t, g, bucket, final, deleted)
	phase("final state verified")
	st = elasticStatusOf(ctx, t, g)
	if !st.Ready || st.DrivesOnline != 9 {
		t.Errorf("status after growing to 9: ready=%v, %d drives online, want ready and 9", st.Ready, st.DrivesOnline)
	}
	checkRecords(t, st, len(final), true)
}

// TestElasticDrain drains node7 of a 7-node cluster while a workload runs,
// removes it once the status says it is safe, kills it and checks that
// every object is still there, byte-identical.
func TestElasticDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process elastic cluster; skipped with -short")
	}
	parallelHeavy(t, 25*time.Second)
	ctx := testCtx(t, 8*time.Minute)
	start := time.Now()
	phase := func(what string) { t.Logf("%6.1fs  %s", time.Since(start).Seconds(), what) }
	c := StartCluster(t, 7, 1, 3, 1)
	g := c.Gateway(0)
	const bucket = "drain"
	if err := g.Minio(t).MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	objs := elasticObjects("obj", 600, 20_000)
	uploadObjects(ctx, t, g, bucket, objs)
	st := elasticStatusOf(ctx, t, g)
	checkRecords(t, st, len(objs), false)
	epoch0 := st.MapEpoch
	phase(fmt.Sprintf("cluster of 7 up, %d objects written; map epoch %d; %s", len(objs), epoch0, st.driveRecords()))

	// A node that is not draining cannot be removed.
	for _, id := range []string{"node3", "node7"} {
		if out, err := adminRun(t, g.Endpoint, "node", "remove", id); err == nil {
			t.Fatalf("ecstore admin node remove %s of a node that is not draining succeeded:\n%s", id, out)
		} else {
			t.Logf("node remove %s before any drain fails as it should: %v: %s", id, err, strings.TrimSpace(out))
		}
	}

	wl := startWorkload(ctx, t, g, bucket, objs, 2, 2*time.Minute, 6000)
	defer wl.halt()

	adminOK(t, c, "node", "drain", "node7")
	st = elasticStatusOf(ctx, t, g)
	if n := st.node("node7"); n == nil || !n.Draining || st.MapEpoch <= epoch0 {
		t.Fatalf("after node drain node7: map epoch %d (was %d), node7 %+v; want a new epoch and node7 draining", st.MapEpoch, epoch0, n)
	}
	drainStart := time.Now()
	phase(fmt.Sprintf("node7 draining: map epoch %d", st.MapEpoch))

	// Wait until node7 is safe to remove.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st = elasticStatusOf(ctx, t, g)
		if n := st.node("node7"); n != nil && n.SafeToRemove {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("3 minutes after the drain, node7 is not safe to remove: node7 %+v; rebalance %v; %s", st.node("node7"), st.Rebalance, st.driveRecords())
		}
		time.Sleep(time.Second)
	}
	rb := st.Rebalance
	phase(fmt.Sprintf("node7 safe to remove after %v: rebalance %v (%v)", time.Since(drainStart).Round(time.Millisecond), rb, rb.duration().Round(time.Millisecond)))
	if d := rb.duration(); d > 0 {
		t.Logf("drain: %d shards moved, %.1f MiB in %v (%.1f MiB/s)", rb.ShardsMoved, float64(rb.BytesMoved)/(1<<20), d.Round(time.Millisecond), float64(rb.BytesMoved)/(1<<20)/d.Seconds())
	}
	for _, d := range st.Drives {
		if d.Node == "node7" && d.Records != 0 {
			t.Errorf("node7 is safe to remove, but its drive %s holds %d records", d.ID, d.Records)
		}
	}
	adminOK(t, c, "node", "remove", "node7")
	st = elasticStatusOf(ctx, t, g)
	if st.node("node7") != nil || len(st.Nodes) != 6 {
		t.Errorf("after node remove node7 the map still has node7, or not 6 nodes: %+v", st.Nodes)
	}
	c.KillNode(6)
	phase("node7 removed and killed")
	time.Sleep(5 * time.Second) // the workload goes on without node7

	final, deleted := wl.Stop()
	phase(fmt.Sprintf("workload stopped: %d objects expected, %d keys deleted", len(final), len(deleted)))
	verifyFinalState(ctx, t, g, bucket, final, deleted)
	phase("final state verified with node7 gone")
	st = elasticStatusOf(ctx, t, g)
	for _, d := range st.Drives {
		if d.Node == "node7" {
			t.Errorf("status after removing node7 still shows its drive %s", d.ID)
		}
	}
	if !st.Ready || st.DrivesOnline != 6 || len(st.Drives) != 6 {
		t.Errorf("status after removing node7: ready=%v, %d of %d drives online, want ready and 6 of 6", st.Ready, st.DrivesOnline, len(st.Drives))
	}
	checkRecords(t, st, len(final), false)
	t.Logf("records per drive after the drain: %s", st.driveRecords())
}

// TestElasticRebalancerKilled SIGKILLs the gateway in the middle of a
// rebalance and starts it again: once it holds the rebalance lease again
// (the killed one's ran out), the rebalance must resume and end with
// every object readable, exactly k+m shards per object, and nothing left for
// a heal to repair.
func TestElasticRebalancerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process elastic cluster; skipped with -short")
	}
	parallelHeavy(t, 35*time.Second)
	ctx := testCtx(t, 8*time.Minute)
	start := time.Now()
	phase := func(what string) { t.Logf("%6.1fs  %s", time.Since(start).Seconds(), what) }
	c := StartClusterWith(t, 6, 1, 3, 1, shortLeases)
	g := c.Gateway(0)
	const bucket = "rebalkill"
	if err := g.Minio(t).MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	const ki = 1 << 10
	r := rand.New(rand.NewPCG(3, 400))
	objs := make([]*clusterObject, 400)
	var wg sync.WaitGroup
	for i := range objs {
		size := 300*ki + r.Int64N(724*ki)
		wg.Go(func() { objs[i] = newClusterObject(fmt.Sprintf("big/%03d", i), size, uint64(30_000+i), "minio", 0) })
	}
	wg.Wait()
	uploadObjects(ctx, t, g, bucket, objs)
	st := elasticStatusOf(ctx, t, g)
	epoch0 := st.MapEpoch
	phase(fmt.Sprintf("cluster of 6 up, %d objects written; map epoch %d", len(objs), epoch0))

	addNode(t, c, "node7", "zone1")
	phase("node7 added")
	// Kill the gateway once the rebalance has moved shards and walked a
	// quarter of the objects, and has run for 3s (its progress is saved
	// every second, so the restarted gateway has a cursor to resume from).
	deadline := time.Now().Add(2 * time.Minute)
	var killed rebalanceStatus
	for {
		st, err := tryStatus(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		rb := st.Rebalance
		started, _ := time.Parse(time.RFC3339Nano, rb.Started)
		if rb.Running && rb.ShardsMoved > 0 && rb.ObjectsScanned*4 >= rb.ObjectsTotal && time.Since(started) > 3*time.Second {
			g.Kill()
			killed = rb
			phase(fmt.Sprintf("gateway SIGKILLed during the rebalance, last status: %v", rb))
			break
		}
		if !rb.Running && !rb.Pending && rb.Epoch > epoch0 {
			t.Fatalf("the rebalance ended before it could be interrupted: %v", rb)
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 minutes after the add no shard moved: %v", rb)
		}
		time.Sleep(100 * time.Millisecond)
	}
	g.Start()
	phase("gateway started again")
	// The rebalance runs under a lease of the metadata group: the killed
	// process's lease runs out (6 s after its last renewal, shortLeases)
	// before the restarted one, a new holder, is granted it and resumes
	// the walk.
	deadline = time.Now().Add(90 * time.Second)
	for {
		st = elasticStatusOf(ctx, t, g)
		if rb := st.Rebalance; rb.Running || !rb.Pending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("90 s after the restart the rebalance has not started again: %v", st.Rebalance)
		}
		time.Sleep(500 * time.Millisecond)
	}
	phase("the restarted gateway holds the rebalance lease")
	t.Logf("status after the restart: map epoch %d, %d nodes, rebalance %v, cursor %+v", st.MapEpoch, len(st.Nodes), st.Rebalance, st.Rebalance.Cursor)
	if rb := st.Rebalance; rb.Epoch != killed.Epoch || rb.Started != killed.Started || rb.Cursor.Key == "" {
		t.Errorf("the restarted gateway does not resume the rebalance it was running (epoch %d started %s, %d objects scanned): it shows epoch %d started %s, cursor %+v",
			killed.Epoch, killed.Started, killed.ObjectsScanned, rb.Epoch, rb.Started, rb.Cursor)
	}
	if st.MapEpoch <= epoch0 || len(st.Drives) != 7 {
		t.Errorf("the restarted gateway has map epoch %d (before the add: %d) and %d drives, want the map with node7", st.MapEpoch, epoch0, len(st.Drives))
	}
	// Wait for the resumed rebalance (no `admin rebalance --wait` here: the
	// status alone says when it is over).
	deadline = time.Now().Add(3 * time.Minute)
	for {
		st = elasticStatusOf(ctx, t, g)
		if rb := st.Rebalance; !rb.Pending && !rb.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("3 minutes after the gateway restart the rebalance is not over: %v", st.Rebalance)
		}
		time.Sleep(500 * time.Millisecond)
	}
	phase(fmt.Sprintf("rebalance over after the restart: %v (%v)", st.Rebalance, st.Rebalance.duration().Round(time.Millisecond)))
	if rb := st.Rebalance; rb.ObjectsFailed != 0 || rb.Error != "" {
		t.Errorf("the resumed rebalance ended with %d objects failed, error %q", rb.ObjectsFailed, rb.Error)
	}

	verifyObjects(ctx, t, g, bucket, objs)
	verifyListing(ctx, t, g, bucket, objs)
	phase("every object read back byte-identical")
	checkRecords(t, st, len(objs), false)
	t.Logf("records per drive after the resumed rebalance: %s", st.driveRecords())
	for _, d := range st.Drives {
		if d.Node == "node7" && d.Records == 0 {
			t.Errorf("node7's drive %s holds no records after the rebalance", d.ID)
		}
	}

	healStart := time.Now()
	adminOK(t, c, "heal")
	st = elasticStatusOf(ctx, t, g)
	h := st.Heal
	phase(fmt.Sprintf("heal after the rebalance in %v: %d objects scanned, %d repaired, %d failed, %d dangling removed",
		time.Since(healStart).Round(time.Millisecond), h.ObjectsScanned, h.ObjectsRepaired, h.ObjectsFailed, h.DanglingRemoved))
	if h.ObjectsRepaired != 0 || h.ObjectsFailed != 0 {
		t.Errorf("the heal after the resumed rebalance repaired %d objects and failed %d, want 0 and 0", h.ObjectsRepaired, h.ObjectsFailed)
	}
	if h.ObjectsScanned < int64(len(objs)) {
		t.Errorf("the heal scanned %d objects, want >= %d", h.ObjectsScanned, len(objs))
	}
}

// shortLeases gives the gateways of c job leases of 6 s instead of 30
// (ECSTORE_TEST_LEASE_TTL), for the tests that wait for one to pass on.
func shortLeases(c *Cluster) {
	for _, g := range c.Gateways {
		g.proc.env = append(g.proc.env, "ECSTORE_TEST_LEASE_TTL=6s")
	}
}

// rebalanceHolder returns the index of the gateway (of c) that holds the
// rebalance lease, as gateway gw's status shows it; -1 when none does.
func rebalanceHolder(ctx context.Context, c *Cluster, gw int) int {
	out, err := adminRunCtx(ctx, c.Gateway(gw).Endpoint, "status", "--json")
	i := strings.IndexByte(out, '{')
	if err != nil || i < 0 {
		return -1
	}
	var st struct {
		Metadata struct {
			Jobs []struct {
				Job     string    `json:"job"`
				Holder  string    `json:"holder"`
				Expires time.Time `json:"expires"`
			} `json:"jobs"`
		} `json:"metadata"`
	}
	if json.NewDecoder(strings.NewReader(out[i:])).Decode(&st) != nil {
		return -1
	}
	for _, j := range st.Metadata.Jobs {
		if j.Job != "rebalance" || time.Now().After(j.Expires) {
			continue
		}
		for k, g := range c.Gateways {
			if strings.Contains(j.Holder, "/"+g.Addr+"/") {
				return k
			}
		}
	}
	return -1
}

// TestRebalanceLeaseTakeover (issue 16): the rebalance runs on the gateway
// holding the rebalance lease of the metadata group, whichever made the
// map change. SIGSTOP that gateway mid-rebalance: the other one is granted
// the lease once it runs out and finishes the rebalance. SIGCONT the old
// holder: it finds its lease gone and stops (and a move it still sends
// carries its old fencing token, which the drives refuse). Every object
// reads back, and a heal afterwards has nothing to repair.
func TestRebalanceLeaseTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process elastic cluster; skipped with -short")
	}
	parallelHeavy(t, 35*time.Second)
	ctx := testCtx(t, 6*time.Minute)
	start := time.Now()
	phase := func(what string) { t.Logf("%6.1fs  %s", time.Since(start).Seconds(), what) }
	c := StartClusterWith(t, 6, 1, 3, 2, shortLeases)
	const bucket = "takeover"
	if err := c.Gateway(0).Minio(t).MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 500))
	objs := make([]*clusterObject, 400)
	for i := range objs {
		objs[i] = newClusterObject(fmt.Sprintf("o/%03d", i), 300<<10+r.Int64N(700<<10), uint64(50_000+i), "minio", 0)
	}
	uploadObjects(ctx, t, c.Gateway(0), bucket, objs)
	holder := -1
	for deadline := time.Now().Add(30 * time.Second); holder < 0; time.Sleep(300 * time.Millisecond) {
		if holder = rebalanceHolder(ctx, c, 0); holder < 0 && time.Now().After(deadline) {
			t.Fatal("no gateway holds the rebalance lease 30 s after the start")
		}
	}
	other := 1 - holder
	phase(fmt.Sprintf("%d objects written; gateway%d holds the rebalance lease", len(objs), holder+1))

	// The change is made through the other gateway: the holder runs it.
	n7 := c.StartNewNode("node7", "zone1", 1)
	if out, err := adminRunCtx(ctx, c.Gateway(other).Endpoint, "node", "add", "--address", n7.Addr, "--zone", "zone1"); err != nil {
		t.Fatalf("admin node add through gateway%d: %v\n%s", other+1, err, out)
	}
	var stopped rebalanceStatus
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		st := elasticStatusOf(ctx, t, c.Gateway(holder))
		if rb := st.Rebalance; rb.Running && rb.ShardsMoved > 0 {
			c.Gateway(holder).proc.signal(syscall.SIGSTOP)
			stopped = rb
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lease holder gateway%d did not start moving shards within a minute: %v", holder+1, st.Rebalance)
		}
	}
	phase(fmt.Sprintf("gateway%d SIGSTOPped mid-rebalance: %v", holder+1, stopped))
	resumed := false
	defer func() {
		if !resumed {
			c.Gateway(holder).proc.signal(syscall.SIGCONT)
		}
	}()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		st := elasticStatusOf(ctx, t, c.Gateway(other))
		if rb := st.Rebalance; !rb.Pending && !rb.Running {
			// (Its scanner, whose lease it took over too, may have moved
			// the shards first: a heal puts misplaced shards home.)
			if rb.ObjectsScanned < int64(len(objs)) || rb.ObjectsFailed != 0 || rb.Error != "" {
				t.Fatalf("gateway%d's rebalance: %v; want every object walked, none failed", other+1, rb)
			}
			checkRecords(t, st, len(objs), false)
			for _, d := range st.Drives {
				if d.Node == "node7" && d.Records == 0 {
					t.Errorf("node7's drive %s holds no records after the rebalance", d.ID)
				}
			}
			phase(fmt.Sprintf("gateway%d took the lease over and finished the rebalance: %v", other+1, rb))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("3 minutes after gateway%d stopped, the rebalance is not over: %v", holder+1, st.Rebalance)
		}
	}
	c.Gateway(holder).proc.signal(syscall.SIGCONT)
	resumed = true
	phase(fmt.Sprintf("gateway%d resumed", holder+1))
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		st, err := tryStatus(ctx, c.Gateway(holder))
		if err == nil && !st.Rebalance.Running && !st.Rebalance.Pending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the old holder still rebalances a minute after it resumed: %v %v", st, err)
		}
	}
	if log := c.Gateway(holder).log(); !strings.Contains(log, "job lease lost") && !strings.Contains(log, "job lease not renewed in time") {
		t.Errorf("the old holder does not log that it lost the rebalance lease")
	}
	for _, g := range c.Gateways {
		verifyObjects(ctx, t, g, bucket, objs)
	}
	phase("every object read back through both gateways")
	adminOK(t, c, "heal")
	h := elasticStatusOf(ctx, t, c.Gateway(0)).Heal
	if h.ObjectsRepaired != 0 || h.ObjectsFailed != 0 || h.ObjectsScanned < int64(len(objs)) {
		t.Errorf("the heal after the takeover: %d scanned, %d repaired, %d failed; want all scanned, nothing to repair", h.ObjectsScanned, h.ObjectsRepaired, h.ObjectsFailed)
	}
}
