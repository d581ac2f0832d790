package gateway

import (
	"hash/maphash"
	"sync"
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
	var h maphash.Hash
	h.SetSeed(k.seed)
	_, _ = h.WriteString(bucket)
	_ = h.WriteByte(0)
	_, _ = h.WriteString(key)
	return &k.stripes[h.Sum64()%keyLockStripes]
}

// write locks bucket/key for a write (shared with other writes) and
// returns the unlock.
func (k *keyLocks) write(bucket, key string) func() {
	mu := k.stripe(bucket, key)
	mu.RLock()
	return mu.RUnlock
}

// heal locks bucket/key against writes and other heals, and returns the
// unlock.
func (k *keyLocks) heal(bucket, key string) func() {
	mu := k.stripe(bucket, key)
	mu.Lock()
	return mu.Unlock
}
