package local_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/drivetest"
	"github.com/ecstore/ecstore/storagenode/local"
)

func openLocal(t testing.TB) *local.Drive {
	t.Helper()
	d, err := local.Open(t.TempDir(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

var memIDs atomic.Int64

func newMem() *local.Drive {
	return local.NewMem(fmt.Sprintf("mem%d", memIDs.Add(1)))
}

func TestLocalConformance(t *testing.T) {
	drivetest.Run(t, func(t *testing.T) storagenode.Drive { return openLocal(t) })
}

// TestLocalDirectSmallConformance: the suite on a drive that writes and
// reads every shard file with O_DIRECT (a storage node's drives).
func TestLocalDirectSmallConformance(t *testing.T) {
	drivetest.Run(t, func(t *testing.T) storagenode.Drive {
		d, err := local.Open(t.TempDir(), local.Options{DirectSmallShards: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		return d
	})
}

func TestMemConformance(t *testing.T) {
	drivetest.Run(t, func(t *testing.T) storagenode.Drive { return newMem() })
}
