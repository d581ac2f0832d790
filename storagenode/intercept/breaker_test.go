package intercept_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/faultdrive"
	"github.com/ecstore/ecstore/storagenode/intercept"
	"github.com/ecstore/ecstore/storagenode/local"
)

// countingDrive counts the calls that reach it.
type countingDrive struct {
	storagenode.Drive
	calls atomic.Int64
}

func (c *countingDrive) StatBucket(ctx context.Context, b string) (storagenode.BucketInfo, error) {
	c.calls.Add(1)
	return c.Drive.StatBucket(ctx, b)
}

func TestBreaker(t *testing.T) {
	f := faultdrive.New(local.NewMem("d1"))
	c := &countingDrive{Drive: f}
	var states []bool
	b := intercept.NewBreaker(c, intercept.BreakerOptions{MinBackoff: time.Second, MaxBackoff: 4 * time.Second,
		OnStateChange: func(_ string, online bool) { states = append(states, online) }})
	now := time.Unix(1000, 0)
	intercept.SetNow(b, func() time.Time { return now })
	ctx := context.Background()
	_ = b.MakeBucket(ctx, "bkt", now)

	f.SetOffline(true)
	if _, err := b.StatBucket(ctx, "bkt"); !errors.Is(err, storagenode.ErrDriveOffline) {
		t.Fatal(err)
	}
	// While down, calls fail fast without reaching the drive.
	for range 10 {
		if _, err := b.StatBucket(ctx, "bkt"); !errors.Is(err, storagenode.ErrDriveOffline) {
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
	if _, err := b.StatBucket(ctx, "nope"); !errors.Is(err, storagenode.ErrBucketNotFound) || !b.Online() {
		t.Fatalf("a not-found tripped the breaker: %v", err)
	}
}

// pingDrive is a drive whose Ping answers as told.
type pingDrive struct {
	*countingDrive
	up atomic.Bool
}

func (p *pingDrive) Ping(ctx context.Context) error {
	if p.up.Load() {
		return nil
	}
	<-ctx.Done() // a hung node: the probe times out
	return storagenode.ErrDriveOffline
}

func TestBreakerProbesInBackground(t *testing.T) {
	f := faultdrive.New(local.NewMem("d1"))
	p := &pingDrive{countingDrive: &countingDrive{Drive: f}}
	online := make(chan bool, 4)
	b := intercept.NewBreaker(p, intercept.BreakerOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		PingTimeout: 10 * time.Millisecond, OnStateChange: func(_ string, on bool) { online <- on }})
	defer b.Close()
	ctx := context.Background()
	f.SetOffline(true)
	b.StatBucket(ctx, "bkt")
	if <-online {
		t.Fatal("first state change was not 'down'")
	}
	// While down no user call reaches the drive, however long we wait.
	for range 20 {
		b.StatBucket(ctx, "bkt")
		time.Sleep(5 * time.Millisecond)
	}
	if n := p.calls.Load(); n != 1 {
		t.Fatalf("%d user calls reached a down drive, want 1 (probes must be pings)", n)
	}
	// The node answers pings again: the breaker closes without a user call.
	f.SetOffline(false)
	p.up.Store(true)
	select {
	case on := <-online:
		if !on {
			t.Fatal("state change was not 'online'")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the background probe never found the drive back")
	}
	if _, err := b.StatBucket(ctx, "bkt"); !errors.Is(err, storagenode.ErrBucketNotFound) {
		t.Fatalf("call after recovery: %v", err)
	}
}
