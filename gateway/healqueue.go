package gateway

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
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
	// busy holds objects whose heal found a write holding them: each is
	// queued again when its retry is due.
	busy map[healItem]busyRetry
	// retryFirst is the wait before the first retry of a busy object.
	retryFirst time.Duration
}

// busyRetry is when an object skipped as busy is tried again.
type busyRetry struct {
	tries  int
	next   time.Time
	queued bool // back in ch, not yet healed
}

// Retries of a busy object: the first after busyRetryFirst, each wait
// twice the last, at most busyRetryMax (healQueue.retryFirst; tests
// shorten it).
const busyRetryFirst = time.Second

const busyRetryMax = time.Minute

// maxPending bounds the objects waiting for a drive to return; beyond it
// the background scanner is relied on.
const maxPending = 100000

func newHealQueue() *healQueue {
	return &healQueue{ch: make(chan healItem, healQueueSize), pending: map[healItem]struct{}{}, busy: map[healItem]busyRetry{},
		retryFirst: busyRetryFirst}
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

// later records that it found its object busy: it is queued again after a
// wait that grows with each try. Beyond maxPending busy objects, the
// background scanner is relied on.
func (q *healQueue) later(it healItem) {
	q.mu.Lock()
	defer q.mu.Unlock()
	b, ok := q.busy[it]
	if !ok && len(q.busy) >= maxPending {
		return
	}
	b.tries++
	b.queued = false
	b.next = time.Now().Add(q.backoff(b.tries))
	q.busy[it] = b
}

// backoff is the wait before the tries-th retry of a busy object.
func (q *healQueue) backoff(tries int) time.Duration {
	d := q.retryFirst
	for i := 1; i < tries && d < busyRetryMax; i++ {
		d *= 2
	}
	return min(d, busyRetryMax)
}

// notBusy forgets a busy object once a heal of it ran.
func (q *healQueue) notBusy(it healItem) {
	q.mu.Lock()
	delete(q.busy, it)
	q.mu.Unlock()
}

// requeueDue puts the busy objects whose retry is due back into ch (as far
// as it has room).
func (q *healQueue) requeueDue(now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for it, b := range q.busy {
		if b.queued || now.Before(b.next) {
			continue
		}
		select {
		case q.ch <- it:
			b.queued = true
			q.busy[it] = b
		default:
			return // full: the next tick tries again
		}
	}
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
func (r *Repair) HealQueueStats() (queued int, healed, dropped int64) {
	q := r.l.healq
	return len(q.ch), q.healed.Load(), q.dropped.Load()
}

// RunHealer heals queued objects until ctx ends. The server runs one. An
// object that a write holds is skipped and queued again later, so the
// worker never waits behind a client.
func (r *Repair) RunHealer(ctx context.Context) {
	l := r.l
	tick := time.NewTicker(max(l.healq.retryFirst/2, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			l.healq.requeueDue(now)
		case it := <-l.healq.ch:
			res, err := r.HealObject(ctx, it.bucket, it.key, true)
			if errors.Is(err, ErrKeyBusy) {
				l.healq.later(it)
				continue
			}
			l.healq.notBusy(it)
			if err != nil {
				if ctx.Err() == nil {
					l.log.Warn("heal failed; retried when a drive returns", "bucket", it.bucket, "key", it.key, "err", err)
					l.healq.park(it)
				}
				continue
			}
			if res.Repaired > 0 {
				l.healq.healed.Add(1)
			}
			if res.Unreachable > 0 || res.Away > 0 {
				l.healq.park(it) // finish (or move home) when the drive returns
			}
		}
	}
}
