package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ecstore/ecstore/admin"
	"github.com/ecstore/ecstore/console"
	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/s3compat"
	"github.com/ecstore/ecstore/s3compat/sigv4"
	"github.com/ecstore/ecstore/storagenode/local"
	"github.com/ecstore/ecstore/storagenode/scrub"
)

// Default credentials for local use only. Run logs a warning when they are
// in use.
const (
	DefaultAccessKey = "ecstoreadmin"
	DefaultSecretKey = "ecstoreadmin-secret"
)

// Config configures the embedded server.
type Config struct {
	// Address is where the S3 endpoint listens. Default "127.0.0.1:9000".
	Address string
	// DriveDirs are the drive folders, one drive each. Default: 6 folders
	// ./ecstore-data/drive1 ... drive6.
	DriveDirs []string
	// DataShards (k) and ParityShards (m). Default 4+2.
	DataShards, ParityShards int
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

// DefaultConfig returns the working embedded default.
func DefaultConfig() Config {
	c := Config{}
	c.EnsureDefaults()
	return c
}

// EnsureDefaults fills unset fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.Address == "" {
		c.Address = "127.0.0.1:9000"
	}
	if len(c.DriveDirs) == 0 {
		for i := 1; i <= 6; i++ {
			c.DriveDirs = append(c.DriveDirs, filepath.Join("ecstore-data", fmt.Sprintf("drive%d", i)))
		}
	}
	if c.DataShards == 0 && c.ParityShards == 0 {
		c.DataShards, c.ParityShards = 4, 2
	}
	if c.AccessKey == "" && c.SecretKey == "" {
		c.AccessKey, c.SecretKey = DefaultAccessKey, DefaultSecretKey
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.UploadExpiry == 0 {
		c.UploadExpiry = DefaultUploadExpiry
	}
	c.Timeouts.EnsureDefaults()
	if c.PresignV2MaxAge == 0 {
		c.PresignV2MaxAge = DefaultPresignV2MaxAge
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
	if c.AccessKey == "" || c.SecretKey == "" {
		return errors.New("set both ECSTORE_ACCESS_KEY and ECSTORE_SECRET_KEY, or neither for the local default")
	}
	if len(c.SecretKey) < 8 {
		return errors.New("ECSTORE_SECRET_KEY must be at least 8 characters")
	}
	if c.PresignV2MaxAge < time.Second {
		return fmt.Errorf("--presign-v2-max-age %v is too short; give at least 1s (default %v)", c.PresignV2MaxAge, DefaultPresignV2MaxAge)
	}
	return c.Timeouts.Validate()
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
	var drives []gateway.Drive
	defer func() {
		for _, d := range drives {
			if err := d.Close(); err != nil {
				log.Error("close drive", "drive", d.ID(), "err", err)
			}
		}
	}()
	ids := make([]string, len(cfg.DriveDirs))
	for i := range ids {
		ids[i] = fmt.Sprintf("drive%d", i+1)
	}
	set, err := openSet(driveSet{
		Dirs: cfg.DriveDirs, IDs: ids, Quorum: startQuorum(len(ids), cfg.DataShards, cfg.ParityShards),
		AdoptEmpty: cfg.AdoptEmptyDrives, Log: log,
		Open: func(dir, id string) (*local.Drive, error) {
			return local.Open(dir, local.Options{ID: id, Logger: log, DeleteGrace: cfg.DeleteGrace, OnIndexFatal: func(err error) {
				log.Error("drive index failed; the drive is offline until the server restarts", "drive", id, "err", err)
			}})
		},
	})
	if err != nil {
		return err
	}
	for _, d := range set {
		// In the embedded server every drive folder is its own node.
		drives = append(drives, gateway.Drive{Drive: met.instrument(d), Node: d.ID(), Weight: 1})
		if _, ok := d.(*local.Drive); ok {
			go (&scrub.Scrubber{Drive: d, Logger: log}).Run(ctx)
		}
	}
	layer, err := gateway.New(gateway.Config{
		Drives: drives, DataShards: cfg.DataShards, ParityShards: cfg.ParityShards, Logger: log,
	})
	if err != nil {
		return err
	}
	if err := layer.HealBuckets(ctx); err != nil {
		log.Warn("bucket heal at start failed", "err", err)
	}
	// The embedded server keeps its heal progress in the first drive's
	// folder, so an operator's heal resumes after a restart.
	layer.Healer().SetStateFile(filepath.Join(cfg.DriveDirs[0], "gateway", "heal.json"))
	if _, err := layer.Healer().Resume(ctx); err != nil {
		log.Warn("could not resume the last heal", "err", err)
	}
	creds := map[string]string{cfg.AccessKey: cfg.SecretKey}
	handler := startServices(ctx, layer, met, creds, s3compat.Config{Region: cfg.Region, Domain: cfg.Domain, MaxPresignV2: cfg.PresignV2MaxAge}, cfg.UploadExpiry, log, nil)
	return serve(ctx, serveConfig{
		name: "ecstore S3 endpoint", address: cfg.Address, handler: handler, log: log,
		certFile: cfg.CertFile, keyFile: cfg.KeyFile, shutdownTimeout: cfg.ShutdownTimeout, ready: ready,
		timeouts: cfg.Timeouts,
	}, "drives", len(drives), "ec", fmt.Sprintf("%d+%d", cfg.DataShards, cfg.ParityShards))
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
func startServices(ctx context.Context, layer *gateway.Layer, m *metrics, creds map[string]string, s3cfg s3compat.Config, uploadExpiry time.Duration, log *slog.Logger, members admin.Membership) http.Handler {
	go layer.RunHealer(ctx)
	go layer.RunUploadExpiry(ctx, uploadExpiry, time.Hour)
	go layer.RunScanner(ctx, scanInterval, scanRate, false)
	m.attach(layer)
	s3cfg.Credentials, s3cfg.Logger, s3cfg.Observe = creds, log, m.observe
	s3 := s3compat.NewServer(layer, s3cfg)
	// The console takes only unauthenticated requests under /console (see
	// package console); signed S3 requests to a bucket "console" pass on.
	web := console.NewHandler(layer, creds, log).Mount(s3.Handler())
	ah := admin.NewHandler(layer, creds, log)
	if members != nil {
		ah.SetMembership(members)
	}
	return m.mount(layer, ah.Mount(web))
}

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
