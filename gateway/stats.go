package gateway

import "sync/atomic"

// Stats are the layer's running counters, read by the metrics endpoint.
// All fields only grow.
type Stats struct {
	// ChecksumFailures counts shards found with a block failing its
	// checksum during a read (bitrot), per part read; the reader got the
	// bytes rebuilt from parity.
	ChecksumFailures atomic.Int64
	// DegradedReads counts object reads that needed parity (missing or
	// corrupt shards).
	DegradedReads atomic.Int64
	// PartialWrites counts writes acknowledged with fewer than k+m shards.
	PartialWrites atomic.Int64
	// ShardsHealed counts shards rewritten by heals.
	ShardsHealed atomic.Int64
	// BytesHealed counts shard bytes written by heals.
	BytesHealed atomic.Int64
}

// Stats returns the layer's counters.
func (l *Layer) Stats() *Stats { return &l.stats }
