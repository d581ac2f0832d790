package gateway

import (
	"context"
	"time"
)

// Repair is the work that brings objects back to full redundancy and
// placement, beside the data path (the Layer): the heal queue's worker
// (RunHealer), the background scanner (RunScanner) and an operator's heal
// (Healer), the rebalance after a cluster map change (Rebalancer,
// StartRebalance), and the expiry of abandoned multipart uploads
// (RunUploadExpiry). The Layer only feeds it: reads and writes that find an
// object below full redundancy put it on the Layer's heal queue, which
// RunHealer drains.
//
// Build one Repair per Layer, beside it, with NewRepair.
type Repair struct {
	l          *Layer
	healer     *Walker
	rebalancer *Walker
	lc         lifecycleStats
	rot        rotation
}

// NewRepair builds the repair work of l.
func NewRepair(l *Layer) *Repair {
	r := &Repair{l: l}
	r.healer = &Walker{r: r, kind: WalkHeal, saveEvery: time.Second}
	r.rebalancer = &Walker{r: r, kind: WalkRebalance, saveEvery: time.Second}
	return r
}

// Stop stops the heal and rebalance walks running (the server calls it
// before closing the drives).
func (r *Repair) Stop() {
	r.healer.Stop()
	r.rebalancer.Stop()
}

// WalkKind says which walk over every object a Walker runs.
type WalkKind int

const (
	// WalkHeal brings every object and upload back to full redundancy.
	WalkHeal WalkKind = iota
	// WalkRebalance moves every shard whose placement changed with the
	// cluster map to its new drive.
	WalkRebalance
)

func (k WalkKind) String() string {
	if k == WalkRebalance {
		return "rebalance"
	}
	return "heal"
}

// StartHeal starts an operator's heal walk at full speed (it replaces a
// running background scan); ErrHealRunning while another runs.
func (r *Repair) StartHeal(ctx context.Context, deep bool) error {
	return r.healer.Start(ctx, deep, 0)
}

// RebalanceStatus returns the progress of the current (or last) rebalance
// walk; it is Rebalancer().Status().
func (r *Repair) RebalanceStatus() HealStatus { return r.rebalancer.Status() }
