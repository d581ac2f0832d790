package gateway

import (
	"context"
	"sync"
	"sync/atomic"
)

// healQueueSize bounds the in-memory heal queue. Objects that do not fit
// are left to the background scanner (HealAll), which finds them anyway.
const healQueueSize = 10000

type healItem struct{ bucket, key string }

// healQueue holds objects found below full redundancy by reads and writes.
// Objects whose heal could not finish because a drive was unreachable wait
// in pending until a drive comes back (DriveOnline).
type healQueue struct {
	ch      chan healItem
	dropped atomic.Int64
	healed  atomic.Int64

	mu      sync.Mutex
	pending map[healItem]struct{}
}

// maxPending bounds the objects waiting for a drive to return; beyond it
// the background scanner is relied on.
const maxPending = 100000

func newHealQueue() *healQueue {
	return &healQueue{ch: make(chan healItem, healQueueSize), pending: map[healItem]struct{}{}}
}

// DriveOnline tells the layer a drive is reachable again: objects whose
// heal waited for a drive are queued again.
func (l *Layer) DriveOnline() {
	l.healq.mu.Lock()
	items := make([]healItem, 0, len(l.healq.pending))
	for it := range l.healq.pending {
		items = append(items, it)
	}
	clear(l.healq.pending)
	l.healq.mu.Unlock()
	for _, it := range items {
		l.queueHeal(it.bucket, it.key)
	}
}

func (q *healQueue) park(it healItem) {
	q.mu.Lock()
	if len(q.pending) < maxPending {
		q.pending[it] = struct{}{}
	}
	q.mu.Unlock()
}

// queueHeal asks for bucket/key to be healed soon; it never blocks.
func (l *Layer) queueHeal(bucket, key string) {
	select {
	case l.healq.ch <- healItem{bucket, key}:
	default:
		if l.healq.dropped.Add(1)%1000 == 1 {
			l.log.Warn("heal queue full; the background scan will find the rest", "dropped", l.healq.dropped.Load())
		}
	}
}

// HealQueueStats reports the heal queue's length, the objects healed from
// it and the requests it had to drop.
func (l *Layer) HealQueueStats() (queued int, healed, dropped int64) {
	return len(l.healq.ch), l.healq.healed.Load(), l.healq.dropped.Load()
}

// RunHealer heals queued objects until ctx ends. The server runs one.
func (l *Layer) RunHealer(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case it := <-l.healq.ch:
			r, err := l.HealObject(ctx, it.bucket, it.key, true)
			if err != nil {
				if ctx.Err() == nil {
					l.log.Warn("heal failed; retried when a drive returns", "bucket", it.bucket, "key", it.key, "err", err)
					l.healq.park(it)
				}
				continue
			}
			if r.Repaired > 0 {
				l.healq.healed.Add(1)
			}
			if r.Unreachable > 0 || r.Away > 0 {
				l.healq.park(it) // finish (or move home) when the drive returns
			}
		}
	}
}
