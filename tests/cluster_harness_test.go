package tests

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecstore/ecstore/cluster"
)

// clusterSecret is the internode secret of every cluster the tests start.
const clusterSecret = "e2e-cluster-secret-0123456789abcdef"

// clusterEC is the erasure code of the clusters StartCluster builds.
const clusterEC = "4+2"

// Cluster is a multi-process ecstore cluster on 127.0.0.1: storage nodes
// (`ecstore node`) and S3 gateways (`ecstore gateway`) of the real binary,
// sharing one cluster map and one secret. Everything is stopped at test
// cleanup.
type Cluster struct {
	t        *testing.T
	Dir      string // holds cluster.yaml, the drive folders and (by default) the logs
	MapFile  string
	LogDir   string // one NAME.log per process; see clusterLogDir
	Nodes    []*ClusterNode
	Gateways []*ClusterGateway
	// plain is set for a cluster of StartPlainCluster: no TLS anywhere
	// (S3, internode and metadata ports); else every port speaks TLS with
	// clusterPKI's certificate.
	plain bool
}

// ClusterNode is one storage node process.
type ClusterNode struct {
	ID, Zone, Addr string
	Meta           string // its metadata (Raft) listener, when the map names one
	Dirs           []string
	scheme         string // of its internode port: "https", or "http" in a plain cluster
	proc           *clusterProc
}

// URL is the URL of path on the node's internode port.
func (n *ClusterNode) URL(path string) string { return n.scheme + "://" + n.Addr + path }

// Running reports whether the node's process is alive.
func (n *ClusterNode) Running() bool { return n.proc.running() }

// ClusterGateway is one S3 gateway. Its embedded *Server is a client view
// (Addr, Endpoint, Minio, AWS) usable with every helper that takes a
// *Server; Stop and Restart here act on the gateway process.
type ClusterGateway struct {
	*Server
	Name string
	proc *clusterProc  // nil for a gateway this package did not start
	log  func() string // the gateway's output so far
}

// Stop ends the gateway (SIGTERM, SIGKILL after 10s).
func (g *ClusterGateway) Stop() {
	g.mustOwn()
	g.proc.stop()
}

// Restart stops the gateway and starts it again on the same address.
func (g *ClusterGateway) Restart() {
	g.t.Helper()
	g.mustOwn()
	g.proc.stop()
	g.proc.start()
}

// Kill ends the gateway with SIGKILL and waits for it to exit.
func (g *ClusterGateway) Kill() {
	g.mustOwn()
	g.proc.kill()
}

// Start starts a stopped or killed gateway again on the same address and
// state folder and waits until it answers.
func (g *ClusterGateway) Start() {
	g.t.Helper()
	g.mustOwn()
	g.proc.start()
}

func (g *ClusterGateway) mustOwn() {
	if g.proc == nil {
		g.t.Fatalf("%s is not a process of StartCluster", g.Name)
	}
}

// StartCluster starts `nodes` storage nodes with drivesPerNode drives each,
// spread round-robin over `zones` zones (node i is in zone i%zones+1), and
// `gateways` S3 gateways, all on free 127.0.0.1 ports, with an EC 4+2 map. It
// returns once every node answers its health check and every gateway answers
// HTTP.
func StartCluster(t *testing.T, nodes, drivesPerNode, zones, gateways int) *Cluster {
	t.Helper()
	return StartClusterWith(t, nodes, drivesPerNode, zones, gateways, nil)
}

// StartClusterWith is StartCluster with a hook called once the drive folders
// are known and before any process starts (to put a drive on its own small
// file system, say).
func StartClusterWith(t *testing.T, nodes, drivesPerNode, zones, gateways int, before func(*Cluster)) *Cluster {
	t.Helper()
	return startCluster(t, nodes, drivesPerNode, zones, gateways, false, before)
}

// StartPlainCluster is StartCluster without TLS: the nodes serve their
// internode and metadata ports over plain HTTP and TCP, the gateways reach
// them at http://host:port (so shard streams carry the AES-GMAC stream MAC,
// STREAMING-AESGMAC-TRAILER, where over TLS they carry none) and serve S3
// over plain HTTP (their Server has no TLS, its Endpoint is http://).
// Nodes restarted or started later (RestartNode, StartNewNode) stay plain.
func StartPlainCluster(t *testing.T, nodes, drivesPerNode, zones, gateways int) *Cluster {
	t.Helper()
	return startCluster(t, nodes, drivesPerNode, zones, gateways, true, nil)
}

// startCluster is StartClusterWith, with TLS on every port unless plain.
func startCluster(t *testing.T, nodes, drivesPerNode, zones, gateways int, plain bool, before func(*Cluster)) *Cluster {
	t.Helper()
	if nodes < 1 || drivesPerNode < 1 || zones < 1 || gateways < 1 {
		t.Fatalf("StartCluster(%d nodes, %d drives, %d zones, %d gateways): all must be >= 1", nodes, drivesPerNode, zones, gateways)
	}
	c := &Cluster{t: t, Dir: t.TempDir(), plain: plain}
	c.MapFile = filepath.Join(c.Dir, "cluster.yaml")
	c.LogDir = clusterLogDir(t, c.Dir)
	addrs := freeAddrs(t, 2*nodes+gateways)
	metaAddrs := addrs[nodes+gateways:] // the nodes' metadata (Raft) listeners

	var m strings.Builder
	fmt.Fprintf(&m, "# written by tests.StartCluster\nepoch: 1\nec: %s\nnodes:\n", clusterEC)
	for i := range nodes {
		n := &ClusterNode{ID: fmt.Sprintf("node%d", i+1), Zone: fmt.Sprintf("zone%d", i%zones+1), Addr: addrs[i], Meta: metaAddrs[i], scheme: c.scheme()}
		var ids []string
		for d := range drivesPerNode {
			n.Dirs = append(n.Dirs, filepath.Join(c.Dir, n.ID, fmt.Sprintf("drive%d", d+1)))
			ids = append(ids, fmt.Sprintf("{id: %s-d%d}", n.ID, d+1))
		}
		fmt.Fprintf(&m, "  - id: %s\n    address: %s\n    meta: %s\n    zone: %s\n    drives: [%s]\n", n.ID, n.Addr, metaAddrs[i], n.Zone, strings.Join(ids, ", "))
		args := append(append([]string{"node", "--address", n.Addr, "--id", n.ID, "--zone", n.Zone, "--cluster", c.MapFile}, c.nodeTLSArgs()...), n.Dirs...)
		n.proc = newClusterProc(t, c.LogDir, n.ID, args, func() bool { return httpOK(n.URL("/health/live")) })
		c.Nodes = append(c.Nodes, n)
	}
	if err := os.WriteFile(c.MapFile, []byte(m.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range gateways {
		addr := addrs[nodes+i]
		s := &Server{t: t, Addr: addr, Endpoint: c.scheme() + "://" + addr}
		if !plain {
			s.TLS = clusterPKI
		}
		name := fmt.Sprintf("gateway%d", i+1)
		args := append([]string{"gateway", "--address", addr, "--cluster", c.MapFile, "--state-dir", filepath.Join(c.Dir, name+"-state")}, c.gatewayTLSArgs()...)
		p := newClusterProc(t, c.LogDir, name, args, func() bool { return httpAnswers(s.Endpoint + "/") })
		g := &ClusterGateway{Server: s, Name: name, proc: p, log: func() string { return p.tail(1 << 40) }}
		c.Gateways = append(c.Gateways, g)
	}
	t.Cleanup(c.stop)
	if before != nil {
		before(c)
	}
	// Start the nodes together, then the gateways together (a gateway that
	// starts before its nodes finds them offline and waits out a back-off).
	for _, n := range c.Nodes {
		n.proc.launch()
	}
	for _, n := range c.Nodes {
		n.proc.waitReady()
	}
	for _, g := range c.Gateways {
		g.proc.launch()
	}
	for _, g := range c.Gateways {
		g.proc.waitReady()
	}
	return c
}

// StartNewNode starts a storage node that is not in the cluster map yet
// (no --cluster), as one about to join the running cluster with `ecstore
// admin node add`: node id in zone, with `drives` drive folders under c.Dir
// (its drives are then named id-d1, id-d2, ...), on a free port. It returns
// once the node answers /health/live; the node is stopped at test cleanup
// like the others and appears in Logs.
func (c *Cluster) StartNewNode(id, zone string, drives int) *ClusterNode {
	c.t.Helper()
	n := &ClusterNode{ID: id, Zone: zone, Addr: freeNodeAddr(c.t), scheme: c.scheme()}
	for d := range drives {
		n.Dirs = append(n.Dirs, filepath.Join(c.Dir, id, fmt.Sprintf("drive%d", d+1)))
	}
	args := append(append([]string{"node", "--address", n.Addr, "--id", id, "--zone", zone}, c.nodeTLSArgs()...), n.Dirs...)
	n.proc = newClusterProc(c.t, c.LogDir, id, args, func() bool { return httpOK(n.URL("/health/live")) })
	c.Nodes = append(c.Nodes, n)
	n.proc.start()
	return n
}

// Gateway returns gateway i (0-based).
func (c *Cluster) Gateway(i int) *ClusterGateway { return c.Gateways[i] }

// KillNode ends node i (0-based) with SIGKILL and waits for it to exit.
func (c *Cluster) KillNode(i int) {
	c.t.Helper()
	c.Nodes[i].proc.kill()
}

// PauseNode freezes node i with SIGSTOP: it keeps its sockets, accepts
// connections and answers nothing, like a hung process or a node cut off
// the network.
func (c *Cluster) PauseNode(i int) {
	c.t.Helper()
	c.Nodes[i].proc.signal(syscall.SIGSTOP)
}

// ResumeNode lets a paused node i run again (SIGCONT).
func (c *Cluster) ResumeNode(i int) {
	c.t.Helper()
	c.Nodes[i].proc.signal(syscall.SIGCONT)
}

// StopNode ends node i with SIGTERM (SIGKILL after 10s).
func (c *Cluster) StopNode(i int) { c.Nodes[i].proc.stop() }

// RestartNode starts node i again on its address and folders (stopping it
// first if it runs) and waits until it answers.
func (c *Cluster) RestartNode(i int) {
	c.t.Helper()
	p := c.Nodes[i].proc
	p.stop()
	p.start()
}

// Logs returns the tail of every process's output, for failure messages.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "--- %s (%s, %s) ---\n%s", n.ID, n.Zone, n.Addr, n.proc.tail(8<<10))
	}
	for _, g := range c.Gateways {
		fmt.Fprintf(&b, "--- %s (%s) ---\n%s", g.Name, g.Addr, g.proc.tail(16<<10))
	}
	return b.String()
}

// LogLines returns every line that contains substr in the whole output
// (all runs) of every process, each prefixed with the process's name.
func (c *Cluster) LogLines(substr string) []string {
	c.t.Helper()
	var out []string
	for _, p := range c.procs() {
		f, err := os.Open(p.logFile)
		if err != nil {
			c.t.Fatalf("reading the log of %s: %v", p.name, err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), substr) {
				out = append(out, p.name+": "+sc.Text())
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			c.t.Fatalf("reading the log of %s: %v", p.name, err)
		}
	}
	return out
}

// procs returns the processes of the cluster, nodes first.
func (c *Cluster) procs() []*clusterProc {
	var ps []*clusterProc
	for _, n := range c.Nodes {
		ps = append(ps, n.proc)
	}
	for _, g := range c.Gateways {
		if g.proc != nil {
			ps = append(ps, g.proc)
		}
	}
	return ps
}

// stop ends every process, gateways first, in parallel.
func (c *Cluster) stop() {
	var wg sync.WaitGroup
	for _, g := range c.Gateways {
		wg.Go(g.proc.stop)
	}
	wg.Wait()
	for _, n := range c.Nodes {
		wg.Go(n.proc.stop)
	}
	wg.Wait()
	if c.t.Failed() {
		c.t.Logf("cluster logs (tails):\n%s", c.Logs())
	}
}

// clusterProc is one process of a Cluster; it can be killed and started
// again with the same arguments. Its output (of every run) goes to logFile.
type clusterProc struct {
	t       *testing.T
	name    string
	args    []string
	ready   func() bool
	logFile string
	env     []string // extra environment for the next launch (crash points)

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func newClusterProc(t *testing.T, logDir, name string, args []string, ready func() bool) *clusterProc {
	return &clusterProc{t: t, name: name, args: args, ready: ready, logFile: filepath.Join(logDir, name+".log")}
}

// clusterLogDir is where the processes of a test's cluster log: under
// $ECSTORE_TEST_LOGDIR (kept after the test) when set, else in dir.
func clusterLogDir(t *testing.T, dir string) string {
	t.Helper()
	if root := os.Getenv("ECSTORE_TEST_LOGDIR"); root != "" {
		dir = filepath.Join(root, strings.ReplaceAll(t.Name(), "/", "_"))
	} else {
		dir = filepath.Join(dir, "logs")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// clusterEnv is the environment of every cluster process.
func clusterEnv() []string {
	return append(os.Environ(),
		"ECSTORE_CLUSTER_SECRET="+clusterSecret,
		"ECSTORE_ACCESS_KEY="+testAccessKey, "ECSTORE_SECRET_KEY="+testSecretKey)
}

// launch starts the process without waiting for it to answer.
func (p *clusterProc) launch() {
	p.t.Helper()
	f, err := os.OpenFile(p.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(binPath, p.args...)
	cmd.Env = append(clusterEnv(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	fmt.Fprintf(f, "=== %s started (pid %d): ecstore %s\n", p.name, cmd.Process.Pid, strings.Join(p.args, " "))
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(f, "=== %s exited: %v\n", p.name, err)
		f.Close()
		close(exited)
	}()
}

// waitReady waits up to 30s for the process to answer.
func (p *clusterProc) waitReady() {
	p.t.Helper()
	if !p.waitReadyOrExit() {
		p.t.Fatalf("%s exited at start:\n%s", p.name, p.tail(16<<10))
	}
}

// waitReadyOrExit waits up to 30s for the process to answer or exit and
// reports whether it answered. A process started to crash at a crash point
// may exit before the first readiness probe; that is not a failure.
func (p *clusterProc) waitReadyOrExit() bool {
	p.t.Helper()
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if p.ready() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%s did not answer within 30s:\n%s", p.name, p.tail(16<<10))
	return false
}

// start launches the process and waits until it answers.
func (p *clusterProc) start() {
	p.t.Helper()
	p.launch()
	p.waitReady()
}

func (p *clusterProc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// signal sends sig to the running process.
func (p *clusterProc) signal(sig os.Signal) {
	p.t.Helper()
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil {
		p.t.Fatalf("%s is not running", p.name)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// kill sends SIGKILL and waits for the exit. A stopped process is left
// alone.
func (p *clusterProc) kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// stop sends SIGTERM, then SIGKILL after 10s, and waits for the exit.
func (p *clusterProc) stop() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Process.Signal(syscall.SIGCONT) // in case it was paused
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// tail returns the last n bytes of the process's output.
func (p *clusterProc) tail(n int64) string {
	f, err := os.Open(p.logFile)
	if err != nil {
		return err.Error() + "\n"
	}
	defer f.Close()
	prefix := ""
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
		prefix = "[...]\n"
	}
	b, _ := io.ReadAll(f)
	return prefix + string(b)
}

// freeAddrs returns n distinct 127.0.0.1 addresses whose ports were free at
// the time of the call (all held open together, so no two are the same).
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var out []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	return out
}

// freeNodeAddr returns a 127.0.0.1 address for a node that joins with
// `admin node add`, whose metadata listener takes the port plus
// cluster.MetaPortOffset: both ports were free at the time of the call.
// They are taken above the kernel's ephemeral range when it leaves room,
// where no outgoing connection of a busy test machine can take the
// metadata port before the node binds it (the node would then exit).
func freeNodeAddr(t *testing.T) string {
	t.Helper()
	const offset = cluster.MetaPortOffset
	lo, hi := 61000, 65535-offset
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var first, last int
		if _, err := fmt.Sscan(string(b), &first, &last); err == nil {
			lo = last + 1
		}
	}
	for try := range 200 {
		var ln1 net.Listener
		var err error
		if lo <= hi {
			ln1, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", lo+(try*7919+os.Getpid())%(hi-lo+1)))
		} else {
			ln1, err = net.Listen("tcp", "127.0.0.1:0")
		}
		if err != nil {
			continue
		}
		port := ln1.Addr().(*net.TCPAddr).Port
		ln2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+offset))
		ln1.Close()
		if err != nil {
			continue
		}
		ln2.Close()
		return ln1.Addr().String()
	}
	t.Fatalf("no free port P with P+%d free on 127.0.0.1 after 200 tries", offset)
	return ""
}

var probeClient = &http.Client{Timeout: 2 * time.Second}

// Every cluster runs TLS on its S3, internode and metadata ports, with
// clusterPKI's certificate (all processes are on 127.0.0.1), except one of
// StartPlainCluster, which runs none.

// scheme is the URL scheme of the cluster's S3 and internode ports.
func (c *Cluster) scheme() string {
	if c.plain {
		return "http"
	}
	return "https"
}

// nodeTLSArgs are a node's TLS flags (none in a plain cluster).
func (c *Cluster) nodeTLSArgs() []string {
	if c.plain {
		return nil
	}
	return []string{"--tls-cert", clusterPKI.Cert, "--tls-key", clusterPKI.Key, "--internode-ca", clusterPKI.CA}
}

// gatewayTLSArgs are a gateway's: its S3 certificate and the nodes' CA
// (none in a plain cluster).
func (c *Cluster) gatewayTLSArgs() []string {
	if c.plain {
		return nil
	}
	return []string{"--tls-cert", clusterPKI.Cert, "--tls-key", clusterPKI.Key, "--internode-ca", clusterPKI.CA}
}

// nodeURL is the URL of path on the internode port at addr of one of the
// cluster's nodes (an address of the cluster map).
func (c *Cluster) nodeURL(addr, path string) string { return c.scheme() + "://" + addr + path }

// internodeTLS is the TLS configuration of an internode client of the
// cluster's nodes: nil (plain HTTP) in a plain cluster.
func (c *Cluster) internodeTLS() *tls.Config {
	if c.plain {
		return nil
	}
	return &tls.Config{RootCAs: clusterPKI.Pool}
}

// httpOK reports whether GET url answers 200.
func httpOK(url string) bool {
	resp, err := probeClient.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// httpAnswers reports whether GET url gets any HTTP answer.
func httpAnswers(url string) bool {
	resp, err := probeClient.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// OfflineDrives returns the drives the gateway's log says are offline now
// (its breaker open: "drive offline" without a later "drive back online"
// since the gateway last started).
func (g *ClusterGateway) OfflineDrives() []string {
	off := map[string]bool{}
	for _, line := range strings.Split(g.log(), "\n") {
		switch {
		case strings.HasPrefix(line, "=== "+g.Name+" started"):
			clear(off)
		case strings.Contains(line, `msg="drive offline"`):
			off[logField(line, "drive")] = true
		case strings.Contains(line, `msg="drive back online"`):
			delete(off, logField(line, "drive"))
		}
	}
	var out []string
	for d := range off {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// logField returns the value of key=value in a text log line.
func logField(line, key string) string {
	_, v, ok := strings.Cut(line, " "+key+"=")
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, " ")
	return strings.Trim(v, `"`)
}

// WaitAllOnline waits until every gateway has found every drive online
// again (after nodes come back, a gateway's breaker lets a probe through
// only when its back-off, up to 15s, has passed). It keeps the gateways
// busy with ListBuckets, which asks every drive, so the probes happen.
func (c *Cluster) WaitAllOnline(timeout time.Duration) {
	c.t.Helper()
	waitAllOnline(c.t, c.Gateways, timeout)
}

func waitAllOnline(t *testing.T, gws []*ClusterGateway, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, g := range gws {
		mc := g.Minio(t)
		for {
			off := g.OfflineDrives()
			if len(off) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still has drives offline after %v: %v", g.Name, timeout, off)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = mc.ListBuckets(ctx)
			cancel()
			time.Sleep(200 * time.Millisecond)
		}
	}
}
