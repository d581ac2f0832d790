package gateway

import (
	"context"
	"errors"

	"github.com/ecstore/ecstore/placement"
	"github.com/ecstore/ecstore/storagenode"
)

// useFallbacks gives each shard whose drive could not be reached a drive
// further down the key's placement order: one not already holding a shard
// of this object, on a node with no other shard of it when there is one.
// It updates drives, sws and errs in place.
func (l *Layer) useFallbacks(ctx context.Context, ref storagenode.ShardRef, drives []storagenode.Drive, sws []storagenode.ShardWriter, errs []error) {
	order, err := placement.Place(ref.Bucket, ref.VersionDir, l.pdrv, len(l.pdrv))
	if err != nil {
		return
	}
	used := map[string]bool{}
	nodes := map[string]bool{}
	for i, d := range drives {
		used[d.ID()] = true
		if errs[i] == nil {
			nodes[l.pdrv[l.index[d.ID()]].Node] = true
		}
	}
	for i := range drives {
		if !errors.Is(errs[i], storagenode.ErrDriveOffline) {
			continue
		}
		// Two rounds: first drives on untouched nodes, then any drive.
		for round := 0; round < 2 && errs[i] != nil; round++ {
			for _, j := range order {
				c := l.drives[j]
				if used[c.ID()] || (round == 0 && nodes[l.pdrv[j].Node]) {
					continue
				}
				used[c.ID()] = true
				w, err := c.CreateShard(ctx, ref)
				if err != nil {
					continue
				}
				l.log.Info("degraded write: shard sent to a fallback drive", "bucket", ref.Bucket, "dir", ref.VersionDir,
					"home", drives[i].ID(), "fallback", c.ID())
				drives[i], sws[i], errs[i] = c, w, nil
				nodes[l.pdrv[j].Node] = true
				break
			}
		}
	}
}
