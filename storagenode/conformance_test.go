package storagenode_test

import (
	"fmt"
	"sync/atomic"
	"testing"

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
