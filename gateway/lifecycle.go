package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecstore/ecstore/lifecycle"
	"github.com/ecstore/ecstore/s3api"
)

// Lifecycle: a pass walks every bucket that has a lifecycle configuration
// (package lifecycle decides), version by version in listing order, and
// acts on what is due:
//
//   - a current version that expires: in a bucket that never had
//     versioning it is removed, but only that version (removeVersionIf:
//     a write of the key since the listing is another version and stays);
//     in a versioned or suspended bucket a delete marker is written over
//     it by a compare-and-set against that version (putDeleteMarker), so
//     a write since, through any gateway, wins and is not hidden;
//   - a noncurrent version or a delete marker left alone is removed
//     (removeVersionIf), never when object lock keeps it: a locked version
//     is counted and skipped, whatever the rule says;
//   - an upload that is due is aborted, unless a client is sending it a
//     part (as the upload expiry does).
//
// The server runs passes under the "lifecycle" job lease, so one gateway
// at a time does (and its drive writes carry the lease's fencing token),
// at a bounded rate of versions examined per second.

// LifecycleStatus is the lifecycle worker's progress: counts since the
// process started, and the current or last pass.
type LifecycleStatus struct {
	Running       bool      `json:"running"`
	PassStarted   time.Time `json:"pass_started,omitzero"`
	PassEnded     time.Time `json:"pass_ended,omitzero"`
	Passes        int64     `json:"passes"`
	Scanned       int64     `json:"scanned"`        // versions examined
	Expired       int64     `json:"expired"`        // current versions expired
	Removed       int64     `json:"removed"`        // noncurrent versions and lone delete markers removed
	Aborted       int64     `json:"aborted"`        // uploads aborted
	SkippedLocked int64     `json:"skipped_locked"` // versions due but kept by object lock
	Errors        int64     `json:"errors"`         // actions that failed (retried next pass)
	LastError     string    `json:"last_error,omitempty"`
}

// lifecycleStats are the worker's counters.
type lifecycleStats struct {
	running                                                    atomic.Bool
	passes, scanned, expired, removed, aborted, locked, errors atomic.Int64
	mu                                                         sync.Mutex
	started, ended                                             time.Time
	lastErr                                                    string
}

// LifecycleStatus returns the worker's progress in this process.
func (r *Repair) LifecycleStatus() LifecycleStatus {
	s := &r.lc
	s.mu.Lock()
	defer s.mu.Unlock()
	return LifecycleStatus{
		Running: s.running.Load(), PassStarted: s.started, PassEnded: s.ended, Passes: s.passes.Load(),
		Scanned: s.scanned.Load(), Expired: s.expired.Load(), Removed: s.removed.Load(), Aborted: s.aborted.Load(),
		SkippedLocked: s.locked.Load(), Errors: s.errors.Load(), LastError: s.lastErr,
	}
}

// RunLifecycle runs a lifecycle pass every interval until ctx ends,
// examining at most rate versions a second (<= 0: no bound).
func (r *Repair) RunLifecycle(ctx context.Context, interval time.Duration, rate float64) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.LifecyclePass(ctx, time.Now(), rate); err != nil && ctx.Err() == nil {
			r.l.log.Warn("lifecycle pass failed", "err", err)
		}
		t.Reset(interval)
	}
}

// LifecyclePass applies every bucket's lifecycle configuration once, as
// of now.
func (r *Repair) LifecyclePass(ctx context.Context, now time.Time, rate float64) error {
	l, s := r.l, &r.lc
	c := l.cfg.Catalog
	if c == nil {
		return nil
	}
	s.running.Store(true)
	defer s.running.Store(false)
	s.mu.Lock()
	s.started = time.Now()
	s.mu.Unlock()
	defer func() {
		s.passes.Add(1)
		s.mu.Lock()
		s.ended = time.Now()
		s.mu.Unlock()
	}()
	buckets, err := l.ListBuckets(ctx)
	if err != nil {
		return err
	}
	p := &pacer{rate: rate, start: time.Now()}
	for _, b := range buckets {
		set, ok := c.Settings(b.Name)
		doc := set.Get(s3api.SettingLifecycle)
		if !ok || doc == nil {
			continue
		}
		var cfg lifecycle.Configuration
		if err := json.Unmarshal(doc, &cfg); err != nil {
			r.lcError(fmt.Errorf("bucket %q: lifecycle configuration does not decode: %w", b.Name, err))
			continue
		}
		if cfg.HasVersionRules() {
			if err := r.lifecycleVersions(ctx, b.Name, &cfg, now, p); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r.lcError(fmt.Errorf("bucket %q: %w", b.Name, err))
			}
		}
		if cfg.HasUploadRules() {
			if err := r.lifecycleUploads(ctx, b.Name, &cfg, now); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r.lcError(fmt.Errorf("bucket %q: %w", b.Name, err))
			}
		}
	}
	return nil
}

func (r *Repair) lcError(err error) {
	r.lc.errors.Add(1)
	r.lc.mu.Lock()
	r.lc.lastErr = err.Error()
	r.lc.mu.Unlock()
	r.l.log.Warn("lifecycle", "err", err)
}

// lifecycleVersions walks bucket's versions, a key's newest first, and
// acts on those cfg makes due at now.
func (r *Repair) lifecycleVersions(ctx context.Context, bucket string, cfg *lifecycle.Configuration, now time.Time, p *pacer) error {
	l := r.l
	clk := lifecycle.Clock{Day: l.cfg.LifecycleDay}
	st := l.stateOf(bucket)
	var (
		key     string
		n       int                // versions of key seen
		prev    time.Time          // the time of key's previous (newer) version
		pending *s3api.VersionInfo // key's latest, a delete marker: alone?
	)
	decide := func(v s3api.VersionInfo, lv lifecycle.Version) error {
		lv.Key, lv.Size, lv.ModTime, lv.DeleteMarker = v.Key, v.Size, v.ModTime, v.DeleteMarker
		if !v.DeleteMarker {
			lv.Tags = func() map[string]string { return r.versionTags(ctx, bucket, v) }
		}
		switch cfg.Evaluate(lv, now, clk) {
		case lifecycle.ExpireCurrent:
			return r.lcAct(bucket, v, &r.lc.expired, func() error {
				ref := &versionRef{vid: v.VersionID, mtime: v.ModTime}
				if st.versioning == versioningOff {
					_, err := l.removeVersionIf(ctx, bucket, v.Key, *ref, false)
					return err
				}
				_, err := l.putDeleteMarker(ctx, bucket, v.Key, st, ref)
				return err
			})
		case lifecycle.RemoveVersion:
			return r.lcAct(bucket, v, &r.lc.removed, func() error {
				_, err := l.removeVersionIf(ctx, bucket, v.Key, versionRef{vid: v.VersionID, mtime: v.ModTime}, false)
				return err
			})
		}
		return nil
	}
	flush := func(alone bool) error {
		if pending == nil {
			return nil
		}
		v := *pending
		pending = nil
		return decide(v, lifecycle.Version{Latest: true, Alone: alone})
	}
	params := s3api.ListVersionsParams{MaxKeys: 1000}
	for {
		page, err := l.ListObjectVersions(ctx, bucket, params)
		if err != nil {
			return err
		}
		for _, v := range page.Versions {
			if err := p.wait(ctx); err != nil {
				return err
			}
			r.lc.scanned.Add(1)
			if v.Key != key {
				if err := flush(true); err != nil {
					return err
				}
				key, n = v.Key, 0
			}
			switch {
			case n == 0 && v.DeleteMarker:
				pending = &v
			case n == 0:
				if err := decide(v, lifecycle.Version{Latest: true}); err != nil {
					return err
				}
			default:
				if err := flush(false); err != nil {
					return err
				}
				if err := decide(v, lifecycle.Version{NoncurrentSince: prev, NewerNoncurrent: n - 1}); err != nil {
					return err
				}
			}
			prev = v.ModTime
			n++
		}
		if !page.IsTruncated {
			return flush(true)
		}
		params.KeyMarker, params.VersionIDMarker = page.NextKeyMarker, page.NextVersionIDMarker
	}
}

// lcAct runs one action and counts it in done; a version that changed or
// is locked is left as it is. Only a canceled pass stops the walk.
func (r *Repair) lcAct(bucket string, v s3api.VersionInfo, done *atomic.Int64, act func() error) error {
	err := act()
	switch {
	case err == nil:
		done.Add(1)
		r.l.log.Info("lifecycle: version expired", "bucket", bucket, "key", v.Key, "version", v.VersionID, "delete_marker", v.DeleteMarker)
	case errors.Is(err, errVersionLocked):
		r.lc.locked.Add(1)
	case errors.Is(err, errVersionChanged):
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	default:
		r.lcError(fmt.Errorf("bucket %q key %q version %s: %w", bucket, v.Key, v.VersionID, err))
	}
	return nil
}

// versionTags reads a version's tags for a rule's tag filter (none when
// they cannot be read: the rule does not apply this pass).
func (r *Repair) versionTags(ctx context.Context, bucket string, v s3api.VersionInfo) map[string]string {
	tags, _, err := r.l.GetObjectTags(ctx, bucket, v.Key, v.VersionID)
	if err != nil {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// lifecycleUploads aborts bucket's uploads that cfg makes due at now.
func (r *Repair) lifecycleUploads(ctx context.Context, bucket string, cfg *lifecycle.Configuration, now time.Time) error {
	l := r.l
	clk := lifecycle.Clock{Day: l.cfg.LifecycleDay}
	p := s3api.ListUploadsParams{MaxUploads: 1000}
	for {
		res, err := l.ListMultipartUploads(ctx, bucket, p)
		if err != nil {
			return err
		}
		for _, u := range res.Uploads {
			if !cfg.AbortUpload(u.Key, u.Initiated, now, clk) {
				continue
			}
			// Never behind a client: an upload receiving a part waits for
			// the next pass.
			unlock, err := l.ulocks.try(ctx, bucket, u.UploadID, l.healLockWait)
			if err != nil {
				continue
			}
			err = l.abortLocked(ctx, bucket, u.Key, u.UploadID)
			unlock()
			switch {
			case err == nil:
				r.lc.aborted.Add(1)
				l.log.Info("lifecycle: upload aborted", "bucket", bucket, "key", u.Key, "upload", u.UploadID, "initiated", u.Initiated)
			case errors.Is(err, ErrUploadNotFound):
			default:
				r.lcError(fmt.Errorf("bucket %q upload %s: %w", bucket, u.UploadID, err))
			}
		}
		if !res.IsTruncated {
			return nil
		}
		p.KeyMarker, p.UploadIDMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}

// pacerSlack: a walk this little ahead of its rate goes on (it sleeps in
// longer steps, not once per version).
const pacerSlack = 20 * time.Millisecond

// pacer bounds a walk to rate steps a second (<= 0: no bound).
type pacer struct {
	rate  float64
	start time.Time
	n     int
}

// wait returns when the next step is allowed, or ctx's error.
func (p *pacer) wait(ctx context.Context) error {
	if p.rate <= 0 {
		return ctx.Err()
	}
	p.n++
	d := time.Until(p.start.Add(time.Duration(float64(p.n) / p.rate * float64(time.Second))))
	if d < pacerSlack {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
