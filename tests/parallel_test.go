package tests

import (
	"flag"
	"runtime"
	"sync"
	"testing"
	"time"
)

// How many tests run at once. Most tests here wait far more than they
// compute (a process starting, a timeout expiring, a fixed-length
// workload), so -parallel's default, GOMAXPROCS, would leave the CPUs idle.
// Instead every parallel test takes a slot of its kind: a heavy test (a
// process cluster under load, hundreds of MiB, an aws CLI run of many
// Python processes) one of heavySlots, one per CPU; a light one (a server
// and a few requests) one of lightSlots. A test that asserts a tight time
// bound or changes the package's state stays serial: it runs alone, before
// the parallel ones.
var (
	heavySlots = newSlotPool(max(2, runtime.NumCPU()))
	lightSlots = newSlotPool(4)
)

// unboundParallel raises -parallel, unless it was given, above the number
// of tests, so that the slots above bound the tests instead. (A test
// waiting for its slot holds one of -parallel's.)
func unboundParallel() {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		_ = flag.Set("test.parallel", "1000")
	}
}

// parallelHeavy marks t parallel and waits for a heavy slot, held until t
// ends. cost is about how long t runs alone on 2 idle cores: of the tests
// waiting, the costliest gets the next slot, so that a long test does not
// start last and run alone at the end. Call it first in the test, before
// testCtx starts a clock.
func parallelHeavy(t *testing.T, cost time.Duration) {
	t.Helper()
	parallelIn(t, heavySlots, cost)
}

// parallelLight marks t parallel and waits for a light slot (first come,
// first served).
func parallelLight(t *testing.T) {
	t.Helper()
	parallelIn(t, lightSlots, 0)
}

func parallelIn(t *testing.T, p *slotPool, cost time.Duration) {
	t.Helper()
	t.Parallel()
	start := time.Now()
	p.acquire(cost)
	t.Cleanup(p.release)
	if waited := time.Since(start); waited >= time.Second {
		t.Logf("waited %.1fs for a slot", waited.Seconds())
	}
}

// slotGather is how long a pool holds its first slots back, so that the
// parallel tests, released together once the serial ones are done, have
// all queued when it picks the costliest.
const slotGather = 250 * time.Millisecond

// slotPool hands out a fixed number of slots, the costliest waiter first
// (the first come among equals).
type slotPool struct {
	mu      sync.Mutex
	free    int
	open    bool // slotGather has passed since the first acquire
	gather  *time.Timer
	waiting []slotWaiter
}

type slotWaiter struct {
	cost  time.Duration
	ready chan struct{}
}

func newSlotPool(n int) *slotPool { return &slotPool{free: n} }

func (p *slotPool) acquire(cost time.Duration) {
	w := slotWaiter{cost: cost, ready: make(chan struct{})}
	p.mu.Lock()
	p.waiting = append(p.waiting, w)
	if p.gather == nil {
		p.gather = time.AfterFunc(slotGather, func() {
			p.mu.Lock()
			p.open = true
			p.grantLocked()
			p.mu.Unlock()
		})
	}
	p.grantLocked()
	p.mu.Unlock()
	<-w.ready
}

func (p *slotPool) release() {
	p.mu.Lock()
	p.free++
	p.grantLocked()
	p.mu.Unlock()
}

func (p *slotPool) grantLocked() {
	for p.open && p.free > 0 && len(p.waiting) > 0 {
		best := 0
		for i, w := range p.waiting {
			if w.cost > p.waiting[best].cost {
				best = i
			}
		}
		close(p.waiting[best].ready)
		p.waiting = append(p.waiting[:best], p.waiting[best+1:]...)
		p.free--
	}
}
