package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ecstore/ecstore/admin"
	"github.com/ecstore/ecstore/console"
	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/internal/md5pool"
	"github.com/ecstore/ecstore/meta"
	"github.com/ecstore/ecstore/s3compat"
	"github.com/ecstore/ecstore/s3compat/sigv4"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
	"github.com/ecstore/ecstore/storagenode/scrub"
	"golang.org/x/sync/errgroup"
)

// Default credentials for local use only. Run logs a warning when they are
// in use.
const (
	DefaultAccessKey = "ecstoreadmin"
	DefaultSecretKey = "ecstoreadmin-secret"
)

// Endpoint is the S3 endpoint's settings, the same for the embedded server
// (Config) and a gateway (GatewayConfig), which embed it.
type Endpoint struct {
	// Address is where the S3 endpoint listens. Default "127.0.0.1:9000".
	Address string
	// AccessKey and SecretKey are the root credentials. Default
	// DefaultAccessKey / DefaultSecretKey (local use only).
	AccessKey, SecretKey string
	// Region reported to clients. Default "us-east-1".
	Region string
	// Domain, when set, enables virtual-hosted-style requests
	// (bucket.Domain) alongside path style.
	Domain string
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// ShutdownTimeout bounds the wait for in-flight requests on shutdown.
	// Default 30s.
	ShutdownTimeout time.Duration
	// CertFile and KeyFile, when both set, make the S3 endpoint speak TLS.
	CertFile, KeyFile string
	// KMSKeyFile is the key ring of server-side encryption (SSE-S3): one
	// key (32 bytes, raw or base64) or lines ID:BASE64, the first line's
	// key sealing new objects. Empty: SSE-S3 is refused.
	KMSKeyFile string
	// UploadExpiry: multipart uploads older than this are aborted (checked
	// hourly). Default 7 days; negative disables.
	UploadExpiry time.Duration
	// Timeouts bound the wait on a silent client: a request body that
	// stops (default 30s), a response nobody reads (60s), an idle
	// keep-alive connection (120s). See Timeouts.
	Timeouts Timeouts
	// PresignV2MaxAge is the longest a Signature Version 2 presigned URL
	// may stay valid: one whose Expires lies further ahead is refused
	// (AccessDenied). Default 7 days, SigV4's limit.
	PresignV2MaxAge time.Duration
}

// ensureDefaults fills the endpoint's unset fields with their defaults.
func (e *Endpoint) ensureDefaults() {
	if e.Address == "" {
		e.Address = DefaultAddress
	}
	if e.AccessKey == "" && e.SecretKey == "" {
		e.AccessKey, e.SecretKey = DefaultAccessKey, DefaultSecretKey
	}
	if e.Region == "" {
		e.Region = DefaultRegion
	}
	if e.Logger == nil {
		e.Logger = slog.Default()
	}
	if e.ShutdownTimeout == 0 {
		e.ShutdownTimeout = DefaultShutdownTimeout
	}
	if e.UploadExpiry == 0 {
		e.UploadExpiry = DefaultUploadExpiry
	}
	e.Timeouts.EnsureDefaults()
	if e.PresignV2MaxAge == 0 {
		e.PresignV2MaxAge = DefaultPresignV2MaxAge
	}
}

// validate checks the endpoint's settings.
func (e *Endpoint) validate() error {
	if err := validateCredentials(e.AccessKey, e.SecretKey); err != nil {
		return err
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		return errors.New("give both --tls-cert and --tls-key, or neither")
	}
	if e.PresignV2MaxAge < time.Second {
		return fmt.Errorf("--presign-v2-max-age %v is too short; give at least 1s (default %v)", e.PresignV2MaxAge, DefaultPresignV2MaxAge)
	}
	return e.Timeouts.Validate()
}

// Config configures the embedded server.
type Config struct {
	// Endpoint is the S3 endpoint (address, credentials, TLS, timeouts).
	Endpoint
	// DriveDirs are the drive folders, one drive each. Default: 6 folders
	// ./ecstore-data/drive1 ... drive6.
	DriveDirs []string
	// DataShards (k) and ParityShards (m). Default 4+2.
	DataShards, ParityShards int
	// DeleteGrace is how long a deleted or replaced version's shard files
	// stay readable for the GETs that started on it (in each drive's
	// trash/). Default 15 minutes; negative: removed at once.
	DeleteGrace time.Duration
	// AdoptEmptyDrives adopts empty drive folders as replacements even when
	// fewer than a quorum of the set's drives are present (the operator
	// accepts that what the replaced drives held is lost). Default false:
	// the server refuses to start and names the empty folders.
	AdoptEmptyDrives bool
}

// Defaults shared by the roles.
const (
	DefaultAddress         = "127.0.0.1:9000"
	DefaultRegion          = "us-east-1"
	DefaultShutdownTimeout = 30 * time.Second
)

// ErrDriveIndexFailed ends RunNode when a drive's index fails: the process
// exits (status 3) and its restart replays the index's log.
var ErrDriveIndexFailed = errors.New("drive index failed")

// DefaultConfig returns the working embedded default.
func DefaultConfig() Config {
	c := Config{}
	c.EnsureDefaults()
	return c
}

// EnsureDefaults fills unset fields with their defaults.
func (c *Config) EnsureDefaults() {
	c.Endpoint.ensureDefaults()
	if len(c.DriveDirs) == 0 {
		for i := 1; i <= 6; i++ {
			c.DriveDirs = append(c.DriveDirs, filepath.Join("ecstore-data", fmt.Sprintf("drive%d", i)))
		}
	}
	if c.DataShards == 0 && c.ParityShards == 0 {
		c.DataShards, c.ParityShards = 4, 2
	}
	if c.DeleteGrace == 0 {
		c.DeleteGrace = DefaultDeleteGrace
	}
}

// DefaultPresignV2MaxAge is the default longest validity of a Signature
// Version 2 presigned URL: 7 days, as SigV4 allows.
const DefaultPresignV2MaxAge = sigv4.DefaultMaxPresignV2

// DefaultUploadExpiry is how long an unfinished multipart upload is kept.
const DefaultUploadExpiry = 7 * 24 * time.Hour

// Validate checks the configuration with messages a user can act on.
func (c *Config) Validate() error {
	k, m := c.DataShards, c.ParityShards
	if k < 1 || m < 0 || k+m > 256 {
		return fmt.Errorf("erasure coding %d+%d is not possible: need 1 or more data shards, 0 or more parity shards, at most 256 in all", k, m)
	}
	if k+m > len(c.DriveDirs) {
		return fmt.Errorf("erasure coding %d+%d needs at least %d drives, but %d drive folders were given; give more folders or choose a smaller --ec (for example %s)",
			k, m, k+m, len(c.DriveDirs), suggestEC(len(c.DriveDirs)))
	}
	seen := map[string]bool{}
	for _, d := range c.DriveDirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return fmt.Errorf("drive folder %q: %w", d, err)
		}
		if seen[abs] {
			return fmt.Errorf("drive folder %q is given twice; each drive needs its own folder", d)
		}
		seen[abs] = true
	}
	return c.Endpoint.validate()
}

// validateCredentials checks the root credentials of an S3 endpoint.
func validateCredentials(accessKey, secretKey string) error {
	if accessKey == "" || secretKey == "" {
		return errors.New("set both ECSTORE_ACCESS_KEY and ECSTORE_SECRET_KEY, or neither for the local default")
	}
	if len(secretKey) < 8 {
		return errors.New("ECSTORE_SECRET_KEY must be at least 8 characters")
	}
	return nil
}

func suggestEC(drives int) string {
	if drives < 2 {
		return "1+0"
	}
	m := drives / 3
	if m < 1 {
		m = 1
	}
	return fmt.Sprintf("%d+%d", drives-m, m)
}

// ParseEC parses "K+M".
func ParseEC(s string) (k, m int, err error) {
	ks, ms, ok := strings.Cut(s, "+")
	if ok {
		k, err = strconv.Atoi(ks)
		if err == nil {
			m, err = strconv.Atoi(ms)
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("erasure coding %q: want K+M, for example 4+2", s)
	}
	return k, m, nil
}

// Run serves S3 until ctx is cancelled, then shuts down gracefully.
// ready, when non-nil, receives the bound address once listening.
func Run(ctx context.Context, cfg Config, ready func(addr string)) error {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cfg.Logger
	if cfg.AccessKey == DefaultAccessKey && cfg.SecretKey == DefaultSecretKey {
		log.Warn("USING THE DEFAULT CREDENTIALS: fine on your own machine, never anywhere else; set ECSTORE_ACCESS_KEY and ECSTORE_SECRET_KEY",
			"access_key", DefaultAccessKey, "secret_key", DefaultSecretKey)
	}

	met := newMetrics()
	ids := make([]string, len(cfg.DriveDirs))
	for i := range ids {
		ids[i] = fmt.Sprintf("drive%d", i+1)
	}
	set, err := openSet(driveSet{
		Dirs: cfg.DriveDirs, IDs: ids, Quorum: startQuorum(len(ids), cfg.DataShards, cfg.ParityShards),
		AdoptEmpty: cfg.AdoptEmptyDrives, Log: log,
		Open: func(dir, id string) (*local.Drive, error) {
			opts, err := directIO(local.Options{ID: id, Logger: log, DeleteGrace: cfg.DeleteGrace, OnIndexFatal: func(err error) {
				log.Error("drive index failed; the drive is offline until the server restarts", "drive", id, "err", err)
			}}, false)
			if err != nil {
				return nil, err
			}
			return local.Open(dir, opts)
		},
	})
	if err != nil {
		return err
	}
	// Every job below ends with ctx; the drives close only after all of
	// them have returned (deferred calls run last to first).
	defer closeDrives(set, log)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	startScrubbers(gctx, g, set, log)
	var drives []gateway.Drive
	for _, d := range set {
		// In the embedded server every drive folder is its own node.
		drives = append(drives, gateway.Drive{Drive: met.instrument(d), Node: d.ID(), Weight: 1})
	}
	// The bucket table is the metadata group's, kept on the first drive
	// folders (see groupMembers); it closes after every job that uses it.
	group, err := meta.OpenGroup(meta.GroupConfig{Members: groupMembers(cfg.DriveDirs, set), Logger: log})
	if err != nil {
		cancel()
		return errors.Join(fmt.Errorf("metadata store: %w", err), g.Wait())
	}
	defer func() {
		if err := group.Close(); err != nil {
			log.Warn("closing the metadata store", "err", err)
		}
	}()
	ring, err := openKeyRing(gctx, cfg.KMSKeyFile, group.Store(), log)
	if err != nil {
		cancel()
		return errors.Join(err, g.Wait())
	}
	enc := newEncryption(ring, group.Store())
	md5s := md5pool.New()
	defer md5s.Close()
	gcfg := gateway.Config{
		Drives: drives, DataShards: cfg.DataShards, ParityShards: cfg.ParityShards, Logger: log,
		Catalog:      catalog{s: group.Store(), alone: true},
		LifecycleDay: testLifecycleDay(), InFlightWindow: testInFlightWindow(log), MD5: md5s,
	}
	enc.apply(&gcfg)
	layer, err := gateway.New(gcfg)
	if err != nil {
		cancel()
		return errors.Join(err, g.Wait())
	}
	if err := importBuckets(gctx, group.Store(), layer, log); err != nil {
		cancel()
		return errors.Join(err, g.Wait())
	}
	repair := gateway.NewRepair(layer)
	// The walks (heal) stop before the drives close.
	defer repair.Stop()
	if err := repair.HealBuckets(gctx); err != nil {
		log.Warn("bucket heal at start failed", "err", err)
	}
	// The embedded server keeps its heal progress in the first drive's
	// folder, so an operator's heal resumes after a restart.
	repair.Healer().SetStateFile(filepath.Join(cfg.DriveDirs[0], "gateway", "heal.json"))
	if _, err := repair.Healer().Resume(gctx); err != nil {
		log.Warn("could not resume the last heal", "err", err)
	}
	creds := map[string]string{cfg.AccessKey: cfg.SecretKey}
	handler := startServices(gctx, g, gatewayView{layer, repair, enc.kms}, met, creds, s3compat.Config{Region: cfg.Region, Domain: cfg.Domain, MaxPresignV2: cfg.PresignV2MaxAge}, cfg.UploadExpiry, log, nil, embeddedMetaView(group),
		jobLeases{group.Store(), holderID(cfg.Address)})
	g.Go(func() error {
		return serve(gctx, serveConfig{
			name: "ecstore S3 endpoint", address: cfg.Address, handler: handler, log: log,
			certFile: cfg.CertFile, keyFile: cfg.KeyFile, shutdownTimeout: cfg.ShutdownTimeout, ready: ready,
			timeouts: cfg.Timeouts,
		}, "drives", len(drives), "ec", fmt.Sprintf("%d+%d", cfg.DataShards, cfg.ParityShards))
	})
	return g.Wait()
}

// closeDrives closes a process's drives, logging what fails.
func closeDrives(drives []storagenode.Drive, log *slog.Logger) {
	for _, d := range drives {
		if err := d.Close(); err != nil {
			log.Error("close drive", "drive", d.ID(), "err", err)
		}
	}
}

// startScrubbers starts, in g, a scrubber for each local drive.
func startScrubbers(ctx context.Context, g *errgroup.Group, drives []storagenode.Drive, log *slog.Logger) {
	for _, d := range drives {
		if _, ok := d.(*local.Drive); ok {
			g.Go(func() error { (&scrub.Scrubber{Drive: d, Logger: log}).Run(ctx); return nil })
		}
	}
}

// runResult is what a Run returns once its jobs have ended: the cause that
// stopped it when that was a fatal fault (ErrDriveIndexFailed), else the
// jobs' error.
func runResult(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrDriveIndexFailed) {
		return cause
	}
	return err
}

// Background heal scanner defaults: a shallow walk (presence and size of
// every shard) at a bounded rate, repeated.
const (
	scanInterval = time.Hour
	scanRate     = 200 // objects per second
)

// startServices starts a layer's background work (heal queue, scanner) and
// returns the HTTP handler of S3 plus the admin API and the web console.
// s3cfg gives the S3 front end's region, domain and presign limit; the
// rest of it is filled here.
// The jobs run in g until ctx ends; an operator's heal started through the
// admin API is stopped by Repair.Stop once they are done.
func startServices(ctx context.Context, g *errgroup.Group, gw gatewayView, m *metrics, creds map[string]string, s3cfg s3compat.Config, uploadExpiry time.Duration, log *slog.Logger, members admin.Membership, md *metaView, jobs jobLeases) http.Handler {
	testLeaseTTL(log)
	g.Go(func() error { gw.RunHealer(ctx); return nil })
	// The scanner, the upload expiry and the lifecycle are cluster-wide
	// jobs: one gateway at a time runs each, the holder of its lease.
	g.Go(func() error {
		runLeased(ctx, jobs.store, leaseUploadExpiry, jobs.holder, log, func(ctx context.Context) {
			gw.RunUploadExpiry(ctx, uploadExpiry, time.Hour)
		})
		return nil
	})
	g.Go(func() error {
		interval, rate := lifecycleInterval, float64(lifecycleRate)
		if d := testLifecycleDay(); d > 0 {
			interval, rate = d/2, 0
			log.Warn("test hook ECSTORE_TEST_LIFECYCLE_DAY: a lifecycle day lasts "+d.String(), "pass_interval", interval)
		}
		runLeased(ctx, jobs.store, leaseLifecycle, jobs.holder, log, func(ctx context.Context) {
			gw.RunLifecycle(ctx, interval, rate)
		})
		return nil
	})
	g.Go(func() error {
		runLeased(ctx, jobs.store, leaseScanner, jobs.holder, log, func(ctx context.Context) {
			gw.RunScanner(ctx, scanInterval, scanRate, false) // stops the healer's walk as it returns
		})
		return nil
	})
	if ms, ok := members.(*membership); ok {
		ms.leases = jobs.store
		g.Go(func() error {
			runLeased(ctx, jobs.store, leaseRebalance, jobs.holder, log, ms.rebalanceJob)
			return nil
		})
	}
	m.attach(gw)
	s3cfg.Credentials, s3cfg.Logger, s3cfg.Observe = creds, log, m.observe
	s3 := s3compat.NewServer(gw.Layer, s3cfg)
	// The console takes only unauthenticated requests under /console (see
	// package console); signed S3 requests to a bucket "console" pass on.
	web := console.NewHandler(gw, creds, log).Mount(s3.Handler())
	ah := admin.NewHandler(gw, creds, log)
	if members != nil {
		ah.SetMembership(members)
	}
	if gw.kms != nil {
		// A key rotation runs in the key store's goroutine; the drives
		// close only after it ended.
		gw.kms.attach(ctx, gw.Repair)
		g.Go(func() error {
			<-ctx.Done()
			gw.kms.wait()
			return nil
		})
		ah.SetKMS(gw.kms)
	}
	if md != nil {
		ah.SetMetadata(md)
		m.reg.MustRegister(metaCollector{md})
	}
	return m.mount(gw.Layer, ah.Mount(web))
}

// jobLeases is where a process takes the leases of the cluster-wide jobs
// and its name as their holder.
type jobLeases struct {
	store  leaseStore
	holder string
}

// gatewayView joins a gateway's data path and its repair work: the
// ObjectLayer with the health, heal and rebalance views the console, the
// admin API and the metrics read.
type gatewayView struct {
	*gateway.Layer
	*gateway.Repair
	kms *localKMS // nil: no key file
}

var (
	_ console.Health = gatewayView{}
	_ admin.Cluster  = gatewayView{}
)

// serveConfig describes one HTTP endpoint of a process.
type serveConfig struct {
	name              string
	address           string
	handler           http.Handler
	log               *slog.Logger
	certFile, keyFile string // TLS when both are set
	shutdownTimeout   time.Duration
	ready             func(addr string)
	// timeouts: zero or negative fields are no bound (the internode API
	// keeps its own per-call deadlines).
	timeouts Timeouts
}

// serve runs an HTTP(S) endpoint until ctx ends, then shuts it down
// gracefully, waiting up to shutdownTimeout for requests in flight.
func serve(ctx context.Context, sc serveConfig, logAttrs ...any) error {
	ln, err := net.Listen("tcp", sc.address)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", sc.address, err)
	}
	srv := &http.Server{
		Handler:           withIdleTimeouts(sc.handler, sc.timeouts.BodyIdle, sc.timeouts.WriteIdle),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       max(sc.timeouts.KeepAliveIdle, 0),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(sc.log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if sc.certFile != "" && sc.keyFile != "" {
		scheme = "https"
	}
	sc.log.Info(sc.name+" listening", append([]any{"address", ln.Addr().String(), "scheme", scheme}, logAttrs...)...)
	if sc.ready != nil {
		sc.ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() {
		if scheme == "https" {
			errc <- srv.ServeTLS(ln, sc.certFile, sc.keyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sc.log.Info("shutting down: finishing in-flight requests", "timeout", sc.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), sc.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Requests still running are cut: their writes are never committed
		// (a PUT commits only after its whole body arrived).
		sc.log.Warn("shutdown deadline passed; closing the connections still in flight", "err", err)
		_ = srv.Close()
		return nil
	}
	sc.log.Info("in-flight requests finished; stopped")
	return nil
}

// DefaultDeleteGrace is how long a deleted or replaced version's shard
// files stay in a drive's trash (local.Options.DeleteGrace).
const DefaultDeleteGrace = 15 * time.Minute

// directIO sets how opts's drive writes shard files, from ECSTORE_DIRECT_IO:
// "off" through the page cache (local.Options.BufferedWrites); "all" with
// O_DIRECT from the first block (local.Options.DirectSmallShards);
// "large" with O_DIRECT past the first MiB, small objects staying in the
// page cache. Unset, a storage node's drives (node) write "all" and the
// embedded server's "large": an embedded GET reads its drives without
// HTTP, and a cached 1 MiB object came back 2.6 times as fast as one from
// the disk, while a cluster's GET gained 4% from the cache and its PUT
// paid a third of the nodes' CPU for it (BENCHMARKS.md, issue 18, seventh
// round). Another value is refused.
func directIO(opts local.Options, node bool) (local.Options, error) {
	switch v := os.Getenv("ECSTORE_DIRECT_IO"); v {
	case "off":
		opts.BufferedWrites = true
	case "all":
		opts.DirectSmallShards = true
	case "large":
	case "":
		opts.DirectSmallShards = node
	default:
		return opts, fmt.Errorf("ECSTORE_DIRECT_IO=%q: want all, large or off", v)
	}
	return opts, nil
}
