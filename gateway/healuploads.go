package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ecstore/ecstore/storagenode"
)

// healUploads heals every multipart upload in progress in bucket (those a
// read quorum of their drives holds: the ones ListMultipartUploads shows).
// It returns how many it repaired and how many it could not bring to full
// redundancy.
func (r *Repair) healUploads(ctx context.Context, bucket string, deep bool) (repaired, failed int, err error) {
	l := r.l
	all := l.allDrives()
	lists := make([][]*storagenode.UploadMeta, len(all))
	fanout(all, func(i int, d storagenode.Drive) (err error) {
		lists[i], err = d.ListUploads(ctx, bucket)
		return err
	})
	count := map[string]int{}
	byID := map[string]*storagenode.UploadMeta{}
	var ids []string
	for _, list := range lists {
		for _, u := range list {
			if count[u.UploadID] == 0 {
				ids = append(ids, u.UploadID)
			}
			count[u.UploadID]++
			byID[u.UploadID] = u
		}
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return repaired, failed, err
		}
		u := byID[id]
		if count[id] < u.EC.Data {
			continue // not a live upload: a leftover the drives' abort removes
		}
		res, err := r.HealUpload(ctx, bucket, u.Key, id, deep)
		if res.Repaired > 0 {
			repaired++
		}
		if errors.Is(err, ErrKeyBusy) {
			continue // a part upload is running: it writes every drive anyway
		}
		if err != nil && !errors.Is(err, ErrUploadNotFound) || res.Degraded() {
			failed++
			l.log.Warn("heal: upload not brought to full redundancy", "bucket", bucket, "key", u.Key, "upload", id,
				"err", err, "unreachable", res.Unreachable, "lost", res.Lost)
		}
	}
	return repaired, failed, nil
}

// HealUpload brings a multipart upload in progress back to full redundancy,
// as HealObject does for objects: every drive of the upload gets the upload
// record, and for every part the record and an intact shard file, rebuilt
// from k good shards. A part's shards are checked where its record says
// they went (a fallback drive when its own was down: see partdrives.go);
// the upload's own drives get the part's record even where a fallback holds
// the shard. While a part upload or a Complete holds the upload it waits at
// most healLockWait and returns ErrKeyBusy.
func (r *Repair) HealUpload(ctx context.Context, bucket, key, uploadID string, deep bool) (HealResult, error) {
	l := r.l
	var res HealResult
	unlock, err := l.ulocks.try(ctx, bucket, uploadID, l.healLockWait)
	if err != nil {
		return res, err
	}
	defer unlock()
	u, drives, err := l.readUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return res, err
	}
	parts, extra, err := l.readPartsAll(ctx, u, drives)
	if err != nil {
		return res, err
	}
	coder, err := l.coder(u.EC)
	if err != nil {
		return res, err
	}
	// The upload's parts as a record of shard files, for shardOK and
	// rebuildPart.
	shape := &storagenode.ObjectMeta{Bucket: bucket, Key: key, VersionID: uploadID, DataDir: uploadID, EC: u.EC, Drives: u.Drives}
	n := len(drives)
	// all: the upload's drives, then its parts' fallback drives.
	all := l.withExtra(drives, extra)
	pos := map[string]int{}
	for a, d := range all {
		if d != nil {
			pos[d.ID()] = a
		}
	}
	reachable := make([]bool, len(all))
	noUpload := make([]bool, len(all))
	names := make([]map[string]bool, len(all))
	fanout(all, func(a int, d storagenode.Drive) error {
		have, err := d.ListParts(ctx, bucket, uploadID)
		switch {
		case errors.Is(err, storagenode.ErrUploadNotFound), errors.Is(err, storagenode.ErrBucketNotFound):
			noUpload[a] = true
		case err != nil:
			return err
		}
		reachable[a] = true
		names[a] = map[string]bool{}
		for _, p := range have {
			names[a][p.Name] = true
		}
		return nil
	})
	// shardAt[j][i]: the position in all of part j's shard i (-1: a drive
	// no longer in the map).
	shardAt := make([][]int, len(parts))
	for j, p := range parts {
		shardAt[j] = make([]int, n)
		for i, id := range partDrives(u, p) {
			if a, ok := pos[id]; ok {
				shardAt[j][i] = a
			} else {
				shardAt[j][i] = -1
			}
		}
	}
	bad := make([][]bool, len(parts)) // by part, then shard index
	for j, p := range parts {
		bad[j] = make([]bool, n)
		info := storagenode.PartInfo{Number: p.Number, Size: p.Size, ETag: p.ETag, Name: p.Name, Stored: p.Stored}
		pd := make([]storagenode.Drive, n)
		for i, a := range shardAt[j] {
			if a >= 0 && reachable[a] {
				pd[i] = all[a]
			}
		}
		fanout(pd, func(i int, d storagenode.Drive) error {
			a := shardAt[j][i]
			bad[j][i] = noUpload[a] || !names[a][p.Name] || !l.shardOK(ctx, d, coder, shape, info, deep)
			return nil
		})
	}
	for a := range all {
		if !reachable[a] && (a < n || usedBy(shardAt, a)) {
			res.Unreachable++
		}
	}
	// The upload records first: part records need them.
	for a, d := range all {
		if reachable[a] && noUpload[a] {
			if err := d.PutUpload(ctx, u); err != nil {
				reachable[a] = false
				if errors.Is(err, storagenode.ErrUploadCompleted) {
					continue // completed meanwhile (through another gateway)
				}
				l.log.Warn("heal: upload record not repaired", "bucket", bucket, "upload", uploadID, "drive", d.ID(), "err", err)
				continue
			}
			res.Repaired++
		}
	}
	for j, p := range parts {
		info := storagenode.PartInfo{Number: p.Number, Size: p.Size, ETag: p.ETag, Name: p.Name, Stored: p.Stored}
		sources := make([]storagenode.Drive, n)
		targets := make([]storagenode.Drive, n)
		good, todo := 0, 0
		for i, a := range shardAt[j] {
			switch {
			case a < 0 || !reachable[a]:
			case bad[j][i]:
				targets[i] = all[a]
				todo++
			default:
				sources[i] = all[a]
				good++
			}
		}
		res.Checked += good + todo
		if todo > 0 {
			if good < u.EC.Data {
				res.Lost = true
				return res, fmt.Errorf("gateway: heal upload %s/%s part %d: only %d good shards, need %d", bucket, uploadID, p.Number, good, u.EC.Data)
			}
			written, failed, err := l.rebuildPart(ctx, coder, shape, info, sources, targets)
			if err != nil {
				return res, fmt.Errorf("gateway: heal upload %s/%s part %d: %w", bucket, uploadID, p.Number, err)
			}
			res.Bytes += written
			l.stats.BytesHealed.Add(written)
			errs := fanout(targets, func(i int, d storagenode.Drive) error {
				if failed[i] {
					return storagenode.ErrDriveOffline
				}
				_, err := d.PutPart(ctx, bucket, uploadID, p)
				return err
			})
			for i, e := range errs {
				switch {
				case targets[i] == nil:
				case e == nil:
					res.Repaired++
					l.stats.ShardsHealed.Add(1)
				default:
					l.log.Warn("heal: upload part not repaired", "bucket", bucket, "upload", uploadID, "part", p.Number, "drive", targets[i].ID(), "err", e)
				}
			}
		}
		// The upload's own drives whose shard of the part is on a fallback
		// hold the part's record all the same (the record is what a read
		// quorum of them must agree on).
		recs := make([]storagenode.Drive, n)
		for i, a := range shardAt[j] {
			if a != i && reachable[i] && !names[i][p.Name] {
				recs[i] = drives[i]
			}
		}
		errs := fanout(recs, func(_ int, d storagenode.Drive) error {
			_, err := d.PutPart(ctx, bucket, uploadID, p)
			return err
		})
		for i, e := range errs {
			switch {
			case recs[i] == nil:
			case e == nil:
				res.Repaired++
			default:
				l.log.Warn("heal: upload part record not repaired", "bucket", bucket, "upload", uploadID, "part", p.Number, "drive", recs[i].ID(), "err", e)
			}
		}
	}
	if res.Repaired > 0 {
		l.log.Info("healed upload", "bucket", bucket, "key", key, "upload", uploadID, "repaired", res.Repaired, "bytes", res.Bytes)
	}
	return res, nil
}

// usedBy reports whether position a holds a shard of some part.
func usedBy(shardAt [][]int, a int) bool {
	for _, row := range shardAt {
		if slices.Contains(row, a) {
			return true
		}
	}
	return false
}
