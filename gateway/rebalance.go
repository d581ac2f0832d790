package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"time"
)

// Rebalancer returns the layer's rebalancer: a walk over every object, like
// a heal, run after a cluster map change. HealObject moves each shard whose
// placement changed to its new drive (copy, verify, commit the new drive
// list in every record, delete the old copy), so the object keeps k+m
// shards at every step; shards whose placement did not change stay put.
func (r *Repair) Rebalancer() *Walker { return r.rebalancer }

// StartRebalance starts (or restarts) the rebalance for the map in use, at
// most maxObjectsPerSec objects a second (0: no bound). It first waits for
// writes still running on earlier maps. done is called when a walk ends
// with every object in place (no error, nothing failed), with its status;
// the caller then drops the prior layouts from the map. When the state file
// holds an unfinished rebalance of the same epoch, the walk resumes after
// its cursor.
func (r *Repair) StartRebalance(ctx context.Context, maxObjectsPerSec float64, done func(HealStatus)) {
	l, h := r.l, r.rebalancer
	h.Stop()
	epoch := l.Epoch()
	st := HealStatus{Running: true, Operator: true, Started: time.Now().UTC(), Epoch: epoch}
	if saved, ok := h.loadState(); ok && saved.Running && saved.Epoch == epoch {
		st = saved
		l.log.Info("resuming the rebalance that was running at the last stop", "epoch", epoch, "cursor", saved.Cursor, "moved", saved.ShardsMoved)
	} else {
		l.log.Info("rebalance started", "epoch", epoch, "rate", maxObjectsPerSec)
	}
	h.mu.Lock()
	h.status = st
	h.background = false
	h.onDone = done
	h.launch(ctx, maxObjectsPerSec)
	h.mu.Unlock()
}

// loadState reads the saved status, if any.
func (h *Walker) loadState() (HealStatus, bool) {
	h.mu.Lock()
	path := h.statePath
	h.mu.Unlock()
	if path == "" {
		return HealStatus{}, false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			h.r.l.log.Warn("reading "+h.kind.String()+" state", "path", path, "err", err)
		}
		return HealStatus{}, false
	}
	var st HealStatus
	if err := json.Unmarshal(data, &st); err != nil {
		return HealStatus{}, false
	}
	return st, true
}
