package meta

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// MaxVoters is the most voters a group has: 5 survive the loss of any 2
// and every write waits for 3 of them.
const MaxVoters = 5

// GroupMember is one member of an in-process Group: its Raft ID and the
// folder of its log and snapshots. Offline members (a folder that cannot
// be used now) are still voters of a new group, so that the group's shape
// does not depend on which folders were present at its first start.
type GroupMember struct {
	ID      string
	Dir     string
	Offline bool
}

// GroupConfig opens a Group.
type GroupConfig struct {
	Members []GroupMember // at most MaxVoters; at least one online
	Logger  *slog.Logger  // default: discard
	// ApplyTimeout bounds a change whose context has no deadline; default
	// 10 s.
	ApplyTimeout time.Duration
}

// Group is the metadata group of the embedded server: one voter per member
// folder (the embedded server gives each of its first drive folders one),
// all in this process, talking over raft's in-memory transport. It is the
// same Store as a cluster's, so the metadata lives in a Raft log on several
// drives and survives the loss of any minority of them, as the data
// survives the loss of any m drives; a member whose folder was emptied
// (a replaced drive) is sent the log or a snapshot by the leader.
//
// Every call goes through the first member that opened (Store): its
// changes wait for its own copy to hold them, so its reads see every
// change acknowledged before them.
type Group struct {
	members []*Store
	net     *inmemNet
}

// OpenGroup opens the members that are online. The group is bootstrapped,
// with every member as a voter, when no member folder holds Raft state yet;
// otherwise the members rejoin the group their state names.
func OpenGroup(cfg GroupConfig) (*Group, error) {
	if len(cfg.Members) == 0 || len(cfg.Members) > MaxVoters {
		return nil, fmt.Errorf("meta: a group has 1 to %d members, not %d", MaxVoters, len(cfg.Members))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	fresh := true
	online := 0
	for _, m := range cfg.Members {
		if m.ID == "" || m.Dir == "" {
			return nil, fmt.Errorf("meta: group member %+v needs an ID and a folder", m)
		}
		if m.Offline {
			continue
		}
		online++
		has, err := hasState(m.Dir)
		if err != nil {
			return nil, err
		}
		if has {
			fresh = false
		}
	}
	if online == 0 {
		return nil, errors.New("meta: no member of the metadata group has a usable folder")
	}
	g := &Group{net: &inmemNet{trans: map[string]*raft.InmemTransport{}, forward: map[string]func(net.Conn){}}}
	for _, m := range cfg.Members {
		if m.Offline {
			continue
		}
		c := Config{
			ID: m.ID, Dir: m.Dir, Bind: "in-process", Secret: make([]byte, 16),
			Bootstrap: fresh, Logger: cfg.Logger,
			ApplyTimeout:     cfg.ApplyTimeout,
			HeartbeatTimeout: 500 * time.Millisecond,
			ElectionTimeout:  500 * time.Millisecond,
			LeaderLeaseTime:  250 * time.Millisecond,
		}
		for _, p := range cfg.Members {
			if p.ID != m.ID {
				c.Peers = append(c.Peers, Peer{ID: p.ID, Address: p.ID})
			}
		}
		c.setDefaults()
		if err := c.Validate(); err != nil {
			g.Close()
			return nil, err
		}
		s, err := openMember(c, g.net)
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("meta: member %s in %s: %w", m.ID, m.Dir, err)
		}
		g.members = append(g.members, s)
	}
	if fresh {
		cfg.Logger.Info("meta: created the metadata group", "voters", len(cfg.Members), "online", online)
	}
	return g, nil
}

// Store is the member every call of the embedded server goes through.
func (g *Group) Store() *Store { return g.members[0] }

// Members are the members that opened, for status.
func (g *Group) Members() []*Store { return g.members }

// Close stops every member and waits for the forwarding goroutines.
func (g *Group) Close() error {
	var err error
	for _, s := range g.members {
		err = errors.Join(err, s.Close())
	}
	g.net.wg.Wait()
	return err
}

// HasState reports whether dir holds a member's Raft log or snapshot.
func HasState(dir string) (bool, error) { return hasState(dir) }

// hasState reports whether dir holds a Raft log or snapshot.
func hasState(dir string) (bool, error) {
	snaps, err := os.ReadDir(filepath.Join(dir, "snapshots"))
	if err == nil && len(snaps) > 0 {
		return true, nil
	}
	path := filepath.Join(dir, "raft.db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	b, err := raftboltdb.New(raftboltdb.Options{Path: path})
	if err != nil {
		return false, fmt.Errorf("meta: read the Raft log in %s: %w", dir, err)
	}
	defer b.Close()
	last, err := b.LastIndex()
	if err != nil {
		return false, fmt.Errorf("meta: read the Raft log in %s: %w", dir, err)
	}
	return last > 0, nil
}

// inmemNet is a Group's network: raft's in-memory transport between the
// members, and the forwarding RPC over net.Pipe.
type inmemNet struct {
	mu      sync.Mutex
	trans   map[string]*raft.InmemTransport
	forward map[string]func(net.Conn)
	wg      sync.WaitGroup // the forwarding goroutines
}

// join connects a member to the others and returns its transport, dialer
// and close function.
func (n *inmemNet) join(id string, serve func(net.Conn)) (raft.Transport, func(string, byte, time.Duration) (net.Conn, error), func() error) {
	addr, t := raft.NewInmemTransport(raft.ServerAddress(id))
	n.mu.Lock()
	for other, ot := range n.trans {
		t.Connect(raft.ServerAddress(other), ot)
		ot.Connect(addr, t)
	}
	n.trans[id], n.forward[id] = t, serve
	n.mu.Unlock()
	dial := func(address string, kind byte, _ time.Duration) (net.Conn, error) {
		n.mu.Lock()
		serve, ok := n.forward[address]
		n.mu.Unlock()
		if !ok || kind != kindForward {
			return nil, fmt.Errorf("meta: member %s is not running", address)
		}
		a, b := net.Pipe()
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			serve(b)
		}()
		return a, nil
	}
	closeNet := func() error {
		n.mu.Lock()
		delete(n.trans, id)
		delete(n.forward, id)
		for _, ot := range n.trans {
			ot.Disconnect(addr)
		}
		n.mu.Unlock()
		return t.Close()
	}
	return t, dial, closeNet
}
