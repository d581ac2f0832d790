package console

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/ecstore/ecstore/gateway"
)

// Health is what the console's health panel needs from the gateway, an
// optional capability of the ObjectLayer given to NewHandler (the server
// gives one that joins a gateway.Layer and its gateway.Repair).
type Health interface {
	// DriveStates probes every drive (reachability, capacity), each
	// within a short timeout of its own.
	DriveStates(ctx context.Context) []gateway.DriveState
	// ECScheme is the erasure code of new objects.
	ECScheme() (data, parity int)
	// Stats are the layer's running counters (degraded reads, heals).
	Stats() *gateway.Stats
	// HealQueueStats: objects queued for heal, healed from the queue, dropped.
	HealQueueStats() (queued int, healed, dropped int64)
	// HealPending: objects waiting for an unreachable drive to return.
	HealPending() int
	// RebalanceStatus is the progress of the walk after a cluster map
	// change; Rebalancing reports whether the map still has layouts to move
	// objects from; Epoch is the map's epoch.
	RebalanceStatus() gateway.HealStatus
	Rebalancing() bool
	Epoch() int
	// HealStatus is the progress of the current or last heal walk.
	HealStatus() gateway.HealStatus
}

// Drive probes are answered from a cache this young, so any number of open
// consoles cost one probe of each drive per interval.
const healthCacheTTL = time.Second

type healthJSON struct {
	Available bool        `json:"available"` // false: the layer reports no health
	EC        ecJSON      `json:"ec"`
	Drives    []driveJSON `json:"drives"`
	Totals    totalsJSON  `json:"totals"`
	// DegradedReads counts object reads that needed parity.
	DegradedReads    int64         `json:"degradedReads"`
	ChecksumFailures int64         `json:"checksumFailures"`
	PartialWrites    int64         `json:"partialWrites"`
	Heal             healJSON      `json:"heal"`
	Rebalance        rebalanceJSON `json:"rebalance"`
	Checked          time.Time     `json:"checked"`
}

// driveJSON is one drive of the health panel.
type driveJSON struct {
	ID     string `json:"id"`
	Node   string `json:"node"`
	Zone   string `json:"zone,omitempty"`
	Online bool   `json:"online"`
	// Capacity in bytes; zero when the drive cannot tell or is offline.
	Total uint64 `json:"total"`
	Used  uint64 `json:"used"`
	Free  uint64 `json:"free"`
	Error string `json:"error,omitempty"` // why an offline drive is offline
}

type ecJSON struct {
	Data   int `json:"data"`
	Parity int `json:"parity"`
}

type totalsJSON struct {
	Nodes        int    `json:"nodes"`
	NodesOnline  int    `json:"nodesOnline"` // nodes with every drive online
	Drives       int    `json:"drives"`
	DrivesOnline int    `json:"drivesOnline"`
	Total        uint64 `json:"total"` // bytes, over online drives that report capacity
	Used         uint64 `json:"used"`
	Free         uint64 `json:"free"`
}

type healJSON struct {
	// Queued objects wait for the heal worker; Pending ones wait for a
	// drive to return. Together they are the degraded objects known now.
	Queued       int                `json:"queued"`
	Pending      int                `json:"pending"`
	Healed       int64              `json:"healed"` // objects healed from the queue
	Dropped      int64              `json:"dropped"`
	ShardsHealed int64              `json:"shardsHealed"`
	BytesHealed  int64              `json:"bytesHealed"`
	Walk         gateway.HealStatus `json:"walk"`
}

// rebalanceJSON is the rebalance after the last cluster map change: State
// is "none" (never), "running", "pending" (not running, not finished) or
// "done".
type rebalanceJSON struct {
	State string             `json:"state"`
	Epoch int                `json:"epoch"`
	Walk  gateway.HealStatus `json:"walk"`
}

func rebalanceOf(l Health) rebalanceJSON {
	st := l.RebalanceStatus()
	r := rebalanceJSON{State: "done", Epoch: l.Epoch(), Walk: st}
	switch {
	case st.Running:
		r.State = "running"
	case l.Rebalancing():
		r.State = "pending"
	case st.Started.IsZero():
		r.State = "none"
	}
	return r
}

// healthCache holds the last drive probe.
type healthCache struct {
	mu     sync.Mutex
	at     time.Time
	drives []driveJSON
}

func (h *Handler) drives(ctx context.Context) []driveJSON {
	c := &h.healthCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.drives != nil && h.now().Sub(c.at) < healthCacheTTL {
		return c.drives
	}
	// The probe has its own timeout; a client that goes away must not leave
	// a cached result of cancelled probes.
	states := h.health.DriveStates(context.WithoutCancel(ctx))
	c.drives = make([]driveJSON, len(states))
	for i, d := range states {
		c.drives[i] = driveJSON{ID: d.ID, Node: d.Node, Zone: d.Zone, Online: d.Online,
			Total: d.Disk.Total, Used: d.Disk.Used, Free: d.Disk.Free, Error: d.Error}
	}
	c.at = h.now()
	return c.drives
}

// serveHealth: GET /console/api/health.
func (h *Handler) serveHealth(w http.ResponseWriter, r *http.Request) {
	if h.health == nil {
		writeJSON(w, http.StatusOK, healthJSON{Drives: []driveJSON{}, Rebalance: rebalanceJSON{State: "none"}, Checked: h.now().UTC()})
		return
	}
	out := healthJSON{Available: true, Drives: h.drives(r.Context()), Rebalance: rebalanceOf(h.health), Checked: h.now().UTC()}
	out.EC.Data, out.EC.Parity = h.health.ECScheme()
	nodes := map[string]bool{} // node -> every drive online
	for _, d := range out.Drives {
		up, seen := nodes[d.Node]
		nodes[d.Node] = (up || !seen) && d.Online
		out.Totals.Drives++
		if d.Online {
			out.Totals.DrivesOnline++
			out.Totals.Total += d.Total
			out.Totals.Used += d.Used
			out.Totals.Free += d.Free
		}
	}
	out.Totals.Nodes = len(nodes)
	for _, up := range nodes {
		if up {
			out.Totals.NodesOnline++
		}
	}
	st := h.health.Stats()
	out.DegradedReads = st.DegradedReads.Load()
	out.ChecksumFailures = st.ChecksumFailures.Load()
	out.PartialWrites = st.PartialWrites.Load()
	q, healed, dropped := h.health.HealQueueStats()
	out.Heal = healJSON{Queued: q, Pending: h.health.HealPending(), Healed: healed, Dropped: dropped,
		ShardsHealed: st.ShardsHealed.Load(), BytesHealed: st.BytesHealed.Load(), Walk: h.health.HealStatus()}
	writeJSON(w, http.StatusOK, out)
}
