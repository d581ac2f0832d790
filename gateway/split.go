package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

// A key is split when no read can settle it: its only version's record is
// on fewer than k of its drives, and fewer than k say the key does not
// exist (with 4+2, three and three). A DELETE cut between its record
// removals leaves that (its two phases put the shard files after the
// records, so they are all still there), and so does the first PUT of a key
// cut between its record writes. Every read answers 503 and the heal's read
// of the quorum record fails the same way, so the key stays unreadable for
// good unless the heal settles it. healSplit does, when every drive
// answered and the version is older than the in-flight window (else it
// may be a write or delete still running):
//
//   - when k good shards of the version are left (shard files stay where
//     a delete removed the record), the delete is taken back: the record
//     goes back on the drives whose shard files are whole, and the
//     version is healed as any other;
//   - when fewer are left (an inline object's shards go with its records),
//     nothing can read the version again: its records and files are
//     removed, finishing the delete (or the PUT's undo).
//
// Neither the cut DELETE nor the cut PUT was acknowledged, so either end is
// one the client may see.
func (r *Repair) healSplit(ctx context.Context, bucket, key string, deep bool) (HealResult, error) {
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
		return res, ErrReadQuorum
	}
	if time.Since(v.ModTime) < l.inFlightWindow() {
		return res, ErrWriteConflict // perhaps a write or delete still running
	}
	coder, err := l.coder(v.EC)
	if err != nil {
		return res, err
	}
	header := *v
	header.Inline = nil
	vdrives := l.drivesByID(v.Drives)
	whole := make([]bool, len(vdrives)) // the drive holds a whole shard of v
	unreached := fanout(vdrives, func(i int, d storagenode.Drive) error {
		if d == nil {
			return storagenode.ErrDriveOffline // not in the map: its shard unknown
		}
		m, err := d.GetMeta(ctx, bucket, key)
		switch {
		case errors.Is(err, storagenode.ErrObjectNotFound):
		case err != nil:
			return err // unreachable: its shard unknown
		case v.InlineData:
			whole[i] = m.VersionID == v.VersionID && inlineOK(coder, m.Inline, v.Parts[0].DataSize(), true)
			return nil
		}
		if v.InlineData {
			return nil
		}
		whole[i] = true
		for _, p := range v.Parts {
			whole[i] = whole[i] && l.shardOK(ctx, d, coder, &header, p, true)
		}
		return nil
	})
	if countNil(unreached) < len(vdrives) {
		return res, ErrReadQuorum // every shard must be counted before anything is decided
	}
	good := 0
	for _, ok := range whole {
		if ok {
			good++
		}
	}
	if good >= v.EC.Data {
		// Take the delete back: the record where the shards are whole.
		for i, d := range vdrives {
			if whole[i] {
				if _, err := d.PutMeta(ctx, &header); err != nil && !errors.Is(err, storagenode.ErrStale) {
					return res, err
				}
			}
		}
		l.log.Warn("split key: put the record of its only version back where its shards are whole (an interrupted delete taken back)",
			"bucket", bucket, "key", key, "version", v.VersionID, "records", held, "whole shards", good)
		return r.healVersion(ctx, &header, deep)
	}
	// Finish the delete: the version cannot be read from what is left.
	cleanup := context.WithoutCancel(ctx)
	fanout(vdrives, func(i int, d storagenode.Drive) error {
		if d == nil {
			return nil
		}
		if _, err := d.DeleteMeta(cleanup, bucket, key, v.VersionID); err != nil && !errors.Is(err, storagenode.ErrObjectNotFound) {
			return err
		}
		if !v.InlineData {
			return d.DeleteVersion(cleanup, bucket, v.DataDir)
		}
		return nil
	})
	l.log.Warn("split key: removed its only version, which fewer than k whole shards are left of (an interrupted delete finished)",
		"bucket", bucket, "key", key, "version", v.VersionID, "records", held, "whole shards", good)
	return res, ErrObjectNotFound
}
