package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ecstore/ecstore/cluster"
	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/internal/md5pool"
	"github.com/ecstore/ecstore/meta"
	"github.com/ecstore/ecstore/s3compat"
	"github.com/ecstore/ecstore/storagenode/local"
	"github.com/ecstore/ecstore/storagenode/rpc"
	"golang.org/x/sync/errgroup"
)

// NodeConfig configures a storage node process (`ecstore node`).
type NodeConfig struct {
	// Address is where the internode API listens. Required.
	Address string
	// ID is the node's id in the cluster map. Required.
	ID string
	// Zone is the node's failure domain; with a map it must match the map.
	Zone string
	// DriveDirs are the node's drive folders. Required.
	DriveDirs []string
	// ClusterFile is the cluster map. Optional for a node, but with it the
	// node checks its drives against the map and refuses callers that run
	// with another map.
	ClusterFile string
	// Secret is the cluster secret (ECSTORE_CLUSTER_SECRET). Required.
	Secret []byte
	// CertFile and KeyFile make the internode API and the metadata port
	// speak TLS; InternodeCA (required with them) is the CA the node
	// verifies the other nodes' metadata ports with.
	CertFile, KeyFile string
	InternodeCA       string
	Logger            *slog.Logger
	ShutdownTimeout   time.Duration // default 30s
	// DeleteGrace is how long a deleted or replaced version's shard files
	// stay readable for the GETs that started on it (in each drive's
	// trash/). Default 15 minutes; negative: removed at once.
	DeleteGrace time.Duration
	// MetaRecover, when set, names the surviving voters of a metadata
	// group that lost a majority of its voters for good: before it starts,
	// the node rewrites its member's configuration to them alone
	// (meta.Recover). Give every survivor the same list, once.
	MetaRecover []string

	// openLocal opens a drive folder; tests replace it. Default
	// local.Open.
	openLocal func(dir string, opts local.Options) (*local.Drive, error)
}

// DefaultNodeConfig returns a node's defaults; Address, ID, DriveDirs and
// Secret have none and must be set.
func DefaultNodeConfig() NodeConfig {
	c := NodeConfig{}
	c.EnsureDefaults()
	return c
}

// EnsureDefaults fills unset fields with their defaults.
func (c *NodeConfig) EnsureDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.DeleteGrace == 0 {
		c.DeleteGrace = DefaultDeleteGrace
	}
	if c.openLocal == nil {
		c.openLocal = local.Open
	}
}

// Validate checks the configuration with messages a user can act on.
func (c *NodeConfig) Validate() error {
	switch {
	case c.ID == "":
		return errors.New("node: --id is required")
	case c.Address == "":
		return errors.New("node: --address is required")
	case len(c.DriveDirs) == 0:
		return errors.New("node: give at least one drive folder")
	case len(c.Secret) < rpc.MinSecretLen:
		return fmt.Errorf("node: set ECSTORE_CLUSTER_SECRET to the same value on every process, at least %d bytes", rpc.MinSecretLen)
	case (c.CertFile == "") != (c.KeyFile == ""):
		return errors.New("node: give both --tls-cert and --tls-key, or neither")
	case c.CertFile != "" && c.InternodeCA == "":
		return errors.New("node: with --tls-cert give --internode-ca too: the nodes' metadata ports speak TLS to each other, verified by that CA")
	}
	return nil
}

// RunNode serves the node's drives over the internode API until ctx ends.
// It returns an error wrapping ErrDriveIndexFailed when a drive's index
// fails (the process should exit and be restarted: a restart replays the
// index's log).
func RunNode(ctx context.Context, cfg NodeConfig, ready func(addr string)) error {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cfg.Logger
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ids := make([]string, len(cfg.DriveDirs))
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-d%d", cfg.ID, i+1)
	}
	var initial *cluster.Map
	if cfg.ClusterFile != "" {
		m, err := cluster.Load(cfg.ClusterFile)
		if err != nil {
			return err
		}
		initial = m
	}
	// Every drive keeps the newest map the node adopted: a restart comes
	// back on it, even with an older --cluster file or none.
	var mapFiles []string
	for _, dir := range cfg.DriveDirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			continue // an unusable folder: its drive starts offline (below)
		}
		mapFiles = append(mapFiles, filepath.Join(dir, nodeMapFile))
	}
	if len(mapFiles) == 0 {
		return fmt.Errorf("node: %w: %v", errNoDrives, cfg.DriveDirs)
	}
	keeper, err := cluster.NewKeeper(initial, mapFiles)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	nodeDrives := func(m *cluster.Map) ([]string, error) {
		n := m.Node(cfg.ID)
		switch {
		case n == nil:
			return nil, fmt.Errorf("node: id %q is not in the cluster map (epoch %d)", cfg.ID, m.Epoch)
		case len(n.Drives) != len(cfg.DriveDirs):
			return nil, fmt.Errorf("node: the cluster map gives node %q %d drives, but %d folders were given", cfg.ID, len(n.Drives), len(cfg.DriveDirs))
		case cfg.Zone != "" && cfg.Zone != n.Zone:
			return nil, fmt.Errorf("node: --zone %q, but the cluster map puts node %q in zone %q", cfg.Zone, cfg.ID, n.Zone)
		}
		out := make([]string, len(n.Drives))
		for i, d := range n.Drives {
			out[i] = d.ID
		}
		return out, nil
	}
	if m := keeper.Map(); m != nil {
		if ids, err = nodeDrives(m); err != nil {
			return err
		}
	}
	// A later map must list this node with the same drives; a map without
	// it (the node was removed) is stored too, and ends its service.
	keeper.Check = func(m *cluster.Map) error {
		if n := m.Node(cfg.ID); n == nil || n.Removed {
			return nil
		}
		got, err := nodeDrives(m)
		if err == nil && !slices.Equal(got, ids) {
			err = fmt.Errorf("node: the cluster map names node %q's drives %v, but they are %v", cfg.ID, got, ids)
		}
		return err
	}
	nm := &nodeMeta{cfg: cfg, log: log, maps: keeper.Map, adopted: make(chan struct{}, 1),
		follow: keeper.Follow}
	keeper.OnAdopt = func(m *cluster.Map) {
		n := m.Node(cfg.ID)
		log.Info("cluster map adopted", "map", m.ID(), "in_map", n != nil && !n.Removed)
		select {
		case nm.adopted <- struct{}{}:
		default:
		}
	}
	opts := rpc.Options{Secret: cfg.Secret, Maps: keeper, Logger: log, Node: rpc.NodeIdentity{ID: cfg.ID, Zone: cfg.Zone}}
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("node: %w (set ECSTORE_CLUSTER_SECRET to the same value on every process, at least %d bytes)", err, rpc.MinSecretLen)
	}
	drives, err := openNodeDrives(cfg.DriveDirs, ids, log, func(dir, id string) (*local.Drive, error) {
		opts, err := directIO(local.Options{ID: id, Logger: log, DeleteGrace: cfg.DeleteGrace, OnIndexFatal: func(err error) {
			// Crash-only: a restart replays the index's log; the gateways
			// treat the node as down meanwhile.
			log.Error("drive index failed; stopping so that a restart recovers it", "drive", id, "err", err)
			cancel(fmt.Errorf("drive %s: %w: %w", id, ErrDriveIndexFailed, err))
		}}, true)
		if err != nil {
			return nil, err
		}
		return cfg.openLocal(dir, opts)
	})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	// Every job below ends with ctx; the drives close only after all of
	// them have returned.
	defer closeDrives(drives, log)
	if keeper.Map() != nil {
		// A node of the map's first start opens its member before it
		// serves, so that gateways find the group at once.
		if err := nm.open(); err != nil {
			return fmt.Errorf("node: metadata store: %w", err)
		}
	} else {
		log.Info("node runs without a cluster map (--cluster): it joins the metadata group once it is added to the map")
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return nm.run(gctx) })
	startScrubbers(gctx, g, drives, log)
	mux := http.NewServeMux()
	mux.Handle("/ecstore/", rpc.NewHandler(drives, opts))
	mux.HandleFunc("/health/live", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/health/meta", func(w http.ResponseWriter, _ *http.Request) {
		var s *meta.Store
		if ns := nm.store.Load(); ns != nil {
			s = ns.Store
		}
		serveMetaStatus(w, s)
	})
	g.Go(func() error {
		return serve(gctx, serveConfig{
			name: "ecstore node " + cfg.ID, address: cfg.Address, handler: mux, log: log,
			certFile: cfg.CertFile, keyFile: cfg.KeyFile, shutdownTimeout: cfg.ShutdownTimeout, ready: ready,
		}, "drives", ids, "map", keeper.MapID())
	})
	return runResult(ctx, g.Wait())
}

// nodeMapFile is the file in each drive folder of a node that keeps the
// newest cluster map the node adopted.
const nodeMapFile = "cluster-map.json"

// slowWriteTimeout is how long a gateway waits on one node's shard write
// before it goes on without that node (the write quorum permitting).
const slowWriteTimeout = 10 * time.Second

// GatewayConfig configures an S3 gateway over remote nodes (`ecstore
// gateway`).
type GatewayConfig struct {
	// Endpoint is the S3 endpoint (address, credentials, TLS, timeouts),
	// as for Config.
	Endpoint
	// ClusterFile is the cluster map. Required.
	ClusterFile string
	// Secret is the cluster secret (ECSTORE_CLUSTER_SECRET). Required.
	Secret []byte
	// InternodeCA, when set, is a PEM file of the CA that signed the
	// nodes' certificates (nodes addressed as https://host:port).
	InternodeCA string
	// StateDir keeps the gateway's own small state (heal progress, so an
	// operator's heal resumes after a restart). Default "": not kept.
	StateDir string
	// RebalanceRate bounds the rebalance after a map change, in objects a
	// second; 0 runs it at full speed.
	RebalanceRate float64
}

// DefaultGatewayConfig returns a gateway's defaults; ClusterFile and Secret
// have none and must be set.
func DefaultGatewayConfig() GatewayConfig {
	c := GatewayConfig{}
	c.EnsureDefaults()
	return c
}

// EnsureDefaults fills unset fields with their defaults.
func (c *GatewayConfig) EnsureDefaults() { c.Endpoint.ensureDefaults() }

// Validate checks the configuration with messages a user can act on.
func (c *GatewayConfig) Validate() error {
	switch {
	case c.ClusterFile == "":
		return errors.New("gateway: --cluster FILE is required")
	case len(c.Secret) < rpc.MinSecretLen:
		return fmt.Errorf("gateway: set ECSTORE_CLUSTER_SECRET to the same value on every process, at least %d bytes", rpc.MinSecretLen)
	case c.RebalanceRate < 0:
		return fmt.Errorf("gateway: --rebalance-rate %v: give 0 (full speed) or more", c.RebalanceRate)
	}
	if err := c.Endpoint.validate(); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	return nil
}

// RunGateway serves S3 over the cluster's remote drives until ctx ends.
func RunGateway(ctx context.Context, cfg GatewayConfig, ready func(addr string)) error {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cfg.Logger
	if cfg.AccessKey == DefaultAccessKey && cfg.SecretKey == DefaultSecretKey {
		log.Warn("USING THE DEFAULT CREDENTIALS: fine on your own machine, never anywhere else; set ECSTORE_ACCESS_KEY and ECSTORE_SECRET_KEY")
	}
	m, err := cluster.Load(cfg.ClusterFile)
	if err != nil {
		return err
	}
	// Metadata calls and block reads take milliseconds; a node that does not
	// answer one in 5s is treated as down (the breaker then probes it in the
	// background) rather than stalling requests for the default 30s.
	opts := rpc.Options{Secret: cfg.Secret, MapID: m.ID(), Logger: log, CallTimeout: 5 * time.Second}
	if cfg.InternodeCA != "" {
		if opts.TLSConfig, err = internodeTLS("", "", cfg.InternodeCA); err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
	}
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("gateway: %w (set ECSTORE_CLUSTER_SECRET to the same value on every process, at least %d bytes)", err, rpc.MinSecretLen)
	}
	var mapFiles []string
	if cfg.StateDir != "" {
		if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
			return fmt.Errorf("gateway: state folder: %w", err)
		}
		mapFiles = append(mapFiles, filepath.Join(cfg.StateDir, nodeMapFile))
	}
	keeper, err := cluster.NewKeeper(m, mapFiles)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	opts.MapID = ""
	opts.Maps = keeper
	opts.Client = rpc.NewHTTPClient(opts)
	met := newMetrics()
	ms := &membership{self: cfg.Address, keeper: keeper, opts: opts, met: met, log: log, rate: cfg.RebalanceRate, ctx: ctx,
		drives: map[string]gateway.Drive{}, nodes: map[string]*rpc.NodeClient{}}
	defer ms.closeDrives()
	// Start on the newest map the nodes hold: the file may be older.
	ms.catchUp(ctx)
	m = keeper.Map()
	keeper.OnAdopt = ms.adopted
	top := ms.topology(m)
	k, p := m.Code()
	// The bucket table: the metadata group's, through a client.
	mc, err := openGatewayMeta(ctx, m, cfg.Secret, opts.TLSConfig, log)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	defer mc.Close()
	ring, err := openKeyRing(ctx, cfg.KMSKeyFile, mc, log)
	if err != nil {
		return err
	}
	enc := newEncryption(ring, mc)
	md5s := md5pool.New()
	defer md5s.Close()
	gcfg := gateway.Config{Drives: top.Drives, Prior: top.Prior, Epoch: m.Epoch, DataShards: k, ParityShards: p, Logger: log,
		SlowWriteTimeout: slowWriteTimeout, RebalanceDelay: 3 * mapPollInterval, Catalog: catalog{s: mc, alone: staleCatalogHook()},
		LifecycleDay: testLifecycleDay(), InFlightWindow: testInFlightWindow(log), MD5: md5s}
	enc.apply(&gcfg)
	layer, err := gateway.New(gcfg)
	if err != nil {
		return err
	}
	for {
		err := importBuckets(ctx, mc, layer, log)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("gateway: %w", err)
		}
		log.Warn("importing the drives' buckets into the metadata store failed; trying again", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	ms.maps = mc
	importMap(ctx, mc, keeper.Map(), log)
	repair := gateway.NewRepair(layer)
	ms.mu.Lock()
	ms.layer, ms.repair = layer, repair
	ms.onLine = layer.DriveOnline
	ms.mu.Unlock()
	if err := repair.HealBuckets(ctx); err != nil {
		log.Warn("bucket heal at start failed (nodes down?)", "err", err)
	}
	if cfg.StateDir != "" {
		repair.Healer().SetStateFile(filepath.Join(cfg.StateDir, "heal.json"))
		repair.Rebalancer().SetStateFile(filepath.Join(cfg.StateDir, "rebalance.json"))
		if _, err := repair.Healer().Resume(ctx); err != nil {
			log.Warn("could not resume the last heal", "err", err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	// The walks (heal, rebalance) stop before the drives close.
	defer repair.Stop()
	g.Go(func() error { ms.watch(gctx); return nil })
	s3cfg := s3compat.Config{Region: cfg.Region, Domain: cfg.Domain, MaxPresignV2: cfg.PresignV2MaxAge}
	handler := startServices(gctx, g, gatewayView{layer, repair, enc.kms}, met, map[string]string{cfg.AccessKey: cfg.SecretKey}, s3cfg, cfg.UploadExpiry, log, ms, clientMetaView(mc, metaAddrs(m)),
		jobLeases{mc, holderID(cfg.Address)})
	g.Go(func() error {
		return serve(gctx, serveConfig{
			name: "ecstore S3 gateway", address: cfg.Address, handler: handler, log: log,
			certFile: cfg.CertFile, keyFile: cfg.KeyFile, shutdownTimeout: cfg.ShutdownTimeout, ready: ready,
			timeouts: cfg.Timeouts,
		}, "map", m.ID(), "nodes", len(m.Nodes), "drives", len(top.Drives), "ec", m.EC)
	})
	return runResult(ctx, g.Wait())
}
