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
	// Error says why the drive is offline.
	Error string `json:"error,omitempty"`
}

// driveProbeTimeout bounds one drive's health probe.
const driveProbeTimeout = 2 * time.Second

// DriveStates probes every drive at once (capacity, reachability) and
// returns their states in cluster-map order. A drive whose circuit breaker
// holds it down is reported offline without a probe.
func (l *Layer) DriveStates(ctx context.Context) []DriveState {
	out := make([]DriveState, len(l.cfg.Drives))
	var wg sync.WaitGroup
	for i, d := range l.cfg.Drives {
		out[i] = DriveState{ID: d.ID(), Node: d.Node, Zone: d.Zone, Weight: d.Weight}
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
				out[i].Online, out[i].Disk = true, di
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
// k drives, writes the write quorum, bucket changes a majority of drives.
// ready is true when all three hold.
func (l *Layer) Readiness(states []DriveState) (online int, ready bool) {
	for _, s := range states {
		if s.Online {
			online++
		}
	}
	need := max(l.k, writeQuorum(l.k, l.m), l.bucketQuorum())
	return online, online >= need
}
