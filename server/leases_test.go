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
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

// failingRenewals is a lease store whose renewals and grants fail (the
// group is out of reach) once fail is set. (With grants still served, the
// holder that stopped its job could be granted its own lease again at
// once and restart the job between two looks of the test.)
type failingRenewals struct {
	leaseStore
	fail atomic.Bool
}

func (f *failingRenewals) AcquireLease(ctx context.Context, job, holder string, ttl time.Duration) (uint64, error) {
	if f.fail.Load() {
		return 0, errors.New("no majority")
	}
	return f.leaseStore.AcquireLease(ctx, job, holder, ttl)
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
	leaseTTL, leaseFence = 3*time.Second, 2*time.Second
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
	tokens := map[string]*atomic.Uint64{"a": {}, "b": {}}
	drive := local.NewMem("d")
	defer drive.Close()
	if err := drive.MakeBucket(context.Background(), "jobs", time.Now()); err != nil {
		t.Fatal(err)
	}
	job := func(name string) func(context.Context) {
		return func(ctx context.Context) {
			f, ok := storagenode.FenceOf(ctx)
			if !ok || f.Job != "job" {
				t.Errorf("%s's job runs without its fence: %+v", name, f)
			}
			tokens[name].Store(f.Token)
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
	ta, tb := tokens["a"].Load(), tokens["b"].Load()
	if tb <= ta {
		t.Fatalf("b's token %d is not above a's %d", tb, ta)
	}
	// A drive that saw b's token refuses a write a makes late.
	rec := &storagenode.ObjectMeta{Bucket: "jobs", Key: "k", VersionID: "v1", DataDir: "d1", ModTime: time.Now(), EC: storagenode.ECInfo{Data: 1, Parity: 0, BlockSize: 1}}
	if _, err := drive.PutMeta(storagenode.WithFence(context.Background(), "job", tb), rec); err != nil {
		t.Fatal(err)
	}
	late := *rec
	late.VersionID, late.ModTime = "v2", time.Now().Add(time.Second)
	if _, err := drive.PutMeta(storagenode.WithFence(context.Background(), "job", ta), &late); !errors.Is(err, storagenode.ErrStaleToken) {
		t.Fatalf("a late write of the old holder: %v, want ErrStaleToken", err)
	}

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
