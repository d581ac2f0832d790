package meta

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// The forwarding RPC: one request and one answer per authenticated
// connection, each a 4-byte big-endian length and a JSON document.

const maxForward = maxCommand + 4096

type fwdKind string

const (
	fwdApply  fwdKind = "apply"  // Cmd: an encoded command
	fwdSync   fwdKind = "sync"   // the leader's applied index after a barrier
	fwdMember fwdKind = "member" // a configuration change
)

type fwdRequest struct {
	Kind  fwdKind `json:"kind"`
	After uint64  `json:"after,omitempty"` // clientWatch: the client's index
	Now   bool    `json:"now,omitempty"`   // clientWatch: answer at once
	ID    string  `json:"id,omitempty"`    // clientApply: Cmd's request ID
	// Deadline is the client's (Unix nanoseconds): the member stops
	// trying when the client stops waiting, so a change the client was
	// told failed is not applied later by a member still retrying it.
	Deadline int64           `json:"deadline,omitempty"`
	Cmd      json.RawMessage `json:"cmd,omitempty"`
	Member   *memberChange   `json:"member,omitempty"`
}

type memberChange struct {
	Op      string `json:"op"` // "voter", "nonvoter", "remove"
	ID      string `json:"id"`
	Address string `json:"address,omitempty"`
}

type fwdResponse struct {
	Code  string `json:"code,omitempty"` // a sentinel's wire code
	Error string `json:"error,omitempty"`
	Token uint64 `json:"token,omitempty"`
	Epoch uint64 `json:"epoch,omitempty"`
	Index uint64 `json:"index,omitempty"`
	// Applied is an applied command's log index: the forwarding member
	// waits for its own copy to hold it before it answers its caller.
	Applied uint64 `json:"applied,omitempty"`
	// State is the member's whole state (clientWatch), as a snapshot.
	State json.RawMessage `json:"state,omitempty"`
	// Status is the member's view of the group (clientStatus).
	Status *Status `json:"status,omitempty"`
}

// setResult carries an applied command's result (nil: none) in resp.
func (resp *fwdResponse) setResult(r *result) {
	if r != nil {
		resp.Token, resp.Epoch, resp.Applied = r.token, r.epoch, r.index
	}
}

func writeFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	if _, err := w.Write(append(n[:], b...)); err != nil {
		return err
	}
	return nil
}

func readFrame(r io.Reader, v any) error { return readFrameMax(r, v, maxForward) }

// readFrameMax reads a frame of at most limit bytes.
func readFrameMax(r io.Reader, v any, limit uint32) error {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > limit {
		return fmt.Errorf("%w: frame of %d bytes", ErrBadCommand, size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// serveForward answers one forwarded request on the leader.
func (s *Store) serveForward(c net.Conn) {
	defer c.Close()
	select {
	case <-s.ready:
	case <-s.closed:
		return
	}
	_ = c.SetDeadline(time.Now().Add(s.cfg.ApplyTimeout + s.cfg.HandshakeTimeout))
	// Close does not wait for an idle caller's deadline.
	stop := context.AfterFunc(s.ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	var req fwdRequest
	if err := readFrame(c, &req); err != nil {
		s.log.Warn("meta: bad forwarded request", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.ApplyTimeout)
	defer cancel()
	var resp fwdResponse
	var err error
	if s.raft.State() != raft.Leader {
		err = ErrNotLeader
	} else {
		switch req.Kind {
		case fwdApply:
			var r *result
			r, err = s.applyLocal(ctx, req.Cmd)
			resp.setResult(r)
		case fwdSync:
			resp.Index, err = s.leaderIndex(ctx)
		case fwdMember:
			if req.Member == nil {
				err = fmt.Errorf("%w: member change without a member", ErrBadCommand)
			} else {
				err = s.changeLocal(ctx, *req.Member)
			}
		default:
			err = fmt.Errorf("%w: forwarded request %q", ErrUnknownOp, req.Kind)
		}
	}
	if err != nil {
		resp.Code, resp.Error = codeOf(err), err.Error()
	}
	if err := writeFrame(c, resp); err != nil {
		s.log.Warn("meta: answering a forwarded request", "remote", c.RemoteAddr().String(), "err", err)
	}
}

// errRetry marks a forwarding failure after which the request certainly
// was not applied, so it may be sent again.
var errRetry = errors.New("meta: retry")

// forward sends req to the leader at addr.
func (s *Store) forward(ctx context.Context, addr string, req fwdRequest) (fwdResponse, error) {
	timeout := s.cfg.HandshakeTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	c, err := s.dial(addr, kindForward, timeout)
	if err != nil {
		return fwdResponse{}, fmt.Errorf("%w: %v", errRetry, err)
	}
	defer c.Close()
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(s.cfg.ApplyTimeout + s.cfg.HandshakeTimeout)
	}
	_ = c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	if err := writeFrame(c, req); err != nil {
		return fwdResponse{}, fmt.Errorf("meta: forward to %s: %w", addr, err)
	}
	var resp fwdResponse
	if err := readFrame(c, &resp); err != nil {
		return fwdResponse{}, fmt.Errorf("meta: forward to %s: %w", addr, err)
	}
	if resp.Code == "not_leader" {
		return resp, fmt.Errorf("%w: %s is not the leader", errRetry, addr)
	}
	if resp.Error != "" {
		if sentinel, ok := codes[resp.Code]; ok {
			return resp, fmt.Errorf("meta: leader %s: %w", addr, wrapMsg{sentinel, resp.Error})
		}
		return resp, fmt.Errorf("meta: leader %s: %s", addr, resp.Error)
	}
	return resp, nil
}

// wrapMsg carries the leader's message and unwraps to the sentinel.
type wrapMsg struct {
	err error
	msg string
}

func (w wrapMsg) Error() string { return w.msg }
func (w wrapMsg) Unwrap() error { return w.err }
