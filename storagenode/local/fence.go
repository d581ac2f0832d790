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
// token that arrives after it (a shard stream, which can last, is checked
// again at its commit: holdFence).
func (d *Drive) checkFence(ctx context.Context) error {
	release, err := d.holdFence(ctx)
	if err != nil {
		return err
	}
	release()
	return nil
}

// holdFence is checkFence that, when it passes, keeps the fencing checks
// waiting until release is called, so that what the caller does meanwhile
// (a shard's rename into place) is ordered before any write of a later
// token. A shard stream passes checkFence when it starts and holdFence
// when it commits: a holder that lost its lease while it streamed (a
// SIGSTOPped gateway that wakes up) must not rename its file over what
// the new holder committed since.
func (d *Drive) holdFence(ctx context.Context) (release func(), err error) {
	f, ok := storagenode.FenceOf(ctx)
	if !ok {
		return func() {}, nil
	}
	d.fenceMu.Lock()
	if err := d.seeFence(f); err != nil {
		d.fenceMu.Unlock()
		return nil, err
	}
	return d.fenceMu.Unlock, nil
}

// seeFence refuses f when the drive has seen a higher token for its job,
// and records f's token when it is the highest. The caller holds fenceMu.
func (d *Drive) seeFence(f storagenode.Fence) error {
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
