// Command ecstore is the S3-compatible erasure-coded object store.
//
//	ecstore server [--address HOST:PORT] [--ec K+M] [DRIVE_DIR...]
//
// runs the embedded store: one process, one drive per folder, S3 on HOST:PORT.
// With no arguments it keeps 6 drives under ./ecstore-data with EC 4+2 and
// listens on 127.0.0.1:9000.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ecstore/ecstore/server"
)

const usage = `ecstore: an S3-compatible, erasure-coded object store

Usage:
  ecstore server [flags] [DRIVE_DIR...]   run the embedded store (S3 gateway + local drives)

Run "ecstore server --help" for the server's flags.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ecstore:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing command")
	}
	switch args[0] {
	case "server":
		return runServer(args[1:], stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func runServer(args []string, stderr io.Writer) error {
	cfg := server.DefaultConfig()
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: ecstore server [flags] [DRIVE_DIR...]

Runs the embedded ecstore: the S3 gateway and one local drive per DRIVE_DIR,
in one process. With no DRIVE_DIR it uses 6 drives under ./ecstore-data.

Credentials come from ECSTORE_ACCESS_KEY and ECSTORE_SECRET_KEY; without them
the local-only default %s / %s is used (and a warning logged).

Flags:
`, server.DefaultAccessKey, server.DefaultSecretKey)
		fs.PrintDefaults()
	}
	ecFlag := fs.String("ec", envOr("ECSTORE_EC", "4+2"), "erasure coding K+M: K data and M parity shards per object (env ECSTORE_EC)")
	fs.StringVar(&cfg.Address, "address", envOr("ECSTORE_ADDRESS", cfg.Address), "S3 listen address HOST:PORT (env ECSTORE_ADDRESS)")
	logFormat := fs.String("log-format", envOr("ECSTORE_LOG_FORMAT", "text"), "log format: text or json (env ECSTORE_LOG_FORMAT)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	var err error
	if cfg.DataShards, cfg.ParityShards, err = server.ParseEC(*ecFlag); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		cfg.DriveDirs = fs.Args()
	}
	cfg.AccessKey, cfg.SecretKey = os.Getenv("ECSTORE_ACCESS_KEY"), os.Getenv("ECSTORE_SECRET_KEY")
	if cfg.AccessKey == "" && cfg.SecretKey == "" {
		cfg.AccessKey, cfg.SecretKey = server.DefaultAccessKey, server.DefaultSecretKey
	}
	switch *logFormat {
	case "json":
		cfg.Logger = slog.New(slog.NewJSONHandler(stderr, nil))
	case "text":
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	default:
		return fmt.Errorf("--log-format %q: want text or json", *logFormat)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return server.Run(ctx, cfg, nil)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
