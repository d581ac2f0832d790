package meta

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// Peer is a member of the group: its Raft server ID and address.
type Peer struct {
	ID      string
	Address string
}

// Config opens a Store. Zero durations and counts take the defaults
// stated on each field.
type Config struct {
	ID        string // this member's Raft server ID; required
	Dir       string // the Raft log, stable store and snapshots; required
	Bind      string // the TCP address to listen on, e.g. "127.0.0.1:0"; required
	Advertise string // the address peers dial; default: the bound address
	Secret    []byte // the cluster secret the transport handshake proves; required, 16 bytes or more
	// Bootstrap creates the group with this member and Peers as voters
	// when Dir holds no state yet; it is ignored when Dir has state.
	Bootstrap bool
	Peers     []Peer       // the other first voters, for Bootstrap
	Nonvoters []Peer       // the first non-voters, for Bootstrap
	Logger    *slog.Logger // default: discard
	// Cut, when set and true, cuts the member off: it accepts no
	// connection, dials none, and the ones it has fail (a test fault: the
	// member's network to the group and its clients is down, its process
	// and drives are not).
	Cut func() bool
	// TLS, when set, serves the port over TLS with its Certificates and
	// dials the other members with it, verified by its RootCAs (under the
	// secret's handshake, which still authenticates every connection).
	TLS *tls.Config

	HandshakeTimeout  time.Duration // the transport handshake's deadline; default 5 s
	ApplyTimeout      time.Duration // a write's bound when its context has none; default 10 s
	HeartbeatTimeout  time.Duration // Raft's; default 1 s
	ElectionTimeout   time.Duration // Raft's; default 1 s
	LeaderLeaseTime   time.Duration // Raft's LeaderLeaseTimeout; default 500 ms
	SnapshotThreshold uint64        // log entries between snapshots; default 1024
	SnapshotInterval  time.Duration // how often the threshold is checked; default 30 s
	TrailingLogs      uint64        // entries kept after a snapshot; default 1024
	RetainSnapshots   int           // snapshots kept on disk; default 2
}

// DefaultConfig returns a Config with every default set; the caller sets
// ID, Dir, Bind, Secret and, for the first member, Bootstrap.
func DefaultConfig() Config {
	var c Config
	c.setDefaults()
	c.Logger = nil // Open's default: discard
	return c
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HandshakeTimeout, 5*time.Second)
	def(&c.ApplyTimeout, 10*time.Second)
	def(&c.HeartbeatTimeout, time.Second)
	def(&c.ElectionTimeout, time.Second)
	def(&c.LeaderLeaseTime, 500*time.Millisecond)
	def(&c.SnapshotInterval, 30*time.Second)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = 1024
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = 1024
	}
	if c.RetainSnapshots <= 0 {
		c.RetainSnapshots = 2
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.ID == "":
		return errors.New("meta: Config.ID is empty: give this member a unique name")
	case c.Dir == "":
		return errors.New("meta: Config.Dir is empty: give a directory for the Raft log")
	case c.Bind == "":
		return errors.New("meta: Config.Bind is empty: give a TCP address such as 127.0.0.1:7001")
	case len(c.Secret) < 16:
		return errors.New("meta: Config.Secret is shorter than 16 bytes: give the cluster secret")
	}
	for _, p := range append(slices.Clone(c.Peers), c.Nonvoters...) {
		if p.ID == "" || p.Address == "" || p.ID == c.ID {
			return fmt.Errorf("meta: peer %+v: each peer needs its own ID and an address", p)
		}
	}
	return nil
}

// Store is one member of the metadata group: a Raft node, its state machine
// and the local copy readers use.
type Store struct {
	changes
	view
	cfg   Config
	log   *slog.Logger
	fsm   *fsm
	raft  *raft.Raft
	trans raft.Transport
	bolt  *raftboltdb.BoltStore
	// dial opens an authenticated connection of a kind to a member (the
	// TCP stream layer's, or the in-process group's); closeNet stops the
	// transport and waits for its goroutines.
	dial     func(addr string, kind byte, timeout time.Duration) (net.Conn, error)
	closeNet func() error

	ctx       context.Context // ends at Close
	cancel    context.CancelFunc
	ready     chan struct{} // closed once raft is set
	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
}

// Open starts a member: it opens (or creates) the Raft state in Dir,
// listens on Bind and, with Bootstrap on an empty Dir, creates the group.
func Open(cfg Config) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return openMember(cfg, nil)
}

// openMember starts a member over TCP (in == nil) or over the in-process
// network of a Group.
func openMember(cfg Config, in *inmemNet) (*Store, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	s := &Store{cfg: cfg, log: cfg.Logger.With("meta", cfg.ID), fsm: newFSM(), ready: make(chan struct{}), closed: make(chan struct{})}
	s.changes, s.view = changes{s.propose}, view{s.fsm}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Info, Output: slogWriter{s.log}})

	bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.Dir, "raft.db")})
	if err != nil {
		return nil, fmt.Errorf("meta: open the Raft log in %s: %w", cfg.Dir, err)
	}
	s.bolt = bolt
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, cfg.RetainSnapshots, hlog)
	if err != nil {
		bolt.Close()
		return nil, fmt.Errorf("meta: snapshot store in %s: %w", cfg.Dir, err)
	}
	logs, err := raft.NewLogCache(256, bolt)
	if err != nil {
		bolt.Close()
		return nil, fmt.Errorf("meta: %w", err)
	}
	if in != nil {
		s.trans, s.dial, s.closeNet = in.join(cfg.ID, s.serveForward)
	} else {
		layer, err := newStreamLayer(cfg.Bind, cfg.Advertise, cfg.Secret, cfg.HandshakeTimeout, s.log, s.serveConn, cfg.Cut, cfg.TLS)
		if err != nil {
			bolt.Close()
			return nil, err
		}
		nt := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream: layer, MaxPool: 3, Timeout: 10 * time.Second, Logger: hlog,
		})
		s.trans, s.dial = nt, layer.dial
		s.closeNet = func() error {
			err := nt.Close()
			layer.wait()
			return err
		}
	}

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.Logger = hlog
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = min(cfg.LeaderLeaseTime, cfg.HeartbeatTimeout)
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs

	fail := func(err error) (*Store, error) {
		close(s.closed)
		s.cancel()
		s.closeNet()
		bolt.Close()
		return nil, err
	}
	if cfg.Bootstrap {
		has, err := raft.HasExistingState(logs, bolt, snaps)
		if err != nil {
			return fail(fmt.Errorf("meta: read the Raft state: %w", err))
		}
		if !has {
			servers := []raft.Server{{Suffrage: raft.Voter, ID: rc.LocalID, Address: s.trans.LocalAddr()}}
			for _, p := range cfg.Peers {
				servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address)})
			}
			for _, p := range cfg.Nonvoters {
				servers = append(servers, raft.Server{Suffrage: raft.Nonvoter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address)})
			}
			if err := raft.BootstrapCluster(rc, logs, bolt, snaps, s.trans, raft.Configuration{Servers: servers}); err != nil {
				return fail(fmt.Errorf("meta: bootstrap: %w", err))
			}
			s.log.Info("meta: bootstrapped the metadata group", "voters", len(servers))
		}
	}
	r, err := raft.NewRaft(rc, s.fsm, logs, bolt, snaps, s.trans)
	if err != nil {
		return fail(fmt.Errorf("meta: start Raft: %w", err))
	}
	s.raft = r
	close(s.ready)
	return s, nil
}

// Bootstrap creates the group on a member opened without state and
// without Config.Bootstrap, with this member and cfg's Peers as voters
// and Nonvoters as non-voters (the caller decided no group exists yet).
// Members bootstrapping the same configuration at once is safe.
func (s *Store) Bootstrap() error {
	servers := []raft.Server{{Suffrage: raft.Voter, ID: raft.ServerID(s.cfg.ID), Address: s.trans.LocalAddr()}}
	for _, p := range s.cfg.Peers {
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address)})
	}
	for _, p := range s.cfg.Nonvoters {
		servers = append(servers, raft.Server{Suffrage: raft.Nonvoter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address)})
	}
	if err := s.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		return fmt.Errorf("meta: bootstrap: %w", err)
	}
	s.log.Info("meta: bootstrapped the metadata group", "voters", 1+len(s.cfg.Peers), "nonvoters", len(s.cfg.Nonvoters))
	return nil
}

// Addr is the address peers dial (the advertised one).
func (s *Store) Addr() string { return string(s.trans.LocalAddr()) }

// Close leaves the group's work to the others: it stops Raft, the
// transport and the log. It is safe to call twice.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.cancel()
		err := s.raft.Shutdown().Error()
		err = errors.Join(err, s.closeNet())
		err = errors.Join(err, s.bolt.Close())
		if err != nil {
			s.closeErr = fmt.Errorf("meta: close: %w", err)
		}
	})
	return s.closeErr
}

// ctxTimeout bounds ctx by ApplyTimeout when it has no deadline.
func (s *Store) ctxTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.cfg.ApplyTimeout)
}

// applyLocal applies an encoded command on this member, the leader.
func (s *Store) applyLocal(ctx context.Context, b []byte) (*result, error) {
	if _, err := decodeCommand(b); err != nil {
		return nil, err
	}
	timeout := s.cfg.ApplyTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	f := s.raft.Apply(b, timeout)
	if err := f.Error(); err != nil {
		return nil, raftErr(err)
	}
	r, _ := f.Response().(*result)
	if r == nil {
		return nil, errors.New("meta: apply returned no result")
	}
	return r, r.err
}

// raftErr turns the engine's "not the leader" answers, after which the
// entry certainly was not appended, into ErrNotLeader, which is retried.
func raftErr(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrNotVoter):
		return fmt.Errorf("%w: %v", ErrNotLeader, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return fmt.Errorf("meta: %w", err)
}

// do runs one request against the leader: locally when this member leads,
// forwarded otherwise, retried while no leader is known or the one asked
// is not the leader any more, until ctx ends.
func (s *Store) do(ctx context.Context, local func(context.Context) error, req fwdRequest, remote func(fwdResponse)) error {
	ctx, cancel := s.ctxTimeout(ctx)
	defer cancel()
	wait := 10 * time.Millisecond
	var last error
	for attempt := 0; ; attempt++ {
		select {
		case <-s.closed:
			return ErrClosed
		default:
		}
		var err error
		if s.raft.State() == raft.Leader {
			err = local(ctx)
			if err == nil || !errors.Is(err, ErrNotLeader) {
				return err
			}
		} else if addr, _ := s.raft.LeaderWithID(); addr == "" {
			err = fmt.Errorf("%w known to %s", ErrNotLeader, s.cfg.ID)
		} else {
			var resp fwdResponse
			resp, err = s.forward(ctx, string(addr), req)
			if err == nil {
				remote(resp)
				return nil
			}
			if !errors.Is(err, errRetry) {
				return err
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("meta: %s after %d attempts: %w (%w)", req.Kind, attempt+1, last, ctx.Err())
		case <-s.closed:
			return ErrClosed
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// propose encodes c with the proposer's clock and applies it through the
// leader.
func (s *Store) propose(ctx context.Context, c command) (*result, error) {
	c.Time = time.Now().UnixNano()
	b, err := encodeCommand(c)
	if err != nil {
		return nil, err
	}
	return s.proposeEncoded(ctx, b)
}

// proposeEncoded applies an encoded command through the leader.
func (s *Store) proposeEncoded(ctx context.Context, b []byte) (*result, error) {
	var res result
	err := s.do(ctx, func(ctx context.Context) error {
		r, err := s.applyLocal(ctx, b)
		if r != nil {
			res = *r
		}
		return err
	}, fwdRequest{Kind: fwdApply, Cmd: b}, func(r fwdResponse) {
		res.token, res.epoch, res.index = r.Token, r.Epoch, r.Applied
	})
	if res.index > 0 {
		// Read your writes: the local copy holds the change (or the
		// refusal's state) before the caller hears of it.
		if werr := s.waitApplied(ctx, res.index); werr != nil && err == nil {
			err = werr
		}
	}
	return &res, err
}

// waitApplied waits until the local copy holds the command at index.
func (s *Store) waitApplied(ctx context.Context, index uint64) error {
	ctx, cancel := s.ctxTimeout(ctx)
	defer cancel()
	return waitIndex(ctx, s.fsm, index, s.closed)
}

// waitIndex waits until f holds the command at index, ctx ends or closed
// is closed.
func waitIndex(ctx context.Context, f *fsm, index uint64, closed <-chan struct{}) error {
	for {
		applied, changed := f.appliedSince()
		if applied >= index {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("meta: applied %d of %d: %w", applied, index, ctx.Err())
		case <-closed:
			return ErrClosed
		case <-changed:
		}
	}
}

// Sync waits until the local copy holds every change committed before
// the call (a read index): the leader confirms its leadership with a
// barrier and this member waits to apply up to the leader's index. Reads
// after Sync are linearizable.
func (s *Store) Sync(ctx context.Context) error {
	var index uint64
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		index, err = s.leaderIndex(ctx)
		return err
	}, fwdRequest{Kind: fwdSync}, func(r fwdResponse) { index = r.Index })
	if err != nil {
		return fmt.Errorf("meta: sync: %w", err)
	}
	if err := s.waitApplied(ctx, index); err != nil {
		return fmt.Errorf("meta: sync: %w", err)
	}
	return nil
}

// leaderIndex runs a barrier on the leader and returns the index of the
// last command its state holds.
func (s *Store) leaderIndex(ctx context.Context) (uint64, error) {
	timeout := s.cfg.ApplyTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	if err := s.raft.Barrier(timeout).Error(); err != nil {
		if errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			// A barrier changes nothing: asking again is safe.
			return 0, fmt.Errorf("%w: %v", ErrNotLeader, err)
		}
		return 0, raftErr(err)
	}
	// After the barrier the state holds every command committed before
	// it; a member whose state holds the same last command holds them all.
	return s.fsm.appliedIndex(), nil
}

// slogWriter carries hclog's lines (Raft's own logging) into slog.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	line := string(trimNL(p))
	// Raft's INFO lines (elections, peers, snapshots) are debug detail to
	// us; its warnings and errors stay.
	level := slog.LevelDebug
	switch {
	case strings.Contains(line, "[ERROR]"):
		level = slog.LevelError
	case strings.Contains(line, "[WARN]"):
		level = slog.LevelWarn
	}
	w.log.Log(context.Background(), level, "raft", "line", line)
	return len(p), nil
}

func trimNL(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}

var _ io.Writer = slogWriter{}

// TLSConfig is the member's Config.TLS (nil: plain TCP), for the calls its
// holder makes to other members (PeerStatus).
func (s *Store) TLSConfig() *tls.Config { return s.cfg.TLS }
