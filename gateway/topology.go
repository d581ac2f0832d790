package gateway

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecstore/ecstore/placement"
	"github.com/ecstore/ecstore/storagenode"
)

// topology is one cluster map as the Layer uses it. A Layer swaps its
// topology whole (SetTopology); an operation loads it once and works on that
// one, so no operation mixes two maps.
type topology struct {
	epoch int
	// sseKept: every drive of the map said it keeps encrypted versions'
	// records whole (checkEncryptionKept), checked once per map.
	sseKept atomic.Bool
	// info and drives are every drive of the map, in map order, draining
	// ones included: they hold buckets, serve reads and listings.
	info   []Drive
	drives []storagenode.Drive
	// byID also resolves the drives of prior layouts, which records of
	// objects not yet moved still name.
	byID map[string]storagenode.Drive
	// pdrv and pidx are the placement candidates (drives not draining) and
	// their indexes in drives.
	pdrv   []placement.Drive
	pidx   []int
	placer *placement.Placer
	// prior are the layouts of earlier maps whose objects a rebalance may
	// not have moved yet: lookups ask their placement drives too.
	prior []*priorLayout

	writes sync.WaitGroup // writes in flight on this topology
}

type priorLayout struct {
	drives []storagenode.Drive
	placer *placement.Placer
}

// Topology is a cluster map given to SetTopology.
type Topology struct {
	// Epoch is the map's epoch (for status).
	Epoch int
	// Drives is the map's drive list in map order (new drives appended);
	// drives with Draining set take no new shards.
	Drives []Drive
	// Prior are the drive lists of earlier maps whose objects may not have
	// moved yet (placement order; draining drives left out as they were).
	Prior [][]Drive
}

func newTopology(t Topology, k, m int) (*topology, error) {
	tp := &topology{epoch: t.Epoch, byID: map[string]storagenode.Drive{}}
	seen := map[string]bool{}
	active := 0
	for _, d := range t.Drives {
		id := d.id()
		if seen[id] {
			return nil, fmt.Errorf("gateway: drive id %q appears twice; every drive needs its own folder", id)
		}
		seen[id] = true
		// Retired drives (draining, removed) keep their place in the
		// placement list, so that only their own shards move.
		tp.pdrv = append(tp.pdrv, d.placement())
		tp.pidx = append(tp.pidx, len(tp.drives))
		if d.Removed {
			tp.pidx[len(tp.pidx)-1] = -1
			continue
		}
		if !d.Draining {
			active++
		}
		tp.info = append(tp.info, d)
		tp.drives = append(tp.drives, d.Drive)
		tp.byID[id] = d.Drive
	}
	if len(tp.drives) == 0 {
		return nil, fmt.Errorf("gateway: no drives configured")
	}
	if k+m > active {
		return nil, fmt.Errorf("gateway: erasure coding %d+%d needs at least %d drives that are not draining, but there are %d", k, m, k+m, active)
	}
	if err := placement.Validate(tp.pdrv); err != nil {
		return nil, err
	}
	p, err := placement.NewPlacer(tp.pdrv)
	if err != nil {
		return nil, err
	}
	tp.placer = p
	for _, layout := range t.Prior {
		var pd []placement.Drive
		pl := &priorLayout{}
		for _, d := range layout {
			pd = append(pd, d.placement())
			pl.drives = append(pl.drives, d.Drive) // nil for a tombstone: never placed on
			if !d.Removed && tp.byID[d.id()] == nil {
				tp.byID[d.id()] = d.Drive
			}
		}
		if pl.placer, err = placement.NewPlacer(pd); err != nil {
			return nil, fmt.Errorf("gateway: prior layout: %w", err)
		}
		tp.prior = append(tp.prior, pl)
	}
	return tp, nil
}

// topo returns the current topology.
func (l *Layer) topo() *topology { return l.top.Load() }

// beginWrite pins the current topology for a write: the rebalance that
// follows a map change waits for the writes still running on the old map.
func (l *Layer) beginWrite() *topology {
	t := l.topo()
	t.writes.Add(1)
	return t
}

// SetTopology switches the Layer to a new cluster map. Operations already
// running finish on the map they started with; WaitWrites waits for them.
func (l *Layer) SetTopology(t Topology) error {
	tp, err := newTopology(t, l.k, l.m)
	if err != nil {
		return err
	}
	old := l.top.Swap(tp)
	if old != nil {
		l.mu.Lock()
		l.retired = append(l.retired, old)
		l.mu.Unlock()
	}
	l.log.Info("cluster map adopted", "epoch", t.Epoch, "drives", len(tp.drives), "placement_drives", len(tp.pdrv), "prior_layouts", len(tp.prior))
	return nil
}

// Epoch returns the epoch of the cluster map in use.
func (l *Layer) Epoch() int { return l.topo().epoch }

// Rebalancing reports whether the map in use still has prior layouts to
// move objects away from.
func (l *Layer) Rebalancing() bool { return len(l.topo().prior) > 0 }

// WaitWrites waits until no write started on an earlier map is running, or
// ctx ends.
func (l *Layer) WaitWrites(ctx context.Context) error {
	l.mu.Lock()
	retired := l.retired
	l.retired = nil
	l.mu.Unlock()
	done := make(chan struct{})
	go func() {
		for _, t := range retired {
			t.writes.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		l.retired = append(retired, l.retired...)
		l.mu.Unlock()
		return ctx.Err()
	}
}

// lookupDrives returns the drives to ask for bucket/key's records: its
// placement under the current map, then the drives it had under prior maps
// that are not among those.
func (l *Layer) lookupDrives(t *topology, bucket, key string) ([]storagenode.Drive, error) {
	drives, err := t.place(bucket, key, l.k, l.m)
	if err != nil || len(t.prior) == 0 {
		return drives, err
	}
	in := make(map[string]bool, len(drives))
	for _, d := range drives {
		in[d.ID()] = true
	}
	for _, p := range t.prior {
		idx, err := p.placer.PlaceEC(bucket, key, l.k, l.m)
		if err != nil {
			continue // too few drives in that layout for this code
		}
		for _, j := range idx {
			if d := p.drives[j]; d != nil && !in[d.ID()] {
				in[d.ID()] = true
				drives = append(drives, d)
			}
		}
	}
	return drives, nil
}

// place returns the drives for a new object's shards under t, by shard
// index.
func (t *topology) place(bucket, key string, k, m int) ([]storagenode.Drive, error) {
	idx, err := t.placer.PlaceEC(bucket, key, k, m)
	if err != nil {
		return nil, fmt.Errorf("gateway: place %s/%s: %w", bucket, key, err)
	}
	out := make([]storagenode.Drive, len(idx))
	for i, j := range idx {
		out[i] = t.drives[t.pidx[j]] // never a retired drive: never -1
	}
	return out, nil
}

// id returns the drive's ID (a tombstone has no Drive, only its ID).
func (d Drive) id() string {
	if d.Drive == nil {
		return d.RemovedID
	}
	return d.ID()
}

func (d Drive) placement() placement.Drive {
	w := d.Weight
	if w == 0 {
		w = 1
	}
	return placement.Drive{ID: d.id(), Node: d.Node, Zone: d.Zone, Weight: w, Retired: d.Draining || d.Removed}
}

// rebalanceSettle bounds how long a rebalance waits for writes on the old
// map before it starts anyway (they are found by a later walk).
const rebalanceSettle = time.Minute
