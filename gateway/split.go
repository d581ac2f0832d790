package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

// A key is split when no read can settle it: its only version's record is
// on fewer than k of its drives, and fewer than k say the key does not
// exist (with 4+2, three and three). A DELETE cut between its record
// removals leaves that, and so does the first PUT of a key cut between its
// record writes. Every read answers 503 and the heal's read of the quorum
// record fails the same way, so the key stayed unreadable for good.
// healSplit settles it, when every drive answered and the version is older
// than the in-flight window (else it may be a write still committing), by
// finishing the delete: the version's records and files are removed.
// Neither the cut DELETE nor the cut PUT was acknowledged, so that is an
// end the client may see; an acknowledged version was on k drives at
// least, and has fewer only when more drives than the parity lost it.
//
// The other end, putting the record back where a cut delete left the
// shard files (it removes them after the records), would keep such an
// object; it is not done: a heal that read the drives while a DELETE
// through another gateway was between its removals would put records
// back under a delete that then succeeds, over files it moves to the
// trash, where reads still find them.
func (r *Repair) healSplit(ctx context.Context, bucket, key string) (HealResult, error) {
	l := r.l
	var res HealResult
	drives, err := l.lookupDrives(l.topo(), bucket, key)
	if err != nil {
		return res, err
	}
	metas := make([]*storagenode.ObjectMeta, len(drives))
	errs := fanout(drives, func(i int, d storagenode.Drive) (err error) {
		metas[i], err = d.GetMeta(ctx, bucket, key)
		return err
	})
	var v *storagenode.ObjectMeta
	held := 0
	for i, e := range errs {
		switch {
		case errors.Is(e, storagenode.ErrObjectNotFound):
		case e != nil:
			return res, ErrReadQuorum // a drive did not answer: it may hold the rest
		case v == nil:
			v, held = metas[i], 1
		case metas[i].VersionID != v.VersionID:
			return res, ErrReadQuorum // more than one version: not a split
		default:
			held++
		}
	}
	if v == nil || held >= l.k || len(l.extraDrives(drives, metas)) > 0 {
		// Not split, or its records name drives outside the placement,
		// which were not asked: nothing can be judged.
		return res, ErrReadQuorum
	}
	if time.Since(v.ModTime) < l.inFlightWindow() {
		return res, ErrWriteConflict // perhaps a write still committing
	}
	cleanup := context.WithoutCancel(ctx)
	errs = fanout(drives, func(_ int, d storagenode.Drive) error {
		if _, err := d.DeleteMeta(cleanup, bucket, key, v.VersionID); err != nil && !errors.Is(err, storagenode.ErrObjectNotFound) {
			return err
		}
		if !v.InlineData {
			return d.DeleteVersion(cleanup, bucket, v.DataDir)
		}
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("gateway: heal %s/%s: finish the delete of a split key: %w", bucket, key, err)
	}
	l.log.Warn("split key: removed its only version, on fewer drives than a read needs (an interrupted delete finished)",
		"bucket", bucket, "key", key, "version", v.VersionID, "records", held, "drives", len(drives))
	return res, ErrObjectNotFound
}
