package meta

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// The client protocol: a gateway is not a member of the group; it keeps a
// read-only copy of the state, current by a long poll (watch) on any
// member, and sends its changes to a member, which forwards them to the
// leader. One request and one answer per authenticated connection (kind
// 'C'), framed as the forwarding RPC's.
const (
	clientApply  fwdKind = "c-apply"  // Cmd, applied through the leader
	clientSync   fwdKind = "c-sync"   // a read index: the member Syncs, answers its index
	clientWatch  fwdKind = "c-watch"  // the state once the member's index passes After
	clientMember fwdKind = "c-member" // a configuration change
	clientStatus fwdKind = "c-status" // the member's Status
)

// maxState bounds a watch answer (the whole state).
const maxState = 256 << 20

// serveConn routes an authenticated connection that is not Raft's.
func (s *Store) serveConn(kind byte, c net.Conn) {
	if kind == kindForward {
		s.serveForward(c)
		return
	}
	s.serveClient(c)
}

// serveClient answers one request of a Client.
func (s *Store) serveClient(c net.Conn) {
	defer c.Close()
	select {
	case <-s.ready:
	case <-s.closed:
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	var req fwdRequest
	if err := readFrame(c, &req); err != nil {
		s.log.Warn("meta: bad client request", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	timeout := s.cfg.ApplyTimeout
	if req.Kind == clientWatch {
		timeout = watchTimeout
	}
	_ = c.SetDeadline(time.Now().Add(timeout + s.cfg.HandshakeTimeout))
	stop := context.AfterFunc(s.ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	if req.Deadline > 0 {
		var cancelDL context.CancelFunc
		ctx, cancelDL = context.WithDeadline(ctx, time.Unix(0, req.Deadline))
		defer cancelDL()
	}
	var resp fwdResponse
	var err error
	switch req.Kind {
	case clientApply:
		var r *result
		r, err = s.proposeEncoded(ctx, req.Cmd)
		resp.setResult(r)
	case clientSync:
		if err = s.Sync(ctx); err == nil {
			resp.Index = s.fsm.appliedIndex()
		}
	case clientWatch:
		// Wait for a change past the client's copy; at the timeout the
		// state is sent anyway (the client's copy may be newer than this
		// member's: it then asks again).
		if !req.Now {
			_ = waitIndex(ctx, s.fsm, req.After+1, s.closed)
		}
		resp.State, resp.Index, err = s.fsm.encode(true)
	case clientMember:
		if req.Member == nil {
			err = fmt.Errorf("%w: member change without a member", ErrBadCommand)
		} else {
			err = s.change(ctx, *req.Member)
		}
	case clientStatus:
		var st Status
		st, err = s.Status()
		resp.Status = &st
	default:
		err = fmt.Errorf("%w: client request %q", ErrUnknownOp, req.Kind)
	}
	if err != nil {
		resp.Code, resp.Error = codeOf(err), err.Error()
	}
	if err := writeFrame(c, resp); err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.Debug("meta: answering a client", "remote", c.RemoteAddr().String(), "err", err)
	}
}

// watchTimeout bounds a watch's long poll on the member.
const watchTimeout = 20 * time.Second

// How long a client waits for one member before it asks the next: for a
// read index, and for a change (which may then be sent again: its request
// ID keeps it from being applied twice).
const (
	syncPerMember  = 750 * time.Millisecond
	applyPerMember = 3 * time.Second
)

// errNoAnswer: the member took the request but sent no answer in time (it
// may have done it).
var errNoAnswer = errors.New("meta: no answer")

// requestID returns a new random request ID.
func requestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ClientConfig configures a Client.
type ClientConfig struct {
	Members []string // the members' metadata addresses; required
	Secret  []byte   // the cluster secret; required, 16 bytes or more
	Logger  *slog.Logger
	// HandshakeTimeout bounds dialing a member and its handshake;
	// default 5 s. ApplyTimeout bounds a change or a Sync whose context
	// has no deadline; default 10 s.
	HandshakeTimeout, ApplyTimeout time.Duration
	// TLS, when set, dials the members over TLS, verified by its RootCAs
	// (the members' Config.TLS must be set too).
	TLS *tls.Config
}

// Client is a gateway's view of the metadata group: a local copy of the
// state (the same reads as a member's: Bucket, Buckets, ClusterMap,
// Lease, CheckToken; no network), kept current by a watch on one member at
// a time, and changes sent through any member to the leader. Every change
// waits for the local copy to hold it before it returns (read your
// writes); Sync waits for every change committed before the call.
type Client struct {
	changes
	view
	cfg     ClientConfig
	log     *slog.Logger
	key     []byte
	fsm     *fsm
	next    atomic.Uint32 // the member to ask first
	watched atomic.Uint32 // the member the watch is on, for Status
	ready   chan struct{} // closed at the first copy
	// kick ends the watch's current long poll so that it starts again on
	// member next (see synced).
	kickMu sync.Mutex
	kick   context.CancelFunc
	kicked atomic.Bool
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewClient starts a Client and its watch; the copy is empty until the
// first answer (WaitReady).
func NewClient(cfg ClientConfig) (*Client, error) {
	if len(cfg.Members) == 0 {
		return nil, errors.New("meta: a client needs the members' addresses")
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("meta: ClientConfig.Secret is shorter than 16 bytes: give the cluster secret")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 5 * time.Second
	}
	if cfg.ApplyTimeout <= 0 {
		cfg.ApplyTimeout = 10 * time.Second
	}
	c := &Client{cfg: cfg, log: cfg.Logger, key: deriveKey(cfg.Secret), fsm: newFSM(), ready: make(chan struct{})}
	c.changes, c.view = changes{c.propose}, view{c.fsm}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(1)
	go c.watch()
	return c, nil
}

// Close stops the watch.
func (c *Client) Close() error {
	c.cancel()
	c.wg.Wait()
	return nil
}

// WaitReady waits for the first copy of the state.
func (c *Client) WaitReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("meta: no member sent the state: %w", ctx.Err())
	case <-c.ctx.Done():
		return ErrClosed
	}
}

// watch keeps the copy current: a long poll on one member; a member that
// fails is left for the next.
func (c *Client) watch() {
	defer c.wg.Done()
	wait := 50 * time.Millisecond
	first := true
	for c.ctx.Err() == nil {
		i := c.next.Load() % uint32(len(c.cfg.Members))
		c.watched.Store(i)
		wctx, cancel := context.WithCancel(c.ctx)
		c.kickMu.Lock()
		c.kick = cancel
		c.kickMu.Unlock()
		resp, err := c.call(wctx, c.cfg.Members[i], fwdRequest{Kind: clientWatch, After: c.fsm.appliedIndex(), Now: first}, watchTimeout+c.cfg.HandshakeTimeout)
		cancel()
		if c.kicked.Swap(false) && c.ctx.Err() == nil {
			continue // moved to the member that answered a Sync
		}
		if err == nil && (first || resp.Index > c.fsm.appliedIndex()) {
			err = c.fsm.Restore(io.NopCloser(bytes.NewReader(resp.State)))
		}
		if err == nil {
			if first {
				first = false
				close(c.ready)
			}
			wait = 50 * time.Millisecond
			continue
		}
		if c.ctx.Err() != nil {
			return
		}
		c.log.Debug("meta: watch failed; trying the next member", "member", c.cfg.Members[i], "err", err)
		c.next.CompareAndSwap(i, i+1)
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// call sends one request to the member at addr.
func (c *Client) call(ctx context.Context, addr string, req fwdRequest, timeout time.Duration) (fwdResponse, error) {
	conn, err := dialKind(addr, c.key, kindClient, c.cfg.HandshakeTimeout, c.cfg.HandshakeTimeout, c.cfg.TLS)
	if err != nil {
		return fwdResponse{}, fmt.Errorf("%w: %w", errRetry, err)
	}
	defer conn.Close()
	dl := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if d, ok := ctx.Deadline(); ok && req.Kind != clientWatch {
		req.Deadline = d.UnixNano()
	}
	if err := writeFrame(conn, req); err != nil {
		return fwdResponse{}, fmt.Errorf("%w: send to %s: %v", errRetry, addr, err)
	}
	var resp fwdResponse
	if err := readFrameMax(conn, &resp, maxState); err != nil {
		return fwdResponse{}, fmt.Errorf("%w: answer of %s: %w", errNoAnswer, addr, err)
	}
	if resp.Error != "" {
		if sentinel, ok := codes[resp.Code]; ok {
			if resp.Code == "not_leader" || resp.Code == "closed" {
				return resp, fmt.Errorf("%w: %s: %w", errRetry, addr, wrapMsg{sentinel, resp.Error})
			}
			return resp, fmt.Errorf("meta: %s: %w", addr, wrapMsg{sentinel, resp.Error})
		}
		return resp, fmt.Errorf("meta: %s: %s", addr, resp.Error)
	}
	return resp, nil
}

// do sends req to the members in turn, from the last one that answered,
// until one answers or ctx ends; only requests that certainly were not
// applied (errRetry) move on to the next member.
func (c *Client) do(ctx context.Context, req fwdRequest) (fwdResponse, error) {
	ctx, cancel := c.ctxTimeout(ctx)
	defer cancel()
	n := uint32(len(c.cfg.Members))
	var last error
	refused := uint32(0) // members in a row that failed the handshake
	// A read index, or a change that carries its request ID (applied at
	// most once, see command.ID), may go to the next member when one does
	// not answer in time: a member that is frozen or cut off must not use
	// up the caller's whole deadline while the others could answer.
	perCall := c.cfg.ApplyTimeout + c.cfg.HandshakeTimeout
	switch {
	case req.Kind == clientSync:
		perCall = syncPerMember
	case req.Kind == clientApply && req.ID != "":
		perCall = applyPerMember
	}
	for attempt := uint32(0); ; attempt++ {
		i := c.next.Load() % n
		cctx, cancel := context.WithTimeout(ctx, perCall)
		resp, err := c.call(cctx, c.cfg.Members[i], req, perCall)
		cancel()
		if err == nil {
			if req.Kind == clientSync {
				c.synced(i, resp.Index)
			}
			return resp, nil
		}
		retry := errors.Is(err, errRetry) || errors.Is(err, errNoAnswer) && (req.Kind == clientSync || req.ID != "")
		if !retry {
			return resp, err
		}
		if refused++; !errors.Is(err, ErrHandshake) {
			refused = 0
		}
		if refused >= n {
			// Every member refuses us: another cluster's secret.
			return resp, fmt.Errorf("meta: %s: %w", req.Kind, err)
		}
		last = err
		c.next.CompareAndSwap(i, i+1)
		if attempt%n == n-1 {
			// Every member tried: wait a little before the next round.
			select {
			case <-ctx.Done():
				return resp, fmt.Errorf("meta: %s: no member could do it: %w (%w)", req.Kind, last, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
		if ctx.Err() != nil {
			return resp, fmt.Errorf("meta: %s: %w (%w)", req.Kind, last, ctx.Err())
		}
	}
}

func (c *Client) ctxTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.cfg.ApplyTimeout)
}

// propose applies c through the group and waits for the copy to hold it.
func (c *Client) propose(ctx context.Context, cmd command) (*result, error) {
	cmd.Time = time.Now().UnixNano()
	cmd.ID = requestID()
	b, err := encodeCommand(cmd)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, fwdRequest{Kind: clientApply, Cmd: b, ID: cmd.ID})
	res := &result{token: resp.Token, epoch: resp.Epoch, index: resp.Applied}
	if res.index > 0 {
		wctx, cancel := c.ctxTimeout(ctx)
		defer cancel()
		if werr := waitIndex(wctx, c.fsm, res.index, c.ctx.Done()); werr != nil && err == nil {
			err = werr
		}
	}
	return res, err
}

// synced notes that member i answered a read index of index: when the
// copy is not there soon, the watch is moved to member i, which holds it
// (the member watched may be frozen or cut off; its long poll would hold
// the copy back for up to watchTimeout).
func (c *Client) synced(i uint32, index uint64) {
	if c.fsm.appliedIndex() >= index {
		return
	}
	if c.watched.Load() == i {
		return
	}
	t := time.NewTimer(100 * time.Millisecond)
	defer t.Stop()
	for c.fsm.appliedIndex() < index {
		_, changed := c.fsm.appliedSince()
		select {
		case <-changed:
			continue
		case <-t.C:
		case <-c.ctx.Done():
			return
		}
		break
	}
	if c.fsm.appliedIndex() >= index {
		return
	}
	c.next.Store(i)
	c.kicked.Store(true)
	c.kickMu.Lock()
	if c.kick != nil {
		c.kick()
	}
	c.kickMu.Unlock()
}

// Sync waits until the copy holds every change committed before the call.
func (c *Client) Sync(ctx context.Context) error {
	resp, err := c.do(ctx, fwdRequest{Kind: clientSync})
	if err != nil {
		return fmt.Errorf("meta: sync: %w", err)
	}
	ctx, cancel := c.ctxTimeout(ctx)
	defer cancel()
	if err := waitIndex(ctx, c.fsm, resp.Index, c.ctx.Done()); err != nil {
		return fmt.Errorf("meta: sync: %w", err)
	}
	return nil
}

// AddNonvoter adds a member that receives the log but does not vote.
func (c *Client) AddNonvoter(ctx context.Context, id, address string) error {
	_, err := c.do(ctx, fwdRequest{Kind: clientMember, Member: &memberChange{Op: "nonvoter", ID: id, Address: address}})
	return err
}

// RemoveServer removes a member from the group.
func (c *Client) RemoveServer(ctx context.Context, id string) error {
	_, err := c.do(ctx, fwdRequest{Kind: clientMember, Member: &memberChange{Op: "remove", ID: id}})
	return err
}

// MemberStatus asks the member at addr for its view of the group.
func (c *Client) MemberStatus(ctx context.Context, addr string) (Status, error) {
	resp, err := c.call(ctx, addr, fwdRequest{Kind: clientStatus}, c.cfg.HandshakeTimeout)
	if err != nil {
		return Status{}, err
	}
	if resp.Status == nil {
		return Status{}, fmt.Errorf("meta: %s sent no status", addr)
	}
	return *resp.Status, nil
}

// PeerStatus asks the member at addr, within timeout, for its view of
// the group (a member that is in no group yet has no voters); over TLS
// when tlsConf is set (as the members' Config.TLS).
func PeerStatus(ctx context.Context, addr string, secret []byte, tlsConf *tls.Config, timeout time.Duration) (Status, error) {
	c := &Client{cfg: ClientConfig{HandshakeTimeout: timeout, TLS: tlsConf}, key: deriveKey(secret)}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.MemberStatus(ctx, addr)
}
