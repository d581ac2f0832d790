package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ecstore/ecstore/bench"
	"github.com/ecstore/ecstore/server"
)

const benchUsage = `Usage: ecstore bench [--endpoint URL] [--phases put,get,mixed,list,listversions,delete]
                    [--size 1MiB] [--concurrency N] (--duration 30s | --ops N) [flags]

Load-tests any S3 endpoint (ecstore, MinIO, AWS): each phase runs
--concurrency workers until --duration or --ops (whichever comes first),
then reports operations, errors by S3 code, MiB/s (2^20 bytes per second),
objects/s and latency percentiles. Phases:

  put           write new objects
  get           read the objects written, a sample (--verify-sample) checked byte for byte
  mixed         60% GET, 30% PUT of new objects, 10% DELETE of objects PUT in the phase
  list          ListObjectsV2 walks over the run's prefix, pages of 1000 keys
  listversions  ListObjectVersions walks over the run's prefix, pages of 1000
                versions and delete markers (obj/s: versions/s)
  delete        delete the objects written

The list phases walk a prefix that already holds objects (--prefix, with
--keep) without writing any; otherwise they first write --ops objects.

Objects go to BUCKET/bench-<timestamp>/obj-NNNNNNNN; the bucket is created
if missing, and everything is deleted at the end unless --keep. Sizes take
SI or binary units: 1000, 10MB, 4KiB, 64MiB. A progress line goes to stderr,
the result table (or --json) to stdout. The exit status is 1 when any
operation failed.

Credentials: --access-key / --secret-key, else ECSTORE_ACCESS_KEY /
ECSTORE_SECRET_KEY, else the --config file's access-key / secret-key, else
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else ecstore's local default.
`

func runBench(args []string, stdout, stderr io.Writer) error {
	cfg := bench.DefaultConfig()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage+"\nFlags:\n"); fs.PrintDefaults() }
	fs.String("config", "", "YAML config `FILE`: endpoint, access-key, secret-key (other settings are ignored)")
	fs.StringVar(&cfg.Endpoint, "endpoint", cfg.Endpoint, "S3 endpoint URL (env ECSTORE_ENDPOINT)")
	// Credentials have no flag default, so --help never prints a secret.
	accessKey := fs.String("access-key", "", "access key (default from the environment, see above)")
	secretKey := fs.String("secret-key", "", "secret key (default from the environment, see above)")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "region to sign for, and of a bucket created")
	fs.StringVar(&cfg.Bucket, "bucket", cfg.Bucket, "bucket for the run's objects, created if missing")
	prefix := fs.String("prefix", "", "key prefix (default bench-<UTC timestamp>)")
	phases := fs.String("phases", "put,get,delete", "phases to run, in order: put, get, mixed, list, listversions, delete, or all")
	size := fs.String("size", bench.FormatSize(cfg.Size), "object size: 4KiB, 1MiB, 64MiB, 1000, 10MB, ...")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "workers, each with one request in flight")
	duration := fs.Duration("duration", 0, "length of each phase (default 30s unless --ops is given)")
	fs.Int64Var(&cfg.Ops, "ops", 0, "operations per phase (for list and listversions: pages)")
	randomData := fs.Bool("random-data", true, "send random bytes (generated once, before the run)")
	fixedData := fs.Bool("fixed-data", false, "send one repeated byte instead of random data")
	fs.Float64Var(&cfg.VerifySample, "verify-sample", cfg.VerifySample, "fraction of GETs compared byte for byte with what was written (0: none)")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "skip TLS certificate verification")
	fs.StringVar(&cfg.SSE, "sse", "", "ask every PUT for server-side encryption `METHOD` (AES256: SSE-S3)")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the objects (and a bucket the run created)")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "`PID` of the server on this machine (Linux): report the CPU time it used per phase")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", cfg.RequestTimeout, "deadline of each request, body included")
	jsonOut := fs.Bool("json", false, "print the results as JSON on stdout instead of a table")
	quiet := fs.Bool("quiet", false, "no progress line")
	st, err := parseClientSettings(fs, args, "endpoint")
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if len(st.Args) > 0 {
		return fmt.Errorf("bench takes no arguments (got %q)", st.Args)
	}
	if cfg.Phases, err = bench.ParsePhases(*phases); err != nil {
		return err
	}
	if cfg.Size, err = bench.ParseSize(*size); err != nil {
		return err
	}
	cfg.Prefix, cfg.Duration = *prefix, *duration
	if cfg.Duration == 0 && cfg.Ops == 0 {
		cfg.Duration = bench.DefaultConfig().Duration
	}
	cfg.FixedData = *fixedData || !*randomData
	if cfg.VerifySample == 0 {
		cfg.VerifySample = -1 // none; zero in Config means the default
	}
	cfg.AccessKey = *accessKey
	if cfg.AccessKey == "" {
		cfg.AccessKey = st.clientCredential("access-key", "AWS_ACCESS_KEY_ID", server.DefaultAccessKey)
	}
	cfg.SecretKey = *secretKey
	if cfg.SecretKey == "" {
		cfg.SecretKey = st.clientCredential("secret-key", "AWS_SECRET_ACCESS_KEY", server.DefaultSecretKey)
	}
	cfg.Log = stderr
	if !*quiet {
		cfg.Progress = stderr
		cfg.ProgressTerminal = isTerminal(stderr)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the process, clean-up or not
	}()
	results, runErr := bench.Run(ctx, cfg)
	if len(results) > 0 || runErr == nil {
		var err error
		if *jsonOut {
			err = bench.WriteJSON(stdout, results)
		} else {
			err = bench.WriteTable(stdout, results)
		}
		if err != nil {
			return err
		}
	}
	if errors.Is(runErr, context.Canceled) {
		return errors.New("bench interrupted")
	}
	if runErr != nil {
		return runErr
	}
	var failed int64
	for _, r := range results {
		failed += r.Errors
	}
	if failed > 0 {
		return fmt.Errorf("bench: %d operations failed", failed)
	}
	return nil
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
