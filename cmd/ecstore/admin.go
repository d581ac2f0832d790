package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ecstore/ecstore/admin"
	"github.com/ecstore/ecstore/server"
)

const adminUsage = `Usage: ecstore admin status [--endpoint URL] [--json]
       ecstore admin heal [--endpoint URL] [--deep] [--status]
       ecstore admin node add [--endpoint URL] --address HOST:PORT [--meta HOST:PORT] [--zone Z] [--weight W]
       ecstore admin node drain [--endpoint URL] NODE
       ecstore admin node remove [--endpoint URL] [--force] NODE
       ecstore admin node weight [--endpoint URL] NODE WEIGHT
       ecstore admin rebalance [--endpoint URL] [--wait] [--start]
       ecstore admin kms status [--endpoint URL] [--json]
       ecstore admin kms key create [--endpoint URL] NAME
       ecstore admin kms key list [--endpoint URL] [--json]
       ecstore admin kms rotate [--endpoint URL] --to ID [--status]

status shows the cluster as a gateway sees it: readiness, the erasure code,
every node and drive (online, used, free, size, weight, shards held),
degraded reads, the heal queue, the heal in progress, the cluster map epoch
and the rebalance. --json prints it as JSON.

node changes the cluster map of a gateway over remote nodes (each change is
a new map epoch, stored on the nodes): add appends a running node (started
without --cluster) with its drives, its metadata listener on --meta (by
default the port of --address plus 1000); drain stops new shards going to a node
and moves its shards away; remove takes a drained node out of the map
(refused until status says it is safe, unless --force); weight sets the
weight of a node's drives. After each change the gateway rebalances: it
moves exactly the shards whose placement changed (copy, verify, commit, then
delete the old copy). rebalance shows its progress; --wait follows it until
it is done; --start takes a pending rebalance over on this gateway.

kms shows the server-side encryption keys: the master keys of the key file
(--kms-key-file) with their key check values, the ones the metadata store
says sealed objects, and SSE-KMS's named keys (sealed by a master key, kept
in the metadata store); key create makes a named key for
x-amz-server-side-encryption-aws-kms-key-id (the key "default" is made on
first use by requests without a key id). rotate seals every object key
sealed by another master key, and every SSE-KMS key, under the key file's
key ID, without rewriting data, and follows it with a progress line; when
nothing failed, the master keys that sealed nothing any more are forgotten
by the store, so a key file without them starts. Before it, put ID first in
every gateway's key file (new objects are sealed with the first key) and
restart them. Running it again resumes: what is under ID already is passed
over. --status only shows the current or last rotation.

heal starts a heal of every object on a running ecstore (embedded server or
gateway) and follows it with a progress bar: objects and bytes scanned and
repaired, rate and ETA. --deep verifies every block checksum (a scrub);
--status only shows the current or last heal. Credentials come from
ECSTORE_ACCESS_KEY / ECSTORE_SECRET_KEY, else the --config file's
access-key / secret-key, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; the
endpoint from --endpoint, else ECSTORE_ENDPOINT, else the file's endpoint.
`

func runAdmin(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || !slices.Contains([]string{"heal", "status", "node", "rebalance", "kms"}, args[0]) {
		fmt.Fprint(stderr, adminUsage)
		return errors.New("admin: want a subcommand: status, heal, node, rebalance or kms")
	}
	if args[0] == "kms" {
		switch {
		case len(args) >= 2 && args[1] == "status":
			args = append([]string{"kms status"}, args[2:]...)
		case len(args) >= 3 && args[1] == "key" && (args[2] == "create" || args[2] == "list"):
			args = append([]string{"kms key " + args[2]}, args[3:]...)
		case len(args) >= 2 && args[1] == "rotate":
			args = append([]string{"kms rotate"}, args[2:]...)
		default:
			fmt.Fprint(stderr, adminUsage)
			return errors.New("admin kms: want status, key create NAME or key list")
		}
	}
	if args[0] == "node" {
		if len(args) < 2 || !slices.Contains([]string{"add", "drain", "remove", "weight"}, args[1]) {
			fmt.Fprint(stderr, adminUsage)
			return errors.New("admin node: want add, drain, remove or weight")
		}
		args = append([]string{"node " + args[1]}, args[2:]...)
	}
	fs := flag.NewFlagSet("admin "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, adminUsage+"\nFlags:\n"); fs.PrintDefaults() }
	fs.String("config", "", "YAML config `FILE`: endpoint, access-key, secret-key (other settings are ignored)")
	endpoint := fs.String("endpoint", "http://127.0.0.1:9000", "ecstore S3 endpoint URL (env ECSTORE_ENDPOINT)")
	deep := fs.Bool("deep", false, "heal: verify every block checksum (scrub)")
	statusOnly := fs.Bool("status", false, "heal: only show the current or last heal")
	asJSON := fs.Bool("json", false, "status: print JSON")
	address := fs.String("address", "", "node add: the new node's internode `HOST:PORT`")
	meta := fs.String("meta", "", "node add: the new node's metadata (Raft) listener `HOST:PORT` (default: the host of --address, its port + 1000)")
	zone := fs.String("zone", "", "node add: the new node's zone (default: the one it was started with)")
	weight := fs.Float64("weight", 0, "node add: weight of the new node's drives (default 1)")
	force := fs.Bool("force", false, "node remove: remove even if not drained (its shards lose redundancy until healed)")
	wait := fs.Bool("wait", false, "rebalance: follow it until it is done")
	start := fs.Bool("start", false, "rebalance: take a pending rebalance over on this gateway")
	rotateTo := fs.String("to", "", "kms rotate: the key file's key `ID` to seal everything under")
	st, err := parseClientSettings(fs, args[1:], "endpoint")
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	c := &admin.Client{Endpoint: *endpoint,
		AccessKey: st.clientCredential("access-key", "AWS_ACCESS_KEY_ID", server.DefaultAccessKey),
		SecretKey: st.clientCredential("secret-key", "AWS_SECRET_ACCESS_KEY", server.DefaultSecretKey)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "node add", "node drain", "node remove", "node weight":
		return runNodeOp(ctx, c, strings.TrimPrefix(args[0], "node "), st.Args, url.Values{
			"address": {*address}, "meta": {*meta}, "zone": {*zone}, "weight": {strconv.FormatFloat(*weight, 'g', -1, 64)},
			"force": {strconv.FormatBool(*force)}}, stdout)
	case "rebalance":
		return runRebalance(ctx, c, *start, *wait, stdout)
	case "kms status", "kms key list", "kms key create":
		return runKMS(ctx, c, args[0], st.Args, *asJSON, stdout)
	case "kms rotate":
		return runRotate(ctx, c, *rotateTo, *statusOnly, stdout)
	}
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
		if err := pause(ctx, stdout); err != nil {
			return err
		}
	}
}

// runNodeOp runs one `admin node` operation.
func runNodeOp(ctx context.Context, c *admin.Client, op string, rest []string, flags url.Values, stdout io.Writer) error {
	q := url.Values{}
	switch op {
	case "add":
		if flags.Get("address") == "" || len(rest) > 0 {
			return errors.New("admin node add: want --address HOST:PORT (and optionally --meta, --zone, --weight), no other arguments")
		}
		q.Set("address", flags.Get("address"))
		if m := flags.Get("meta"); m != "" {
			q.Set("meta", m)
		}
		if z := flags.Get("zone"); z != "" {
			q.Set("zone", z)
		}
		if w := flags.Get("weight"); w != "0" {
			q.Set("weight", w)
		}
	case "weight":
		if len(rest) != 2 {
			return errors.New("admin node weight: want NODE WEIGHT")
		}
		q.Set("id", rest[0])
		q.Set("weight", rest[1])
	default:
		if len(rest) != 1 {
			return fmt.Errorf("admin node %s: want one NODE id", op)
		}
		q.Set("id", rest[0])
		if op == "remove" {
			q.Set("force", flags.Get("force"))
		}
	}
	ch, err := c.NodeOp(ctx, op, q)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cluster map epoch %d: %s\n", ch.Epoch, ch.Message)
	return nil
}

// runRebalance shows (and with wait, follows) the rebalance.
func runRebalance(ctx context.Context, c *admin.Client, start, wait bool, stdout io.Writer) error {
	if start {
		ch, err := c.StartRebalance(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cluster map epoch %d: %s\n", ch.Epoch, ch.Message)
	}
	for {
		st, err := c.Rebalance(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\r%s", admin.RebalanceLine(st))
		if !wait || !st.Pending {
			fmt.Fprintln(stdout)
			if st.Error != "" && st.Pending {
				return fmt.Errorf("rebalance ended with an error: %s", st.Error)
			}
			return nil
		}
		// A walk that ended with objects not moved (a drive offline, an
		// object written meanwhile) is started again by the gateway within
		// seconds: keep following.
		if err := pause(ctx, stdout); err != nil {
			return err
		}
	}
}

// pause waits between two progress lines, or ends the line when ctx does.
func pause(ctx context.Context, stdout io.Writer) error {
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout)
		return ctx.Err()
	case <-time.After(500 * time.Millisecond):
		return nil
	}
}

// runKMS runs one `admin kms` operation.
func runKMS(ctx context.Context, c *admin.Client, op string, rest []string, asJSON bool, stdout io.Writer) error {
	var st admin.KMSStatus
	var err error
	if op == "kms key create" {
		if len(rest) != 1 {
			return errors.New("admin kms key create: want one NAME")
		}
		if st, err = c.CreateKMSKey(ctx, rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created KMS key %q\n", rest[0])
	} else if st, err = c.KMSStatus(ctx); err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	if op == "kms key list" {
		for _, k := range st.Keys {
			fmt.Fprintln(stdout, k.Name)
		}
		return nil
	}
	fmt.Fprint(stdout, admin.FormatKMS(st))
	return nil
}

// runRotate starts a key rotation (unless statusOnly) and follows it.
func runRotate(ctx context.Context, c *admin.Client, to string, statusOnly bool, stdout io.Writer) error {
	if !statusOnly {
		if to == "" {
			return errors.New("admin kms rotate: want --to ID")
		}
		if _, err := c.StartRotate(ctx, to); err != nil {
			return err
		}
	}
	for {
		st, err := c.RotateStatus(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\rrotate to %s: %d versions examined, %d resealed, %d SSE-KMS keys resealed, %d failed",
			st.To, st.Versions, st.Resealed, st.KMSKeys, st.Failed)
		if !st.Running {
			fmt.Fprintln(stdout)
			if st.Error != "" {
				return fmt.Errorf("rotation ended with an error: %s", st.Error)
			}
			if len(st.Forgotten) > 0 {
				fmt.Fprintf(stdout, "done; the store forgot master keys %s: a key file without them now starts\n", strings.Join(st.Forgotten, ", "))
			} else if st.Done {
				fmt.Fprintln(stdout, "done")
			}
			return nil
		}
		if err := pause(ctx, stdout); err != nil {
			return err
		}
	}
}
