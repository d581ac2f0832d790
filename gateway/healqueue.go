package gateway

import (
	"context"
	"sync/atomic"
)

// healQueueSize bounds the in-memory heal queue. Objects that do not fit
// are left to the background scanner (HealAll), which finds them anyway.
const healQueueSize = 10000

type healItem struct{ bucket, key string }

// healQueue holds objects found below full redundancy by reads and writes.
type healQueue struct {
	ch      chan healItem
	dropped atomic.Int64
	healed  atomic.Int64
}

func newHealQueue() *healQueue { return &healQueue{ch: make(chan healItem, healQueueSize)} }

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
					l.log.Warn("heal failed", "bucket", it.bucket, "key", it.key, "err", err)
				}
				continue
			}
			if r.Repaired > 0 {
				l.healq.healed.Add(1)
			}
		}
	}
}
