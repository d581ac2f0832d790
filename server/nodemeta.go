package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ecstore/ecstore/cluster"
	"github.com/ecstore/ecstore/meta"
)

// nodeMeta is a storage node's member of the metadata group: opened at
// start when the node has a map, or when it adopts its first one (a node
// added with `admin node add`); while it leads, it keeps the group's
// configuration in line with the map (reconcile).
type nodeMeta struct {
	cfg     NodeConfig
	log     *slog.Logger
	maps    func() *cluster.Map
	adopted chan struct{} // a map was adopted
	// follow makes the group's map the node's (its keeper's Follow).
	follow func(m *cluster.Map) (bool, error)
	store  atomic.Pointer[nodeStore]
	// mapEpoch is the group's map epoch the node last adopted.
	mapEpoch uint64
}

// reconcileTicks: every how many seconds the leader compares the group
// with the map.
const reconcileTicks = 3

func (nm *nodeMeta) open() error {
	s, err := openNodeMeta(nm.cfg, nm.maps(), nm.log)
	if err != nil {
		return err
	}
	nm.store.Store(s)
	return nil
}

// run opens the member once there is a map, then reconciles until ctx
// ends, and closes the member.
func (nm *nodeMeta) run(ctx context.Context) error {
	defer func() {
		if s := nm.store.Load(); s != nil {
			if err := s.Close(); err != nil {
				nm.log.Warn("closing the metadata store", "err", err)
			}
		}
	}()
	for nm.store.Load() == nil {
		select {
		case <-ctx.Done():
			return nil
		case <-nm.adopted:
		}
		if m := nm.maps(); m == nil || m.Node(nm.cfg.ID) == nil {
			continue
		}
		if err := nm.open(); err != nil {
			return fmt.Errorf("node: metadata store: %w", err)
		}
	}
	if s := nm.store.Load(); s.bootstrap {
		if err := s.bootstrapWhenAlone(ctx, nm.cfg.Secret, nm.log); err != nil {
			return fmt.Errorf("node: metadata store: %w", err)
		}
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		s := nm.store.Load()
		nm.followMap(s.Store)
		if tick%reconcileTicks != 0 || !s.IsLeader() {
			continue
		}
		if err := reconcile(ctx, s.Store, nm.maps(), nm.cfg.Secret, nm.log); err != nil {
			nm.log.Warn("metadata group: could not bring its members in line with the cluster map", "err", err)
		}
	}
}

// followMap adopts the group's cluster map when it changed: the node does
// not wait for a gateway's push (which may have missed it) to run on the
// map the group ordered.
func (nm *nodeMeta) followMap(s *meta.Store) {
	mv := s.ClusterMap()
	if mv.Epoch == 0 || mv.Epoch == nm.mapEpoch {
		return
	}
	m, err := groupMap(mv)
	if err == nil && followsGroup(nm.maps(), m, s.ClusterMapHistory()) {
		_, err = nm.follow(m)
	}
	if err != nil {
		nm.log.Warn("cannot adopt the metadata group's cluster map", "epoch", mv.Epoch, "err", err)
	}
	nm.mapEpoch = mv.Epoch
}

// caughtUp reports whether the member at addr answers and holds the log
// up to about where the leader's copy is: only such a member is made a
// voter (a voter that is down or far behind would only make the majority
// harder to reach).
func caughtUp(ctx context.Context, s *meta.Store, addr string, secret []byte) bool {
	st, err := meta.PeerStatus(ctx, addr, secret, s.TLSConfig(), time.Second)
	return err == nil && st.StateIndex+64 >= s.Index()
}

// reconcile makes one change, if one is needed, that brings the group's
// configuration closer to the one the map asks for (cluster.MetaMembers):
// a node of the map the group lacks joins as a non-voter; a node that
// should vote is promoted once it answers and has caught up; a voter that
// should not is demoted; a member the map no longer lists (removed) is
// removed. (The voters the map chooses are not replaced while they are
// down: the group waits for them, or for `admin node remove`.) One change per call, and
// additions before removals, so the group never shrinks first.
func reconcile(ctx context.Context, s *meta.Store, m *cluster.Map, secret []byte, log *slog.Logger) error {
	if m == nil {
		return nil
	}
	st, err := s.Status()
	if err != nil {
		return err
	}
	voters, nonvoters := m.MetaMembers()
	wantVoter := map[string]bool{}
	inMap := map[string]string{} // id → metadata address
	for i, n := range append(append([]cluster.Node(nil), voters...), nonvoters...) {
		a, err := n.MetaAddress()
		if err != nil {
			return err
		}
		inMap[n.ID] = a
		wantVoter[n.ID] = i < len(voters)
	}
	isVoter := map[string]bool{}
	for _, p := range st.Voters {
		isVoter[p.ID] = true
	}
	member := map[string]bool{}
	for _, p := range append(append([]meta.Peer(nil), st.Voters...), st.Nonvoters...) {
		member[p.ID] = true
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, n := range append(append([]cluster.Node(nil), voters...), nonvoters...) {
		if !member[n.ID] {
			log.Info("metadata group: adding a node of the map", "node", n.ID, "address", inMap[n.ID])
			return s.AddNonvoter(ctx, n.ID, inMap[n.ID])
		}
	}
	for _, n := range voters {
		if !isVoter[n.ID] && caughtUp(ctx, s, inMap[n.ID], secret) {
			log.Info("metadata group: promoting a node to voter", "node", n.ID)
			return s.AddVoter(ctx, n.ID, inMap[n.ID])
		}
	}
	for _, p := range st.Voters {
		// Only while there are more voters than the map asks for: a voter
		// leaves once its replacement votes.
		if _, ok := inMap[p.ID]; ok && !wantVoter[p.ID] && p.ID != st.ID && len(st.Voters) > len(voters) {
			log.Info("metadata group: demoting a voter the map does not choose", "node", p.ID)
			return s.DemoteVoter(ctx, p.ID)
		}
	}
	for id := range member {
		if _, ok := inMap[id]; !ok && id != st.ID {
			log.Info("metadata group: removing a member the map no longer lists", "node", id)
			return s.RemoveServer(ctx, id)
		}
	}
	return nil
}
