package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecstore/ecstore/storagenode"
)

// healUploads heals every multipart upload in progress in bucket (those a
// read quorum of their drives holds: the ones ListMultipartUploads shows).
// It returns how many it repaired and how many it could not bring to full
// redundancy.
func (l *Layer) healUploads(ctx context.Context, bucket string, deep bool) (repaired, failed int, err error) {
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
		res, err := l.HealUpload(ctx, bucket, u.Key, id, deep)
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
// from k good shards. While a part upload or a Complete holds the upload it
// waits at most healLockWait and returns ErrKeyBusy.
func (l *Layer) HealUpload(ctx context.Context, bucket, key, uploadID string, deep bool) (HealResult, error) {
	var res HealResult
	unlock, err := l.ulocks.try(ctx, bucket, uploadID, healLockWait)
	if err != nil {
		return res, err
	}
	defer unlock()
	u, drives, err := l.readUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return res, err
	}
	parts, err := l.readParts(ctx, u, drives)
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
	reachable := make([]bool, n)
	noUpload := make([]bool, n)
	bad := make([][]bool, len(parts)) // by part, then drive
	for j := range bad {
		bad[j] = make([]bool, n)
	}
	fanout(drives, func(i int, d storagenode.Drive) error {
		have, err := d.ListParts(ctx, bucket, uploadID)
		switch {
		case errors.Is(err, storagenode.ErrUploadNotFound), errors.Is(err, storagenode.ErrBucketNotFound):
			noUpload[i] = true
		case err != nil:
			return err
		}
		reachable[i] = true
		names := map[string]bool{}
		for _, p := range have {
			names[p.Name] = true
		}
		for j, p := range parts {
			info := storagenode.PartInfo{Number: p.Number, Size: p.Size, ETag: p.ETag, Name: p.Name}
			bad[j][i] = noUpload[i] || !names[p.Name] || !l.shardOK(ctx, d, coder, shape, info, deep)
		}
		return nil
	})
	for i := range drives {
		if !reachable[i] {
			res.Unreachable++
		}
	}
	// The upload records first: part records need them.
	for i, d := range drives {
		if reachable[i] && noUpload[i] {
			if err := d.PutUpload(ctx, u); err != nil {
				reachable[i] = false
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
		info := storagenode.PartInfo{Number: p.Number, Size: p.Size, ETag: p.ETag, Name: p.Name}
		sources := make([]storagenode.Drive, n)
		targets := make([]storagenode.Drive, n)
		good, todo := 0, 0
		for i, d := range drives {
			switch {
			case !reachable[i]:
			case bad[j][i]:
				targets[i] = d
				todo++
			default:
				sources[i] = d
				good++
			}
		}
		res.Checked += good + todo
		if todo == 0 {
			continue
		}
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
				l.log.Warn("heal: upload part not repaired", "bucket", bucket, "upload", uploadID, "part", p.Number, "drive", drives[i].ID(), "err", e)
			}
		}
	}
	if res.Repaired > 0 {
		l.log.Info("healed upload", "bucket", bucket, "key", key, "upload", uploadID, "repaired", res.Repaired, "bytes", res.Bytes)
	}
	return res, nil
}
