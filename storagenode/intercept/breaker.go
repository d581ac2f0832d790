package intercept

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

// Breaker wraps a Drive (usually an rpc.Client) with a circuit breaker: once
// a call fails with ErrDriveOffline the drive is marked down, and calls fail
// at once with ErrDriveOffline, without touching the network. A drive that
// can be pinged (rpc.Client) is then probed in the background with a short
// timeout, never with a user's request, so a hung node costs one timeout in
// all, not one per request; other drives let one call through as the probe.
// The delay between probes doubles from MinBackoff up to MaxBackoff.
type Breaker struct {
	*Drive
	minBackoff, maxBackoff time.Duration
	now                    func() time.Time

	mu      sync.Mutex
	down    bool
	until   time.Time     // no calls before this while down
	backoff time.Duration // current delay
	probing bool
	onState func(id string, online bool)

	pinger      pinger
	pingTimeout time.Duration
	closed      chan struct{}
	closeOnce   sync.Once
}

var _ storagenode.Drive = (*Breaker)(nil)

// BreakerOptions configures NewBreaker.
type BreakerOptions struct {
	// MinBackoff is the first wait after a failure. Default 500ms.
	MinBackoff time.Duration
	// MaxBackoff caps the wait. Default 5s.
	MaxBackoff time.Duration
	// PingTimeout bounds a background probe. Default 2s.
	PingTimeout time.Duration
	// OnStateChange, when set, is called when the drive goes down or comes
	// back (for logs and metrics).
	OnStateChange func(id string, online bool)
}

// NewBreaker wraps d.
func NewBreaker(d storagenode.Drive, o BreakerOptions) *Breaker {
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = 2 * time.Second
	}
	b := &Breaker{minBackoff: o.MinBackoff, maxBackoff: o.MaxBackoff, now: time.Now, onState: o.OnStateChange,
		pingTimeout: o.PingTimeout, closed: make(chan struct{})}
	b.Drive = Wrap(d, (*breakerGuard)(b))
	// Only a drive that can really be pinged (a remote one) is probed in
	// the background: a forwarder's Ping falls back to a call.
	if p, ok := d.(pinger); ok {
		if _, real := Innermost(d).(pinger); real {
			b.pinger = p
		}
	}
	return b
}

// probe pings a down drive in the background until it answers.
func (b *Breaker) probe() {
	for {
		b.mu.Lock()
		wait := b.backoff
		b.mu.Unlock()
		select {
		case <-b.closed:
			return
		case <-time.After(wait):
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.pingTimeout)
		err := b.pinger.Ping(ctx)
		cancel()
		b.mu.Lock()
		if err == nil {
			b.down, b.probing = false, false
			cb := b.onState
			b.mu.Unlock()
			if cb != nil {
				cb(b.ID(), true)
			}
			return
		}
		b.backoff = min(b.backoff*2, b.maxBackoff)
		b.mu.Unlock()
	}
}

// Online reports whether the breaker currently lets calls through.
func (b *Breaker) Online() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.down
}

// enter decides whether a call may go to the drive; probe is set when the
// call is the one probe of a down drive.
func (b *Breaker) enter() (probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.down {
		return false, nil
	}
	if b.pinger != nil || b.probing || b.now().Before(b.until) {
		return false, fmt.Errorf("storagenode: drive %s is down (retry in %v): %w", b.ID(), b.until.Sub(b.now()).Round(time.Millisecond), storagenode.ErrDriveOffline)
	}
	b.probing = true
	return true, nil
}

// leave records a call's outcome.
func (b *Breaker) leave(probe bool, err error) {
	offline := errors.Is(err, storagenode.ErrDriveOffline)
	b.mu.Lock()
	changed, online := false, false
	if probe {
		b.probing = false
	}
	switch {
	case offline && !b.down:
		b.down, b.backoff, changed = true, b.minBackoff, true
		b.until = b.now().Add(b.backoff)
		if b.pinger != nil {
			b.probing = true
			go b.probe()
		}
	case offline && probe:
		b.backoff = min(b.backoff*2, b.maxBackoff)
		b.until = b.now().Add(b.backoff)
	case !offline && b.down && (probe || err == nil):
		b.down, changed, online = false, true, true
	}
	cb := b.onState
	b.mu.Unlock()
	if changed && cb != nil {
		cb(b.ID(), online)
	}
}

// pinger is a drive that can be pinged.
type pinger interface{ Ping(context.Context) error }

// breakerGuard is the Breaker's interceptor: every call but Close goes
// through enter and leave. Close stops background probing and closes the
// drive.
type breakerGuard Breaker

func (g *breakerGuard) Intercept(ctx context.Context, c *Call, next func(context.Context) error) error {
	b := (*Breaker)(g)
	if c.Op == OpClose {
		b.closeOnce.Do(func() { close(b.closed) })
		return next(ctx)
	}
	probe, err := b.enter()
	if err != nil {
		return err
	}
	err = next(ctx)
	b.leave(probe, err)
	return err
}

// Online reports whether the breaker currently lets calls through.
func (g *breakerGuard) Online() bool { return (*Breaker)(g).Online() }
