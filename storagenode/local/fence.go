package local

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
	"github.com/ecstore/ecstore/storagenode"
)

// fenceKey is the index key of the highest fencing token the drive has
// seen for job: "f\x00<job>" (no bucket's range: DeleteBucket leaves it).
func fenceKey(job string) []byte { return append([]byte{'f', sep}, job...) }

// checkFence refuses a write whose context carries a fencing token lower
// than the highest the drive has seen for its job, and records a higher
// one (synced) before the write goes on. The check is at the write's
// start: a write that passed it is ordered before any write of a later
// token that arrives after it.
func (d *Drive) checkFence(ctx context.Context) error {
	f, ok := storagenode.FenceOf(ctx)
	if !ok {
		return nil
	}
	d.fenceMu.Lock()
	defer d.fenceMu.Unlock()
	k := fenceKey(f.Job)
	var seen uint64
	v, closer, err := d.db.Get(k)
	switch {
	case err == nil:
		if len(v) == 8 {
			seen = binary.BigEndian.Uint64(v)
		}
		closer.Close()
	case !errors.Is(err, pebble.ErrNotFound):
		return errf(err, "fence of job %s", f.Job)
	}
	if f.Token < seen {
		return fmt.Errorf("storagenode: job %s with token %d, but this drive has seen token %d: %w", f.Job, f.Token, seen, storagenode.ErrStaleToken)
	}
	if f.Token > seen {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], f.Token)
		if err := d.db.Set(k, b[:], pebble.Sync); err != nil {
			return errf(err, "fence of job %s", f.Job)
		}
	}
	return nil
}
