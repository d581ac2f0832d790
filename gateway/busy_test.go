package gateway

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// fastBusyRetries shortens the waits around busy keys for a test.
func fastBusyRetries(tc *testCluster) {
	tc.healLockWait, tc.healq.retryFirst = 20*time.Millisecond, 20*time.Millisecond
}

// degradedObjects writes n objects while drive 5 is offline, so that each
// needs a heal, and returns their keys.
func degradedObjects(t *testing.T, tc *testCluster, n int) []string {
	t.Helper()
	tc.faulty[5].SetOffline(true)
	var keys []string
	for i := range n {
		key := fmt.Sprintf("obj-%02d", i)
		tc.put(t, key, randBytes(uint64(i), 5000))
		keys = append(keys, key)
	}
	tc.faulty[5].SetOffline(false)
	return keys
}

// complete reports whether drive 5 holds key's record (written back by a
// heal).
func complete(tc *testCluster, key string) bool {
	_, err := tc.faulty[5].GetMeta(context.Background(), "bkt", key)
	return err == nil
}

// hold takes key's write lock as a PUT whose client stalls mid-body does.
func hold(tc *testCluster, key string) (release func()) {
	return tc.locks.write("bkt", key)
}

func TestHealObjectSkipsBusyKey(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	fastBusyRetries(tc)
	keys := degradedObjects(t, tc, 1)
	release := hold(tc, keys[0])
	start := time.Now()
	_, err := tc.HealObject(context.Background(), "bkt", keys[0], false)
	if !errors.Is(err, ErrKeyBusy) {
		t.Fatalf("heal of a key a write holds: %v, want ErrKeyBusy", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("heal waited %v for a busy key, want about %v", took, healLockWait)
	}
	if complete(tc, keys[0]) {
		t.Fatal("a skipped heal wrote something")
	}
	// A cancelled heal does not wait either.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tc.HealObject(ctx, "bkt", keys[0], false); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled heal of a busy key: %v", err)
	}
	release()
	if r, err := tc.HealObject(context.Background(), "bkt", keys[0], false); err != nil || r.Repaired != 1 {
		t.Fatalf("heal once the write ended: %+v, %v", r, err)
	}
}

// TestHealQueueComesBackToBusyKey: the heal worker skips a key a write
// holds, heals what is queued behind it, and heals the key once the write
// ends.
func TestHealQueueComesBackToBusyKey(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	fastBusyRetries(tc)
	keys := degradedObjects(t, tc, 4)
	busy := keys[0]
	var others []string
	for _, k := range keys[1:] {
		if tc.locks.stripe("bkt", k) != tc.locks.stripe("bkt", busy) {
			others = append(others, k)
		}
	}
	release := hold(tc, busy)
	defer func() {
		if release != nil {
			release()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tc.RunHealer(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for _, k := range keys {
		tc.queueHeal("bkt", k)
	}
	waitFor(t, "the keys behind the busy one are healed", func() bool {
		for _, k := range others {
			if !complete(tc, k) {
				return false
			}
		}
		return true
	})
	if complete(tc, busy) {
		t.Fatal("the busy key was healed while a write held it")
	}
	release()
	release = nil
	waitFor(t, "the busy key is healed after its write", func() bool { return complete(tc, busy) })
	// The worker forgets the key as busy once its heal has returned, a
	// moment after the repaired shards are visible.
	waitFor(t, "no key waits as busy after its heal", func() bool {
		tc.healq.mu.Lock()
		defer tc.healq.mu.Unlock()
		return len(tc.healq.busy) == 0
	})
}

// TestHealWalkComesBackToBusyKey: a heal walk skips a key a write holds,
// goes on, and heals the key at the end of the bucket once the write ended.
func TestHealWalkComesBackToBusyKey(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	fastBusyRetries(tc)
	keys := degradedObjects(t, tc, 10)
	release := hold(tc, keys[3])
	h := tc.Healer()
	if err := h.Start(context.Background(), false, 0); err != nil {
		t.Fatal(err)
	}
	// (A key that shares the busy key's lock stripe is busy too: the walk
	// comes back to it at the end like the busy key itself. The stripe
	// seed is random, so which keys share it changes from run to run.)
	busy := tc.locks.stripe("bkt", keys[3])
	waitFor(t, "the other keys are healed", func() bool {
		for i, k := range keys {
			if i != 3 && tc.locks.stripe("bkt", k) != busy && !complete(tc, k) {
				return false
			}
		}
		return true
	})
	release()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Wait(ctx); err != nil {
		t.Fatalf("walk did not end: %+v", h.Status())
	}
	st := h.Status()
	if st.ObjectsScanned != 10 || st.ObjectsRepaired != 10 || st.ObjectsFailed != 0 || st.Error != "" {
		t.Fatalf("walk status: %+v; want 10 scanned and repaired, none failed", st)
	}
	if !complete(tc, keys[3]) {
		t.Fatal("the key busy during the walk was not healed at its end")
	}
	if st.Cursor.Key != keys[9] {
		t.Errorf("cursor %+v after the walk, want the last key", st.Cursor)
	}
}

// TestHealWalkEndsWhenKeyStaysBusy: a key held for the whole walk does not
// hold the walk: it ends, bounded, counting the key failed, and the heal
// queue keeps it for later.
func TestHealWalkEndsWhenKeyStaysBusy(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 4096)
	fastBusyRetries(tc)
	keys := degradedObjects(t, tc, 5)
	release := hold(tc, keys[2])
	defer release()
	h := tc.Healer()
	if err := h.Start(context.Background(), false, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Wait(ctx); err != nil {
		t.Fatalf("walk still waits behind a busy key: %+v", h.Status())
	}
	st := h.Status()
	if st.ObjectsScanned != 5 || st.ObjectsRepaired != 4 || st.ObjectsFailed != 1 {
		t.Fatalf("walk status: %+v; want 5 scanned, 4 repaired, 1 failed", st)
	}
	tc.healq.mu.Lock()
	_, kept := tc.healq.busy[healItem{"bkt", keys[2]}]
	tc.healq.mu.Unlock()
	if !kept {
		t.Error("the key still busy at the end of the walk was not handed to the heal queue")
	}
}

// TestRebalanceComesBackToBusyKey: a rebalance does not stall behind a
// write: it moves the other objects, then the busy one once the write
// ended, and finishes with every object in place.
func TestRebalanceComesBackToBusyKey(t *testing.T) {
	const n = 8
	tc, drives, _ := growCluster(t, n+1, n, -1)
	fastBusyRetries(tc)
	data := tc.putMany(t, 40, "obj/%04d", func(i int) int { return 3000 })
	if err := tc.SetTopology(Topology{Epoch: 2, Drives: drives, Prior: [][]Drive{drives[:n]}}); err != nil {
		t.Fatal(err)
	}
	// Hold a key that the rebalance must move.
	var busy string
	for key := range data {
		home, err := tc.place("bkt", key)
		if err != nil {
			t.Fatal(err)
		}
		meta, err := tc.readMeta(context.Background(), "bkt", key)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range home {
			if d.ID() != meta.Drives[i] {
				busy = key
			}
		}
		if busy != "" {
			break
		}
	}
	if busy == "" {
		t.Fatal("no object moves with the new drive")
	}
	release := hold(tc, busy)
	go func() {
		time.Sleep(100 * time.Millisecond)
		release()
	}()
	st := rebalanceAndWait(t, tc.Repair)
	if st.ObjectsFailed != 0 || st.ObjectsScanned != 40 {
		t.Fatalf("rebalance: %+v; want 40 scanned, none failed", st)
	}
	home, _ := tc.place("bkt", busy)
	meta, err := tc.readMeta(context.Background(), "bkt", busy)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range home {
		if d.ID() != meta.Drives[i] {
			t.Fatalf("%s shard %d still on %s, placement says %s", busy, i, meta.Drives[i], d.ID())
		}
	}
}

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a bound against hanging, not a speed check: loaded CI machines are slow
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
