package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Run creates the bucket if it is missing, runs cfg's phases in order and,
// unless cfg.Keep, deletes every object under the run's prefix (and the
// bucket, if this run created it). It returns one Result per phase that
// ran.
//
// Phases that read or delete (get, mixed, list, listversions, delete) need
// objects: when none have been written yet, Run first writes some without
// measuring them (cfg.Ops of them, or enough for a few hundred MiB,
// between Concurrency and 1000). A list phase writes none when the prefix
// already holds objects: it walks that data set.
//
// When ctx is cancelled, the phase in progress stops, its Result is marked
// Interrupted, clean-up still runs (bounded by its own timeout) and Run
// returns the results so far together with ctx's error.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r, err := newRunner(&cfg)
	if err != nil {
		return nil, err
	}
	defer r.c.close()
	created, err := r.c.ensureBucket(ctx)
	if err != nil {
		return nil, err
	}
	var results []Result
	for _, phase := range cfg.Phases {
		if ctx.Err() != nil {
			break
		}
		if phase != PhasePut && len(r.live) == 0 && !(listing(phase) && r.existing) {
			if err = r.prepare(ctx, phase); err != nil {
				break
			}
		}
		results = append(results, r.runPhase(ctx, phase, cfg.Duration, cfg.Ops, true))
	}
	if !cfg.Keep {
		r.cleanup(ctx, created)
	}
	if err == nil {
		err = ctx.Err()
	}
	return results, err
}

// runner holds a run's shared state. live changes only between phases.
type runner struct {
	cfg  *Config
	c    *client
	data *dataSet
	next atomic.Int64 // index of the next new object
	live []int64      // objects that exist, in the order they were written
	// existing: the prefix held objects before the run wrote any (a list
	// phase found them), so walks are checked against each other.
	existing bool

	outMu       sync.Mutex   // serialises progress lines and notes
	verifyNotes atomic.Int64 // verification failures logged so far
}

func newRunner(cfg *Config) (*runner, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	return &runner{cfg: cfg, c: c, data: newDataSet(cfg.Size, cfg.FixedData)}, nil
}

// logf writes a note to cfg.Log, on a line of its own even when a
// progress line is being overwritten in place.
func (r *runner) logf(format string, args ...any) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	if r.cfg.ProgressTerminal {
		fmt.Fprint(r.cfg.Log, "\r\x1b[K")
	}
	fmt.Fprintf(r.cfg.Log, "bench: "+format+"\n", args...)
}

// prepare writes objects, unmeasured, for a phase that needs some. A list
// phase first looks at the prefix: if it holds objects already, it writes
// none and marks the run's data set as existing.
func (r *runner) prepare(ctx context.Context, phase Phase) error {
	if listing(phase) {
		found, err := r.probe(ctx, phase)
		switch {
		case err != nil:
			r.logf("could not look for objects under %s/ (%v); writing some", r.cfg.Prefix, err)
		case found:
			r.existing = true
			r.logf("%s/ already holds objects: the %s phase walks them and writes none (every complete walk must find what the first one found)", r.cfg.Prefix, phase)
			return nil
		}
	}
	n := r.cfg.Ops
	if n == 0 {
		n = 256 << 20 / max(r.cfg.Size, 1)
		n = min(max(n, int64(r.cfg.Concurrency)), 1000)
	}
	r.logf("writing %d objects of %s for the %s phase (not measured)", n, FormatSize(r.cfg.Size), phase)
	res := r.runPhase(ctx, PhasePut, 0, n, false)
	if len(r.live) == 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("bench: could not write any object for the %s phase: %s", phase, firstSample(res))
	}
	if res.Errors > 0 {
		r.logf("%d of %d preparatory PUTs failed: %s", res.Errors, res.Ops, firstSample(res))
	}
	return nil
}

// probe reports whether the prefix holds anything the phase lists.
func (r *runner) probe(ctx context.Context, phase Phase) (bool, error) {
	if phase == PhaseListVersions {
		page, err := r.c.listVersions(ctx, r.cfg.Prefix+"/", "", "", 1)
		return len(page.Entries) > 0, err
	}
	page, err := r.c.list(ctx, r.cfg.Prefix+"/", "", 1)
	return len(page.Contents) > 0, err
}

func firstSample(res Result) string {
	for c, m := range res.ErrorSamples {
		return c + ": " + m
	}
	return "no error recorded"
}

// phaseRun is one phase in progress, shared by its workers.
type phaseRun struct {
	phase    Phase
	ctx      context.Context
	deadline time.Time // zero: none
	limit    int64     // operations; 0: none
	base     []int64   // r.live at the start; read-only during the phase
	claimed  atomic.Int64
	// firstWalk is the count of the phase's first complete walk plus one
	// (0: none has ended yet); over an existing data set every walk must
	// find as many.
	firstWalk atomic.Int64

	// For the progress line.
	doneOps, doneErrs, doneBytes atomic.Int64
}

// claim hands out the next operation number, or false when the phase is
// over (cancelled, out of time or out of operations).
func (p *phaseRun) claim() (int64, bool) {
	if p.ctx.Err() != nil || (!p.deadline.IsZero() && !time.Now().Before(p.deadline)) {
		return 0, false
	}
	n := p.claimed.Add(1) - 1
	if p.limit > 0 && n >= p.limit {
		return 0, false
	}
	return n, true
}

// runPhase runs one phase with Concurrency workers until it is bounded by
// duration or ops, then updates r.live.
func (r *runner) runPhase(ctx context.Context, phase Phase, duration time.Duration, ops int64, progress bool) Result {
	p := &phaseRun{phase: phase, ctx: ctx, limit: ops, base: r.live}
	if phase == PhaseDelete && (p.limit == 0 || p.limit > int64(len(p.base))) {
		p.limit = int64(len(p.base))
	}
	expect := int64(4096)
	if p.limit > 0 {
		expect = p.limit/int64(r.cfg.Concurrency) + 1
	}
	workers := make([]*worker, r.cfg.Concurrency)
	for i := range workers {
		workers[i] = newWorker(r, p, i, expect)
	}
	var cpu0 time.Duration
	var cpuErr error
	if r.cfg.ServerPID > 0 {
		cpu0, cpuErr = processCPU(r.cfg.ServerPID)
	}
	start := time.Now()
	if duration > 0 {
		p.deadline = start.Add(duration)
	}
	stop := func() {}
	if progress && r.cfg.Progress != nil {
		stop = r.startProgress(p, start, duration)
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(w.loop)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var cpu1 time.Duration
	if r.cfg.ServerPID > 0 && cpuErr == nil {
		cpu1, cpuErr = processCPU(r.cfg.ServerPID)
	}
	stop()

	tallies := make([]*tally, len(workers))
	for i, w := range workers {
		tallies[i] = w.t
	}
	switch phase {
	case PhasePut, PhaseMixed:
		// PUT: the new objects; MIXED: the new objects not deleted again.
		var added []int64
		for _, w := range workers {
			added = append(added, w.own...)
		}
		slices.Sort(added)
		r.live = append(slices.Clip(r.live), added...)
	case PhaseDelete:
		done := min(p.claimed.Load(), p.limit)
		left := slices.Clone(p.base[done:])
		for _, w := range workers {
			left = append(left, w.own...) // not deleted
		}
		slices.Sort(left)
		r.live = left
	}
	res := merge(phase, r.cfg, elapsed, tallies)
	res.Interrupted = ctx.Err() != nil
	switch {
	case r.cfg.ServerPID <= 0:
	case cpuErr != nil:
		r.logf("%v", cpuErr)
	default:
		res.ServerCPUSeconds = (cpu1 - cpu0).Seconds()
	}
	return res
}

// cleanup deletes every object under the prefix, found by listing (so
// objects of failed or cut-off requests go too), then the bucket if this
// run created it. It runs even after ctx is cancelled, for at most 10
// minutes.
func (r *runner) cleanup(ctx context.Context, bucketCreated bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
	defer cancel()
	keys := make(chan string)
	var deleted, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for k := range keys {
				if err := r.c.del(ctx, k); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					deleted.Add(1)
				}
			}
		})
	}
	var listErr error
	token := ""
	for {
		page, err := r.c.list(ctx, r.cfg.Prefix+"/", token, r.cfg.pageKeys)
		if err != nil {
			listErr = err
			break
		}
		for _, c := range page.Contents {
			keys <- c.Key
		}
		if !page.IsTruncated {
			break
		}
		token = page.NextContinuationToken
	}
	close(keys)
	wg.Wait()
	switch {
	case listErr != nil:
		r.logf("clean-up: listing %s/ failed after deleting %d objects: %v", r.cfg.Prefix, deleted.Load(), listErr)
		return
	case failed.Load() > 0:
		r.logf("clean-up: deleted %d objects under %s/, %d deletes failed (first: %v)", deleted.Load(), r.cfg.Prefix, failed.Load(), firstErr.Load())
		return
	}
	r.logf("clean-up: deleted %d objects under %s/", deleted.Load(), r.cfg.Prefix)
	if bucketCreated {
		var e *S3Error
		if err := r.c.deleteBucket(ctx); errors.As(err, &e) && e.Code == "BucketNotEmpty" {
			r.logf("clean-up: bucket %s kept: it holds other objects", r.cfg.Bucket)
		} else if err != nil {
			r.logf("clean-up: could not remove bucket %s: %v", r.cfg.Bucket, err)
		}
	}
}

// startProgress prints a progress line every second until stop is called.
func (r *runner) startProgress(p *phaseRun, start time.Time, duration time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		last, lastOps, lastBytes := start, int64(0), int64(0)
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				ops, bytes, errs := p.doneOps.Load(), p.doneBytes.Load(), p.doneErrs.Load()
				dt := now.Sub(last).Seconds()
				count := fmt.Sprintf("ops %d", ops)
				if p.limit > 0 {
					count = fmt.Sprintf("ops %d/%d", ops, p.limit)
				}
				elapsed := fmt.Sprintf("%.0fs", now.Sub(start).Seconds())
				if duration > 0 {
					elapsed += "/" + duration.String()
				}
				line := fmt.Sprintf("%-6s %s c%d %s  %s  %.1f ops/s  %.2f MiB/s  errors %d",
					p.phase, FormatSize(r.cfg.Size), r.cfg.Concurrency, elapsed, count,
					float64(ops-lastOps)/dt, float64(bytes-lastBytes)/(1<<20)/dt, errs)
				last, lastOps, lastBytes = now, ops, bytes
				r.outMu.Lock()
				if r.cfg.ProgressTerminal {
					fmt.Fprintf(r.cfg.Progress, "\r%s\x1b[K", line)
				} else {
					fmt.Fprintln(r.cfg.Progress, line)
				}
				r.outMu.Unlock()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		if r.cfg.ProgressTerminal {
			r.outMu.Lock()
			fmt.Fprint(r.cfg.Progress, "\r\x1b[K")
			r.outMu.Unlock()
		}
	}
}
