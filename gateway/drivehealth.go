package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

// DriveState is one drive's health as this gateway sees it.
type DriveState struct {
	ID     string  `json:"id"`
	Node   string  `json:"node"`
	Zone   string  `json:"zone,omitempty"`
	Weight float64 `json:"weight"`
	Online bool    `json:"online"`
	// Disk is the drive's capacity; zero when the drive cannot tell or is
	// offline.
	Disk storagenode.DiskInfo `json:"disk"`
	// Draining: the drive takes no new shards (its node is being drained).
	Draining bool `json:"draining,omitempty"`
	// Records is how many object records (one per shard held) the drive
	// keeps; -1 when not counted (DriveStates does not count them).
	Records int64 `json:"records"`
	// Error says why the drive is offline.
	Error string `json:"error,omitempty"`
}

// driveProbeTimeout bounds one drive's health probe.
const driveProbeTimeout = 2 * time.Second

// DriveStates probes every drive at once (capacity, reachability) and
// returns their states in cluster-map order. A drive whose circuit breaker
// holds it down is reported offline without a probe.
func (l *Layer) DriveStates(ctx context.Context) []DriveState {
	info := l.topo().info
	out := make([]DriveState, len(info))
	var wg sync.WaitGroup
	for i, d := range info {
		out[i] = DriveState{ID: d.ID(), Node: d.Node, Zone: d.Zone, Weight: d.Weight, Draining: d.Draining, Records: -1}
		if on, ok := d.Drive.(interface{ Online() bool }); ok && !on.Online() {
			out[i].Error = "down (circuit breaker open)"
			continue
		}
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, driveProbeTimeout)
			defer cancel()
			di, err := storagenode.DiskInfoOf(pctx, d.Drive)
			switch {
			case err == nil:
				out[i].Online, out[i].Disk, out[i].Records = true, di, di.Records
			case errors.Is(err, errors.ErrUnsupported):
				out[i].Online = true
			default:
				out[i].Error = err.Error()
			}
		})
	}
	wg.Wait()
	return out
}

// Readiness says whether the drives online are enough to serve: reads need
// k drives, writes the write quorum, bucket changes a majority of drives;
// a read-only drive (DiskInfo.ReadOnly) counts for reads only. ready is true
// when all three hold.
func (l *Layer) Readiness(states []DriveState) (online int, ready bool) {
	writable := 0
	for _, s := range states {
		if s.Online {
			online++
			if !s.Disk.ReadOnly {
				writable++
			}
		}
	}
	return online, online >= l.k && writable >= max(writeQuorum(l.k, l.m), l.bucketQuorum())
}
