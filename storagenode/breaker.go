package storagenode

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Breaker wraps a Drive (usually a RemoteDrive) with a circuit breaker: once
// a call fails with ErrDriveOffline the drive is marked down, and calls fail
// at once with ErrDriveOffline, without touching the network. A drive that
// can be pinged (RemoteDrive) is then probed in the background with a short
// timeout, never with a user's request, so a hung node costs one timeout in
// all, not one per request; other drives let one call through as the probe.
// The delay between probes doubles from MinBackoff up to MaxBackoff.
type Breaker struct {
	Drive
	minBackoff, maxBackoff time.Duration
	now                    func() time.Time

	mu      sync.Mutex
	down    bool
	until   time.Time     // no calls before this while down
	backoff time.Duration // current delay
	probing bool
	onState func(id string, online bool)

	pinger      interface{ Ping(context.Context) error }
	pingTimeout time.Duration
	closed      chan struct{}
	closeOnce   sync.Once
}

var _ Drive = (*Breaker)(nil)

// BreakerOptions configures NewBreaker.
type BreakerOptions struct {
	// MinBackoff is the first wait after a failure. Default 500ms.
	MinBackoff time.Duration
	// MaxBackoff caps the wait. Default 5s.
	MaxBackoff time.Duration
	// PingTimeout bounds a background probe. Default 2s.
	PingTimeout time.Duration
	// OnStateChange, when set, is called when the drive goes down or comes
	// back (for logs and metrics).
	OnStateChange func(id string, online bool)
}

// NewBreaker wraps d.
func NewBreaker(d Drive, o BreakerOptions) *Breaker {
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = 2 * time.Second
	}
	b := &Breaker{Drive: d, minBackoff: o.MinBackoff, maxBackoff: o.MaxBackoff, now: time.Now, onState: o.OnStateChange,
		pingTimeout: o.PingTimeout, closed: make(chan struct{})}
	b.pinger, _ = d.(interface{ Ping(context.Context) error })
	return b
}

// Close stops background probing and closes the drive.
func (b *Breaker) Close() error {
	b.closeOnce.Do(func() { close(b.closed) })
	return b.Drive.Close()
}

// probe pings a down drive in the background until it answers.
func (b *Breaker) probe() {
	for {
		b.mu.Lock()
		wait := b.backoff
		b.mu.Unlock()
		select {
		case <-b.closed:
			return
		case <-time.After(wait):
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.pingTimeout)
		err := b.pinger.Ping(ctx)
		cancel()
		b.mu.Lock()
		if err == nil {
			b.down, b.probing = false, false
			cb := b.onState
			b.mu.Unlock()
			if cb != nil {
				cb(b.ID(), true)
			}
			return
		}
		b.backoff = min(b.backoff*2, b.maxBackoff)
		b.mu.Unlock()
	}
}

// Online reports whether the breaker currently lets calls through.
func (b *Breaker) Online() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.down
}

// enter decides whether a call may go to the drive; probe is set when the
// call is the one probe of a down drive.
func (b *Breaker) enter() (probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.down {
		return false, nil
	}
	if b.pinger != nil || b.probing || b.now().Before(b.until) {
		return false, fmt.Errorf("storagenode: drive %s is down (retry in %v): %w", b.ID(), b.until.Sub(b.now()).Round(time.Millisecond), ErrDriveOffline)
	}
	b.probing = true
	return true, nil
}

// leave records a call's outcome.
func (b *Breaker) leave(probe bool, err error) {
	offline := errors.Is(err, ErrDriveOffline)
	b.mu.Lock()
	changed, online := false, false
	if probe {
		b.probing = false
	}
	switch {
	case offline && !b.down:
		b.down, b.backoff, changed = true, b.minBackoff, true
		b.until = b.now().Add(b.backoff)
		if b.pinger != nil {
			b.probing = true
			go b.probe()
		}
	case offline && probe:
		b.backoff = min(b.backoff*2, b.maxBackoff)
		b.until = b.now().Add(b.backoff)
	case !offline && b.down && (probe || err == nil):
		b.down, changed, online = false, true, true
	}
	cb := b.onState
	b.mu.Unlock()
	if changed && cb != nil {
		cb(b.ID(), online)
	}
}

func guard[T any](b *Breaker, fn func() (T, error)) (T, error) {
	probe, err := b.enter()
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := fn()
	b.leave(probe, err)
	return v, err
}

func guard0(b *Breaker, fn func() error) error {
	_, err := guard(b, func() (struct{}, error) { return struct{}{}, fn() })
	return err
}

func (b *Breaker) MakeBucket(ctx context.Context, bucket string, created time.Time) error {
	return guard0(b, func() error { return b.Drive.MakeBucket(ctx, bucket, created) })
}
func (b *Breaker) DeleteBucket(ctx context.Context, bucket string) error {
	return guard0(b, func() error { return b.Drive.DeleteBucket(ctx, bucket) })
}
func (b *Breaker) StatBucket(ctx context.Context, bucket string) (BucketInfo, error) {
	return guard(b, func() (BucketInfo, error) { return b.Drive.StatBucket(ctx, bucket) })
}
func (b *Breaker) ListBuckets(ctx context.Context) ([]BucketInfo, error) {
	return guard(b, func() ([]BucketInfo, error) { return b.Drive.ListBuckets(ctx) })
}
func (b *Breaker) CreateShard(ctx context.Context, ref ShardRef) (ShardWriter, error) {
	return guard(b, func() (ShardWriter, error) { return b.Drive.CreateShard(ctx, ref) })
}
func (b *Breaker) OpenShard(ctx context.Context, ref ShardRef) (ShardReader, error) {
	return guard(b, func() (ShardReader, error) { return b.Drive.OpenShard(ctx, ref) })
}
func (b *Breaker) DeleteVersion(ctx context.Context, bucket, dir string) error {
	return guard0(b, func() error { return b.Drive.DeleteVersion(ctx, bucket, dir) })
}
func (b *Breaker) DeleteShard(ctx context.Context, ref ShardRef) error {
	return guard0(b, func() error { return b.Drive.DeleteShard(ctx, ref) })
}
func (b *Breaker) PutMeta(ctx context.Context, m *ObjectMeta) (*ObjectMeta, error) {
	return guard(b, func() (*ObjectMeta, error) { return b.Drive.PutMeta(ctx, m) })
}
func (b *Breaker) PutMetaIf(ctx context.Context, m *ObjectMeta, expect string) (*ObjectMeta, error) {
	return guard(b, func() (*ObjectMeta, error) { return b.Drive.PutMetaIf(ctx, m, expect) })
}
func (b *Breaker) GetMeta(ctx context.Context, bucket, key string) (*ObjectMeta, error) {
	return guard(b, func() (*ObjectMeta, error) { return b.Drive.GetMeta(ctx, bucket, key) })
}
func (b *Breaker) DeleteMeta(ctx context.Context, bucket, key, vid string) (*ObjectMeta, error) {
	return guard(b, func() (*ObjectMeta, error) { return b.Drive.DeleteMeta(ctx, bucket, key, vid) })
}
func (b *Breaker) ListMeta(ctx context.Context, bucket, prefix, after string, limit int) ([]*ObjectMeta, error) {
	return guard(b, func() ([]*ObjectMeta, error) { return b.Drive.ListMeta(ctx, bucket, prefix, after, limit) })
}

func (b *Breaker) ListEntries(ctx context.Context, bucket, prefix, after string, limit int) ([]ObjectEntry, error) {
	return guard(b, func() ([]ObjectEntry, error) { return b.Drive.ListEntries(ctx, bucket, prefix, after, limit) })
}
func (b *Breaker) PutUpload(ctx context.Context, u *UploadMeta) error {
	return guard0(b, func() error { return b.Drive.PutUpload(ctx, u) })
}
func (b *Breaker) GetUpload(ctx context.Context, bucket, id string) (*UploadMeta, error) {
	return guard(b, func() (*UploadMeta, error) { return b.Drive.GetUpload(ctx, bucket, id) })
}
func (b *Breaker) DeleteUpload(ctx context.Context, bucket, id string) error {
	return guard0(b, func() error { return b.Drive.DeleteUpload(ctx, bucket, id) })
}
func (b *Breaker) CompleteUpload(ctx context.Context, m *ObjectMeta, expect *string) (*ObjectMeta, error) {
	return guard(b, func() (*ObjectMeta, error) { return b.Drive.CompleteUpload(ctx, m, expect) })
}
func (b *Breaker) AbortUpload(ctx context.Context, bucket, key, id string) error {
	return guard0(b, func() error { return b.Drive.AbortUpload(ctx, bucket, key, id) })
}
func (b *Breaker) ListUploads(ctx context.Context, bucket string) ([]*UploadMeta, error) {
	return guard(b, func() ([]*UploadMeta, error) { return b.Drive.ListUploads(ctx, bucket) })
}
func (b *Breaker) PutPart(ctx context.Context, bucket, id string, p *PartMeta) (*PartMeta, error) {
	return guard(b, func() (*PartMeta, error) { return b.Drive.PutPart(ctx, bucket, id, p) })
}
func (b *Breaker) ListParts(ctx context.Context, bucket, id string) ([]*PartMeta, error) {
	return guard(b, func() ([]*PartMeta, error) { return b.Drive.ListParts(ctx, bucket, id) })
}
