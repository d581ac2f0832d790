package meta

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
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

// DemoteVoter makes a voter a non-voter.
func (s *Store) DemoteVoter(ctx context.Context, id string) error {
	return s.change(ctx, memberChange{Op: "demote", ID: id})
}

// IsLeader reports whether this member leads the group now.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

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
	case "demote":
		f = s.raft.DemoteVoter(raft.ServerID(m.ID), 0, timeout)
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

// Recover rewrites the group's configuration in a stopped member's state
// (cfg.Dir) to voters alone: the way back when a majority of the voters is
// lost for good (raft.RecoverCluster, as Consul's peers.json). Every
// surviving voter named in voters must be recovered with the same list
// before any of them starts again; the lost members are added back
// afterwards (the server's reconcile does it from the cluster map). A
// change the lost majority had committed but no survivor holds is lost.
func Recover(cfg Config, voters []Peer) error {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	if len(voters) == 0 {
		return errors.New("meta: recover: name at least one surviving voter")
	}
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.Dir, "raft.db")})
	if err != nil {
		return fmt.Errorf("meta: recover: open the Raft log in %s: %w", cfg.Dir, err)
	}
	defer bolt.Close()
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: slogWriter{cfg.Logger}})
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, cfg.RetainSnapshots, hlog)
	if err != nil {
		return fmt.Errorf("meta: recover: snapshot store in %s: %w", cfg.Dir, err)
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.Logger = hlog
	_, trans := raft.NewInmemTransport(raft.ServerAddress(cfg.Bind))
	defer trans.Close()
	var conf raft.Configuration
	for _, p := range voters {
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address)})
	}
	if err := raft.RecoverCluster(rc, newFSM(), bolt, bolt, snaps, trans, conf); err != nil {
		return fmt.Errorf("meta: recover: %w", err)
	}
	return nil
}
