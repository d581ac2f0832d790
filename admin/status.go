package admin

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/storagenode"
)

// Status is a gateway's view of the cluster: the erasure code, every
// drive's state and capacity, readiness, and the heal in progress.
type Status struct {
	DataShards   int                  `json:"data_shards"`
	ParityShards int                  `json:"parity_shards"`
	Drives       []gateway.DriveState `json:"drives"`
	DrivesOnline int                  `json:"drives_online"`
	// Ready: enough drives answer for read and write quorum.
	Ready bool `json:"ready"`
	// DegradedReads counts reads that needed parity since the gateway
	// started; HealQueue and HealPending are objects waiting for a heal
	// (now, or until a drive returns).
	DegradedReads int64              `json:"degraded_reads"`
	HealQueue     int                `json:"heal_queue"`
	HealPending   int                `json:"heal_pending"`
	Heal          gateway.HealStatus `json:"heal"`
	// MapEpoch is the cluster map in use (0 for the embedded server), Nodes
	// its nodes.
	MapEpoch int          `json:"map_epoch"`
	Nodes    []NodeStatus `json:"nodes,omitempty"`
	// Rebalance is the rebalance after the last map change.
	Rebalance RebalanceStatus `json:"rebalance"`
	// Lifecycle is this gateway's lifecycle worker (it runs on the holder
	// of the lifecycle lease only).
	Lifecycle gateway.LifecycleStatus `json:"lifecycle"`
	// Metadata is the metadata group (bucket table).
	Metadata *MetaStatus `json:"metadata,omitempty"`
}

func (h *Handler) status(ctx context.Context) Status {
	l := h.layer
	k, m := l.ECScheme()
	drives := l.DriveStates(storagenode.WithRecordCount(ctx))
	online, ready := l.Readiness(drives)
	q, _, _ := l.HealQueueStats()
	st := Status{
		DataShards: k, ParityShards: m, Drives: drives, DrivesOnline: online, Ready: ready,
		DegradedReads: l.Stats().DegradedReads.Load(), HealQueue: q, HealPending: l.HealPending(),
		Heal: l.HealStatus(), MapEpoch: l.Epoch(), Rebalance: rebalanceStatus(l), Lifecycle: l.LifecycleStatus(),
	}
	if h.members != nil {
		st.MapEpoch, st.Nodes = h.members.Nodes(ctx, drives)
	}
	if h.meta != nil {
		m := h.meta.MetaStatus(ctx)
		st.Metadata = &m
	}
	return st
}

// Status asks the gateway for the cluster's state.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, "status", &st)
	return st, err
}

// LifecycleLine is one line on the lifecycle worker of a gateway.
func LifecycleLine(st gateway.LifecycleStatus) string {
	if st.Passes == 0 && !st.Running {
		return "no pass on this gateway yet (one gateway at a time runs them: see the lifecycle lease)"
	}
	state := "idle"
	switch {
	case st.Running:
		state = "pass running since " + st.PassStarted.UTC().Format(time.RFC3339)
	case !st.PassEnded.IsZero():
		state = "last pass ended " + st.PassEnded.UTC().Format(time.RFC3339)
	}
	line := fmt.Sprintf("%s; since start: %d passes, %d versions examined, %d expired, %d removed, %d uploads aborted, %d kept by object lock, %d errors",
		state, st.Passes, st.Scanned, st.Expired, st.Removed, st.Aborted, st.SkippedLocked, st.Errors)
	if st.LastError != "" {
		line += " (last: " + st.LastError + ")"
	}
	return line
}

// FormatStatus renders a status for a terminal: a summary, the nodes and
// their drives, and the heal.
func FormatStatus(st Status) string {
	var b strings.Builder
	health := "READY"
	if !st.Ready {
		health = "NOT READY (too few drives for quorum)"
	}
	fmt.Fprintf(&b, "cluster: %s  erasure code %d+%d  drives online %d/%d\n", health, st.DataShards, st.ParityShards, st.DrivesOnline, len(st.Drives))
	var total, used uint64
	byNode := map[string][]gateway.DriveState{}
	var nodes []string
	for _, d := range st.Drives {
		if _, ok := byNode[d.Node]; !ok {
			nodes = append(nodes, d.Node)
		}
		byNode[d.Node] = append(byNode[d.Node], d)
		total += d.Disk.Total
		used += d.Disk.Used
	}
	sort.Strings(nodes)
	fmt.Fprintf(&b, "capacity: %s used of %s (drives sharing a file system count once each)\n\n", humanBytes(float64(used)), humanBytes(float64(total)))
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tZONE\tDRIVE\tSTATE\tUSED\tFREE\tSIZE\tWEIGHT\tSHARDS")
	for _, n := range nodes {
		for _, d := range byNode[n] {
			state := "online"
			if !d.Online {
				state = "OFFLINE"
			}
			if d.Online && d.Disk.ReadOnly {
				state += ",READ-ONLY"
			}
			if d.Draining {
				state += ",draining"
			}
			shards := "-"
			if d.Records >= 0 && d.Online {
				shards = strconv.FormatInt(d.Records, 10)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%g\t%s\n", d.Node, orDash(d.Zone), d.ID, state,
				humanBytes(float64(d.Disk.Used)), humanBytes(float64(d.Disk.Free)), humanBytes(float64(d.Disk.Total)), d.Weight, shards)
		}
	}
	tw.Flush()
	fmt.Fprintf(&b, "\ndegraded reads since start: %d  heal queue: %d  waiting for a drive: %d\n", st.DegradedReads, st.HealQueue, st.HealPending)
	heal := "none yet"
	if !st.Heal.Started.IsZero() {
		heal = ProgressLine(st.Heal)
		if !st.Heal.Running {
			heal = "last: " + heal
		}
	}
	fmt.Fprintf(&b, "heal: %s\nrebalance: %s\nlifecycle: %s\n", heal, RebalanceLine(st.Rebalance), LifecycleLine(st.Lifecycle))
	if st.MapEpoch > 0 {
		fmt.Fprintf(&b, "cluster map epoch: %d\n", st.MapEpoch)
	}
	if st.Metadata != nil {
		formatMeta(&b, st.Metadata)
	}
	for _, n := range st.Nodes {
		switch {
		case n.SafeToRemove:
			fmt.Fprintf(&b, "node %s: drained, safe to remove (ecstore admin node remove %s)\n", n.ID, n.ID)
		case n.Draining:
			fmt.Fprintf(&b, "node %s: draining\n", n.ID)
		}
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
