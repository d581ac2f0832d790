package meta

import (
	"context"
	"errors"
	"io"
	"log/slog"
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
	srv, err := newStreamLayer("127.0.0.1:0", "", testSecret, 300*time.Millisecond, log, func(_ byte, c net.Conn) { accepted <- c }, nil)
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

	good, err := newStreamLayer("127.0.0.1:0", "", testSecret, time.Second, log, func(_ byte, c net.Conn) { c.Close() }, nil)
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

	bad, err := newStreamLayer("127.0.0.1:0", "", []byte("another-cluster-secret-entirely"), time.Second, log, func(_ byte, c net.Conn) { c.Close() }, nil)
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
