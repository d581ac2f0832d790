package storagenode

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// countingDrive counts the calls that reach it.
type countingDrive struct {
	Drive
	calls atomic.Int64
}

func (c *countingDrive) StatBucket(ctx context.Context, b string) (BucketInfo, error) {
	c.calls.Add(1)
	return c.Drive.StatBucket(ctx, b)
}

func TestBreaker(t *testing.T) {
	f := NewFaulty(NewMem("d1"))
	c := &countingDrive{Drive: f}
	var states []bool
	b := NewBreaker(c, BreakerOptions{MinBackoff: time.Second, MaxBackoff: 4 * time.Second,
		OnStateChange: func(_ string, online bool) { states = append(states, online) }})
	now := time.Unix(1000, 0)
	b.now = func() time.Time { return now }
	ctx := context.Background()
	_ = b.MakeBucket(ctx, "bkt", now)

	f.SetOffline(true)
	if _, err := b.StatBucket(ctx, "bkt"); !errors.Is(err, ErrDriveOffline) {
		t.Fatal(err)
	}
	// While down, calls fail fast without reaching the drive.
	for range 10 {
		if _, err := b.StatBucket(ctx, "bkt"); !errors.Is(err, ErrDriveOffline) {
			t.Fatal(err)
		}
	}
	if n := c.calls.Load(); n != 1 {
		t.Fatalf("%d calls reached a down drive, want 1", n)
	}
	// After the back-off one probe goes through; it fails and the wait doubles.
	now = now.Add(time.Second)
	b.StatBucket(ctx, "bkt")
	now = now.Add(time.Second)
	b.StatBucket(ctx, "bkt")
	if n := c.calls.Load(); n != 2 {
		t.Fatalf("%d calls after one back-off, want 2 (the wait must have doubled)", n)
	}
	// The drive returns: the next probe succeeds and the drive is online.
	f.SetOffline(false)
	now = now.Add(2 * time.Second)
	if _, err := b.StatBucket(ctx, "bkt"); err != nil {
		t.Fatalf("probe of a returned drive: %v", err)
	}
	if !b.Online() {
		t.Fatal("drive still down after a good probe")
	}
	if len(states) != 2 || states[0] || !states[1] {
		t.Fatalf("state changes %v, want [false true]", states)
	}
	// Other errors do not trip the breaker.
	if _, err := b.StatBucket(ctx, "nope"); !errors.Is(err, ErrBucketNotFound) || !b.Online() {
		t.Fatalf("a not-found tripped the breaker: %v", err)
	}
}
