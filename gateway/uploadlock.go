package gateway

import (
	"context"
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
//
// Each upload has a lock of its own, made on first use and dropped with its
// last user: a part upload holds its lock for as long as its body takes
// (minutes for a large part), so uploads must not share locks, or a Complete
// would wait behind another upload's part.
type uploadLocks struct {
	mu sync.Mutex
	m  map[string]*uploadLock
}

type uploadLock struct {
	sync.RWMutex
	users int // guarded by uploadLocks.mu
}

// get returns the upload's lock and the function that releases the use.
func (u *uploadLocks) get(bucket, uploadID string) (*uploadLock, func()) {
	k := bucket + "\x00" + uploadID
	u.mu.Lock()
	if u.m == nil {
		u.m = map[string]*uploadLock{}
	}
	l := u.m[k]
	if l == nil {
		l = &uploadLock{}
		u.m[k] = l
	}
	l.users++
	u.mu.Unlock()
	return l, func() {
		u.mu.Lock()
		if l.users--; l.users == 0 {
			delete(u.m, k)
		}
		u.mu.Unlock()
	}
}

// part locks the upload for a part upload (shared) and returns the unlock.
func (u *uploadLocks) part(bucket, uploadID string) func() {
	l, release := u.get(bucket, uploadID)
	l.RLock()
	return func() { l.RUnlock(); release() }
}

// lock locks the upload alone (Complete, abort) and returns the unlock.
func (u *uploadLocks) lock(bucket, uploadID string) func() {
	l, release := u.get(bucket, uploadID)
	l.Lock()
	return func() { l.Unlock(); release() }
}

// try is lock for background work (heal, expiry): it waits at most wait,
// then gives up with ErrKeyBusy (a part upload holds the lock as long as
// its client sends).
func (u *uploadLocks) try(ctx context.Context, bucket, uploadID string, wait time.Duration) (func(), error) {
	l, release := u.get(bucket, uploadID)
	unlock, err := tryLock(ctx, &l.RWMutex, wait)
	if err != nil {
		release()
		return nil, err
	}
	return func() { unlock(); release() }, nil
}
