package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// MinSecretLen is the shortest cluster secret Options.Validate accepts.
const MinSecretLen = 16

// Secret is key material. It formats as [REDACTED] with every fmt verb and
// with log/slog, so that it cannot reach a log or an error by accident.
type Secret []byte

const redacted = "[REDACTED]"

// String returns "[REDACTED]".
func (Secret) String() string { return redacted }

// GoString returns "[REDACTED]".
func (Secret) GoString() string { return redacted }

// Format prints "[REDACTED]" for every verb.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue hides the secret from log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// Options configures both ends of the internode API: NewHandler (the
// server, on a storage node) and NewClient (the client, in a gateway).
// Secret is required; every other field has a default, stated in its
// comment, that EnsureDefaults fills in. Each comment also says which side
// uses the field.
type Options struct {
	// Secret is the cluster secret that signs every internode request (both
	// sides). Required: at least MinSecretLen bytes, the same on every process
	// of the cluster. It never appears in logs or errors.
	Secret Secret
	// MaxSkew is the largest accepted difference between a request's
	// timestamp and the server's clock (server). Requests outside ±MaxSkew
	// are refused; inside it, a request whose nonce was seen before is
	// refused as a replay. Default 5 minutes; at least 1 second.
	MaxSkew time.Duration
	// ReplayCacheSize bounds the number of nonces a server remembers to
	// refuse replays (server), at roughly 50 bytes each. When it is full the
	// oldest second of nonces is forgotten and requests signed in or before
	// that second are refused as too old, so a replay is never accepted.
	// Default 1<<20.
	ReplayCacheSize int
	// MaxBodySize bounds the body of a metadata request (server); shard
	// streams are not bounded. Default 16 MiB.
	MaxBodySize int64
	// CallTimeout bounds each metadata call, shard open and ReadAt, and each
	// wait of a shard stream for the server (its go-ahead after CreateShard,
	// its answer after Commit), unless the caller's context ends first
	// (client). A call that times out fails with ErrDriveOffline. Default
	// 30 seconds.
	CallTimeout time.Duration
	// IOTimeout cuts a shard stream that makes no progress for this long:
	// a write to the connection that does not finish (client, default
	// transport only) or a read of the stream body that gets nothing
	// (server). It must exceed the longest pause between two writes of a
	// shard writer: a gateway writes once per stripe, so a slow S3 upload
	// pauses the stream while a stripe's worth of data arrives. Default 2
	// minutes.
	IOTimeout time.Duration
	// DialTimeout bounds setting up a connection, TCP and TLS (client,
	// default transport only). Default 3 seconds.
	DialTimeout time.Duration
	// TLSConfig is the client's TLS configuration for https base URLs: root
	// CAs, and a client certificate for mutual TLS (client, default
	// transport only). Default nil: the system's roots. The server side
	// takes its TLS configuration from the http.Server that serves the
	// handler.
	TLSConfig *tls.Config
	// Client is the HTTP client of remote drives (client). Default: a client
	// from NewHTTPClient(opts) for each Client. Give all the drives of a
	// cluster one client (Client = NewHTTPClient(opts)) so that they share
	// one connection pool per node. A client of your own must have no
	// Timeout (it would cut shard streams) and should not use a proxy (the
	// signature covers the request target as sent).
	Client *http.Client
	// MapID names the cluster map this process runs with (its epoch and
	// hash). A client sends it with every request; a server with a MapID
	// refuses requests that carry another (or none) with ErrMapMismatch, so
	// no two processes act on different maps. Default "": no check.
	MapID string
	// Maps, when set, replaces MapID: the map ID is read from it at every
	// request (the map can change while the process runs), and a server
	// serves the map exchange under /ecstore/v1/node/ (see MapKeeper).
	Maps MapKeeper
	// Node names the node a server runs as, for callers that ask
	// (NodeIdentity). Optional.
	Node NodeIdentity
	// Logger receives the server's refusals (Warn: missing or wrong
	// signature, stale timestamp, replay, tampered stream), unexpected drive
	// errors (Error) and cut streams (Debug). Log records carry the peer
	// address, method, path and reason, never the secret or a signature.
	// Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) currentMapID() string {
	if o.Maps != nil {
		return o.Maps.MapID()
	}
	return o.MapID
}

// EnsureDefaults fills the unset fields of o with their defaults.
func (o *Options) EnsureDefaults() {
	if o.MaxSkew == 0 {
		o.MaxSkew = 5 * time.Minute
	}
	if o.ReplayCacheSize == 0 {
		o.ReplayCacheSize = 1 << 20
	}
	if o.MaxBodySize == 0 {
		o.MaxBodySize = 16 << 20
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.IOTimeout == 0 {
		o.IOTimeout = 2 * time.Minute
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Validate reports options that cannot work. Unset fields (zero) are valid:
// they take their defaults.
func (o *Options) Validate() error {
	var errs []error
	if len(o.Secret) < MinSecretLen {
		errs = append(errs, fmt.Errorf("storagenode: the cluster secret has %d bytes; it needs at least %d (e.g. 32 random bytes)", len(o.Secret), MinSecretLen))
	}
	if o.MaxSkew != 0 && o.MaxSkew < time.Second {
		errs = append(errs, fmt.Errorf("storagenode: MaxSkew %v: want at least 1s (timestamps have whole seconds)", o.MaxSkew))
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"ReplayCacheSize", int64(o.ReplayCacheSize)}, {"MaxBodySize", o.MaxBodySize},
		{"CallTimeout", int64(o.CallTimeout)}, {"IOTimeout", int64(o.IOTimeout)}, {"DialTimeout", int64(o.DialTimeout)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("storagenode: %s is negative", f.name))
		}
	}
	return errors.Join(errs...)
}

// LogValue lets Options be logged with the secret hidden.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("secret", redacted),
		slog.Duration("max_skew", o.MaxSkew),
		slog.Int("replay_cache_size", o.ReplayCacheSize),
		slog.Int64("max_body_size", o.MaxBodySize),
		slog.Duration("call_timeout", o.CallTimeout),
		slog.Duration("io_timeout", o.IOTimeout),
		slog.Duration("dial_timeout", o.DialTimeout),
		slog.Bool("tls", o.TLSConfig != nil),
	)
}

// NewHTTPClient returns an HTTP client fit for the internode API, built from
// opts (defaults filled in): connections are pooled and reused (up to 64
// idle per node), set up within DialTimeout, and a write that makes no
// progress for IOTimeout fails. It never uses an HTTP proxy, does not ask
// for compression and speaks HTTP/1.1. It has no overall timeout: calls are
// bounded by their context and CallTimeout, shard streams by their context.
func NewHTTPClient(opts Options) *http.Client {
	opts.EnsureDefaults()
	dialer := &net.Dialer{Timeout: opts.DialTimeout, KeepAlive: 15 * time.Second}
	ioTimeout := opts.IOTimeout
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &deadlineConn{Conn: c, timeout: ioTimeout}, nil
		},
		TLSClientConfig:       opts.TLSConfig,
		TLSHandshakeTimeout:   opts.DialTimeout,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: opts.CallTimeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		WriteBufferSize:       64 << 10,
		ReadBufferSize:        64 << 10,
	}
	return &http.Client{Transport: tr}
}

// deadlineConn gives every write a deadline, so that a peer that stops
// reading (a hung process, a lost network) fails the write after timeout
// instead of after the kernel's retransmission limit (many minutes).
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}
