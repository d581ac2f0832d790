package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ecstore/ecstore/admin"
	"github.com/ecstore/ecstore/server"
)

const adminUsage = `Usage: ecstore admin status [--endpoint URL] [--json]
       ecstore admin heal [--endpoint URL] [--deep] [--status]

status shows the cluster as a gateway sees it: readiness, the erasure code,
every node and drive (online, used, free, size, weight), degraded reads, the
heal queue and the heal in progress. --json prints it as JSON.

heal starts a heal of every object on a running ecstore (embedded server or
gateway) and follows it with a progress bar: objects and bytes scanned and
repaired, rate and ETA. --deep verifies every block checksum (a scrub);
--status only shows the current or last heal. Credentials come from
ECSTORE_ACCESS_KEY / ECSTORE_SECRET_KEY (or AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY), the endpoint from --endpoint or ECSTORE_ENDPOINT.
`

func runAdmin(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "heal" && args[0] != "status") {
		fmt.Fprint(stderr, adminUsage)
		return errors.New("admin: want a subcommand: status or heal")
	}
	fs := flag.NewFlagSet("admin "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, adminUsage+"\nFlags:\n"); fs.PrintDefaults() }
	endpoint := fs.String("endpoint", envOr("ECSTORE_ENDPOINT", "http://127.0.0.1:9000"), "ecstore S3 endpoint URL")
	deep := fs.Bool("deep", false, "heal: verify every block checksum (scrub)")
	statusOnly := fs.Bool("status", false, "heal: only show the current or last heal")
	asJSON := fs.Bool("json", false, "status: print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	c := &admin.Client{Endpoint: *endpoint,
		AccessKey: firstEnv("ECSTORE_ACCESS_KEY", "AWS_ACCESS_KEY_ID", server.DefaultAccessKey),
		SecretKey: firstEnv("ECSTORE_SECRET_KEY", "AWS_SECRET_ACCESS_KEY", server.DefaultSecretKey)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if args[0] == "status" {
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		}
		fmt.Fprint(stdout, admin.FormatStatus(st))
		if !st.Ready {
			return errors.New("the cluster is not ready: too few drives answer for quorum")
		}
		return nil
	}
	if !*statusOnly {
		if _, err := c.StartHeal(ctx, *deep); err != nil {
			return err
		}
	}
	for {
		st, err := c.HealStatus(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\r%s", admin.ProgressLine(st))
		if !st.Running {
			fmt.Fprintln(stdout)
			if st.Error != "" {
				return fmt.Errorf("heal ended with an error: %s", st.Error)
			}
			if st.ObjectsFailed > 0 {
				return fmt.Errorf("heal done, but %d objects could not be brought back to full redundancy (drives offline, or lost)", st.ObjectsFailed)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(stdout)
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func firstEnv(a, b, def string) string {
	if v := os.Getenv(a); v != "" {
		return v
	}
	if v := os.Getenv(b); v != "" {
		return v
	}
	return def
}
