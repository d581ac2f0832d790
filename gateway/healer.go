package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ecstore/ecstore/s3api"
)

// HealStatus is the progress of a heal run (a walk over every object).
type HealStatus struct {
	Running         bool      `json:"running"`
	Deep            bool      `json:"deep"`
	Started         time.Time `json:"started"`
	Finished        time.Time `json:"finished,omitzero"`
	ObjectsTotal    int64     `json:"objects_total"` // counted before the walk
	ObjectsScanned  int64     `json:"objects_scanned"`
	ObjectsRepaired int64     `json:"objects_repaired"`
	ObjectsFailed   int64     `json:"objects_failed"`   // lost, or drives unreachable
	BytesScanned    int64     `json:"bytes_scanned"`    // object bytes examined
	BytesRepaired   int64     `json:"bytes_repaired"`   // shard bytes written
	DanglingRemoved int64     `json:"dangling_removed"` // stray records of deleted objects removed
	UploadsRepaired int64     `json:"uploads_repaired"` // multipart uploads in progress repaired
	UploadsFailed   int64     `json:"uploads_failed"`   // ... not brought to full redundancy
	Error           string    `json:"error,omitempty"`
	// Epoch is the cluster map a rebalance moves objects to (rebalance
	// only).
	Epoch int `json:"epoch,omitempty"`
	// ShardsScanned and ShardsMoved count the shards examined and the ones
	// moved to their placement drive (a rebalance's movement).
	ShardsScanned int64 `json:"shards_scanned"`
	ShardsMoved   int64 `json:"shards_moved"`
	// Cursor is where the walk is: the last object healed. A heal resumed
	// after a restart goes on after it.
	Cursor HealCursor `json:"cursor"`
	// Operator is set for an operator's heal (full speed), unset for the
	// background scanner.
	Operator bool `json:"operator"`
}

// HealCursor is a position in the walk over all objects.
type HealCursor struct {
	Bucket string `json:"bucket,omitempty"`
	Key    string `json:"key,omitempty"`
}

// Rate returns objects and bytes scanned per second so far.
func (s HealStatus) Rate() (objects, bytes float64) {
	end := s.Finished
	if s.Running || end.IsZero() {
		end = time.Now()
	}
	secs := end.Sub(s.Started).Seconds()
	if secs <= 0 {
		return 0, 0
	}
	return float64(s.ObjectsScanned) / secs, float64(s.BytesScanned) / secs
}

// ETA estimates the time left of a running heal.
func (s HealStatus) ETA() time.Duration {
	objs, _ := s.Rate()
	left := s.ObjectsTotal - s.ObjectsScanned
	if !s.Running || objs <= 0 || left <= 0 {
		return 0
	}
	return time.Duration(float64(left) / objs * float64(time.Second))
}

// Walker runs walks over all objects of one kind (heal or rebalance), one
// at a time.
type Walker struct {
	r         *Repair
	kind      WalkKind
	statePath string
	// saveEvery is how often a running operator heal saves its progress.
	saveEvery time.Duration
	// onDone, set by StartRebalance, is called when a walk ends without
	// error and with every object in place.
	onDone     func(st HealStatus)
	mu         sync.Mutex
	status     HealStatus
	background bool // the running walk is the rate-bounded scanner
	cancel     context.CancelFunc
	done       chan struct{}
}

// walkParallel is how many objects a full-speed heal or rebalance walk
// works on at once: each is mostly waiting on drives.
const walkParallel = 8

// walkBusyRounds is how many times a walk tries again, at the end of a
// bucket, the objects it skipped because a write held them (waits of
// busyBackoff: 1s, 2s, 4s, 8s, 16s by default, past the default body idle
// timeout of a stalled client).
const walkBusyRounds = 5

// ErrHealRunning is returned by Start while a heal runs.
var ErrHealRunning = errors.New("gateway: a heal is already running")

// Healer returns the heal walker: an operator's heal and the background
// scanner's walks.
func (r *Repair) Healer() *Walker { return r.healer }

// Status returns a copy of the current (or last) run's progress.
func (h *Walker) Status() HealStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status
}

// Start begins a heal walk in the background. deep verifies every block
// checksum; maxObjectsPerSec > 0 bounds the rate (the background scanner),
// 0 runs at full speed (an operator's heal, which replaces a running
// background walk).
func (h *Walker) Start(ctx context.Context, deep bool, maxObjectsPerSec float64) error {
	h.mu.Lock()
	if h.status.Running && h.background && maxObjectsPerSec == 0 {
		h.mu.Unlock()
		h.Stop()
		h.mu.Lock()
	}
	defer h.mu.Unlock()
	if h.status.Running {
		return ErrHealRunning
	}
	h.background = maxObjectsPerSec > 0
	h.status = HealStatus{Running: true, Deep: deep, Started: time.Now().UTC(), Operator: maxObjectsPerSec == 0}
	h.launch(ctx, maxObjectsPerSec)
	return nil
}

// launch starts the walk described by h.status (h.mu held).
func (h *Walker) launch(ctx context.Context, rate float64) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.cancel = cancel
	h.done = make(chan struct{})
	go h.run(ctx, h.status.Deep, rate, h.done, h.onDone)
}

// SetStateFile makes the healer save an operator's heal progress to path
// (a small JSON file, rewritten atomically as the walk goes), so that
// Resume can carry on after a restart.
func (h *Walker) SetStateFile(path string) {
	h.mu.Lock()
	h.statePath = path
	h.mu.Unlock()
}

// Resume restarts an operator's heal that was running when the process
// stopped, from its saved cursor and counters. It reports whether one was.
func (h *Walker) Resume(ctx context.Context) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.statePath == "" || h.status.Running {
		return false, nil
	}
	data, err := os.ReadFile(h.statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("gateway: heal state: %w", err)
	}
	var st HealStatus
	if err := json.Unmarshal(data, &st); err != nil {
		return false, fmt.Errorf("gateway: heal state %s: %w", h.statePath, err)
	}
	if !st.Running || !st.Operator {
		return false, nil
	}
	h.status = st
	h.background = false
	h.r.l.log.Info("resuming the heal that was running at the last stop", "cursor", st.Cursor, "scanned", st.ObjectsScanned)
	h.launch(ctx, 0)
	return true, nil
}

// save writes the status to the state file (operator heals only).
func (h *Walker) save(st HealStatus) {
	h.mu.Lock()
	path := h.statePath
	h.mu.Unlock()
	if path == "" || (!st.Operator && h.kind != WalkRebalance) {
		return
	}
	data, _ := json.Marshal(st)
	tmp := path + ".tmp"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
		if err = os.WriteFile(tmp, data, 0o644); err == nil {
			err = os.Rename(tmp, path)
		}
		if err != nil {
			h.r.l.log.Warn("saving heal state", "path", path, "err", err)
		}
	}
}

// Stop cancels a running heal and waits for it to end.
func (h *Walker) Stop() {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Wait blocks until the running heal (if any) ends or ctx does.
func (h *Walker) Wait(ctx context.Context) error {
	h.mu.Lock()
	done := h.done
	h.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Walker) update(fn func(s *HealStatus)) {
	h.mu.Lock()
	fn(&h.status)
	h.mu.Unlock()
}

func (h *Walker) run(ctx context.Context, deep bool, rate float64, done chan struct{}, onDone func(HealStatus)) {
	defer close(done)
	h.save(h.Status())
	var err error
	if h.kind == WalkRebalance && h.r.l.cfg.RebalanceDelay > 0 {
		select {
		case <-time.After(h.r.l.cfg.RebalanceDelay):
		case <-ctx.Done():
		}
	}
	if h.kind == WalkRebalance {
		// Writes still running on the old map may put objects where this
		// walk has already been: let them end first.
		wctx, cancel := context.WithTimeout(ctx, rebalanceSettle)
		if werr := h.r.l.WaitWrites(wctx); werr != nil && ctx.Err() == nil {
			h.r.l.log.Warn("rebalance: writes on the old map still running; starting anyway", "err", werr)
		}
		cancel()
	}
	if ctx.Err() == nil {
		err = h.walk(ctx, deep, rate)
	} else {
		err = ctx.Err()
	}
	h.update(func(s *HealStatus) {
		s.Running = false
		s.Finished = time.Now().UTC()
		if err != nil {
			s.Error = err.Error()
		}
	})
	st := h.Status()
	if ctx.Err() == nil || !st.Operator {
		h.save(st) // a cancelled operator heal stays "running" on disk, to resume
	}
	if err == nil && ctx.Err() == nil && st.ObjectsFailed == 0 && onDone != nil {
		onDone(st)
	}
	h.r.l.log.Info(h.kind.String()+" finished", "deep", deep, "scanned", st.ObjectsScanned, "repaired", st.ObjectsRepaired,
		"failed", st.ObjectsFailed, "bytes_repaired", st.BytesRepaired, "err", st.Error)
}

func (h *Walker) walk(ctx context.Context, deep bool, rate float64) error {
	l := h.r.l
	if err := h.r.HealBuckets(ctx); err != nil {
		return err
	}
	buckets, err := l.ListBuckets(ctx)
	if err != nil {
		return err
	}
	// Count first (a listing is cheap next to a heal) so progress has a
	// total and an ETA.
	var total int64
	for _, b := range buckets {
		err := l.walkKeys(ctx, b.Name, func(s3api.ObjectInfo) error { total++; return nil })
		if err != nil {
			return err
		}
	}
	h.update(func(s *HealStatus) { s.ObjectsTotal = total })
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	next := time.Now()
	from := h.Status().Cursor
	var lastSave time.Time // zero: the first batch saves at once, so a walk killed early resumes
	for _, b := range buckets {
		if b.Name < from.Bucket {
			continue // done before a restart
		}
		start := ""
		if b.Name == from.Bucket {
			start = from.Key
		}
		// Objects are healed walkParallel at a time, in batches: the
		// cursor moves past a batch once all of it is done, so a resumed
		// walk never skips an object. An object a write holds is skipped
		// (ErrKeyBusy) and tried again at the end of the bucket; until
		// then the cursor stays before it.
		var batch, busy []s3api.ObjectInfo
		var last string // the last key walked in this bucket
		// heal heals objs; round is -1 on the walk, then the retry round.
		heal := func(objs []s3api.ObjectInfo, round int) error {
			final := round == walkBusyRounds-1
			results := make([]HealResult, len(objs))
			errs := make([]error, len(objs))
			var wg sync.WaitGroup
			for i, o := range objs {
				wg.Go(func() { results[i], errs[i] = h.r.HealObject(ctx, b.Name, o.Key, deep) })
			}
			wg.Wait()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			h.update(func(s *HealStatus) {
				for i, o := range objs {
					r, err := results[i], errs[i]
					if errors.Is(err, ErrKeyBusy) && !final {
						busy = append(busy, o)
						continue
					}
					s.ObjectsScanned++
					s.BytesScanned += o.Size
					s.BytesRepaired += r.Bytes
					s.ShardsScanned += int64(r.Checked + r.Unreachable)
					s.ShardsMoved += int64(r.Moved)
					if r.Repaired > 0 {
						s.ObjectsRepaired++
					}
					if errors.Is(err, ErrKeyBusy) {
						// Still written to after every retry: the heal
						// queue keeps trying; this walk counts it failed
						// (a rebalance is then run again).
						l.healq.later(healItem{b.Name, o.Key})
					}
					if err != nil && !errors.Is(err, ErrObjectNotFound) || r.Degraded() || (h.kind == WalkRebalance && r.Away > 0) {
						s.ObjectsFailed++
						l.log.Warn(h.kind.String()+": object not brought to full redundancy and placement", "bucket", b.Name, "key", o.Key,
							"err", err, "unreachable", r.Unreachable, "lost", r.Lost, "away", r.Away)
					}
					if round < 0 && len(busy) == 0 {
						s.Cursor = HealCursor{Bucket: b.Name, Key: o.Key}
					}
				}
			})
			if time.Since(lastSave) >= h.saveEvery {
				h.save(h.Status())
				lastSave = time.Now()
			}
			return nil
		}
		flush := func() error {
			err := heal(batch, -1)
			batch = batch[:0]
			return err
		}
		err := l.walkKeysFrom(ctx, b.Name, start, func(o s3api.ObjectInfo) error {
			if interval > 0 {
				if d := time.Until(next); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				next = time.Now().Add(interval)
			}
			batch = append(batch, o)
			last = o.Key
			if interval == 0 && len(batch) < walkParallel {
				return nil // a rate-bounded walk goes one at a time
			}
			return flush()
		})
		if err == nil && len(batch) > 0 {
			err = flush()
		}
		// The busy objects, again after a growing wait, walkBusyRounds
		// times at most; the last round counts what is still busy.
		for round := 0; err == nil && len(busy) > 0; round++ {
			select {
			case <-time.After(l.healq.backoff(round + 1)):
			case <-ctx.Done():
				return ctx.Err()
			}
			objs := busy
			busy = nil
			for i := 0; err == nil && i < len(objs); i += walkParallel {
				err = heal(objs[i:min(i+walkParallel, len(objs))], round)
			}
		}
		if err != nil {
			return err
		}
		if last != "" {
			h.update(func(s *HealStatus) { s.Cursor = HealCursor{Bucket: b.Name, Key: last} })
		}
		// Then the keys below read quorum: leftovers of deletes a drive missed.
		err = l.walkDanglingKeys(ctx, b.Name, func(key string) error {
			removed, err := l.cleanDangling(ctx, b.Name, key)
			if err == nil && removed {
				h.update(func(s *HealStatus) { s.DanglingRemoved++ })
			} else if err == nil {
				// Not k drives without it either: a split key (split.go).
				_, _ = h.r.HealObject(ctx, b.Name, key, deep)
			}
			return ctx.Err()
		})
		if err != nil {
			return err
		}
		// And the multipart uploads in progress, like objects.
		if h.kind == WalkHeal {
			repaired, failed, err := h.r.healUploads(ctx, b.Name, deep)
			h.update(func(s *HealStatus) { s.UploadsRepaired += int64(repaired); s.UploadsFailed += int64(failed) })
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// walkKeys calls fn for every object of a bucket, in key order.
func (l *Layer) walkKeys(ctx context.Context, bucket string, fn func(s3api.ObjectInfo) error) error {
	return l.walkKeysFrom(ctx, bucket, "", fn)
}

// walkKeysFrom calls fn for every object of a bucket after key after.
func (l *Layer) walkKeysFrom(ctx context.Context, bucket, after string, fn func(s3api.ObjectInfo) error) error {
	for {
		page, err := l.ListObjects(ctx, bucket, s3api.ListParams{After: after, MaxKeys: 1000})
		if err != nil {
			return err
		}
		for _, o := range page.Objects {
			if err := fn(o); err != nil {
				return err
			}
		}
		if !page.IsTruncated {
			return nil
		}
		after = page.NextAfter
	}
}

// RunScanner starts a rate-bounded background heal walk every interval
// until ctx ends: it finds what the heal queue missed (objects written while
// a drive was down, a replaced drive, bitrot when deep).
func (r *Repair) RunScanner(ctx context.Context, interval time.Duration, maxObjectsPerSec float64, deep bool) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.healer.Stop()
			return
		case <-t.C:
		}
		if err := r.healer.Start(ctx, deep, maxObjectsPerSec); err == nil {
			_ = r.healer.Wait(ctx)
		}
		t.Reset(interval)
	}
}
