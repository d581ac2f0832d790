package tests

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

var (
	linLong = flag.Bool("lin.long", false, "run the linearizability test longer (about 3 minutes of operations)")
	linSeed = flag.Uint64("lin.seed", 0, "seed of the linearizability tests (0: from the clock, printed)")
)

// linOpTimeout bounds one operation: a change that the group cannot
// commit answers 503 within about 10 s.
const linOpTimeout = 12 * time.Second

// TestBucketTableLinearizable (issue 16): clients through both gateways
// of a 5-node cluster create, delete, head and list a few buckets and
// change the map's node weights while a seeded fault loop SIGKILLs,
// SIGSTOPs and restarts up to 2 nodes at a time, the metadata leader often
// among them; porcupine must find the history linearizable (Unknown, a
// check that timed out, fails too). A weight change that succeeds answers
// the map's epoch, its log position in the metadata group, so changes
// acknowledged one after another must answer growing epochs; the history
// ends with each gateway's list of buckets and, once the gateways settled
// on one map, each gateway's weights.
func TestBucketTableLinearizable(t *testing.T) {
	parallelHeavy(t, 40*time.Second)
	seed := linSeedOrClock(t)
	// The check's bound: a linearizable history checks in milliseconds;
	// one that is not, with many outcomes unknown (each may take effect
	// anywhere up to the end), can take porcupine's search much longer to
	// prove so, and its Unknown fails the test as well.
	duration, perClient, checkTimeout := 20*time.Second, 600, 15*time.Second
	if *linLong {
		duration, perClient, checkTimeout = 3*time.Minute, 5000, 5*time.Minute
	}
	ctx := testCtx(t, duration+checkTimeout+3*time.Minute)
	c := StartCluster(t, 5, 2, 3, 2)
	gws := linGateways(t, c)
	both := []int{0, 1}
	clients := []linClientSpec{{both, both, true}, {both, both, true}, {both, both, false}, {both, both, false}}

	h := newLinHistory()
	faults := &linFaults{t: t, c: c, rng: rand.New(rand.NewPCG(seed, 0xfa17)), start: h.start, down: map[int]linDown{}}
	until := time.Now().Add(duration)
	var wg sync.WaitGroup
	defer wg.Wait() // (if the fault loop fails the test)
	runLinClients(ctx, &wg, h, gws, clients, seed, until, perClient)
	faults.run(until)
	faults.healAll()
	wg.Wait()

	// The group has its majority back: each gateway's list ends the
	// history, which every change must have reached.
	metaLeader(t, c)
	linFinalLists(ctx, t, h, gws, len(clients))
	linFinalMaps(ctx, t, c, h, gws, len(clients))

	ops := h.close()
	res, info, verdict := linCheck(ops, checkTimeout)
	t.Logf("linearizability (seed %d, %v of operations, 4 clients through 2 gateways, 5 nodes; bucket table and map weights):\n  %s  faults (%d):\n    %s\n  %s",
		seed, duration, h.summary(), len(faults.log), strings.Join(faults.log, "\n    "), verdict)
	if res != porcupine.Ok {
		linVisualize(t, c, ops, info)
		t.Fatalf("the history of bucket operations is not proven linearizable: %s (rerun with -lin.seed=%d)", res, seed)
	}
}

// TestBucketTableStaleCopyCaught proves the checker can fail: gateway 2
// runs with ECSTORE_TEST_STALE_CATALOG=1, so its copy of the bucket table
// stops following the group after the first state; changes go through
// gateway 1, reads through gateway 2, and porcupine must find the history
// not linearizable.
func TestBucketTableStaleCopyCaught(t *testing.T) {
	parallelHeavy(t, 15*time.Second)
	seed := linSeedOrClock(t)
	ctx := testCtx(t, 2*time.Minute)
	c := StartClusterWith(t, 3, 2, 3, 2, func(c *Cluster) {
		c.Gateways[1].proc.env = append(c.Gateways[1].proc.env, "ECSTORE_TEST_STALE_CATALOG=1")
	})
	gws := linGateways(t, c)
	clients := []linClientSpec{{write: []int{0}, read: []int{1}}, {write: []int{0}, read: []int{1}}}
	h := newLinHistory()
	var wg sync.WaitGroup
	runLinClients(ctx, &wg, h, gws, clients, seed, time.Now().Add(5*time.Second), 200)
	wg.Wait()
	linFinalLists(ctx, t, h, gws, len(clients))

	ops := h.close()
	res, info, verdict := linCheck(ops, time.Minute)
	t.Logf("stale copy (seed %d): %s  %s", seed, h.summary(), verdict)
	if res != porcupine.Illegal {
		linVisualize(t, c, ops, info)
		t.Fatalf("porcupine did not catch gateway 2's stale copy: %s, want %s", res, porcupine.Illegal)
	}
	if !strings.Contains(c.Gateway(1).log(), "ECSTORE_TEST_STALE_CATALOG") {
		t.Fatal("gateway 2 does not log the stale-copy fault: was the hook applied?")
	}
}

func linSeedOrClock(t *testing.T) uint64 {
	seed := *linSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -lin.seed=%d)", seed, seed)
	return seed
}

// linClient is a minio-go client of g that tries each request once
// (minio-go retries a 503 ten times by default): the history then holds
// what the gateway answered.
func linClient(t *testing.T, g *ClusterGateway) *minio.Client {
	t.Helper()
	var rt http.RoundTripper = http.DefaultTransport
	if g.TLS != nil {
		rt = g.TLS.transport()
	}
	cl, err := minio.New(g.Addr, &minio.Options{Creds: credentials.NewStaticV4(testAccessKey, testSecretKey, ""), Region: "us-east-1",
		MaxRetries: 1, Transport: settledBodyTransport{rt}, Secure: g.TLS != nil})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// linGateways are the first two gateways of c, for the clients.
func linGateways(t *testing.T, c *Cluster) []linGateway {
	return []linGateway{{linClient(t, c.Gateway(0)), c.Gateway(0).Endpoint}, {linClient(t, c.Gateway(1)), c.Gateway(1).Endpoint}}
}

// linClientSpec is one client: the gateways (indexes) it sends its
// changes and its reads through, one picked at random per operation;
// weights: it changes map weights too.
type linClientSpec struct {
	write, read []int
	weights     bool
}

// runLinClients starts one goroutine per client (wg owns them); each does
// one operation at a time, chosen by its seeded RNG, until the time or
// its count runs out.
func runLinClients(ctx context.Context, wg *sync.WaitGroup, h *linHistory, gws []linGateway, specs []linClientSpec, seed uint64, until time.Time, perClient int) {
	for id, spec := range specs {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(id)))
			for range perClient {
				if time.Now().After(until) || ctx.Err() != nil {
					return
				}
				var in linInput
				switch p := rng.IntN(100); {
				case spec.weights && p < 6:
					in = linInput{Kind: linWeight, Bucket: rng.IntN(linNodes), Heavy: rng.IntN(2) == 0}
				case p < 30:
					in.Kind = linCreate
				case p < 55:
					in.Kind = linDelete
				case p < 80:
					in.Kind = linHead
				default:
					in.Kind = linList
				}
				if in.Kind != linWeight {
					in.Bucket = rng.IntN(len(linBuckets))
				}
				via := spec.read
				if in.Kind == linCreate || in.Kind == linDelete || in.Kind == linWeight {
					via = spec.write
				}
				gw := via[rng.IntN(len(via))]
				octx, cancel := context.WithTimeout(ctx, linOpTimeout)
				h.run(octx, id, gws[gw], fmt.Sprintf("gateway%d", gw+1), in)
				cancel()
				// A pause, so that the operations spread over the time
				// (and the faults) rather than the count running out.
				time.Sleep(time.Duration(20+rng.IntN(60)) * time.Millisecond)
			}
		})
	}
}

// linFinalLists lists the buckets through each gateway once every client
// is done (retrying a failed list for up to 30 s), as the history's last
// operations.
func linFinalLists(ctx context.Context, t *testing.T, h *linHistory, gws []linGateway, client int) {
	t.Helper()
	for i, gw := range gws {
		deadline := time.Now().Add(30 * time.Second)
		for {
			octx, cancel := context.WithTimeout(ctx, linOpTimeout)
			ok := h.run(octx, client, gw, fmt.Sprintf("gateway%d", i+1), linInput{Kind: linList})
			cancel()
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("ListBuckets through gateway%d still fails 30 s after the faults ended: %s", i+1, h.summary())
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// linFinalMaps waits (up to 90 s) until both gateways run on one map with
// no rebalance pending, then reads each one's weights as the history's
// last operations.
func linFinalMaps(ctx context.Context, t *testing.T, c *Cluster, h *linHistory, gws []linGateway, client int) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		a, errA := tryStatus(ctx, c.Gateway(0))
		b, errB := tryStatus(ctx, c.Gateway(1))
		if errA == nil && errB == nil && a.MapEpoch == b.MapEpoch && !a.Rebalance.Pending && !a.Rebalance.Running && !b.Rebalance.Pending && !b.Rebalance.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateways did not settle on one map 90 s after the faults ended: %v / %v", errA, errB)
		}
		time.Sleep(500 * time.Millisecond)
	}
	for i, gw := range gws {
		octx, cancel := context.WithTimeout(ctx, 30*time.Second)
		ok := h.run(octx, client, gw, fmt.Sprintf("gateway%d", i+1), linInput{Kind: linMapRead})
		cancel()
		if !ok {
			t.Fatalf("reading the map through gateway%d failed: %s", i+1, h.summary())
		}
	}
}

// linVisualize writes porcupine's view of the history (an HTML page) and
// the history as text, one operation a line by call time, to the
// cluster's log folder, kept when $ECSTORE_TEST_LOGDIR is set.
func linVisualize(t *testing.T, c *Cluster, ops []porcupine.Operation, info porcupine.LinearizationInfo) {
	t.Helper()
	sorted := slices.Clone(ops)
	slices.SortFunc(sorted, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
	var text strings.Builder
	for _, op := range sorted {
		fmt.Fprintf(&text, "%-32s %s\n", linModel.DescribeOperation(op.Input, op.Output), op.Metadata)
	}
	if err := os.WriteFile(filepath.Join(c.LogDir, "history.txt"), []byte(text.String()), 0o644); err != nil {
		t.Log(err)
	}
	path := filepath.Join(c.LogDir, "linearizability.html")
	if err := porcupine.VisualizePath(linModel, info, path); err != nil {
		t.Logf("porcupine visualization: %v", err)
		return
	}
	t.Logf("porcupine's visualization of the history: %s", path)
}

// linFaults is the seeded fault loop of TestBucketTableLinearizable: it
// SIGKILLs nodes (restarted later) and SIGSTOPs them (SIGCONT later),
// never more than 2 at a time, the metadata leader first two times in
// three.
type linFaults struct {
	t     *testing.T
	c     *Cluster
	rng   *rand.Rand
	start time.Time
	down  map[int]linDown // impaired nodes
	log   []string
}

// linDown is an impaired node: killed or paused, until when.
type linDown struct {
	killed bool
	until  time.Time
}

func (f *linFaults) logf(format string, args ...any) {
	f.log = append(f.log, fmt.Sprintf("%6.2fs ", time.Since(f.start).Seconds())+fmt.Sprintf(format, args...))
}

// run injects faults until the time is up (it returns with some nodes
// possibly still impaired: healAll).
func (f *linFaults) run(until time.Time) {
	next := time.Now().Add(time.Duration(500+f.rng.IntN(1500)) * time.Millisecond)
	for time.Now().Before(until) {
		now := time.Now()
		for i, d := range f.down {
			if now.After(d.until) {
				f.heal(i)
			}
		}
		if now.After(next) && len(f.down) < 2 {
			f.inject()
			next = time.Now().Add(time.Duration(500+f.rng.IntN(2000)) * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// inject impairs 1 or 2 nodes (as the budget of 2 allows) for 1.5 to 4 s.
func (f *linFaults) inject() {
	n := 1
	if len(f.down) == 0 && f.rng.IntN(3) == 0 {
		n = 2
	}
	var healthy []int
	for i := range f.c.Nodes {
		if _, ok := f.down[i]; !ok {
			healthy = append(healthy, i)
		}
	}
	f.rng.Shuffle(len(healthy), func(a, b int) { healthy[a], healthy[b] = healthy[b], healthy[a] })
	leader := -1
	if f.rng.IntN(3) < 2 {
		leader = f.leader()
	}
	if leader >= 0 {
		for k, i := range healthy {
			if i == leader {
				healthy[0], healthy[k] = healthy[k], healthy[0]
			}
		}
	}
	for k, i := range healthy[:n] {
		role := ""
		if k == 0 && i == leader {
			role = " (the metadata leader)"
		}
		d := linDown{killed: f.rng.IntN(2) == 0, until: time.Now().Add(time.Duration(1500+f.rng.IntN(2500)) * time.Millisecond)}
		if d.killed {
			f.c.KillNode(i)
			f.logf("SIGKILL node%d%s", i+1, role)
		} else {
			f.c.PauseNode(i)
			f.logf("SIGSTOP node%d%s", i+1, role)
		}
		f.down[i] = d
	}
}

// leader returns the node that says it leads the metadata group, among
// the nodes not impaired (-1: none says so now).
func (f *linFaults) leader() int {
	for i, n := range f.c.Nodes {
		if _, ok := f.down[i]; ok {
			continue
		}
		if st, err := nodeMetaStatus(n); err == nil && st.State == "Leader" {
			return i
		}
	}
	return -1
}

func (f *linFaults) heal(i int) {
	if f.down[i].killed {
		f.c.RestartNode(i)
		f.logf("node%d restarted (answers again)", i+1)
	} else {
		f.c.ResumeNode(i)
		f.logf("SIGCONT node%d", i+1)
	}
	delete(f.down, i)
}

// healAll restarts and resumes every impaired node.
func (f *linFaults) healAll() {
	for i := range f.down {
		f.heal(i)
	}
}
