package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/ecstore/ecstore/meta"
	"github.com/ecstore/ecstore/storagenode"
)

// leaseStore is the metadata group's leases, as a member or a client
// holds them.
type leaseStore interface {
	AcquireLease(ctx context.Context, job, holder string, ttl time.Duration) (uint64, error)
	RenewLease(ctx context.Context, job, holder string, token uint64, ttl time.Duration) error
	ReleaseLease(ctx context.Context, job, holder string, token uint64) error
	Lease(job string) (meta.Lease, bool)
}

var (
	_ leaseStore = (*meta.Store)(nil)
	_ leaseStore = (*meta.Client)(nil)
)

// The cluster-wide jobs run under a lease, by one gateway at a time.
const (
	leaseScanner      = "scanner"
	leaseUploadExpiry = "upload-expiry"
	leaseLifecycle    = "lifecycle"
	leaseRebalance    = "rebalance" // cluster gateways only: the walk after a map change
)

// leaseTTL is a job lease's length. The holder renews it every third of
// it and stops the job itself when no renewal succeeded for leaseFence,
// well before another gateway can be granted the lease (after leaseTTL,
// judged by its own clock): clocks may differ by up to the difference.
// (Variables: tests shorten them.)
var (
	leaseTTL   = 30 * time.Second
	leaseFence = 20 * time.Second
)

// testLeaseTTL is a test hook: ECSTORE_TEST_LEASE_TTL=DURATION shortens
// the job leases (renewals and the self-fence scale with it), so that the
// end-to-end tests that wait for a lease to pass on wait less. Call it
// before any lease is asked for.
func testLeaseTTL(log *slog.Logger) {
	v := os.Getenv("ECSTORE_TEST_LEASE_TTL")
	if v == "" {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		log.Warn("test hook ECSTORE_TEST_LEASE_TTL ignored: want a duration of 1s or more", "value", v)
		return
	}
	leaseTTL, leaseFence = d, d*2/3
	log.Warn("test hook ECSTORE_TEST_LEASE_TTL: job leases last "+d.String(), "fence", leaseFence)
}

// testLifecycleDay is a test hook: ECSTORE_TEST_LIFECYCLE_DAY=DURATION
// makes a lifecycle day that long (counted from each version's time, not
// rounded to midnight) and runs lifecycle passes twice a day, so that
// end-to-end tests see rules act. 0 without it (S3's days, hourly passes).
func testLifecycleDay() time.Duration {
	d, err := time.ParseDuration(os.Getenv("ECSTORE_TEST_LIFECYCLE_DAY"))
	if err != nil || d < 100*time.Millisecond {
		return 0
	}
	return d
}

// testInFlightWindow is a test hook: ECSTORE_TEST_INFLIGHT_WINDOW=DURATION
// shortens gateway.Config.InFlightWindow, the age below which a record
// newer than the quorum's version counts as a write in progress, so that
// an end-to-end test sees a crashed writer's partial record become a
// leftover in seconds. 0 without it (the gateway's default).
func testInFlightWindow(log *slog.Logger) time.Duration {
	v := os.Getenv("ECSTORE_TEST_INFLIGHT_WINDOW")
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		log.Warn("test hook ECSTORE_TEST_INFLIGHT_WINDOW ignored: want a duration of 1s or more", "value", v)
		return 0
	}
	log.Warn("test hook ECSTORE_TEST_INFLIGHT_WINDOW: records newer than the quorum's count as in flight for " + d.String())
	return d
}

// Lifecycle passes: how often, and how many versions a second a pass
// examines at most.
const (
	lifecycleInterval = time.Hour
	lifecycleRate     = 1000
)

// holderID names this process as a lease holder: the host, the address
// and a random part, so that a restarted process is a new holder.
func holderID(addr string) string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return host + "/" + addr + "/" + hex.EncodeToString(b)
}

// runLeased runs job while this process holds the lease named name, until
// ctx ends: it asks for the lease, runs job with a context that ends when
// the lease is lost (a renewal refused, or none succeeded for
// leaseFence), waits for job to return, and asks again. It releases the
// lease when ctx ends.
func runLeased(ctx context.Context, ls leaseStore, name, holder string, log *slog.Logger, job func(context.Context)) {
	retry := leaseTTL / 3
	for ctx.Err() == nil {
		token, err := ls.AcquireLease(ctx, name, holder, leaseTTL)
		if err != nil {
			if !errors.Is(err, meta.ErrLeaseHeld) && ctx.Err() == nil {
				log.Debug("job lease not granted", "job", name, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			continue
		}
		log.Info("job lease granted: this gateway runs the job", "job", name, "token", token)
		holdLease(ctx, ls, name, holder, token, log, job)
	}
}

// holdLease runs job under one grant of the lease (token) until the
// lease is lost or ctx ends.
func holdLease(ctx context.Context, ls leaseStore, name, holder string, token uint64, log *slog.Logger, job func(context.Context)) {
	// Every drive write of the job carries the token: a drive refuses the
	// writes of a holder whose lease passed on once it has seen the next
	// holder's (storagenode.WithFence).
	jobCtx, stop := context.WithCancel(storagenode.WithFence(ctx, name, token))
	var wg sync.WaitGroup
	wg.Go(func() { job(jobCtx) })
	defer func() {
		stop()
		wg.Wait()
	}()
	renewed := time.Now()
	t := time.NewTicker(leaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			stop()
			wg.Wait()
			_ = ls.ReleaseLease(rctx, name, holder, token)
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, leaseTTL/3)
		err := ls.RenewLease(rctx, name, holder, token, leaseTTL)
		cancel()
		switch {
		case err == nil:
			renewed = time.Now()
		case errors.Is(err, meta.ErrStaleToken):
			log.Warn("job lease lost: stopping the job", "job", name, "token", token)
			return
		case time.Since(renewed) > leaseFence:
			log.Warn("job lease not renewed in time: stopping the job before another gateway may take it", "job", name, "token", token, "err", err)
			return
		}
	}
}
