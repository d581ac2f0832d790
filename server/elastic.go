package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ecstore/ecstore/admin"
	"github.com/ecstore/ecstore/cluster"
	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/meta"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/intercept"
	"github.com/ecstore/ecstore/storagenode/rpc"
)

// mapPollInterval is how often a gateway asks the nodes for a newer map
// (and offers its own to nodes behind).
const mapPollInterval = 2 * time.Second

// maxPriorLayouts bounds how many map changes can wait for one rebalance.
const maxPriorLayouts = 4

// membership is a gateway's side of the cluster map: it builds the Layer's
// drives from the map, keeps the map in step with the nodes, runs the
// rebalance after a change, and makes the admin node operations.
type membership struct {
	self   string // this gateway's address
	keeper *cluster.Keeper
	opts   rpc.Options // client options; Maps is keeper
	met    *metrics
	log    *slog.Logger
	rate   float64 // rebalance objects/s, 0: unbounded
	ctx    context.Context

	changeMu sync.Mutex // one map change at a time
	// maps orders map changes across gateways: every change is a
	// compare-and-set on the metadata group's map (see change). Nil in
	// tests that run without a group.
	maps metaMaps

	mu sync.Mutex
	// lease is the rebalance lease's job context while this gateway holds
	// it (nil otherwise), and leaseToken its fencing token: only the
	// holder runs the rebalance (rebalanceJob).
	lease      context.Context
	leaseToken uint64
	// leases is where the lease is kept (for the takeover's answer).
	leases leaseStore
	drives map[string]gateway.Drive // by drive ID: one breaker per drive for the process's life
	nodes  map[string]*rpc.NodeClient
	layer  *gateway.Layer
	repair *gateway.Repair
	onLine func() // a drive came back online
}

var _ admin.Membership = (*membership)(nil)

// baseURL is a node's internode URL: its map address as given when that
// names a scheme, else https when the gateway speaks TLS to its nodes
// (--internode-ca), http otherwise.
func (ms *membership) baseURL(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	if ms.opts.TLSConfig != nil {
		return "https://" + addr
	}
	return "http://" + addr
}

// drive returns the gateway drive for a map drive, built once.
func (ms *membership) drive(n cluster.Node, d cluster.Drive) gateway.Drive {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	g, ok := ms.drives[d.ID]
	if !ok {
		rd := rpc.NewClient(ms.baseURL(n.Address), d.ID, ms.opts)
		nodeID := n.ID
		br := intercept.NewBreaker(rd, intercept.BreakerOptions{OnStateChange: func(id string, online bool) {
			if online {
				ms.log.Info("drive back online", "drive", id, "node", nodeID)
				if ms.onLine != nil {
					ms.onLine()
				}
			} else {
				ms.log.Warn("drive offline", "drive", id, "node", nodeID)
			}
		}})
		g = gateway.Drive{Drive: ms.met.instrument(br)}
		ms.drives[d.ID] = g
	}
	g.Node, g.Zone, g.Weight, g.Draining = n.ID, n.Zone, d.Weight, n.Draining
	return g
}

// topology turns a map into the Layer's drive lists.
func (ms *membership) topology(m *cluster.Map) gateway.Topology {
	t := gateway.Topology{Epoch: m.Epoch, Drives: ms.layout(m.Nodes)}
	for _, p := range m.Prior {
		t.Prior = append(t.Prior, ms.layout(p.Nodes))
	}
	return t
}

// layout returns the drives of a node list, tombstones for removed nodes.
func (ms *membership) layout(nodes []cluster.Node) []gateway.Drive {
	var ds []gateway.Drive
	for _, n := range nodes {
		for _, d := range n.Drives {
			if n.Removed {
				ds = append(ds, gateway.Drive{Removed: true, RemovedID: d.ID, Node: n.ID, Zone: n.Zone, Weight: d.Weight})
				continue
			}
			ds = append(ds, ms.drive(n, d))
		}
	}
	return ds
}

// closeDrives closes every drive built.
func (ms *membership) closeDrives() {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for _, d := range ms.drives {
		_ = d.Close()
	}
	for _, c := range ms.nodes {
		_ = c.Close()
	}
}

func (ms *membership) node(addr string) *rpc.NodeClient {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	c := ms.nodes[addr]
	if c == nil {
		c = rpc.NewNodeClient(ms.baseURL(addr), ms.opts)
		ms.nodes[addr] = c
	}
	return c
}

// adopted is the keeper's OnAdopt: switch the Layer to the new map and
// start its rebalance when this gateway is to run it.
func (ms *membership) adopted(m *cluster.Map) {
	ms.mu.Lock()
	l := ms.layer
	ms.mu.Unlock()
	if l == nil {
		return // at start: the Layer is built from the map afterwards
	}
	if err := l.SetTopology(ms.topology(m)); err != nil {
		ms.log.Error("cannot use the new cluster map", "map", m.ID(), "err", err)
		return
	}
	ms.startRebalance(m)
}

// startRebalance runs the rebalance of m's prior layouts if this gateway
// holds the rebalance lease.
func (ms *membership) startRebalance(m *cluster.Map) {
	ctx := ms.rebalanceContext(m)
	if len(m.Prior) == 0 || ctx == nil {
		return
	}
	epoch := m.Epoch
	ms.repair.StartRebalance(ctx, ms.rate, func(st gateway.HealStatus) {
		// Not on the walk's goroutine: a map change holding changeMu may be
		// waiting for this walk to stop.
		go ms.finishRebalance(epoch, st)
	})
}

// rebalanceContext is the context of m's rebalance, nil unless this
// gateway holds the rebalance lease: it ends with the lease, and its moves
// carry a fencing token, the higher of the lease's (the log position of
// its grant) and m's epoch (the log position that committed m), so a drive
// refuses the moves of an earlier holder, and of a rebalance of an older
// map, once it has seen a later one's (storagenode.WithFence).
func (ms *membership) rebalanceContext(m *cluster.Map) context.Context {
	ms.mu.Lock()
	ctx, token := ms.lease, ms.leaseToken
	ms.mu.Unlock()
	if ctx == nil || ctx.Err() != nil {
		return nil
	}
	if ms.maps != nil {
		if gm, err := groupMap(ms.maps.ClusterMap()); err == nil && gm != nil && gm.ID() == m.ID() {
			token = max(token, uint64(gm.Epoch))
		}
	}
	return storagenode.WithFence(ctx, leaseRebalance, token)
}

// rebalanceJob runs while this gateway holds the rebalance lease (ctx ends
// when it is lost): it starts the rebalance pending, and lets map changes
// and the supervision start the next ones, until the lease ends.
func (ms *membership) rebalanceJob(ctx context.Context) {
	f, _ := storagenode.FenceOf(ctx)
	ms.mu.Lock()
	ms.lease, ms.leaseToken = ctx, f.Token
	ms.mu.Unlock()
	defer func() {
		ms.mu.Lock()
		ms.lease, ms.leaseToken = nil, 0
		ms.mu.Unlock()
		ms.repair.Rebalancer().Stop() // (its context ended with the lease)
	}()
	ms.startRebalance(ms.keeper.Map())
	<-ctx.Done()
}

// finishRebalance drops the prior layouts once the walk of epoch is done.
func (ms *membership) finishRebalance(epoch int, st gateway.HealStatus) {
	_, err := ms.change(ms.ctx, func(cur *cluster.Map) (string, error) {
		if cur.Epoch != epoch {
			return "", fmt.Errorf("the map changed during the rebalance (epoch %d, now %d)", epoch, cur.Epoch)
		}
		cur.Prior, cur.RebalanceBy = nil, ""
		return "rebalance done", nil
	})
	if err != nil {
		ms.log.Warn("rebalance done, but the map was not updated", "epoch", epoch, "err", err)
		return
	}
	ms.log.Info("rebalance done: every object is where the map places it", "epoch", epoch,
		"objects", st.ObjectsScanned, "shards_moved", st.ShardsMoved, "bytes_moved", st.BytesRepaired)
}

// catchUp asks every node of the current map for its map, adopts the
// newest, and offers it to the nodes that are behind.
func (ms *membership) catchUp(ctx context.Context) {
	cur := ms.keeper.Map()
	if cur == nil {
		return
	}
	type answer struct {
		addr string
		m    *cluster.Map
		err  error
	}
	answers := make([]answer, len(cur.Nodes))
	var wg sync.WaitGroup
	for i, n := range cur.Nodes {
		if n.Removed {
			continue
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			answers[i].addr = n.Address
			data, _, err := ms.node(n.Address).FetchMap(cctx)
			if err != nil {
				answers[i].err = err
				return
			}
			answers[i].m, answers[i].err = cluster.Parse(data)
		})
	}
	wg.Wait()
	// The metadata group orders map changes: its map is the one to run on.
	// Only while it holds none (a store from before it whose import has
	// not happened yet) does the newest map any node holds win, and of two
	// of one epoch, the one more nodes hold.
	var gm *cluster.Map
	if ms.maps != nil {
		var err error
		if gm, err = groupMap(ms.maps.ClusterMap()); err != nil {
			ms.log.Warn("the metadata group's cluster map cannot be used", "err", err)
		}
	}
	switch {
	case gm != nil:
		if followsGroup(cur, gm, ms.maps.ClusterMapHistory()) {
			if _, err := ms.keeper.Follow(gm); err != nil {
				ms.log.Warn("the metadata group's cluster map cannot be used here", "map", gm.ID(), "err", err)
			} else {
				ms.log.Info("adopted the metadata group's cluster map", "map", gm.ID())
			}
		}
	default:
		var best *cluster.Map
		votes := map[string]int{}
		for _, a := range answers {
			if a.m != nil {
				votes[a.m.ID()]++
			}
		}
		for _, a := range answers {
			if a.m == nil {
				continue
			}
			if best == nil || a.m.Epoch > best.Epoch || (a.m.Epoch == best.Epoch && votes[a.m.ID()] > votes[best.ID()]) {
				best = a.m
			}
		}
		if best != nil && (best.Epoch > cur.Epoch || (best.Epoch == cur.Epoch && best.ID() != cur.ID() && votes[best.ID()] > votes[cur.ID()])) {
			if _, err := ms.keeper.Adopt(best, true); err != nil {
				ms.log.Warn("a node holds a newer cluster map that this gateway cannot use", "map", best.ID(), "err", err)
			} else {
				ms.log.Info("adopted a newer cluster map from the nodes", "map", best.ID())
			}
		}
	}
	mine := ms.keeper.Map()
	for _, a := range answers {
		if a.addr == "" {
			continue // a removed node
		}
		if errors.Is(a.err, rpc.ErrNoMap) || (a.m != nil && a.m.ID() != mine.ID() && a.m.Epoch <= mine.Epoch) {
			if err := ms.node(a.addr).PushMap(ctx, mine.Encode(), true); err != nil {
				ms.log.Warn("offering the cluster map to a node behind", "node", a.addr, "err", err)
			}
		}
	}
}

// watch keeps the map in step with the nodes until ctx ends.
func (ms *membership) watch(ctx context.Context) {
	t := time.NewTicker(mapPollInterval)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ms.catchUp(ctx)
			if tick%5 == 0 {
				ms.superviseRebalance()
			}
		}
	}
}

// superviseRebalance restarts a rebalance whose walk ended with objects not
// moved (a drive was offline), and retries dropping the prior layouts after
// a clean walk if that failed.
func (ms *membership) superviseRebalance() {
	m := ms.keeper.Map()
	if len(m.Prior) == 0 || ms.rebalanceContext(m) == nil {
		return
	}
	st := ms.repair.RebalanceStatus()
	switch {
	case st.Running:
	case st.Epoch == m.Epoch && !st.Finished.IsZero() && st.Error == "" && st.ObjectsFailed == 0:
		go ms.finishRebalance(m.Epoch, st)
	default:
		ms.log.Info("rebalance pending and not running: starting it", "epoch", m.Epoch, "last_failed", st.ObjectsFailed, "last_error", st.Error)
		ms.startRebalance(m)
	}
}

// change makes a new map from the current one with edit, gives it the next
// epoch, stores it on the nodes (a majority of the new map's nodes must
// take it) and adopts it. edit returns a message for the operator.
func (ms *membership) change(ctx context.Context, edit func(m *cluster.Map) (string, error)) (admin.MapChange, error) {
	ms.changeMu.Lock()
	defer ms.changeMu.Unlock()
	if ms.maps != nil {
		// The copy of the group's map must hold every change committed
		// before this one began, or the change would be built on a stale
		// map and refused by commitMap's compare-and-set.
		if err := ms.maps.Sync(ctx); err != nil {
			return admin.MapChange{}, fmt.Errorf("%w: the metadata group cannot order it: %w", admin.ErrMapUnavailable, err)
		}
	}
	ms.catchUp(ctx) // never build on a stale map
	cur := ms.keeper.Map()
	next := cur.Clone()
	msg, err := edit(next)
	if err != nil {
		return admin.MapChange{}, err
	}
	next.Epoch = cur.Epoch + 1
	if err := next.Validate(); err != nil {
		return admin.MapChange{}, err
	}
	// The change is committed in the metadata group first, as a
	// compare-and-set on the map this one was built from: of two changes
	// made at once through two gateways, the second is refused instead of
	// both being stored with one epoch (and one of them lost). The new
	// map's epoch is the log position the group committed it at.
	if ms.maps != nil {
		epoch, err := ms.commitMap(ctx, cur, next)
		if err != nil {
			return admin.MapChange{}, err
		}
		next.Epoch = int(epoch)
	}
	// Push to the new map's nodes and to those it drops (so they stop
	// taking calls on the old map).
	targets := map[string]bool{}
	inNext := map[string]bool{}
	live := 0
	for _, n := range cur.Nodes {
		if !n.Removed {
			targets[n.Address] = true
		}
	}
	for _, n := range next.Nodes {
		if !n.Removed {
			targets[n.Address], inNext[n.Address] = true, true
			live++
		}
	}
	data := next.Encode()
	var mu sync.Mutex
	var errs []error
	took := 0
	var wg sync.WaitGroup
	for addr := range targets {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			err := ms.node(addr).PushMap(cctx, data, false)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && inNext[addr]:
				took++
			case err != nil && inNext[addr]:
				errs = append(errs, fmt.Errorf("node %s: %w", addr, err))
			}
		})
	}
	wg.Wait()
	if need := live/2 + 1; took < need && ms.maps != nil {
		// Committed in the metadata group: the change stands, and the
		// gateways' catch-up brings it to the nodes that missed it.
		ms.log.Warn("cluster map committed; some nodes did not take it yet and get it by catch-up", "epoch", next.Epoch, "nodes_stored", took, "nodes", live, "err", errors.Join(errs...))
	} else if took < need {
		return admin.MapChange{}, fmt.Errorf("map epoch %d: only %d of %d nodes stored it, need %d (the nodes that did keep it; retry when the others answer): %w",
			next.Epoch, took, live, need, errors.Join(errs...))
	}
	adopt := func(m *cluster.Map) (bool, error) { return ms.keeper.Adopt(m, false) }
	if ms.maps != nil {
		adopt = ms.keeper.Follow
	}
	if _, err := adopt(next); err != nil {
		if ms.maps != nil { // committed: it stands, and catch-up retries
			return admin.MapChange{}, fmt.Errorf("%w: map epoch %d is committed, but this gateway cannot run on it yet: %w", admin.ErrMapUnavailable, next.Epoch, err)
		}
		return admin.MapChange{}, err
	}
	ms.log.Info("cluster map changed", "epoch", next.Epoch, "map", next.ID(), "change", msg, "nodes_stored", took)
	return admin.MapChange{Epoch: next.Epoch, Message: msg}, nil
}

// metaMaps is the cluster map in the metadata group (a gateway's client).
type metaMaps interface {
	ClusterMap() meta.MapVersion
	ClusterMapHistory() []meta.MapVersion
	SetClusterMap(ctx context.Context, expectEpoch uint64, data []byte) (uint64, error)
	ImportClusterMap(ctx context.Context, epoch uint64, data []byte) (uint64, error)
	Sync(ctx context.Context) error
}

// groupMap is the metadata group's map version mv as a cluster map whose
// epoch is the group's (the log position that committed it: the bytes
// stored carry the epoch their proposer guessed); nil when mv is "none".
func groupMap(mv meta.MapVersion) (*cluster.Map, error) {
	if mv.Epoch == 0 {
		return nil, nil
	}
	m, err := cluster.Parse(mv.Data)
	if err != nil {
		return nil, fmt.Errorf("the metadata group's cluster map of epoch %d: %w", mv.Epoch, err)
	}
	m.Epoch = int(mv.Epoch)
	return m, nil
}

// followsGroup reports whether a process running on cur takes the group's
// map gm: gm is newer, or cur is none of the maps the group committed (a
// map from before the group, or numbered before epochs were log
// positions). A group map not newer than a cur the group did commit is
// only this process's copy of the group lagging behind a change it has
// been told of already.
func followsGroup(cur, gm *cluster.Map, history []meta.MapVersion) bool {
	if cur == nil || gm.Epoch > cur.Epoch {
		return true
	}
	if gm.ID() == cur.ID() {
		return false
	}
	for _, mv := range history {
		if m, err := groupMap(mv); err == nil && m.ID() == cur.ID() {
			return false
		}
	}
	return true
}

// commitMap stores next in the metadata group if the group's map is still
// cur (or the group holds none yet: a store from before the group, whose
// first change brings its map along, with its own epoch), and returns the
// epoch the group gave it.
func (ms *membership) commitMap(ctx context.Context, cur, next *cluster.Map) (uint64, error) {
	if err := ms.maps.Sync(ctx); err != nil {
		return 0, fmt.Errorf("%w: the metadata group cannot order it: %w", admin.ErrMapUnavailable, err)
	}
	mv := ms.maps.ClusterMap()
	held, err := groupMap(mv)
	if err != nil {
		return 0, err
	}
	var epoch uint64
	if held == nil {
		epoch, err = ms.maps.ImportClusterMap(ctx, uint64(next.Epoch), next.Encode())
	} else {
		// (A group map older than cur is one from before a change made
		// without the group, by an earlier version: cur replaces it.)
		if held.ID() != cur.ID() && held.Epoch >= cur.Epoch {
			return 0, fmt.Errorf("map change: %w: another change (map %s) was committed first; look at `ecstore admin status` and retry", errMapChanged, held.ID())
		}
		epoch, err = ms.maps.SetClusterMap(ctx, mv.Epoch, next.Encode())
	}
	if err != nil {
		if errors.Is(err, meta.ErrEpochMismatch) {
			return 0, fmt.Errorf("map change: %w: another change was committed first; retry", errMapChanged)
		}
		return 0, fmt.Errorf("%w: the metadata group did not confirm it (it may still take effect): %w", admin.ErrMapUnavailable, err)
	}
	return epoch, nil
}

// errMapChanged: a map change lost its race with another.
var errMapChanged = errors.New("the cluster map changed meanwhile")

// moveFrom records the current layout as prior (objects placed by it have
// to move; the holder of the rebalance lease moves them) and names this
// gateway as the one that asked (for versions before the lease).
func (ms *membership) moveFrom(m *cluster.Map) error {
	if len(m.Prior) >= maxPriorLayouts {
		return fmt.Errorf("%d map changes are already waiting for the rebalance; let it finish first", len(m.Prior))
	}
	cur := m.Clone() // before the edit: the layout objects are placed by now
	m.Prior = append(m.Prior, cluster.Layout{Epoch: cur.Epoch, Nodes: cur.Nodes})
	m.RebalanceBy = ms.self
	return nil
}

func (ms *membership) AddNode(ctx context.Context, address, meta, zone string, weight float64) (admin.MapChange, error) {
	if address == "" {
		return admin.MapChange{}, errors.New("give the new node's internode address (host:port)")
	}
	if _, err := (&cluster.Node{ID: "new", Address: address, Meta: meta}).MetaAddress(); err != nil {
		return admin.MapChange{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	id, err := ms.node(address).Identity(cctx)
	cancel()
	if err != nil {
		return admin.MapChange{}, fmt.Errorf("asking the node at %s who it is: %w", address, err)
	}
	if zone == "" {
		zone = id.Zone
	}
	if weight == 0 {
		weight = 1
	}
	// Give its drives the buckets first, so that writes placed there
	// succeed from the first moment of the new map.
	if err := ms.makeBuckets(ctx, address, id.Drives); err != nil {
		return admin.MapChange{}, err
	}
	return ms.change(ctx, func(m *cluster.Map) (string, error) {
		if n := m.Node(id.ID); n != nil {
			if n.Removed {
				return "", fmt.Errorf("node id %q belonged to a node removed earlier; ids are never reused: start the node with another --id", id.ID)
			}
			return "", fmt.Errorf("node %q is already in the cluster map", id.ID)
		}
		n := cluster.Node{ID: id.ID, Address: address, Meta: meta, Zone: zone}
		nm, err := n.MetaAddress()
		if err != nil {
			return "", err
		}
		for _, o := range m.Nodes {
			if o.Removed {
				continue
			}
			if o.Address == address {
				return "", fmt.Errorf("address %s already belongs to node %q", address, o.ID)
			}
			if om, err := o.MetaAddress(); err == nil && om == nm {
				return "", fmt.Errorf("metadata address %s already belongs to node %q: give the new node another with --meta", nm, o.ID)
			}
		}
		if err := ms.moveFrom(m); err != nil {
			return "", err
		}
		for _, d := range id.Drives {
			n.Drives = append(n.Drives, cluster.Drive{ID: d, Weight: weight})
		}
		m.Nodes = append(m.Nodes, n)
		return fmt.Sprintf("added node %s (%s) with drives %s", id.ID, address, strings.Join(id.Drives, ", ")), nil
	})
}

// makeBuckets creates every bucket on a new node's drives.
func (ms *membership) makeBuckets(ctx context.Context, address string, ids []string) error {
	buckets, err := ms.layer.ListBuckets(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		d := rpc.NewClient(ms.baseURL(address), id, ms.opts)
		for _, b := range buckets {
			if err := d.MakeBucket(ctx, b.Name, b.Created); err != nil && !errors.Is(err, storagenode.ErrBucketExists) {
				_ = d.Close()
				return fmt.Errorf("creating bucket %s on the new drive %s: %w", b.Name, id, err)
			}
		}
		_ = d.Close()
	}
	return nil
}

func (ms *membership) DrainNode(ctx context.Context, id string) (admin.MapChange, error) {
	return ms.change(ctx, func(m *cluster.Map) (string, error) {
		n := m.Node(id)
		switch {
		case n == nil || n.Removed:
			return "", fmt.Errorf("no node %q in the cluster map", id)
		case n.Draining:
			return "", fmt.Errorf("node %q is already draining", id)
		}
		if err := ms.moveFrom(m); err != nil {
			return "", err
		}
		m.Node(id).Draining = true
		return "draining node " + id, nil
	})
}

func (ms *membership) SetWeight(ctx context.Context, id string, weight float64) (admin.MapChange, error) {
	return ms.change(ctx, func(m *cluster.Map) (string, error) {
		n := m.Node(id)
		if n == nil || n.Removed {
			return "", fmt.Errorf("no node %q in the cluster map", id)
		}
		if err := ms.moveFrom(m); err != nil {
			return "", err
		}
		n = m.Node(id)
		for i := range n.Drives {
			n.Drives[i].Weight = weight
		}
		return fmt.Sprintf("node %s drives weigh %g", id, weight), nil
	})
}

func (ms *membership) RemoveNode(ctx context.Context, id string, force bool) (admin.MapChange, error) {
	if !force {
		_, nodes := ms.Nodes(ctx, ms.layer.DriveStates(storagenode.WithRecordCount(ctx)))
		i := slices.IndexFunc(nodes, func(n admin.NodeStatus) bool { return n.ID == id })
		switch {
		case i < 0:
			return admin.MapChange{}, fmt.Errorf("no node %q in the cluster map", id)
		case !nodes[i].Draining:
			return admin.MapChange{}, fmt.Errorf("node %q is not drained: run `ecstore admin node drain %s` and wait until status says it is safe to remove (or use --force and lose its shards' redundancy)", id, id)
		case !nodes[i].SafeToRemove:
			return admin.MapChange{}, fmt.Errorf("node %q is still draining: its drives hold records or the rebalance is pending (see `ecstore admin status`)", id)
		}
	}
	return ms.change(ctx, func(m *cluster.Map) (string, error) {
		n := m.Node(id)
		if n == nil || n.Removed {
			return "", fmt.Errorf("no node %q in the cluster map", id)
		}
		// A tombstone: it keeps its place in the placement list, so that
		// removing a drained node moves nothing.
		n.Removed, n.Draining = true, true
		return "removed node " + id + " (its process can be stopped now)", nil
	})
}

// Rebalance restarts the pending rebalance's walk here if this gateway
// holds the rebalance lease; otherwise it says which gateway does (the
// lease passes on by itself when its holder stops answering).
func (ms *membership) Rebalance(ctx context.Context) (admin.MapChange, error) {
	m := ms.keeper.Map()
	if len(m.Prior) == 0 {
		return admin.MapChange{}, errors.New("no rebalance pending")
	}
	if ms.rebalanceContext(m) != nil {
		ms.startRebalance(m)
		return admin.MapChange{Epoch: m.Epoch, Message: "rebalance restarted on " + ms.self + " (it holds the rebalance lease)"}, nil
	}
	if ms.leases != nil {
		if l, ok := ms.leases.Lease(leaseRebalance); ok {
			return admin.MapChange{}, fmt.Errorf("the rebalance runs on the gateway holding its lease (%s, until %s); it passes to another gateway by itself when that one stops renewing it",
				l.Holder, l.Expires.Format(time.RFC3339))
		}
	}
	return admin.MapChange{}, errors.New("no gateway holds the rebalance lease yet; one takes it within seconds (see `ecstore admin status`)")
}

func (ms *membership) Nodes(_ context.Context, drives []gateway.DriveState) (int, []admin.NodeStatus) {
	m := ms.keeper.Map()
	byID := map[string]gateway.DriveState{}
	for _, d := range drives {
		byID[d.ID] = d
	}
	out := make([]admin.NodeStatus, 0, len(m.Nodes))
	for _, n := range m.Nodes {
		if n.Removed {
			continue
		}
		st := admin.NodeStatus{ID: n.ID, Address: n.Address, Zone: n.Zone, Draining: n.Draining}
		if n.Draining && len(m.Prior) == 0 {
			st.SafeToRemove = true
			for _, d := range n.Drives {
				ds, ok := byID[d.ID]
				if !ok || !ds.Online || ds.Records != 0 {
					st.SafeToRemove = false
				}
			}
		}
		out = append(out, st)
	}
	return m.Epoch, out
}
