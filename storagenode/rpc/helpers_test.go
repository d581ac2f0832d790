package rpc_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

var bg = context.Background()

// openLocal opens a drive in a new folder, closed when the test ends.
func openLocal(tb testing.TB) *local.Drive {
	d, err := local.Open(tb.TempDir(), local.Options{})
	if err == nil {
		tb.Cleanup(func() { _ = d.Close() })
		return d
	}
	tb.Fatal(err)
	return nil
}

var memIDs atomic.Int64

func newMem() *local.Drive {
	return local.NewMem(fmt.Sprintf("mem%d", memIDs.Add(1)))
}

// benchMeta is a typical object record of six drives, one part.
func benchMeta(i int) *storagenode.ObjectMeta {
	id, etag := fmt.Sprintf("%016x", i), "9b2cf535f27731c974343645a3985328"
	part := storagenode.PartInfo{Number: 1, Size: 3 << 20, ETag: etag, Name: "part.1"}
	return &storagenode.ObjectMeta{Bucket: "bench", Key: fmt.Sprintf("photos/2025/%08d.jpg", i), VersionID: id, DataDir: id,
		ModTime: time.Unix(1750000000, int64(i)), Size: 3 << 20, ETag: etag, ContentType: "image/jpeg",
		EC: storagenode.ECInfo{Data: 4, Parity: 2, BlockSize: 1 << 20}, Parts: []storagenode.PartInfo{part},
		Drives: []string{"n1-d1", "n2-d1", "n3-d1", "n4-d1", "n5-d1", "n6-d1"}}
}

// countFiles counts the entries of a local drive's folder.
func countFiles(t *testing.T, dir string) int {
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}
