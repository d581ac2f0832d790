package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// plainObject is one write of TestPlainInternodeWritesSurviveKills: its
// content is randData(seed, size), regenerated to check a read.
type plainObject struct {
	key       string
	size      int
	seed      uint64
	multipart bool  // written with minio-go in 5 MiB parts
	gw        int   // the gateway it is written through
	err       error // the PUT's outcome; nil: acknowledged
	done      bool  // the PUT returned
}

func (o *plainObject) acked() bool { return o.done && o.err == nil }

// plainWorkload is writers × 10 objects: per writer 4 inline ones (< 128
// KiB), 3 of about 1 MiB, 2 single PUTs of 5-9 MiB and one multipart
// upload of 12-16 MiB (about 125 MiB in all). Writer w writes its object
// j through gateway (w+j)%2, so both gateways take every kind.
func plainWorkload(writers int) [][]*plainObject {
	const ki, mi = 1 << 10, 1 << 20
	out := make([][]*plainObject, writers)
	for w := range writers {
		r := rand.New(rand.NewPCG(0x91a1, uint64(w)))
		for j := range 10 {
			o := &plainObject{seed: uint64(7000 + 100*w + j), gw: (w + j) % 2}
			switch j {
			case 0, 3, 6, 9:
				o.size = r.IntN(128*ki - 1)
			case 1:
				o.size = mi
			case 5, 8:
				o.size = mi + r.IntN(64*ki)
			case 2, 7:
				o.size = 5*mi + r.IntN(4*mi)
			case 4:
				o.size, o.multipart = 12*mi+r.IntN(4*mi), true
			}
			o.key = fmt.Sprintf("w%d/%02d-%d", w, j, o.size)
			out[w] = append(out[w], o)
		}
	}
	return out
}

// errLost and errWrongBytes are what checkPlainObject finds wrong.
var (
	errLost       = errors.New("NoSuchKey")
	errWrongBytes = errors.New("WRONG BYTES")
)

// checkPlainObject reads o through mc and compares it byte for byte with
// what was written. It returns nil when the bytes are o's, errLost (wrapped)
// when the key does not exist, errWrongBytes (wrapped) for any other bytes,
// else the GET's error.
func checkPlainObject(ctx context.Context, mc *minio.Client, bucket string, o *plainObject) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := getAll(ctx, mc, bucket, o.key, minio.GetObjectOptions{})
	if err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return fmt.Errorf("GET %s: %w", o.key, errLost)
		}
		return fmt.Errorf("GET %s: %w", o.key, err)
	}
	want := randData(o.seed, o.size)
	if bytes.Equal(got, want) {
		return nil
	}
	at := 0
	for at < min(len(got), len(want)) && got[at] == want[at] {
		at++
	}
	return fmt.Errorf("GET %s: %w: %d bytes, wrote %d; first difference at byte %d", o.key, errWrongBytes, len(got), len(want), at)
}

// TestPlainInternodeWritesSurviveKills runs the cluster of the README (6
// nodes of 2 drives in 3 zones, EC 4+2, 2 gateways) without TLS anywhere,
// so that every shard stream from a gateway to a node is authenticated by
// the AES-GMAC stream MAC (STREAMING-AESGMAC-TRAILER) rather than by TLS.
// Four writers put 40 objects (inline, 1 MiB, 5-9 MiB single PUTs and
// 12-16 MiB multipart uploads) through both gateways while processes are
// SIGKILLed under them, each while a shard-streamed write is in flight: a
// node (writes go on without it; restarted under writes), a node of
// another zone, and a gateway (started again a second later; the node is
// restarted after). Every acknowledged object must then read back byte for
// byte through both gateways, and every write that failed must be absent
// or whole; after a deep heal, again with 2 more nodes (in different
// zones) SIGKILLed. No process may log a panic or a refused shard stream.
func TestPlainInternodeWritesSurviveKills(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster under SIGKILL; skipped with -short")
	}
	parallelHeavy(t, 60*time.Second)
	ctx := testCtx(t, 3*time.Minute)
	start := time.Now()
	phase := func(format string, args ...any) {
		t.Logf("%6.1fs  %s", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}

	c := StartPlainCluster(t, 6, 2, 3, 2)
	for _, g := range c.Gateways {
		if g.TLS != nil || !strings.HasPrefix(g.Endpoint, "http://") {
			t.Fatalf("%s: endpoint %s, TLS %v: want plain HTTP", g.Name, g.Endpoint, g.TLS)
		}
	}
	for _, n := range c.Nodes {
		// The node answers plain HTTP (the readiness probe) and no TLS:
		// its gateways can only reach it at http://, where a shard stream
		// must carry the AES-GMAC MAC (the node refuses one marked for TLS).
		if httpAnswers("https://" + n.Addr + "/health/live") {
			t.Fatalf("%s answers HTTPS; want plain HTTP only", n.ID)
		}
	}
	gws := []*minio.Client{c.Gateway(0).Minio(t), c.Gateway(1).Minio(t)}
	phase("plain cluster up: 6 nodes (http://), 2 gateways (http://)")

	const bucket = "plainkills"
	if err := gws[0].MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket through gateway1: %v", err)
	}

	const writers = 4
	work := plainWorkload(writers)
	var objs []*plainObject
	for _, ws := range work {
		objs = append(objs, ws...)
	}
	// The writers take one permit per write, so that the faults below fall
	// where they are meant to whatever the machine's speed. Each writer
	// owns its objects; their outcomes (err, done) are read only once
	// workloadEnded is closed.
	var (
		done, inFlight atomic.Int64
		streamed       [2]atomic.Int64 // shard-streamed writes in flight, by gateway
		released       int64           // permits given so far
		permits        = make(chan struct{}, len(objs))
		quit           = make(chan struct{})
		wg             sync.WaitGroup
		workloadEnded  = make(chan struct{})
		total          int
	)
	defer close(quit)
	for _, o := range objs {
		total += o.size
	}
	for w := range writers {
		wg.Go(func() {
			for _, o := range work[w] {
				select {
				case <-permits:
				case <-quit:
					return
				}
				opts := minio.PutObjectOptions{}
				if o.multipart {
					opts.PartSize = 5 << 20
				}
				data := randData(o.seed, o.size)
				big := o.size > 128<<10 // not inline: its shards are streamed to the nodes
				inFlight.Add(1)
				if big {
					streamed[o.gw].Add(1)
				}
				octx, cancel := context.WithTimeout(ctx, 45*time.Second)
				_, err := gws[o.gw].PutObject(octx, bucket, o.key, bytes.NewReader(data), int64(len(data)), opts)
				cancel()
				if big {
					streamed[o.gw].Add(-1)
				}
				inFlight.Add(-1)
				o.err, o.done = err, true
				done.Add(1)
			}
		})
	}
	go func() {
		wg.Wait()
		close(workloadEnded)
	}()
	phase("workload: %d writers, %d objects, %d MiB", writers, len(objs), total>>20)

	release := func(n int64) {
		n = min(n, int64(len(objs))-released)
		for range n {
			permits <- struct{}{}
		}
		released += n
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) || ctx.Err() != nil {
				t.Fatalf("waiting for %s: not within 30 s (%d writes released, %d done)", what, released, done.Load())
			}
			time.Sleep(time.Millisecond)
		}
	}
	// streaming waits until a write whose shards are streamed to the
	// nodes is in flight through one of the gateways `via` (any gateway if
	// none is given), releasing writes one by one while none is (the next
	// ones may be inline or go through the other gateway), and reports how
	// many writes are in flight.
	streaming := func(via ...int) int64 {
		t.Helper()
		if len(via) == 0 {
			via = []int{0, 1}
		}
		waitFor("a shard-streamed write in flight", func() bool {
			for _, g := range via {
				if streamed[g].Load() > 0 {
					return true
				}
			}
			if done.Load() == released {
				if released == int64(len(objs)) {
					return true // nothing left to write: the fault catches none
				}
				release(1)
			}
			return false
		})
		return inFlight.Load()
	}
	allDone := func() { t.Helper(); waitFor("the released writes", func() bool { return done.Load() == released }) }
	fault := func(what string, kill bool, do func(), via ...int) {
		t.Helper()
		inflight := streaming(via...)
		do()
		phase("%s (%d writes done, %d in flight)", what, done.Load(), inflight)
		if kill && inflight == 0 {
			t.Errorf("%s caught no write in flight: the workload ended too early to test anything", what)
		}
	}

	n1, n2 := c.Nodes[0], c.Nodes[4] // zone1, zone2
	g2 := c.Gateway(1)
	if n1.Zone == n2.Zone {
		t.Fatalf("%s and %s share zone %s", n1.ID, n2.ID, n1.Zone)
	}
	// A node dies under writes, writes go on without it, and it comes back
	// under writes.
	release(4)
	fault("SIGKILL "+n1.ID+" ("+n1.Zone+")", true, func() { c.KillNode(0) })
	release(4)
	allDone()
	phase("%d writes done with %s down", done.Load(), n1.ID)
	release(2)
	fault("restarted "+n1.ID, false, func() { c.RestartNode(0) })
	allDone()
	// A node of another zone dies, and a gateway under writes too: writes
	// through it retry (minio-go) or fail until it is back.
	release(3)
	fault("SIGKILL "+n2.ID+" ("+n2.Zone+")", true, func() { c.KillNode(4) })
	release(4)
	allDone()
	phase("%d writes done with %s down", done.Load(), n2.ID)
	release(3)
	fault("SIGKILL "+g2.Name, true, g2.Kill, 1)
	release(4)
	time.Sleep(time.Second)
	g2.Start()
	phase("started %s again (%d writes done, %d in flight)", g2.Name, done.Load(), inFlight.Load())
	allDone()
	release(3)
	fault("restarted "+n2.ID, false, func() { c.RestartNode(4) })
	release(int64(len(objs)))
	select {
	case <-workloadEnded:
	case <-ctx.Done():
		t.Fatalf("the workload did not end in time: %v", ctx.Err())
	}

	var acked, failed []*plainObject
	for _, o := range objs {
		if o.acked() {
			acked = append(acked, o)
		} else {
			failed = append(failed, o)
			t.Logf("write not acknowledged (allowed): %s (%d bytes, multipart %v) through gateway%d: %v", o.key, o.size, o.multipart, o.gw+1, o.err)
		}
	}
	phase("workload ended: %d writes acknowledged, %d failed", len(acked), len(failed))
	if len(acked) < len(objs)/2 {
		t.Errorf("only %d of %d writes were acknowledged: at most one node and one gateway were down at a time", len(acked), len(objs))
	}

	// Every process must still run (none died on its own), and the
	// gateways must see every drive again.
	for _, n := range c.Nodes {
		if !n.Running() {
			t.Errorf("%s is not running: it exited on its own", n.ID)
		}
	}
	for _, g := range c.Gateways {
		if !g.proc.running() {
			t.Errorf("%s is not running: it exited on its own", g.Name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	c.WaitAllOnline(60 * time.Second)
	phase("every process up, every drive online at both gateways")

	// check reads every object through both gateways: an acknowledged one
	// must be its bytes; one whose write failed must be absent or its
	// bytes, and (strict) no other error is allowed.
	check := func(when string, strict bool) {
		t.Helper()
		for g, mc := range gws {
			var present, absent atomic.Int64
			errs := parallel(len(objs), 3, func(i int) error {
				o := objs[i]
				err := checkPlainObject(ctx, mc, bucket, o)
				switch {
				case err == nil:
					if !o.acked() {
						present.Add(1)
					}
					return nil
				case errors.Is(err, errWrongBytes):
					return err
				case o.acked():
					return fmt.Errorf("acknowledged write lost or unreadable: %w", err)
				case errors.Is(err, errLost):
					absent.Add(1)
					return nil
				case strict:
					return fmt.Errorf("write failed, and the key is neither absent nor whole: %w", err)
				}
				return nil
			})
			reportErrors(t, fmt.Sprintf("%s: reading through gateway%d", when, g+1), errs)
			phase("%s: %d acknowledged objects read back byte-identical through gateway%d; of %d failed writes, %d whole, %d absent",
				when, len(acked), g+1, len(failed), present.Load(), absent.Load())
		}
	}
	check("all up", true)

	// Listings agree: every acknowledged object is listed with its size,
	// and whatever is listed is one of the writes, whole.
	byKey := map[string]*plainObject{}
	for _, o := range objs {
		byKey[o.key] = o
	}
	for g, mc := range gws {
		_, sizes := listKeys(ctx, t, mc, bucket, minio.ListObjectsOptions{Recursive: true})
		var errs []error
		for _, o := range acked {
			if n, ok := sizes[o.key]; !ok || n != int64(o.size) {
				errs = append(errs, fmt.Errorf("%s: listed=%v size %d, want %d", o.key, ok, n, o.size))
			}
		}
		for key, n := range sizes {
			if o := byKey[key]; o == nil || n != int64(o.size) {
				errs = append(errs, fmt.Errorf("%s listed with size %d: no such write", key, n))
			}
		}
		reportErrors(t, fmt.Sprintf("listing through gateway%d", g+1), errs)
	}
	if t.Failed() {
		t.FailNow()
	}

	// A deep heal restores full redundancy (writes acknowledged while a
	// node was down may lack its shards); then any 2 nodes may go.
	healCluster(t, ctx, c)
	phase("deep heal done")
	k1, k2 := c.Nodes[2], c.Nodes[3] // zone3, zone1: up through the workload
	if k1.Zone == k2.Zone {
		t.Fatalf("%s and %s share zone %s", k1.ID, k2.ID, k1.Zone)
	}
	c.KillNode(2)
	c.KillNode(3)
	phase("SIGKILLed %s (%s) and %s (%s)", k1.ID, k1.Zone, k2.ID, k2.Zone)
	check("2 nodes down after the heal", false)

	// No process panicked, and no node refused a shard stream (a MAC that
	// did not match, or a stream marked for TLS over plain HTTP).
	for _, bad := range []string{"panic", "code=StreamMACMismatch", "code=StreamRequired"} {
		if lines := c.LogLines(bad); len(lines) > 0 {
			t.Errorf("%d log lines contain %q; the first:\n%s", len(lines), bad, strings.Join(lines[:min(len(lines), 10)], "\n"))
		}
	}
	phase("no panic and no refused shard stream in any log")
}
