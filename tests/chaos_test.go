package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ecstore/ecstore/internal/crashpoint"
)

var (
	chaosLong = flag.Bool("chaos.long", false, "run the chaos test longer (more operations and faults)")
	chaosSeed = flag.Uint64("chaos.seed", 0, "seed of the chaos test (0: from the clock, printed)")
)

// chaosModel keeps, for every key, the states a reader may legitimately see:
// the last acknowledged version, plus every version whose write (or delete)
// failed or was still in flight, since such a write may or may not have
// taken effect. "" stands for "absent".
type chaosModel struct {
	mu    sync.Mutex
	allow map[string]map[string]bool // key -> sha256 hex (or "") -> allowed
	acked map[string]bool            // keys whose state is known exactly
}

func newChaosModel() *chaosModel {
	return &chaosModel{allow: map[string]map[string]bool{}, acked: map[string]bool{}}
}

func (m *chaosModel) states(key string) map[string]bool {
	s := m.allow[key]
	if s == nil {
		s = map[string]bool{"": true}
		m.allow[key] = s
	}
	return s
}

// begin records a write (sum, or "" for a delete) in flight.
func (m *chaosModel) begin(key, sum string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.states(key)[sum] = true
	m.acked[key] = false
}

// ack records a write that the store acknowledged: only it remains.
func (m *chaosModel) ack(key, sum string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.allow[key] = map[string]bool{sum: true}
	m.acked[key] = true
}

// shared records a write to a key every client writes (through both
// gateways at once): any whole version written may be current, and once
// one write was acknowledged the key can no longer be absent.
func (m *chaosModel) shared(key, sum string, acked bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.states(key)
	s[sum] = true
	if acked {
		delete(s, "")
	}
}

// snapshot returns a copy of the states allowed for key.
func (m *chaosModel) snapshot(key string) map[string]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.states(key))
}

func (m *chaosModel) allowed(key, sum string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.states(key)[sum]
}

// chaosInFlight is the gateways' in-flight window in the chaos test
// (ECSTORE_TEST_INFLIGHT_WINDOW): the age below which a record counts as
// a write still committing. Its faults stall a commit for 4 s at most (a
// frozen node's pause), so 15 s is safe here; the default, 10 minutes,
// would keep the heal from removing the leftovers of the run's last
// deletes that a drive missed, and from settling split keys.
const chaosInFlight = 15 * time.Second

var chaosInFlightEnv = "ECSTORE_TEST_INFLIGHT_WINDOW=" + chaosInFlight.String()

func sum(b []byte) string { s := sha256.Sum256(b); return fmt.Sprintf("%x", s[:]) }

// chaosStats are the counts the test prints.
type chaosStats struct {
	puts, multiparts, gets, deletes, lists, opErrors atomic.Int64
	dupCompletes, aborts, slowReads, hung            atomic.Int64
	wrongBytes                                       atomic.Int64
	faults                                           map[string]int
	errMu                                            sync.Mutex
	errKinds                                         map[string]int
}

// opFailed counts a failed operation by kind and S3 code.
func (s *chaosStats) opFailed(op string, err error) {
	s.opErrors.Add(1)
	code := minio.ToErrorResponse(err).Code
	if code == "" {
		code = err.Error()
		if len(code) > 60 {
			code = code[:60]
		}
	}
	s.errMu.Lock()
	s.errKinds[op+": "+code]++
	s.errMu.Unlock()
}

// signalNode sends a signal to node i's process (SIGSTOP / SIGCONT).
func (c *Cluster) signalNode(i int, sig syscall.Signal) {
	p := c.Nodes[i].proc
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}

// shardFilesOf lists the shard files on node i's drives.
func (c *Cluster) shardFilesOf(i int) []string {
	var files []string
	for _, d := range c.Nodes[i].Dirs {
		_ = filepath.Walk(filepath.Join(d, "data"), func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
	}
	sort.Strings(files)
	return files
}

// TestChaos runs a seeded workload of PUT/GET/DELETE/multipart/list from
// several clients through two gateways of a 6-node cluster (EC 4+2) while a
// fault injector kills and restarts nodes, freezes them (SIGSTOP), deletes
// shard files and flips bytes in them, empties a drive folder under a live
// node, never impairing more than m=2 nodes at once, fills a drive to the
// last byte (a tmpfs), kills gateways in the middle of requests and makes
// them SIGKILL themselves at named steps of Complete, PUT and DELETE (crash
// safety: a write cut off midway must leave the old version or the new,
// never a mix), and stalls clients mid-body. Alongside the workload, Completes
// of one upload race through both gateways, leftover uploads are aborted,
// and a slow reader reads a key that is being overwritten. Every GET during the run must return an allowed version; at the
// end, after a deep heal, every object must be exactly its last acknowledged
// version (or absent if deleted), and still so with 2 nodes killed, which
// proves full redundancy was restored.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos: skipped with -short")
	}
	parallelHeavy(t, 60*time.Second)
	seed := *chaosSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("chaos seed %d (rerun with -chaos.seed=%d)", seed, seed)
	duration, clients, keysPerClient := 45*time.Second, 4, 40
	if *chaosLong {
		duration, clients, keysPerClient = 5*time.Minute, 6, 150
	}
	ctx := testCtx(t, duration+6*time.Minute)
	// The last node's second drive lives on a small tmpfs of its own, so the
	// injector can fill it (needs root; without it that fault is skipped).
	var fullDir string
	c := StartClusterWith(t, 6, 2, 3, 2, func(c *Cluster) {
		// Stalled clients are cut after 3 s; a gateway (re)started aborts
		// the uploads older than 10 s (leftovers of Completes cut short
		// by a crash among them: the abort must never touch a committed
		// object).
		for _, g := range c.Gateways {
			g.proc.args = append(g.proc.args, "--body-idle-timeout", chaosBodyIdle.String(), "--upload-expiry", "10s")
			g.proc.env = append(g.proc.env, chaosInFlightEnv)
		}
		dir := c.Nodes[5].Dirs[1]
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return
		}
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", dir).CombinedOutput(); err != nil {
			t.Logf("chaos: no tmpfs for the fill-a-drive fault (%v: %s); that fault is skipped", err, out)
			return
		}
		fullDir = dir
		t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	})
	gws := []*minio.Client{c.Gateway(0).Minio(t), c.Gateway(1).Minio(t)}
	const bucket = "chaos"
	if err := gws[0].MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	model := newChaosModel()
	st := &chaosStats{faults: map[string]int{}, errKinds: map[string]int{}}
	allKeys := []string{"shared/hot0", "shared/hot1", "shared/hot2", "shared/big"}
	for cl := range clients {
		for k := range keysPerClient {
			allKeys = append(allKeys, fmt.Sprintf("client%d/key%03d", cl, k))
		}
	}

	// The workload: each client owns its keys, so the model is exact.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for cl := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(cl)))
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				gw := gws[rng.IntN(2)]
				key := fmt.Sprintf("client%d/key%03d", cl, rng.IntN(keysPerClient))
				octx, cancel := context.WithTimeout(ctx, 30*time.Second)
				switch op := rng.IntN(100); {
				case op < 40: // PUT
					size := rng.IntN(64 << 10)
					if rng.IntN(10) == 0 {
						size = 1<<20 + rng.IntN(2<<20)
					}
					data := randData(rng.Uint64(), size)
					model.begin(key, sum(data))
					st.puts.Add(1)
					if _, err := gw.PutObject(octx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err == nil {
						model.ack(key, sum(data))
					} else {
						st.opFailed("PUT", err)
					}
				case op < 43: // multipart (minio-go splits at PartSize)
					data := randData(rng.Uint64(), 5<<20+rng.IntN(3<<20))
					model.begin(key, sum(data))
					st.multiparts.Add(1)
					if _, err := gw.PutObject(octx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: 5 << 20}); err == nil {
						model.ack(key, sum(data))
					} else {
						st.opFailed("multipart", err)
					}
				case op < 45: // a multipart upload whose Complete is sent 3 times at once, through both gateways
					chaosDuplicateCompletes(octx, t, rng, gws, bucket, key, model, st)
				case op < 80: // GET
					st.gets.Add(1)
					got, err := getAll(octx, gw, bucket, key, minio.GetObjectOptions{})
					switch {
					case err == nil && !model.allowed(key, sum(got)):
						st.wrongBytes.Add(1)
						t.Errorf("GET %s returned %d bytes that no writer wrote (or that were replaced before)", key, len(got))
					case err != nil && minio.ToErrorResponse(err).Code == "NoSuchKey" && model.allowed(key, ""):
						// Absent, as it may be.
					case err != nil && minio.ToErrorResponse(err).Code == "NoSuchKey":
						// A key the model holds as written read as absent:
						// what each drive holds tells why.
						st.opFailed("GET", err)
						t.Logf("GET %s answered NoSuchKey at %s; the model allows %v; the drives hold:\n%s",
							key, time.Now().Format("15:04:05.000"), model.snapshot(key), dumpKey(c, bucket, key))
					case err != nil:
						st.opFailed("GET", err)
					}
				case op < 90: // DELETE
					model.begin(key, "")
					st.deletes.Add(1)
					if err := gw.RemoveObject(octx, bucket, key, minio.RemoveObjectOptions{}); err == nil {
						model.ack(key, "")
					} else {
						st.opFailed("DELETE", err)
					}
				case op < 92: // abort this client's uploads left by failed multipart writes
					chaosAbortLeftovers(octx, gws[rng.IntN(2)], bucket, fmt.Sprintf("client%d/", cl), st)
				case op >= 96: // concurrent writers of shared keys, both gateways
					key := fmt.Sprintf("shared/hot%d", rng.IntN(3))
					data := randData(rng.Uint64(), rng.IntN(200<<10))
					model.shared(key, sum(data), false)
					st.puts.Add(1)
					if _, err := gw.PutObject(octx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err == nil {
						model.shared(key, sum(data), true)
					} else {
						st.opFailed("PUT shared", err)
					}
				default: // LIST: only keys somebody wrote
					st.lists.Add(1)
					for obj := range gw.ListObjects(octx, bucket, minio.ListObjectsOptions{Prefix: fmt.Sprintf("client%d/", cl), Recursive: true}) {
						if obj.Err != nil {
							st.opFailed("LIST", obj.Err)
							break
						}
						if !strings.HasPrefix(obj.Key, fmt.Sprintf("client%d/key", cl)) {
							t.Errorf("listing shows %q, which nobody wrote", obj.Key)
						}
					}
				}
				cancel()
			}
		})
	}

	// A writer overwrites shared/big (multipart) while a slow reader reads
	// it: every GET that starts must end with one whole version.
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(seed, 0xb16))
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(200+rng.IntN(800)) * time.Millisecond):
			}
			data := randData(rng.Uint64(), 5<<20+rng.IntN(6<<20))
			model.shared("shared/big", sum(data), false)
			octx, cancel := context.WithTimeout(ctx, 60*time.Second)
			_, err := gws[rng.IntN(2)].PutObject(octx, bucket, "shared/big", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: 5 << 20})
			cancel()
			model.shared("shared/big", sum(data), err == nil)
			st.multiparts.Add(1)
			if err != nil {
				st.opFailed("PUT shared/big", err)
			}
		}
	})
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(seed, 0x510))
		for {
			select {
			case <-stop:
				return
			default:
			}
			octx, cancel := context.WithTimeout(ctx, 60*time.Second)
			got, err := slowGet(octx, gws[rng.IntN(2)], bucket, "shared/big")
			cancel()
			switch {
			case err == nil && !model.allowed("shared/big", sum(got)):
				st.wrongBytes.Add(1)
				t.Errorf("slow GET of shared/big returned %d bytes that are no whole version", len(got))
			case err == nil:
				st.slowReads.Add(1)
			case minio.ToErrorResponse(err).Code == "NoSuchKey":
				time.Sleep(100 * time.Millisecond)
			default:
				if errors.Is(err, context.DeadlineExceeded) {
					st.hung.Add(1)
				}
				st.opFailed("slow GET", err)
			}
		}
	})

	// The fault injector, in this goroutine: at most 2 impaired nodes.
	// A node stays impaired after its fault until the next heal: file
	// damage, and also a kill, a freeze or a full drive, because a write in
	// flight when it struck is acknowledged on the write quorum W = k drives
	// without it, so those objects have no spare shard until the heal puts
	// one back; a third impaired node before that heal is more than 4+2 can
	// survive, in any store (the seed 1796634061382114914 lost an object
	// that way: 2 nodes killed mid-PUT, then a drive emptied on a third).
	rng := rand.New(rand.NewPCG(seed, 0xfa17))
	damaged := map[int]bool{} // impaired nodes not yet healed
	end := time.Now().Add(duration)
	var lastFault time.Time
	for time.Now().Before(end) {
		// Pick targets among nodes not damaged, keeping impaired <= 2.
		budget := 2 - len(damaged)
		var healthy []int
		for i := range c.Nodes {
			if !damaged[i] {
				healthy = append(healthy, i)
			}
		}
		rng.Shuffle(len(healthy), func(a, b int) { healthy[a], healthy[b] = healthy[b], healthy[a] })
		if budget <= 0 {
			// Heal the damage so faults can go on; if the heal cannot reach
			// full redundancy now (a slow machine, a node still coming
			// back), stop injecting rather than risk more than m impaired.
			if !tryHealCluster(ctx, c) {
				t.Log("chaos: heal during the run did not complete; no more faults")
				break
			}
			st.faults["heal (during run)"]++
			clear(damaged)
			continue
		}
		n := 1 + rng.IntN(budget)
		targets := healthy[:n]
		pause := time.Duration(1500+rng.IntN(2500)) * time.Millisecond
		switch kind := rng.IntN(9); kind {
		case 8: // a drive folder emptied under a live node: the node must stop
			// using it at once; restarted, it adopts the empty folder and
			// the heal rebuilds its shards
			i := targets[0]
			dir := c.Nodes[i].Dirs[rng.IntN(len(c.Nodes[i].Dirs))]
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				_ = os.RemoveAll(filepath.Join(dir, e.Name()))
			}
			st.faults["drive folder emptied under a live node"]++
			damaged[i] = true
			time.Sleep(pause / 2)
			c.RestartNode(i)
		case 6: // a gateway SIGKILLs itself at a named step of Complete, PUT or DELETE
			point := chaosCrashPoints[rng.IntN(len(chaosCrashPoints))]
			g := c.Gateways[rng.IntN(len(c.Gateways))]
			g.proc.kill()
			env := g.proc.env
			g.proc.env = append(slices.Clone(env), crashpoint.Env+"="+point)
			g.proc.launch()
			g.proc.env = env
			// Clients may reach the crash point before the readiness
			// probe does: an exit here is the crash the fault asks for.
			g.proc.waitReadyOrExit()
			deadline := time.Now().Add(pause)
			for g.proc.running() && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if g.proc.running() {
				g.proc.kill()
				st.faults["crash point not reached: "+point]++
			} else {
				st.faults["gateway crashed at "+point]++
			}
			g.proc.start()
		case 7: // clients that stall mid-body: the gateways must cut them
			var conns []net.Conn
			for range 3 {
				if conn, err := chaosStalledPut(c.Gateways[rng.IntN(len(c.Gateways))].Server, bucket); err == nil {
					conns = append(conns, conn)
				}
			}
			st.faults["stalled client"] += len(conns)
			for _, conn := range conns {
				switch chaosStallAnswer(conn, chaosBodyIdle+10*time.Second) {
				case "cut":
					st.faults["stalled client cut (400 RequestTimeout)"]++
				case "closed":
					st.faults["stalled client's gateway gone"]++
				default:
					st.hung.Add(1)
					t.Errorf("a client stalled mid-body got no answer within %v", chaosBodyIdle+10*time.Second)
				}
				conn.Close()
			}
		case 5: // fill a drive to the last byte for a while, then free it
			if fullDir == "" || !slices.Contains(targets, 5) {
				continue
			}
			filler := filepath.Join(fullDir, "filler")
			_ = exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=1M", "count=512").Run() // stops at ENOSPC
			st.faults["fill drive"]++
			damaged[5] = true
			time.Sleep(pause)
			_ = os.Remove(filler)
			if !c.Nodes[5].Running() {
				st.faults["node crashed on a full drive"]++
				c.RestartNode(5)
			}
		case 4: // kill a gateway mid-request (SIGKILL), then restart it
			g := c.Gateways[rng.IntN(len(c.Gateways))]
			g.proc.kill()
			st.faults["kill gateway"]++
			time.Sleep(pause / 2)
			g.proc.start()
		case 0: // kill and restart
			for _, i := range targets {
				c.KillNode(i)
				st.faults["kill node"]++
				damaged[i] = true
			}
			time.Sleep(pause)
			for _, i := range targets {
				c.RestartNode(i)
			}
		case 1: // freeze (a slow node), then thaw
			for _, i := range targets {
				c.signalNode(i, syscall.SIGSTOP)
				st.faults["freeze node"]++
				damaged[i] = true
			}
			time.Sleep(pause)
			for _, i := range targets {
				c.signalNode(i, syscall.SIGCONT)
			}
		case 2: // delete shard files on one node
			i := targets[0]
			files := c.shardFilesOf(i)
			for k := 0; k < 3 && len(files) > 0; k++ {
				if os.Remove(files[rng.IntN(len(files))]) == nil {
					st.faults["delete shard file"]++
					damaged[i] = true
				}
			}
			time.Sleep(pause / 2)
		case 3: // flip a byte in shard files on one node
			i := targets[0]
			files := c.shardFilesOf(i)
			for k := 0; k < 3 && len(files) > 0; k++ {
				f := files[rng.IntN(len(files))]
				b, err := os.ReadFile(f)
				if err != nil || len(b) < 8 {
					continue
				}
				b[4+rng.IntN(len(b)-4)] ^= byte(1 + rng.IntN(255))
				if os.WriteFile(f, b, 0o644) == nil {
					st.faults["flip byte in shard"]++
					damaged[i] = true
				}
			}
			time.Sleep(pause / 2)
		}
		lastFault = time.Now()
	}
	close(stop)
	wg.Wait()
	workEnd := time.Now()

	// Everything back; then a deep heal restores full redundancy.
	for i := range c.Nodes {
		if !c.Nodes[i].Running() {
			c.RestartNode(i)
		}
	}
	// Records younger than the in-flight window are left by the heal's
	// dangling pass (a write may still be committing them): the leftovers
	// of the last deletes a drive missed go once it has passed.
	time.Sleep(time.Until(workEnd.Add(chaosInFlight + time.Second)))
	healStart := time.Now()
	healCluster(t, ctx, c)
	redundant := time.Since(lastFault)
	healTime := time.Since(healStart)

	// Check every key through both gateways, then again with 2 nodes (in
	// different zones) killed: full redundancy.
	lost, wrong, checked := 0, 0, 0
	dumped := map[string]bool{}
	// explain logs, once per key, what the model allows for a key that
	// failed the check and what each drive holds of it (a killed node's
	// drives show their error), so that a rare loss can be read from CI's
	// log.
	explain := func(key string) {
		if dumped[key] {
			return
		}
		dumped[key] = true
		t.Logf("%s: the model allows %v (acknowledged: %v); the drives hold:\n%s", key, model.states(key), model.acked[key], dumpKey(c, bucket, key))
	}
	check := func(phase string) {
		for _, key := range allKeys {
			for g, gw := range gws {
				checked++
				got, err := getAll(ctx, gw, bucket, key, minio.GetObjectOptions{})
				switch {
				case err == nil && !model.allowed(key, sum(got)):
					wrong++
					t.Errorf("%s: gateway %d: %s has bytes that are not its last acknowledged version", phase, g+1, key)
					explain(key)
				case err != nil && minio.ToErrorResponse(err).Code == "NoSuchKey":
					if !model.allowed(key, "") {
						lost++
						t.Errorf("%s: gateway %d: %s is LOST (NoSuchKey) but was acknowledged", phase, g+1, key)
						explain(key)
					}
				case err != nil:
					lost++
					t.Errorf("%s: gateway %d: %s unreadable: %v", phase, g+1, key, err)
					explain(key)
				}
			}
		}
	}
	check("after heal")
	if os.Getenv("CHAOS_DEBUG") != "" {
		for _, key := range allKeys {
			if _, err := getAll(ctx, gws[0], bucket, key, minio.GetObjectOptions{}); err == nil {
				t.Logf("%s:\n%s", key, dumpKey(c, bucket, key))
			}
		}
	}
	c.KillNode(0) // zone1
	c.KillNode(1) // zone2
	check("after heal, 2 nodes killed")

	t.Logf("chaos summary (seed %d, %v):\n"+
		"  operations: %d PUT, %d multipart PUT, %d GET, %d DELETE, %d LIST (%d failed during faults)\n"+
		"  also: %d uploads completed by 3 racing Completes, %d leftover uploads aborted, %d slow GETs racing overwrites, %d operations hung past their bound\n"+
		"  failed operations by kind: %v\n"+
		"  faults: %v\n"+
		"  objects checked: %d reads of %d keys; lost: %d; wrong bytes returned: %d (during run) + %d (final)\n"+
		"  time to full redundancy after the last fault: %v (final deep heal %v)",
		seed, duration, st.puts.Load(), st.multiparts.Load(), st.gets.Load(), st.deletes.Load(), st.lists.Load(), st.opErrors.Load(),
		st.dupCompletes.Load(), st.aborts.Load(), st.slowReads.Load(), st.hung.Load(), st.errKinds, st.faults, checked, len(allKeys), lost, st.wrongBytes.Load(), wrong,
		redundant.Round(time.Millisecond), healTime.Round(time.Millisecond))
	if lost != 0 || wrong != 0 || st.wrongBytes.Load() != 0 || st.hung.Load() != 0 {
		t.Fatalf("chaos: %d lost, %d wrong at the end, %d wrong during the run, %d hung", lost, wrong, st.wrongBytes.Load(), st.hung.Load())
	}
}

// healCluster runs `ecstore admin heal --deep` through the first gateway
// until it reports every object at full redundancy (a heal started while a
// drive is still coming back may report some objects failed: it is rerun).
func healCluster(t *testing.T, ctx context.Context, c *Cluster) {
	t.Helper()
	if out, ok := runHeal(ctx, c); !ok {
		t.Fatalf("admin heal did not reach full redundancy:\n%s", out)
	}
}

// tryHealCluster is healCluster that reports failure instead of failing.
func tryHealCluster(ctx context.Context, c *Cluster) bool {
	_, ok := runHeal(ctx, c)
	return ok
}

func runHeal(ctx context.Context, c *Cluster) ([]byte, bool) {
	var out []byte
	for attempt := range 5 {
		var err error
		if out, err = healCmd(ctx, c.Gateway(0).Endpoint).CombinedOutput(); err == nil {
			return out, true
		}
		time.Sleep(time.Duration(attempt+1) * time.Second)
	}
	return out, false
}
