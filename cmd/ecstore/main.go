package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ecstore/ecstore/server"
)

const usage = `ecstore: an S3-compatible, erasure-coded object store

Usage:
  ecstore server [flags] [DRIVE_DIR...]   run the embedded store (S3 gateway + local drives)
  ecstore node [flags] DRIVE_DIR...       run a storage node of a cluster
  ecstore gateway [flags]                 run an S3 gateway over a cluster's nodes
  ecstore admin status|heal [flags]       cluster status; heal every object, with a progress bar
  ecstore bench [flags]                   load-test any S3 endpoint (PUT/GET/mixed/list/delete)
  ecstore certs [flags]                   make a private CA and TLS certificates for every process

Run "ecstore COMMAND --help" for a command's flags.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ecstore:", err)
		os.Exit(exitCode(err))
	}
}

// exitCode is the process's exit status for an error: 3 when a drive's
// index failed (a restart recovers it; restart policies key on it), else 1.
func exitCode(err error) int {
	if errors.Is(err, server.ErrDriveIndexFailed) {
		return 3
	}
	return 1
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing command")
	}
	switch args[0] {
	case "server":
		return runServer(args[1:], stderr)
	case "node":
		return runNode(args[1:], stderr)
	case "gateway":
		return runGateway(args[1:], stderr)
	case "admin":
		return runAdmin(args[1:], stdout, stderr)
	case "bench":
		return runBench(args[1:], stdout, stderr)
	case "certs":
		return runCerts(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// versioningUsage is the help of --experimental-versioning, which earlier
// versions needed for versioning and which is still accepted (so that
// scripts written for them run).
const versioningUsage = "no longer needed: versioning is always available (a bucket turns it on once every drive of the cluster runs a version that keeps versions)"

// kmsKeyFileUsage is --kms-key-file's help, the same in every role.
const kmsKeyFileUsage = "key ring `FILE` of server-side encryption (SSE-S3): one 32-byte key, raw or base64 (openssl rand -base64 32 > FILE), or lines ID:BASE64 whose first key seals new objects; every gateway needs the same file"

func runServer(args []string, stderr io.Writer) error {
	cfg := server.DefaultConfig()
	fs := newFlagSet("server", fmt.Sprintf(`Usage: ecstore server [flags] [DRIVE_DIR...]

Runs the embedded ecstore: the S3 gateway and one local drive per DRIVE_DIR,
in one process. With no DRIVE_DIR it uses 6 drives under ./ecstore-data with
erasure coding 4+2, listening on 127.0.0.1:9000.

Credentials come from ECSTORE_ACCESS_KEY and ECSTORE_SECRET_KEY (or the
config file's access-key and secret-key); without them the local-only
default %s / %s is used, and a warning logged.

Operator endpoints on the S3 port (unsigned GET): /metrics (Prometheus),
/health/live, /health/ready; the web console at /console.
`, server.DefaultAccessKey, server.DefaultSecretKey), stderr)
	ecFlag := fs.String("ec", "4+2", "erasure coding `K+M`: K data and M parity shards per object")
	fs.StringVar(&cfg.Address, "address", cfg.Address, "S3 listen address `HOST:PORT`")
	fs.StringVar(&cfg.Domain, "domain", "", "serve virtual-hosted-style requests for BUCKET.`DOMAIN` as well as path style")
	fs.DurationVar(&cfg.UploadExpiry, "upload-expiry", cfg.UploadExpiry, "abort multipart uploads left unfinished for `DURATION` (negative: never)")
	fs.Bool("experimental-versioning", false, versioningUsage)
	fs.DurationVar(&cfg.PresignV2MaxAge, "presign-v2-max-age", cfg.PresignV2MaxAge, "refuse Signature Version 2 presigned URLs valid for longer than `DURATION` (SigV4's own limit is 7 days)")
	fs.StringVar(&cfg.CertFile, "tls-cert", "", "TLS certificate `FILE` (PEM) for the S3 endpoint")
	fs.StringVar(&cfg.KeyFile, "tls-key", "", "TLS key `FILE` (PEM) for the S3 endpoint")
	fs.StringVar(&cfg.KMSKeyFile, "kms-key-file", "", kmsKeyFileUsage)
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "on SIGTERM, wait up to `DURATION` for requests in flight")
	timeoutFlags(fs, &cfg.Timeouts)
	fs.DurationVar(&cfg.DeleteGrace, "delete-grace", cfg.DeleteGrace, deleteGraceUsage)
	fs.BoolVar(&cfg.AdoptEmptyDrives, "adopt-empty-drives", false, "for one start: adopt empty drive folders as replacements even when fewer than a quorum of the set's drives are present (what the replaced drives held is lost)")
	logFormat := fs.String("log-format", "text", "log format: `text|json`")
	pprofAddr := pprofFlag(fs)
	st, err := parseSettings(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := servePprof(*pprofAddr); err != nil {
		return err
	}
	if cfg.DataShards, cfg.ParityShards, err = server.ParseEC(*ecFlag); err != nil {
		return err
	}
	if len(st.Args) > 0 {
		cfg.DriveDirs = st.Args
	}
	cfg.AccessKey, cfg.SecretKey = st.Secret("access-key"), st.Secret("secret-key")
	if cfg.AccessKey == "" && cfg.SecretKey == "" {
		cfg.AccessKey, cfg.SecretKey = server.DefaultAccessKey, server.DefaultSecretKey
	}
	if cfg.Logger, err = newLogger(*logFormat, stderr); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return server.Run(ctx, cfg, nil)
}

// timeoutFlags binds the S3 endpoint's client timeouts (server and
// gateway).
func timeoutFlags(fs *flag.FlagSet, t *server.Timeouts) {
	t.EnsureDefaults()
	fs.DurationVar(&t.BodyIdle, "body-idle-timeout", t.BodyIdle, "answer 400 RequestTimeout to a request whose body sends nothing for `DURATION` (negative: never)")
	fs.DurationVar(&t.WriteIdle, "write-idle-timeout", t.WriteIdle, "cut a client that reads nothing of its response for `DURATION` (negative: never)")
	fs.DurationVar(&t.KeepAliveIdle, "idle-timeout", t.KeepAliveIdle, "close a keep-alive connection idle for `DURATION` (negative: never)")
}

func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// clusterSecret reads the cluster secret (ECSTORE_CLUSTER_SECRET or the
// config file's cluster-secret).
func clusterSecret(st *settings) ([]byte, error) {
	s := st.Secret("cluster-secret")
	if s == "" {
		return nil, errors.New("set ECSTORE_CLUSTER_SECRET (at least 16 bytes, the same on every node and gateway)")
	}
	return []byte(s), nil
}

func runNode(args []string, stderr io.Writer) error {
	cfg := server.DefaultNodeConfig()
	fs := newFlagSet("node", `Usage: ecstore node --address HOST:PORT --id ID [--zone Z] [--cluster FILE] DRIVE_DIR...

Runs one storage node: serves its drives (one per DRIVE_DIR) to the cluster's
gateways over the signed internode API. The cluster secret comes from
ECSTORE_CLUSTER_SECRET (or the config file's cluster-secret).
`, stderr)
	fs.StringVar(&cfg.Address, "address", "", "internode listen address `HOST:PORT`")
	fs.StringVar(&cfg.ID, "id", "", "node `ID`, as in the cluster map")
	fs.StringVar(&cfg.Zone, "zone", "", "failure `ZONE`")
	fs.StringVar(&cfg.ClusterFile, "cluster", "", "cluster map `FILE` (YAML); recommended")
	fs.StringVar(&cfg.CertFile, "tls-cert", "", "TLS certificate `FILE` (PEM) for the internode API and the metadata port")
	fs.StringVar(&cfg.KeyFile, "tls-key", "", "TLS key `FILE` (PEM) for the internode API and the metadata port")
	fs.StringVar(&cfg.InternodeCA, "internode-ca", "", "CA certificate `FILE` (PEM) of the other nodes' metadata ports (required with --tls-cert)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "on SIGTERM, wait up to `DURATION` for requests in flight")
	fs.DurationVar(&cfg.DeleteGrace, "delete-grace", cfg.DeleteGrace, deleteGraceUsage)
	recoverMeta := fs.String("meta-recover", "", "once, after the metadata group lost a majority of its voters for good: make the surviving voters `ID,ID...` (this node among them) the group's only voters; run every survivor with the same list")
	logFormat := fs.String("log-format", "text", "log format: `text|json`")
	pprofAddr := pprofFlag(fs)
	st, err := parseSettings(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := servePprof(*pprofAddr); err != nil {
		return err
	}
	cfg.DriveDirs = st.Args
	if *recoverMeta != "" {
		cfg.MetaRecover = strings.Split(*recoverMeta, ",")
	}
	if cfg.ID == "" {
		cfg.ID = os.Getenv("ECSTORE_NODE_ID") // the name before ECSTORE_ID
	}
	if cfg.Secret, err = clusterSecret(st); err != nil {
		return err
	}
	if cfg.Logger, err = newLogger(*logFormat, stderr); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return server.RunNode(ctx, cfg, nil)
}

func runGateway(args []string, stderr io.Writer) error {
	cfg := server.DefaultGatewayConfig()
	fs := newFlagSet("gateway", `Usage: ecstore gateway --address HOST:PORT --cluster FILE

Runs an S3 gateway over the storage nodes of the cluster map. Any number of
gateways can serve the same nodes. S3 credentials come from
ECSTORE_ACCESS_KEY / ECSTORE_SECRET_KEY, the cluster secret from
ECSTORE_CLUSTER_SECRET (or the config file's access-key, secret-key,
cluster-secret).

Operator endpoints on the S3 port (unsigned GET): /metrics (Prometheus),
/health/live, /health/ready; the web console at /console.
`, stderr)
	fs.StringVar(&cfg.Address, "address", cfg.Address, "S3 listen address `HOST:PORT`")
	fs.StringVar(&cfg.ClusterFile, "cluster", "", "cluster map `FILE` (YAML)")
	fs.StringVar(&cfg.Domain, "domain", "", "serve virtual-hosted-style requests for BUCKET.`DOMAIN` as well as path style")
	fs.DurationVar(&cfg.UploadExpiry, "upload-expiry", cfg.UploadExpiry, "abort multipart uploads left unfinished for `DURATION` (negative: never)")
	fs.Bool("experimental-versioning", false, versioningUsage)
	fs.DurationVar(&cfg.PresignV2MaxAge, "presign-v2-max-age", cfg.PresignV2MaxAge, "refuse Signature Version 2 presigned URLs valid for longer than `DURATION` (SigV4's own limit is 7 days)")
	fs.StringVar(&cfg.StateDir, "state-dir", "", "`DIR` for the gateway's own state (heal and rebalance progress, resumed after a restart; the newest cluster map)")
	fs.Float64Var(&cfg.RebalanceRate, "rebalance-rate", 0, "bound the rebalance after a cluster map change to `N` objects a second (0: full speed)")
	fs.StringVar(&cfg.InternodeCA, "internode-ca", "", "CA certificate `FILE` (PEM) of nodes served over TLS")
	fs.StringVar(&cfg.CertFile, "tls-cert", "", "TLS certificate `FILE` (PEM) for the S3 endpoint")
	fs.StringVar(&cfg.KeyFile, "tls-key", "", "TLS key `FILE` (PEM) for the S3 endpoint")
	fs.StringVar(&cfg.KMSKeyFile, "kms-key-file", "", kmsKeyFileUsage)
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "on SIGTERM, wait up to `DURATION` for requests in flight")
	timeoutFlags(fs, &cfg.Timeouts)
	logFormat := fs.String("log-format", "text", "log format: `text|json`")
	pprofAddr := pprofFlag(fs)
	st, err := parseSettings(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := servePprof(*pprofAddr); err != nil {
		return err
	}
	if len(st.Args) > 0 {
		return fmt.Errorf("gateway takes no arguments (got %q); drives come from the cluster map", st.Args)
	}
	if cfg.Secret, err = clusterSecret(st); err != nil {
		return err
	}
	cfg.AccessKey, cfg.SecretKey = st.Secret("access-key"), st.Secret("secret-key")
	if cfg.Logger, err = newLogger(*logFormat, stderr); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return server.RunGateway(ctx, cfg, nil)
}

// pprofFlag declares --pprof-address (env ECSTORE_PPROF_ADDRESS) on fs.
func pprofFlag(fs *flag.FlagSet) *string {
	return fs.String("pprof-address", "", "serve Go profiles (net/http/pprof) on `HOST:PORT`, for performance work; keep it on localhost")
}

// servePprof serves net/http/pprof on its own listener (never on the S3
// or internode port); an empty addr serves nothing.
func servePprof(addr string) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof-address: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return nil
}

const deleteGraceUsage = "keep a deleted or replaced version's shard files readable for `DURATION` for the GETs that started on it (negative: remove at once)"
