package meta

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

var testSecret = []byte("0123456789abcdef-test-cluster-secret")

// testConfig is a member on a free 127.0.0.1 port with timings short
// enough for tests and long enough for a loaded 2-core machine.
func testConfig(t *testing.T, id, dir string) Config {
	t.Helper()
	return Config{
		ID: id, Dir: dir, Bind: "127.0.0.1:0", Secret: testSecret,
		HandshakeTimeout: 2 * time.Second,
		ApplyTimeout:     10 * time.Second,
		HeartbeatTimeout: 300 * time.Millisecond,
		ElectionTimeout:  300 * time.Millisecond,
		LeaderLeaseTime:  150 * time.Millisecond,
		SnapshotInterval: time.Hour, // tests take snapshots themselves
	}
}

func open(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("open %s: %v", cfg.ID, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitLeader waits (at most 15 s) until one of stores leads and every one
// of them knows it.
func waitLeader(t *testing.T, stores ...*Store) *Store {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var leader *Store
		agree := true
		for _, s := range stores {
			st, _ := s.Status()
			if st.State == "Leader" {
				leader = s
			}
			if st.Leader.ID == "" {
				agree = false
			}
		}
		if leader != nil && agree {
			return leader
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no leader within 15 s")
	return nil
}

func bucketNames(s *Store) []string {
	var out []string
	for _, b := range s.Buckets() {
		out = append(out, b.Name)
	}
	return out
}

// TestSingleVoterRestart: a one-voter group (the embedded server's) applies
// writes and finds them again after a restart from its directory.
func TestSingleVoterRestart(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	cfg := testConfig(t, "n1", dir)
	cfg.Bootstrap = true
	s := open(t, cfg)
	waitLeader(t, s)
	for _, b := range []string{"a", "b", "c"} {
		if err := s.CreateBucket(ctx, b, "root"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateBucket(ctx, "a", "root"); !errors.Is(err, ErrBucketExists) {
		t.Fatalf("create twice: %v", err)
	}
	if err := s.DeleteBucket(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucket(ctx, "b"); !errors.Is(err, ErrBucketNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if err := s.PutBucketSettings(ctx, "a", BucketSettings{Versioning: []byte(`{"status":"Enabled"}`)}); err != nil {
		t.Fatal(err)
	}
	epoch, err := s.SetClusterMap(ctx, 0, []byte("map-1"))
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cfg.Bind = addr // the configuration holds this address
	s = open(t, cfg)
	waitLeader(t, s)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := bucketNames(s); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("after restart: buckets %v", got)
	}
	if a, _ := s.Bucket("a"); string(a.Settings.Versioning) != `{"status":"Enabled"}` || a.Owner != "root" || a.Created.IsZero() {
		t.Fatalf("after restart: bucket a %+v", a)
	}
	if m := s.ClusterMap(); m.Epoch != epoch || string(m.Data) != "map-1" {
		t.Fatalf("after restart: map %+v, want epoch %d", m, epoch)
	}
}

// TestLeaseFencing: a second holder cannot take a running lease; after it
// expires it gets a higher token, and the old token is refused.
func TestLeaseFencing(t *testing.T) {
	ctx := ctxT(t)
	cfg := testConfig(t, "n1", t.TempDir())
	cfg.Bootstrap = true
	s := open(t, cfg)
	waitLeader(t, s)

	const ttl = time.Second // long enough that the second try lands before expiry on a loaded machine
	t1, err := s.AcquireLease(ctx, "rebalance", "gw-a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, "rebalance", "gw-b", ttl); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("second holder before expiry: %v", err)
	}
	if err := s.CheckToken("rebalance", t1); err != nil {
		t.Fatal(err)
	}
	if err := s.RenewLease(ctx, "rebalance", "gw-a", t1, ttl); err != nil {
		t.Fatal(err)
	}
	time.Sleep(ttl + 100*time.Millisecond)
	t2, err := s.AcquireLease(ctx, "rebalance", "gw-b", ttl)
	if err != nil {
		t.Fatalf("second holder after expiry: %v", err)
	}
	if t2 <= t1 {
		t.Fatalf("token %d after %d: not higher", t2, t1)
	}
	if err := s.CheckToken("rebalance", t1); !errors.Is(err, ErrStaleToken) {
		t.Fatalf("old token: %v", err)
	}
	if err := s.RenewLease(ctx, "rebalance", "gw-a", t1, ttl); !errors.Is(err, ErrStaleToken) {
		t.Fatalf("renew with the old token: %v", err)
	}
	if err := s.CheckToken("rebalance", t2); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLease(ctx, "rebalance", "gw-b", t2); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckToken("rebalance", t2); !errors.Is(err, ErrStaleToken) {
		t.Fatalf("released token: %v", err)
	}
}

// TestClusterMapCAS: a stale expected epoch is refused; an epoch is the
// log index of the entry that set the map.
func TestClusterMapCAS(t *testing.T) {
	ctx := ctxT(t)
	cfg := testConfig(t, "n1", t.TempDir())
	cfg.Bootstrap = true
	s := open(t, cfg)
	waitLeader(t, s)
	e1, err := s.SetClusterMap(ctx, 0, []byte("m1"))
	if err != nil || e1 == 0 {
		t.Fatalf("first map: %d, %v", e1, err)
	}
	if _, err := s.SetClusterMap(ctx, 0, []byte("m2")); !errors.Is(err, ErrEpochMismatch) {
		t.Fatalf("stale epoch: %v", err)
	}
	e2, err := s.SetClusterMap(ctx, e1, []byte("m2"))
	if err != nil || e2 <= e1 {
		t.Fatalf("second map: %d after %d, %v", e2, e1, err)
	}
	if m := s.ClusterMap(); m.Epoch != e2 || string(m.Data) != "m2" {
		t.Fatalf("map %+v", m)
	}
	if h := s.ClusterMapHistory(); len(h) != 2 || h[0].Epoch != e1 || h[1].Epoch != e2 {
		t.Fatalf("history %+v", h)
	}
	if st, _ := s.Status(); st.StateIndex < e2 {
		t.Fatalf("state index %d < epoch %d", st.StateIndex, e2)
	}
}

// TestSnapshotRestore: after a forced snapshot the log is compacted, a new
// member gets the state from the snapshot, and a restart restores it.
func TestSnapshotRestore(t *testing.T) {
	ctx := ctxT(t)
	cfg := testConfig(t, "n1", t.TempDir())
	cfg.Bootstrap = true
	cfg.TrailingLogs = 2
	cfg.SnapshotThreshold = 1 << 20
	s := open(t, cfg)
	waitLeader(t, s)
	var want []string
	for i := range 20 {
		name := fmt.Sprintf("b%02d", i)
		want = append(want, name)
		if err := s.CreateBucket(ctx, name, "root"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.raft.Snapshot().Error(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	first, err := s.bolt.FirstIndex()
	if err != nil || first <= 2 {
		t.Fatalf("log not compacted: first index %d, %v", first, err)
	}

	n2 := open(t, testConfig(t, "n2", t.TempDir()))
	if err := s.AddNonvoter(ctx, "n2", n2.Addr()); err != nil {
		t.Fatal(err)
	}
	if err := n2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := bucketNames(n2); !slices.Equal(got, want) {
		t.Fatalf("new member: %v", got)
	}
	// (raft records the installed snapshot a moment after the state
	// machine has restored it, which Sync may already see.)
	for deadline := time.Now().Add(5 * time.Second); n2.raft.Stats()["last_snapshot_index"] == "0"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the new member did not install a snapshot")
		}
	}
	st, err := s.Status()
	if err != nil || len(st.Voters) != 1 || len(st.Nonvoters) != 1 || st.Nonvoters[0].ID != "n2" {
		t.Fatalf("status %+v, %v", st, err)
	}
	if err := s.RemoveServer(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Status(); err != nil || len(st.Nonvoters) != 0 {
		t.Fatalf("after RemoveServer: %+v, %v", st, err)
	}

	addr := s.Addr()
	s.Close()
	cfg.Bind = addr
	s = open(t, cfg)
	waitLeader(t, s)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := bucketNames(s); !slices.Equal(got, want) {
		t.Fatalf("after restart from the snapshot: %v", got)
	}
}

// TestThreeVoters: three members over the real authenticated transport.
func TestThreeVoters(t *testing.T) {
	ctx := ctxT(t)
	cfgs := []Config{testConfig(t, "n1", t.TempDir()), testConfig(t, "n2", t.TempDir()), testConfig(t, "n3", t.TempDir())}
	cfgs[0].Bootstrap = true
	nodes := []*Store{open(t, cfgs[0])}
	waitLeader(t, nodes[0])
	for _, c := range cfgs[1:] {
		n := open(t, c)
		if err := nodes[0].AddVoter(ctx, c.ID, n.Addr()); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	leader := waitLeader(t, nodes...)
	st, err := leader.Status()
	if err != nil || len(st.Voters) != 3 || st.Term == 0 {
		t.Fatalf("status %+v, %v", st, err)
	}

	// Apply on the leader, read on the followers after Sync.
	if err := leader.CreateBucket(ctx, "on-leader", "root"); err != nil {
		t.Fatal(err)
	}
	var followers []*Store
	for _, n := range nodes {
		if n != leader {
			followers = append(followers, n)
		}
	}
	for _, f := range followers {
		if err := f.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := f.Bucket("on-leader"); !ok {
			t.Fatalf("%s: bucket missing after Sync", f.cfg.ID)
		}
	}

	// A write through a follower is forwarded, and so are its refusals.
	f := followers[0]
	if err := f.CreateBucket(ctx, "via-follower", "root"); err != nil {
		t.Fatalf("forwarded write: %v", err)
	}
	if err := f.CreateBucket(ctx, "via-follower", "root"); !errors.Is(err, ErrBucketExists) {
		t.Fatalf("forwarded refusal: %v", err)
	}
	tok, err := f.AcquireLease(ctx, "scanner", "gw-a", time.Minute)
	if err != nil || tok == 0 {
		t.Fatalf("forwarded lease: %d, %v", tok, err)
	}
	if _, err := f.SetClusterMap(ctx, 0, []byte("m")); err != nil {
		t.Fatal(err)
	}
	if err := leader.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := leader.Bucket("via-follower"); !ok {
		t.Fatal("leader lacks the forwarded write")
	}
	if err := leader.CheckToken("scanner", tok); err != nil {
		t.Fatal(err)
	}

	// Kill the leader: the others elect one and writes go on.
	oldID, oldAddr, oldCfg := leader.cfg.ID, leader.Addr(), leader.cfg
	if err := leader.Close(); err != nil {
		t.Fatal(err)
	}
	leader2 := waitLeader(t, followers...)
	if leader2.cfg.ID == oldID {
		t.Fatal("the closed member still leads")
	}
	for _, n := range followers {
		if err := n.CreateBucket(ctx, "after-"+n.cfg.ID, "root"); err != nil {
			t.Fatalf("write through %s after the leader died: %v", n.cfg.ID, err)
		}
	}

	// The old leader rejoins and catches up.
	oldCfg.Bind = oldAddr
	oldCfg.Bootstrap = false
	back := open(t, oldCfg)
	if err := back.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"after-" + followers[0].cfg.ID, "after-" + followers[1].cfg.ID, "on-leader", "via-follower"}
	slices.Sort(want)
	if got := bucketNames(back); !slices.Equal(got, want) {
		t.Fatalf("rejoined member has %v, want %v", got, want)
	}

	// A membership change through a member that does not lead (usually
	// the one that rejoined) is forwarded.
	all := append(slices.Clone(followers), back)
	leader3 := waitLeader(t, all...)
	var other *Store
	for _, n := range followers {
		if n != leader3 {
			other = n
		}
	}
	if err := back.RemoveServer(ctx, other.cfg.ID); err != nil {
		t.Fatalf("remove %s through %s: %v", other.cfg.ID, back.cfg.ID, err)
	}
	eventually(t, 10*time.Second, func() error {
		st, err := leader3.Status()
		if err != nil || len(st.Voters) != 2 || slices.ContainsFunc(st.Voters, func(p Peer) bool { return p.ID == other.cfg.ID }) {
			return fmt.Errorf("after removing %s: %+v, %v", other.cfg.ID, st, err)
		}
		return nil
	})
}

// eventually retries check every 20 ms until it passes or d has passed.
func eventually(t *testing.T, d time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConfigValidate: each required setting is named when missing.
func TestConfigValidate(t *testing.T) {
	good := Config{ID: "n1", Dir: "d", Bind: "127.0.0.1:0", Secret: testSecret}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Config){
		"ID":     func(c *Config) { c.ID = "" },
		"Dir":    func(c *Config) { c.Dir = "" },
		"Bind":   func(c *Config) { c.Bind = "" },
		"Secret": func(c *Config) { c.Secret = []byte("short") },
		"peer":   func(c *Config) { c.Peers = []Peer{{ID: "n1", Address: "x:1"}} },
	} {
		c := good
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		} else if _, err := Open(c); err == nil {
			t.Errorf("%s: Open accepted it", name)
		}
	}
}
