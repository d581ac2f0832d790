package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/meta"
)

// failingRenewals is a lease store whose renewals fail (the group is
// out of reach) once fail is set.
type failingRenewals struct {
	leaseStore
	fail atomic.Bool
}

func (f *failingRenewals) RenewLease(ctx context.Context, job, holder string, token uint64, ttl time.Duration) error {
	if f.fail.Load() {
		return errors.New("no majority")
	}
	return f.leaseStore.RenewLease(ctx, job, holder, token, ttl)
}

// TestRunLeased: of two processes asking for a job's lease, one runs the
// job at a time; when the holder stops, the other takes over; a holder
// whose renewals fail stops its job by itself within leaseFence.
func TestRunLeased(t *testing.T) {
	oldTTL, oldFence := leaseTTL, leaseFence
	leaseTTL, leaseFence = 900*time.Millisecond, 600*time.Millisecond
	defer func() { leaseTTL, leaseFence = oldTTL, oldFence }()

	var ms []meta.GroupMember
	for i := range 3 {
		ms = append(ms, meta.GroupMember{ID: fmt.Sprintf("m%d", i), Dir: filepath.Join(t.TempDir(), "meta")})
	}
	g, err := meta.OpenGroup(meta.GroupConfig{Members: ms})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	log := slog.New(slog.DiscardHandler)

	var running atomic.Int32
	var overlap atomic.Bool
	ran := map[string]*atomic.Int32{"a": {}, "b": {}}
	job := func(name string) func(context.Context) {
		return func(ctx context.Context) {
			if running.Add(1) > 1 {
				overlap.Store(true)
			}
			ran[name].Add(1)
			<-ctx.Done()
			running.Add(-1)
		}
	}
	store := &failingRenewals{leaseStore: g.Store()}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	var wg sync.WaitGroup
	wg.Go(func() { runLeased(ctxA, g.Store(), "job", "a", log, job("a")) })
	waitFor(t, func() bool { return ran["a"].Load() == 1 })
	wg.Go(func() { runLeased(ctxB, store, "job", "b", log, job("b")) })
	time.Sleep(1500 * time.Millisecond) // a renews; b is refused
	if ran["b"].Load() != 0 {
		t.Fatal("b ran the job while a held the lease")
	}
	stopA() // a releases: b takes over
	waitFor(t, func() bool { return ran["b"].Load() == 1 })

	// b's renewals fail: it stops the job by itself.
	store.fail.Store(true)
	waitFor(t, func() bool { return running.Load() == 0 })
	if overlap.Load() {
		t.Fatal("two holders ran the job at once")
	}
	stopB()
	wg.Wait()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
