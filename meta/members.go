package meta

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
)

// AddVoter adds (or promotes) a member as a voter.
func (s *Store) AddVoter(ctx context.Context, id, address string) error {
	return s.change(ctx, memberChange{Op: "voter", ID: id, Address: address})
}

// AddNonvoter adds a member that receives the log but does not vote.
func (s *Store) AddNonvoter(ctx context.Context, id, address string) error {
	return s.change(ctx, memberChange{Op: "nonvoter", ID: id, Address: address})
}

// RemoveServer removes a member from the group.
func (s *Store) RemoveServer(ctx context.Context, id string) error {
	return s.change(ctx, memberChange{Op: "remove", ID: id})
}

func (s *Store) change(ctx context.Context, m memberChange) error {
	err := s.do(ctx, func(ctx context.Context) error { return s.changeLocal(ctx, m) },
		fwdRequest{Kind: fwdMember, Member: &m}, func(fwdResponse) {})
	if err != nil {
		return fmt.Errorf("meta: %s %s: %w", m.Op, m.ID, err)
	}
	return nil
}

func (s *Store) changeLocal(ctx context.Context, m memberChange) error {
	timeout := s.cfg.ApplyTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	var f raft.IndexFuture
	switch m.Op {
	case "voter":
		f = s.raft.AddVoter(raft.ServerID(m.ID), raft.ServerAddress(m.Address), 0, timeout)
	case "nonvoter":
		f = s.raft.AddNonvoter(raft.ServerID(m.ID), raft.ServerAddress(m.Address), 0, timeout)
	case "remove":
		f = s.raft.RemoveServer(raft.ServerID(m.ID), 0, timeout)
	default:
		return fmt.Errorf("%w: member change %q", ErrUnknownOp, m.Op)
	}
	if err := f.Error(); err != nil {
		return raftErr(err)
	}
	return nil
}

// Status is what a member knows of the group.
type Status struct {
	ID           string
	State        string // Leader, Follower, Candidate, Shutdown
	Leader       Peer   // zero when none is known
	Term         uint64
	AppliedIndex uint64 // Raft's: the last entry handed to the state machine
	StateIndex   uint64 // the last command entry the local copy holds
	CommitIndex  uint64
	Voters       []Peer
	Nonvoters    []Peer
}

// Status reports this member's view of the group.
func (s *Store) Status() (Status, error) {
	addr, id := s.raft.LeaderWithID()
	st := Status{
		ID:           s.cfg.ID,
		State:        s.raft.State().String(),
		Leader:       Peer{ID: string(id), Address: string(addr)},
		AppliedIndex: s.raft.AppliedIndex(),
		StateIndex:   s.fsm.appliedIndex(),
	}
	stats := s.raft.Stats()
	st.Term, _ = strconv.ParseUint(stats["term"], 10, 64)
	st.CommitIndex, _ = strconv.ParseUint(stats["commit_index"], 10, 64)
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return st, fmt.Errorf("meta: status: %w", raftErr(err))
	}
	for _, srv := range f.Configuration().Servers {
		p := Peer{ID: string(srv.ID), Address: string(srv.Address)}
		if srv.Suffrage == raft.Voter {
			st.Voters = append(st.Voters, p)
		} else {
			st.Nonvoters = append(st.Nonvoters, p)
		}
	}
	return st, nil
}
