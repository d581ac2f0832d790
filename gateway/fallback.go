package gateway

import (
	"context"
	"errors"

	"github.com/ecstore/ecstore/storagenode"
)

// useFallbacks gives each shard whose drive could not be reached a drive
// further down the key's placement order: one not already holding a shard
// of this object, on a node with no other shard of it when there is one.
// For a part (upload set) the fallback drive stores the upload's record
// first. It updates drives, sws and errs in place.
func (l *Layer) useFallbacks(ctx context.Context, ref storagenode.ShardRef, upload *storagenode.UploadMeta, e storagenode.ECInfo, drives []storagenode.Drive, sws []storagenode.ShardWriter, errs []error) {
	l.fallbacks(ref.Bucket, ref.VersionDir, drives, errs, func(i int, c storagenode.Drive) bool {
		if upload != nil {
			if err := c.PutUpload(ctx, upload); err != nil {
				return false
			}
		}
		w, err := c.CreateShard(shardCtx(ctx, i, e), ref)
		if err != nil {
			return false
		}
		sws[i] = w
		return true
	})
}

// fallbacks replaces each drive whose errs entry is ErrDriveOffline with the
// first candidate down the placement order of (bucket, versionDir) that try
// accepts, preferring nodes holding no other shard of the object. It
// updates drives and errs in place.
func (l *Layer) fallbacks(bucket, versionDir string, drives []storagenode.Drive, errs []error, try func(i int, c storagenode.Drive) bool) {
	t := l.topo()
	order, err := t.placer.Place(bucket, versionDir, len(t.pdrv))
	if err != nil {
		return
	}
	nodeOf := make(map[string]string, len(t.info))
	for _, d := range t.info {
		nodeOf[d.ID()] = d.Zone + "/" + d.Node
	}
	used := map[string]bool{}
	nodes := map[string]bool{}
	for i, d := range drives {
		if d == nil {
			continue // a drive no longer in the map (an upload's)
		}
		used[d.ID()] = true
		if errs[i] == nil {
			nodes[nodeOf[d.ID()]] = true
		}
	}
	for i := range drives {
		if !errors.Is(errs[i], storagenode.ErrDriveOffline) {
			continue
		}
		// Two rounds: first drives on untouched nodes, then any drive.
		for round := 0; round < 2 && errs[i] != nil; round++ {
			for _, j := range order {
				c := t.drives[t.pidx[j]]
				if used[c.ID()] || (round == 0 && nodes[nodeOf[c.ID()]]) {
					continue
				}
				used[c.ID()] = true
				if !try(i, c) {
					continue
				}
				l.log.Info("degraded write: shard sent to a fallback drive", "bucket", bucket, "dir", versionDir,
					"home", driveID(drives[i]), "fallback", c.ID())
				drives[i], errs[i] = c, nil
				nodes[nodeOf[c.ID()]] = true
				break
			}
		}
	}
}

// online reports whether a drive's circuit breaker lets calls through
// (true for drives without one).
func online(d storagenode.Drive) bool {
	if on, ok := d.(interface{ Online() bool }); ok {
		return on.Online()
	}
	return true
}
