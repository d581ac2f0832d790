package storagenode_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/drivetest"
)

func openLocal(t testing.TB) *storagenode.LocalDrive {
	t.Helper()
	d, err := storagenode.OpenLocal(t.TempDir(), storagenode.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

var memIDs atomic.Int64

func newMem() *storagenode.MemDrive {
	return storagenode.NewMem(fmt.Sprintf("mem%d", memIDs.Add(1)))
}

func TestLocalConformance(t *testing.T) {
	drivetest.Run(t, func(t *testing.T) storagenode.Drive { return openLocal(t) })
}

func TestMemConformance(t *testing.T) {
	drivetest.Run(t, func(t *testing.T) storagenode.Drive { return newMem() })
}

func TestFaultyConformance(t *testing.T) {
	t.Run("Mem", func(t *testing.T) {
		drivetest.Run(t, func(t *testing.T) storagenode.Drive { return storagenode.NewFaulty(newMem()) })
	})
	t.Run("Local", func(t *testing.T) {
		if testing.Short() {
			t.Skip("the local drive runs the suite in TestLocalConformance")
		}
		drivetest.Run(t, func(t *testing.T) storagenode.Drive { return storagenode.NewFaulty(openLocal(t)) })
	})
}

// TestObservedConformance: the metrics wrapper changes nothing a caller
// sees, and its observer counts shard bytes as written and read.
func TestObservedConformance(t *testing.T) {
	var calls, written, read atomic.Int64
	obs := func(_, op string, _ time.Duration, n int64, _ bool) {
		calls.Add(1)
		switch op {
		case storagenode.OpShardWrite:
			written.Add(n)
		case storagenode.OpShardRead:
			read.Add(n)
		}
	}
	drivetest.Run(t, func(t *testing.T) storagenode.Drive { return storagenode.Observe(newMem(), obs) })
	if calls.Load() == 0 || written.Load() == 0 || read.Load() == 0 {
		t.Errorf("observer saw %d calls, %d bytes written, %d read; want all > 0", calls.Load(), written.Load(), read.Load())
	}
}
