package meta

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The handshake. Both sides prove they hold the cluster secret before any
// Raft byte flows:
//
//	dialer   → acceptor: magic "ECMETA1\n", nonce_d (32 bytes)
//	acceptor → dialer:   nonce_a (32 bytes), HMAC(k, "acceptor" | kind-less transcript)
//	dialer   → acceptor: kind (1 byte), HMAC(k, "dialer" | nonce_d | nonce_a | kind)
//	acceptor → dialer:   ok (1 byte)
//
// where k = HMAC-SHA256(secret, label), the transcript is nonce_d | nonce_a,
// and the role names keep one side's proof from being reflected as the
// other's. MACs are compared in constant time; the whole exchange runs under
// a deadline. kind routes the connection: Raft's transport or the
// forwarding RPC.
const (
	handshakeMagic = "ECMETA1\n"
	keyLabel       = "ecstore meta raft transport v1"
	nonceSize      = 32

	// maxHandshakes bounds the connections being authenticated at once;
	// more are closed at once (a flood of idle connections cannot pin
	// goroutines past the limit).
	maxHandshakes = 64

	kindRaft    byte = 'R'
	kindForward byte = 'F'
	kindClient  byte = 'C' // a gateway's Client (client.go)
	handshakeOK byte = 'K'
)

// deriveKey derives the transport key from the cluster secret, so the
// secret itself is never used as a MAC key for anything else.
func deriveKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(keyLabel))
	return m.Sum(nil)
}

func proof(key []byte, role string, nd, na []byte, kind byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(role))
	m.Write(nd)
	m.Write(na)
	if kind != 0 {
		m.Write([]byte{kind})
	}
	return m.Sum(nil)
}

// dialHandshake runs the dialer's side on c.
func dialHandshake(c net.Conn, key []byte, kind byte, timeout time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	nd := make([]byte, nonceSize)
	rand.Read(nd)
	if _, err := c.Write(append([]byte(handshakeMagic), nd...)); err != nil {
		return fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	buf := make([]byte, nonceSize+sha256.Size)
	if _, err := io.ReadFull(c, buf); err != nil {
		return fmt.Errorf("%w: reading the peer's proof: %v", ErrHandshake, err)
	}
	na, got := buf[:nonceSize], buf[nonceSize:]
	if !hmac.Equal(got, proof(key, "acceptor", nd, na, 0)) {
		return fmt.Errorf("%w: the peer does not hold the cluster secret", ErrHandshake)
	}
	if _, err := c.Write(append([]byte{kind}, proof(key, "dialer", nd, na, kind)...)); err != nil {
		return fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	ok := []byte{0}
	if _, err := io.ReadFull(c, ok); err != nil || ok[0] != handshakeOK {
		return fmt.Errorf("%w: refused by the peer", ErrHandshake)
	}
	return c.SetDeadline(time.Time{})
}

// acceptHandshake runs the acceptor's side on c and returns the kind.
func acceptHandshake(c net.Conn, key []byte, timeout time.Duration) (byte, error) {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return 0, err
	}
	buf := make([]byte, len(handshakeMagic)+nonceSize)
	if _, err := io.ReadFull(c, buf[:len(handshakeMagic)]); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	if string(buf[:len(handshakeMagic)]) != handshakeMagic {
		return 0, fmt.Errorf("%w: not an ecstore meta peer", ErrHandshake)
	}
	if _, err := io.ReadFull(c, buf[len(handshakeMagic):]); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	nd := buf[len(handshakeMagic):]
	na := make([]byte, nonceSize)
	rand.Read(na)
	if _, err := c.Write(append(na, proof(key, "acceptor", nd, na, 0)...)); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	in := make([]byte, 1+sha256.Size)
	if _, err := io.ReadFull(c, in); err != nil {
		return 0, fmt.Errorf("%w: reading the peer's proof: %v", ErrHandshake, err)
	}
	kind := in[0]
	if !hmac.Equal(in[1:], proof(key, "dialer", nd, na, kind)) {
		return 0, fmt.Errorf("%w: the peer does not hold the cluster secret", ErrHandshake)
	}
	if kind != kindRaft && kind != kindForward && kind != kindClient {
		return 0, fmt.Errorf("%w: unknown connection kind %q", ErrHandshake, kind)
	}
	if _, err := c.Write([]byte{handshakeOK}); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	return kind, c.SetDeadline(time.Time{})
}

// streamLayer is a raft.StreamLayer over TCP whose connections have passed
// the handshake. It hands forwarding and client connections to serve.
type streamLayer struct {
	ln        net.Listener
	advertise net.Addr
	key       []byte
	timeout   time.Duration // handshake deadline
	log       *slog.Logger

	tls *tls.Config // nil: plain TCP (see Config.TLS)

	raftConns  chan net.Conn
	handshakes chan struct{}               // a slot per handshake in progress
	serve      func(kind byte, c net.Conn) // forwarding and client connections
	cut        func() bool                 // Config.Cut (nil: never)

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup // the accept loop and the handshakes
}

var _ raft.StreamLayer = (*streamLayer)(nil)

func newStreamLayer(bind string, advertise string, secret []byte, timeout time.Duration, log *slog.Logger, serve func(kind byte, c net.Conn), cut func() bool, tlsConf *tls.Config) (*streamLayer, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("meta: listen %s: %w", bind, err)
	}
	var adv net.Addr = ln.Addr()
	if advertise != "" {
		a, err := net.ResolveTCPAddr("tcp", advertise)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("meta: advertise address %q: %w", advertise, err)
		}
		adv = a
	}
	s := &streamLayer{
		ln: ln, advertise: adv, key: deriveKey(secret), timeout: timeout, log: log, tls: tlsConf,
		raftConns: make(chan net.Conn), handshakes: make(chan struct{}, maxHandshakes), serve: serve, cut: cut, done: make(chan struct{}),
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

func (s *streamLayer) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Error("meta: accept", "err", err)
			select {
			case <-s.done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		if s.isCut() {
			c.Close()
			continue
		}
		c = s.wrap(c)
		if s.tls != nil {
			// The TLS handshake runs under the secret handshake's
			// deadline, at its first read.
			c = quietTLS{tls.Server(c, s.tls), c}
		}
		select {
		case s.handshakes <- struct{}{}:
		default:
			s.log.Warn("meta: refused a connection: too many handshakes in progress", "remote", c.RemoteAddr().String())
			c.Close()
			continue
		}
		s.wg.Add(1)
		go s.handshake(c)
	}
}

// handshake authenticates one incoming connection and routes it.
func (s *streamLayer) handshake(c net.Conn) {
	defer s.wg.Done()
	kind, err := acceptHandshake(c, s.key, s.timeout)
	<-s.handshakes
	if err != nil {
		s.log.Warn("meta: refused a connection", "remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	if kind != kindRaft {
		s.serve(kind, c)
		return
	}
	select {
	case s.raftConns <- c:
	case <-s.done:
		c.Close()
	}
}

// Accept returns the next authenticated Raft connection.
func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.raftConns:
		return c, nil
	case <-s.done:
		return nil, fmt.Errorf("meta: stream layer: %w", net.ErrClosed)
	}
}

// Close stops accepting; it does not wait (raft calls it while it holds
// connections). wait waits for the layer's goroutines.
func (s *streamLayer) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.ln.Close()
	})
	return nil
}

func (s *streamLayer) wait() { s.wg.Wait() }

func (s *streamLayer) Addr() net.Addr { return s.advertise }

// Dial opens an authenticated Raft connection.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return s.dial(string(address), kindRaft, timeout)
}

func (s *streamLayer) dial(address string, kind byte, timeout time.Duration) (net.Conn, error) {
	if s.isCut() {
		return nil, fmt.Errorf("meta: dial %s: this member is cut off (test fault)", address)
	}
	c, err := dialKind(address, s.key, kind, s.timeout, timeout, s.tls)
	if c != nil {
		c = s.wrap(c)
	}
	if errors.Is(err, ErrHandshake) {
		s.log.Warn("meta: handshake with a peer failed", "peer", address, "err", err)
	}
	return c, err
}

// dialKind opens a connection of a kind to a member and runs the
// handshake, under the shorter of the two timeouts; over TLS when tlsConf
// is set (see peerTLS).
func dialKind(address string, key []byte, kind byte, handshakeTimeout, timeout time.Duration, tlsConf *tls.Config) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	c, err := d.Dial("tcp", address)
	if err != nil {
		return nil, err
	}
	if tlsConf != nil {
		c = quietTLS{tls.Client(c, peerTLS(tlsConf)), c}
	}
	hs := handshakeTimeout
	if timeout > 0 && timeout < hs {
		hs = timeout
	}
	if err := dialHandshake(c, key, kind, hs); err != nil {
		c.Close()
		return nil, fmt.Errorf("meta: dial %s: %w", address, err)
	}
	return c, nil
}

// peerTLS is the client side of a member connection: the member's
// certificate must chain to the RootCAs, but its names are not checked.
// Raft names members by the addresses they resolved to (an IP in a
// container network) while certificates name hosts; who the peer is, is
// what the secret's handshake inside TLS proves.
func peerTLS(c *tls.Config) *tls.Config {
	cfg := c.Clone()
	cfg.InsecureSkipVerify = true // the chain is verified below, the name is not
	roots := c.RootCAs
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("meta: the member sent no certificate")
		}
		inter := x509.NewCertPool()
		for _, ic := range cs.PeerCertificates[1:] {
			inter.AddCert(ic)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		return err
	}
	return cfg
}

// quietTLS is a member connection over TLS whose Close closes the TCP
// connection at once. tls.Conn's own Close first writes a close_notify
// alert under a 5 s write deadline, and Raft's transport closes
// connections while it holds the lock of its connection pool: towards a
// member whose network is gone (full send buffer, no answer), every close
// would stall the heartbeats to every other member for up to 5 s. The
// alert adds nothing here: every message is self-delimiting (Raft's
// msgpack, our length-prefixed frames), so a truncated stream is an error
// either way.
type quietTLS struct {
	*tls.Conn
	raw net.Conn
}

func (c quietTLS) Close() error { return c.raw.Close() }

func (s *streamLayer) isCut() bool { return s.cut != nil && s.cut() }

// wrap makes a connection fail while the member is cut off.
func (s *streamLayer) wrap(c net.Conn) net.Conn {
	if s.cut == nil {
		return c
	}
	return cutConn{c, s.cut}
}

// cutConn is a connection of a member that can be cut off (Config.Cut).
type cutConn struct {
	net.Conn
	cut func() bool
}

var errCut = errors.New("meta: member cut off (test fault)")

func (c cutConn) Read(p []byte) (int, error) {
	if c.cut() {
		c.Conn.Close()
		return 0, errCut
	}
	n, err := c.Conn.Read(p)
	if c.cut() {
		c.Conn.Close()
		return 0, errCut
	}
	return n, err
}

func (c cutConn) Write(p []byte) (int, error) {
	if c.cut() {
		c.Conn.Close()
		return 0, errCut
	}
	return c.Conn.Write(p)
}
