package gateway

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// uploadLocks order the work on one multipart upload in this gateway.
// Part uploads share the upload's lock; a Complete, an abort and a heal of
// the upload hold it alone. SDKs resend a Complete after a timeout, so
// duplicates are normal: the second must see what the first did (the upload
// retired, the object committed) rather than commit alongside it; and a
// heal must not put back a part record that a new upload of the part
// replaced meanwhile. Across gateways the drives order Completes
// (CompleteUpload asks one drive first, alone).
type uploadLocks struct {
	seed    maphash.Seed
	stripes [256]sync.RWMutex
}

func (u *uploadLocks) stripe(bucket, uploadID string) *sync.RWMutex {
	return &u.stripes[hashPair(u.seed, bucket, uploadID)%uint64(len(u.stripes))]
}

// part locks the upload for a part upload (shared) and returns the unlock.
func (u *uploadLocks) part(bucket, uploadID string) func() {
	mu := u.stripe(bucket, uploadID)
	mu.RLock()
	return mu.RUnlock
}

// lock locks the upload alone (Complete, abort) and returns the unlock.
func (u *uploadLocks) lock(bucket, uploadID string) func() {
	mu := u.stripe(bucket, uploadID)
	mu.Lock()
	return mu.Unlock
}

// tryHeal is lock for a heal: it waits at most wait, then gives up with
// ErrKeyBusy (a part upload holds the lock as long as its client sends).
func (u *uploadLocks) tryHeal(ctx context.Context, bucket, uploadID string, wait time.Duration) (func(), error) {
	return tryLock(ctx, u.stripe(bucket, uploadID), wait)
}
