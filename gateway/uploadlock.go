package gateway

import (
	"hash/maphash"
	"sync"
)

// uploadLocks serialise the Completes and aborts of one multipart upload in
// this gateway: SDKs resend a Complete after a timeout, so duplicates are
// normal, and the second must see what the first did (the upload retired,
// the object committed) rather than commit alongside it. Across gateways
// the drives order them (CompleteUpload asks one drive first, alone).
type uploadLocks struct {
	seed    maphash.Seed
	stripes [256]sync.Mutex
}

// lock locks the upload's stripe and returns the unlock.
func (u *uploadLocks) lock(bucket, uploadID string) func() {
	var h maphash.Hash
	h.SetSeed(u.seed)
	_, _ = h.WriteString(bucket)
	_ = h.WriteByte(0)
	_, _ = h.WriteString(uploadID)
	mu := &u.stripes[h.Sum64()%uint64(len(u.stripes))]
	mu.Lock()
	return mu.Unlock
}
