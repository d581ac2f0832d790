package meta

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// freeAddrs returns n 127.0.0.1 addresses whose ports were free a moment
// ago.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// bootGroup starts n members that all bootstrap the same configuration at
// once, as the storage nodes of a new cluster do.
func bootGroup(t *testing.T, n int) ([]*Store, []string) {
	t.Helper()
	addrs := freeAddrs(t, n)
	ids := []string{"n1", "n2", "n3", "n4", "n5"}[:n]
	var stores []*Store
	for i := range n {
		c := testConfig(t, ids[i], t.TempDir())
		c.Bind, c.Bootstrap = addrs[i], true
		for j := range n {
			if j != i {
				c.Peers = append(c.Peers, Peer{ID: ids[j], Address: addrs[j]})
			}
		}
		stores = append(stores, open(t, c))
	}
	waitLeader(t, stores...)
	return stores, addrs
}

func newTestClient(t *testing.T, members []string, secret []byte) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{Members: members, Secret: secret, HandshakeTimeout: time.Second, ApplyTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestClients: two gateways' clients see each other's changes: at once
// after a Sync, and soon without one (the watch); a change waits for the
// client's own copy; a client goes on when the member it used dies; a
// client without the secret gets nothing.
func TestClients(t *testing.T) {
	ctx := ctxT(t)
	stores, addrs := bootGroup(t, 3)
	a := newTestClient(t, addrs, testSecret)
	b := newTestClient(t, []string{addrs[2], addrs[1], addrs[0]}, testSecret)
	if err := a.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	if err := a.CreateBucket(ctx, "shared", "root"); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Bucket("shared"); !ok {
		t.Fatal("the creating client's copy lacks its own bucket")
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Bucket("shared"); !ok {
		t.Fatal("other client's copy lacks the bucket after Sync")
	}
	if err := b.CreateBucket(ctx, "shared", "root"); !errors.Is(err, ErrBucketExists) {
		t.Fatalf("second create through the other client: %v", err)
	}
	if err := b.DeleteBucket(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	// The watch brings the delete to a without a Sync.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := a.Bucket("shared"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watch did not bring the delete within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The first member dies: both clients go on through the others.
	stores[0].Close()
	if err := a.CreateBucket(ctx, "after-loss", "root"); err != nil {
		t.Fatal(err)
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Bucket("after-loss"); !ok {
		t.Fatal("bucket missing after a member died")
	}
	st, err := b.MemberStatus(ctx, addrs[1])
	if err != nil || len(st.Voters) != 3 {
		t.Fatalf("status: %+v, %v", st, err)
	}

	bad := newTestClient(t, addrs[1:], []byte("another-secret-entirely-0123456"))
	if err := bad.CreateBucket(ctx, "intruder", "x"); err == nil {
		t.Fatal("a client without the secret changed the table")
	}
	if bad.Index() != 0 {
		t.Fatal("a client without the secret got a copy")
	}
}

// TestRecoverFromSurvivor: with two of three voters lost for good, the
// survivor's configuration is rewritten to itself alone (Recover) and it
// serves again with everything it held.
func TestRecoverFromSurvivor(t *testing.T) {
	ctx := ctxT(t)
	stores, addrs := bootGroup(t, 3)
	leader := waitLeader(t, stores...)
	if err := leader.CreateBucket(ctx, "before-loss", "root"); err != nil {
		t.Fatal(err)
	}
	survivor := stores[0]
	if err := survivor.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := survivor.cfg
	for _, s := range stores {
		s.Close()
	}
	// The survivor alone cannot elect itself: 1 of 3 votes.
	cfg.Bootstrap = false
	lone := open(t, cfg)
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	err := lone.CreateBucket(short, "no-majority", "root")
	cancel()
	if err == nil {
		t.Fatal("a lone voter of three committed a change")
	}
	lone.Close()

	if err := Recover(cfg, []Peer{{ID: cfg.ID, Address: addrs[0]}}); err != nil {
		t.Fatal(err)
	}
	s := open(t, cfg)
	waitLeader(t, s)
	if _, ok := s.Bucket("before-loss"); !ok {
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.Bucket("before-loss"); !ok {
			t.Fatal("the recovered member lost a bucket")
		}
	}
	if err := s.CreateBucket(ctx, "after-recovery", "root"); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status()
	if err != nil || len(st.Voters) != 1 {
		t.Fatalf("status after recovery: %+v, %v", st, err)
	}
}

// TestRetriedRequestAppliedOnce: a change sent again with its request ID
// (a client that did not hear back and asked another member) gets the
// first try's answer and is not applied twice.
func TestRetriedRequestAppliedOnce(t *testing.T) {
	ctx := ctxT(t)
	g := openGroup(t, groupMembers(t.TempDir(), 1))
	s := g.Store()
	b, err := encodeCommand(command{Op: OpCreateBucket, Bucket: "once", Time: time.Now().UnixNano(), ID: "req-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.proposeEncoded(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := s.proposeEncoded(ctx, b); err != nil {
		t.Fatalf("the retry of a create that succeeded: %v, want its first answer (success)", err)
	}
	other, err := encodeCommand(command{Op: OpCreateBucket, Bucket: "once", Time: time.Now().UnixNano(), ID: "req-2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.proposeEncoded(ctx, other); !errors.Is(err, ErrBucketExists) {
		t.Fatalf("another request's create: %v, want ErrBucketExists", err)
	}
	if _, err := s.proposeEncoded(ctx, other); !errors.Is(err, ErrBucketExists) {
		t.Fatalf("its retry: %v, want the same ErrBucketExists", err)
	}
}
