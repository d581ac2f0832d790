package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ecstore/ecstore/gateway"
)

// Membership changes the cluster map: what the admin node and rebalance
// operations call. A gateway over remote nodes implements it (package
// server); the embedded server has none.
type Membership interface {
	// AddNode appends the node serving at address to the map, with its
	// drives at weight (0: 1), in zone, its metadata listener at meta (""
	// the host of address with its port + cluster.MetaPortOffset).
	AddNode(ctx context.Context, address, meta, zone string, weight float64) (MapChange, error)
	// DrainNode marks a node draining: it takes no new shards and a
	// rebalance moves its shards away.
	DrainNode(ctx context.Context, id string) (MapChange, error)
	// RemoveNode takes a node out of the map; unless force is set only a
	// drained node holding no records, with no rebalance pending.
	RemoveNode(ctx context.Context, id string, force bool) (MapChange, error)
	// SetWeight sets the weight of every drive of a node.
	SetWeight(ctx context.Context, id string, weight float64) (MapChange, error)
	// Nodes describes the map's nodes and epoch.
	Nodes(ctx context.Context, drives []gateway.DriveState) (epoch int, nodes []NodeStatus)
	// Rebalance restarts the rebalance of a pending map change on this
	// gateway (taking it over from another gateway).
	Rebalance(ctx context.Context) (MapChange, error)
}

// ErrMapUnavailable marks a map change that could not be ordered now (the
// metadata group has no majority, or did not answer in time): it answers
// 503, and the change may still take effect if it reached the group. Any
// other refusal answers 409 and changed nothing.
var ErrMapUnavailable = errors.New("the cluster map cannot be changed now")

// MapChange is the answer to a map change.
type MapChange struct {
	Epoch   int    `json:"epoch"`
	Message string `json:"message"`
}

// NodeStatus is one node of the map.
type NodeStatus struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Zone     string `json:"zone,omitempty"`
	Draining bool   `json:"draining,omitempty"`
	// SafeToRemove: the node is drained (no rebalance pending, no records
	// left on its drives, every drive answered).
	SafeToRemove bool `json:"safe_to_remove"`
}

// RebalanceStatus is the rebalance after the last map change.
type RebalanceStatus struct {
	// Pending: the map still has earlier layouts to move objects away from.
	Pending bool `json:"pending"`
	gateway.HealStatus
	// BytesMoved is the shard bytes written by moves.
	BytesMoved int64 `json:"bytes_moved"`
}

func rebalanceStatus(l Cluster) RebalanceStatus {
	st := l.RebalanceStatus()
	return RebalanceStatus{Pending: l.Rebalancing(), HealStatus: st, BytesMoved: st.BytesRepaired}
}

// serveMembership answers the node and rebalance operations.
func (h *Handler) serveMembership(w http.ResponseWriter, r *http.Request, op string) {
	q := r.URL.Query()
	if r.Method == http.MethodGet && op == "rebalance" {
		writeJSON(w, http.StatusOK, rebalanceStatus(h.layer))
		return
	}
	if h.members == nil {
		writeJSON(w, http.StatusNotImplemented, apiError{"this is the embedded server: its drives are fixed; cluster map changes need `ecstore node` and `ecstore gateway` processes"})
		return
	}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusNotFound, apiError{"no such admin operation: " + r.Method + " " + op})
		return
	}
	var ch MapChange
	var err error
	ctx := r.Context()
	switch op {
	case "node/add":
		var weight float64
		if s := q.Get("weight"); s != "" {
			if weight, err = strconv.ParseFloat(s, 64); err != nil || weight <= 0 {
				writeJSON(w, http.StatusBadRequest, apiError{"weight: want a positive number"})
				return
			}
		}
		ch, err = h.members.AddNode(ctx, q.Get("address"), q.Get("meta"), q.Get("zone"), weight)
	case "node/drain":
		ch, err = h.members.DrainNode(ctx, q.Get("id"))
	case "node/remove":
		force, _ := strconv.ParseBool(q.Get("force"))
		ch, err = h.members.RemoveNode(ctx, q.Get("id"), force)
	case "node/weight":
		weight, perr := strconv.ParseFloat(q.Get("weight"), 64)
		if perr != nil || weight <= 0 {
			writeJSON(w, http.StatusBadRequest, apiError{"weight: want a positive number"})
			return
		}
		ch, err = h.members.SetWeight(ctx, q.Get("id"), weight)
	case "rebalance":
		ch, err = h.members.Rebalance(ctx)
	default:
		writeJSON(w, http.StatusNotFound, apiError{"no such admin operation: " + r.Method + " " + op})
		return
	}
	if err != nil {
		h.log.Warn("admin map change refused", "op", op, "query", r.URL.RawQuery, "err", err)
		status := http.StatusConflict
		if errors.Is(err, ErrMapUnavailable) {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, apiError{err.Error()})
		return
	}
	h.log.Info("admin map change", "op", op, "query", r.URL.RawQuery, "epoch", ch.Epoch, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, ch)
}

// NodeOp runs a node operation: "add" (address, zone, weight), "drain"
// (id), "remove" (id, force), "weight" (id, weight).
func (c *Client) NodeOp(ctx context.Context, op string, params url.Values) (MapChange, error) {
	var ch MapChange
	err := c.do(ctx, http.MethodPost, "node/"+op+"?"+params.Encode(), &ch)
	return ch, err
}

// StartRebalance restarts a pending rebalance on this gateway.
func (c *Client) StartRebalance(ctx context.Context) (MapChange, error) {
	var ch MapChange
	err := c.do(ctx, http.MethodPost, "rebalance", &ch)
	return ch, err
}

// Rebalance reports the rebalance.
func (c *Client) Rebalance(ctx context.Context) (RebalanceStatus, error) {
	var st RebalanceStatus
	err := c.do(ctx, http.MethodGet, "rebalance", &st)
	return st, err
}

// RebalanceLine renders a rebalance's progress as one terminal line.
func RebalanceLine(st RebalanceStatus) string {
	if st.Started.IsZero() && !st.Pending {
		return "none"
	}
	state := "done"
	switch {
	case st.Running:
		state = "running"
	case st.Pending:
		state = "PENDING"
	}
	line := ProgressLine(st.HealStatus)
	line = strings.Replace(line, "repaired", "objects with moves", 1)
	line = strings.Replace(line, "rebuilt", "moved", 1)
	secs := time.Since(st.Started).Seconds()
	if !st.Running && !st.Finished.IsZero() {
		secs = st.Finished.Sub(st.Started).Seconds()
	}
	rate := 0.0
	if secs > 0 {
		rate = float64(st.BytesMoved) / secs
	}
	return fmt.Sprintf("%s (map epoch %d)  %s  shards moved %d of %d scanned  %s/s moved", state, st.Epoch, line, st.ShardsMoved, st.ShardsScanned, humanBytes(rate))
}
