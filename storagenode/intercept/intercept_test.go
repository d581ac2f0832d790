package intercept_test

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/drivetest"
	"github.com/ecstore/ecstore/storagenode/intercept"
	"github.com/ecstore/ecstore/storagenode/local"
)

// TestOps: every method of storagenode.Drive (but ID) and of its optional
// abilities goes through the interceptor, as the Op of its name. A method
// added to Drive fails here until the forwarder intercepts it; then every
// wrapper (metrics, breaker, faults) sees it.
func TestOps(t *testing.T) {
	errStop := errors.New("stopped by the interceptor")
	var seen []intercept.Op
	fwd := intercept.Wrap(storagenode.NewOffline("d1", errors.New("test")), intercept.Func(
		func(_ context.Context, c *intercept.Call, _ func(context.Context) error) error {
			seen = append(seen, c.Op)
			return errStop
		}))
	methods := map[string]bool{}
	for _, it := range []reflect.Type{
		reflect.TypeFor[storagenode.Drive](),
		reflect.TypeFor[storagenode.DiskInfoer](),
		reflect.TypeFor[interface{ Ping(context.Context) error }](),
	} {
		for m := range it.Methods() {
			methods[m.Name] = true
		}
	}
	delete(methods, "ID")
	v := reflect.ValueOf(fwd)
	for name := range methods {
		m := v.MethodByName(name)
		args := make([]reflect.Value, m.Type().NumIn())
		for i := range args {
			in := m.Type().In(i)
			if in == reflect.TypeFor[context.Context]() {
				args[i] = reflect.ValueOf(context.Background())
			} else {
				args[i] = reflect.Zero(in)
			}
		}
		seen = seen[:0]
		out := m.Call(args)
		if len(seen) != 1 || seen[0].String() != name {
			t.Errorf("%s: the interceptor saw %v, want one call of Op %s", name, seen, name)
			continue
		}
		if err, _ := out[len(out)-1].Interface().(error); !errors.Is(err, errStop) {
			t.Errorf("%s returned %v, not the interceptor's error", name, err)
		}
	}
}

// TestObservedConformance: the metrics wrapper changes nothing a caller
// sees, and its observer counts shard bytes as written and read.
func TestObservedConformance(t *testing.T) {
	var calls, written, read atomic.Int64
	obs := func(_, class string, _ time.Duration, n int64, _ bool) {
		calls.Add(1)
		switch class {
		case intercept.ClassShardWrite:
			written.Add(n)
		case intercept.ClassShardRead:
			read.Add(n)
		}
	}
	drivetest.Run(t, func(t *testing.T) storagenode.Drive { return intercept.Observe(local.NewMem("d1"), obs) })
	if calls.Load() == 0 || written.Load() == 0 || read.Load() == 0 {
		t.Errorf("observer saw %d calls, %d bytes written, %d read; want all > 0", calls.Load(), written.Load(), read.Load())
	}
}

// TestBreakerConformance: a breaker over a healthy drive changes nothing a
// caller sees.
func TestBreakerConformance(t *testing.T) {
	drivetest.Run(t, func(t *testing.T) storagenode.Drive {
		return intercept.NewBreaker(local.NewMem("d1"), intercept.BreakerOptions{})
	})
}
