package local_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ecstore/ecstore/storagenode/local"
)

// A local drive whose folder takes no new file reports itself read-only
// (a read-only mount is found the same way, and by its statfs flags, but
// making one needs privileges a test should not ask for). The tmp folder is
// replaced by a file here: creating a file under it fails as EROFS would.
func TestLocalDiskInfoReadOnly(t *testing.T) {
	dir := t.TempDir()
	d, err := local.Open(dir, local.Options{ID: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if di, err := d.DiskInfo(ctx); err != nil || di.ReadOnly || di.Total == 0 {
		t.Fatalf("writable drive: %+v %v", di, err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if di, err := d.DiskInfo(ctx); err != nil || !di.ReadOnly {
		t.Fatalf("drive taking no new file: %+v %v; want read-only", di, err)
	}
	// It comes back when writes work again.
	if err := os.Remove(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if di, err := d.DiskInfo(ctx); err != nil || di.ReadOnly {
		t.Fatalf("writable again: %+v %v", di, err)
	}
}
