package gateway

// Read-only views of the layer for status pages (the web console); the
// drives' own states are DriveStates.

// ECScheme returns the erasure code of new objects: k data and m parity
// shards (any m drives of an object may be lost).
func (l *Layer) ECScheme() (data, parity int) { return l.k, l.m }

// HealStatus returns the progress of the current (or last) heal walk; it
// is Healer().Status().
func (r *Repair) HealStatus() HealStatus { return r.healer.Status() }

// HealPending returns how many objects known to be below full redundancy
// wait for an unreachable drive to return before they can be healed.
func (r *Repair) HealPending() int {
	q := r.l.healq
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}
