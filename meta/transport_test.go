package meta

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// TestHandshake: peers with the secret connect; any other is refused
// before a Raft byte flows.
func TestHandshake(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	accepted := make(chan net.Conn, 4)
	srv, err := newStreamLayer("127.0.0.1:0", "", testSecret, 300*time.Millisecond, log, func(_ byte, c net.Conn) { accepted <- c }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Close(); srv.wait() }()
	go func() {
		for {
			c, err := srv.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	addr := srv.Addr().String()

	good, err := newStreamLayer("127.0.0.1:0", "", testSecret, time.Second, log, func(_ byte, c net.Conn) { c.Close() }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { good.Close(); good.wait() }()
	for _, kind := range []byte{kindRaft, kindForward} {
		c, err := good.dial(addr, kind, time.Second)
		if err != nil {
			t.Fatalf("kind %c with the secret: %v", kind, err)
		}
		select {
		case sc := <-accepted:
			sc.Close()
		case <-time.After(5 * time.Second):
			t.Fatalf("kind %c: not accepted", kind)
		}
		c.Close()
	}

	bad, err := newStreamLayer("127.0.0.1:0", "", []byte("another-cluster-secret-entirely"), time.Second, log, func(_ byte, c net.Conn) { c.Close() }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { bad.Close(); bad.wait() }()
	if _, err := bad.Dial(raft.ServerAddress(addr), time.Second); !errors.Is(err, ErrHandshake) {
		t.Fatalf("wrong secret: %v", err)
	}
	// Raft over the wrong-secret layer cannot send AppendEntries.
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{Stream: bad, MaxPool: 1, Timeout: time.Second, Logger: hclog.NewNullLogger()})
	var resp raft.AppendEntriesResponse
	err = trans.AppendEntries("n1", raft.ServerAddress(addr), &raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{ID: []byte("bad"), Addr: []byte("x")}, Term: 99}, &resp)
	if err == nil {
		t.Fatal("AppendEntries with the wrong secret went through")
	}
	trans.Close()

	// Garbage and silence are dropped within the handshake deadline.
	for name, send := range map[string][]byte{"garbage": []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "silence": nil, "magic only": []byte(handshakeMagic)} {
		start := time.Now()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(send)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadAll(c)
		c.Close()
		// EOF or a reset (the server closed with our bytes unread): dropped.
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: the connection was not closed by the server: %v", name, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%s: dropped after %v", name, d)
		}
	}
	select {
	case c := <-accepted:
		t.Fatalf("a refused connection from %v was accepted", c.RemoteAddr())
	default:
	}
}

// TestWrongSecretMember: a member with another secret added to the group
// never receives its log.
func TestWrongSecretMember(t *testing.T) {
	ctx := ctxT(t)
	cfg := testConfig(t, "n1", t.TempDir())
	cfg.Bootstrap = true
	s := open(t, cfg)
	waitLeader(t, s)
	if err := s.CreateBucket(ctx, "secret", "root"); err != nil {
		t.Fatal(err)
	}
	badCfg := testConfig(t, "n2", t.TempDir())
	badCfg.Secret = []byte("another-cluster-secret-entirely")
	bad := open(t, badCfg)
	if err := s.AddNonvoter(ctx, "n2", bad.Addr()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // several heartbeats and replication attempts
	if st, _ := bad.Status(); st.AppliedIndex != 0 || len(bad.Buckets()) != 0 || st.Leader.ID != "" {
		t.Fatalf("the wrong-secret member got the log: %+v, %v", st, bucketNames(bad))
	}
	// Nor can it write through the group.
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if err := bad.CreateBucket(short, "intruder", "x"); err == nil {
		t.Fatal("the wrong-secret member wrote")
	}
	if _, ok := s.Bucket("intruder"); ok {
		t.Fatal("intruder bucket exists")
	}
}

// selfSigned is a TLS config whose certificate (for 127.0.0.1) is its own
// root.
func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// TestHandshakeTLS: members with TLS connect over it; a plain dialer, and
// one that does not trust the member's certificate, are refused.
func TestHandshakeTLS(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	conf := selfSigned(t)
	accepted := make(chan net.Conn, 4)
	srv, err := newStreamLayer("127.0.0.1:0", "", testSecret, 500*time.Millisecond, log, func(_ byte, c net.Conn) { accepted <- c }, nil, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Close(); srv.wait() }()
	addr := srv.Addr().String()
	c, err := dialKind(addr, deriveKey(testSecret), kindClient, time.Second, time.Second, conf)
	if err != nil {
		t.Fatalf("over TLS: %v", err)
	}
	if _, ok := c.(quietTLS); !ok {
		t.Fatalf("the connection is a %T, not TLS", c)
	}
	select {
	case sc := <-accepted:
		if _, ok := sc.(quietTLS); !ok {
			t.Fatalf("the accepted connection is a %T, not TLS", sc)
		}
		sc.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("not accepted")
	}
	c.Close()
	if c, err := dialKind(addr, deriveKey(testSecret), kindClient, 500*time.Millisecond, 500*time.Millisecond, nil); err == nil {
		c.Close()
		t.Fatal("a plain dialer passed the handshake of a TLS member")
	}
	if c, err := dialKind(addr, deriveKey(testSecret), kindClient, time.Second, time.Second, selfSigned(t)); err == nil {
		c.Close()
		t.Fatal("a dialer trusting another CA connected")
	}
}
