package local

import (
	"hash/maphash"
	"sync"
)

// lockSeed seeds the stripe hashes; any fixed seed works within a process.
var lockSeed = maphash.MakeSeed()

// keyLocks serialises read-check-write sequences on one index record without
// one global lock: records hash onto 256 mutexes.
type keyLocks struct{ m [256]sync.Mutex }

// lock locks the stripe of index key k and returns it for unlocking.
func (l *keyLocks) lock(k []byte) *sync.Mutex {
	mu := &l.m[maphash.Bytes(lockSeed, k)%uint64(len(l.m))]
	mu.Lock()
	return mu
}

// bucketLocks orders bucket creation and removal against the writes into a
// bucket: MakeBucket and DeleteBucket hold a bucket's stripe exclusively,
// writers (PutMeta, shard Commit, ...) hold it shared. Lock order: bucket
// stripe, then key stripe.
type bucketLocks struct{ m [64]sync.RWMutex }

func (l *bucketLocks) get(bucket string) *sync.RWMutex {
	return &l.m[maphash.String(lockSeed, bucket)%uint64(len(l.m))]
}

// lockPair locks the stripes of index keys a and b (once if they share one,
// in stripe order otherwise, so two pairs never deadlock) and returns the
// unlock.
func (l *keyLocks) lockPair(a, b []byte) (unlock func()) {
	i := maphash.Bytes(lockSeed, a) % uint64(len(l.m))
	j := maphash.Bytes(lockSeed, b) % uint64(len(l.m))
	if i == j {
		l.m[i].Lock()
		return l.m[i].Unlock
	}
	if i > j {
		i, j = j, i
	}
	l.m[i].Lock()
	l.m[j].Lock()
	return func() { l.m[j].Unlock(); l.m[i].Unlock() }
}
