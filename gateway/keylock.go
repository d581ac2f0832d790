package gateway

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"time"
)

// keyLocks keeps a heal (or a rebalance move) of an object apart from
// writes of it in this gateway: writes (PUT, DELETE, multipart complete)
// share a key's lock, a heal holds it alone. Without it, a heal that read
// the object just before a DELETE could put back the records the DELETE
// removed, and two heals of one object could move the same shard twice.
// Keys share one of a fixed number of locks (a heal holds up the writes of
// the few other keys of its stripe, for the time of that heal). Gateways do
// not lock each other out: across gateways a heal racing a write can still
// leave a stray record, which the next heal walk removes.
type keyLocks struct {
	seed    maphash.Seed
	stripes [keyLockStripes]sync.RWMutex
}

const keyLockStripes = 1024

func (k *keyLocks) stripe(bucket, key string) *sync.RWMutex {
	return &k.stripes[hashPair(k.seed, bucket, key)%keyLockStripes]
}

// hashPair hashes (bucket, name) to pick a lock stripe.
func hashPair(seed maphash.Seed, bucket, name string) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	_, _ = h.WriteString(bucket)
	_ = h.WriteByte(0)
	_, _ = h.WriteString(name)
	return h.Sum64()
}

// write locks bucket/key for a write (shared with other writes) and
// returns the unlock.
func (k *keyLocks) write(bucket, key string) func() {
	mu := k.stripe(bucket, key)
	mu.RLock()
	return mu.RUnlock
}

// tryHeal locks bucket/key against writes and other heals and returns the
// unlock. A write holds its key for as long as its client sends, so
// background work never waits for the lock unboundedly: tryHeal gives up
// after wait (or when ctx ends) and returns ErrKeyBusy; the caller skips
// the key and comes back to it later.
func (k *keyLocks) tryHeal(ctx context.Context, bucket, key string, wait time.Duration) (func(), error) {
	return tryLock(ctx, k.stripe(bucket, key), wait)
}

// tryLock locks mu exclusively, waiting at most wait (or until ctx ends),
// and returns the unlock or ErrKeyBusy.
func tryLock(ctx context.Context, mu *sync.RWMutex, wait time.Duration) (func(), error) {
	if mu.TryLock() {
		return mu.Unlock, nil
	}
	deadline := time.Now().Add(wait)
	pause := time.Millisecond
	t := time.NewTimer(pause)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		if mu.TryLock() {
			return mu.Unlock, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, ErrKeyBusy
		}
		pause = min(2*pause, 50*time.Millisecond, left)
		t.Reset(pause)
	}
}

// ErrKeyBusy is returned by HealObject when a write held the object's key
// for longer than a heal waits (healLockWait): the heal was skipped and is
// to be tried again later.
var ErrKeyBusy = errors.New("gateway: object busy with a write; heal it later")

// healLockWait is how long a heal (or a rebalance move) waits for a key
// that a write holds before it skips the key (Layer.healLockWait; tests
// shorten it).
const healLockWait = 250 * time.Millisecond
