package rpc_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/faultdrive"
	"github.com/ecstore/ecstore/storagenode/intercept"
	"github.com/ecstore/ecstore/storagenode/local"
)

// TestDiskInfo: a local drive reports its file system's capacity, locally
// and over the wire, and reports itself offline once its folder is gone.
func TestDiskInfo(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "d1")
	d, err := local.Open(dir, local.Options{ID: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	srv := serve(t, rpcOpts(nil), d)
	r := remote(t, srv.URL, "d1", rpcOpts(nil))
	br := intercept.NewBreaker(r, intercept.BreakerOptions{})
	defer br.Close()
	for name, drive := range map[string]storagenode.Drive{"local": d, "remote": r, "breaker": br} {
		di, err := storagenode.DiskInfoOf(ctx, drive)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if di.Total == 0 || di.Free > di.Total || di.Used > di.Total {
			t.Errorf("%s: implausible disk info %+v", name, di)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for name, drive := range map[string]storagenode.Drive{"local": d, "remote": r} {
		if _, err := storagenode.DiskInfoOf(ctx, drive); !errors.Is(err, storagenode.ErrDriveOffline) {
			t.Errorf("%s with its folder removed: got %v, want ErrDriveOffline", name, err)
		}
	}
	mem := local.NewMem("m")
	if _, err := storagenode.DiskInfoOf(ctx, mem); err != nil {
		t.Errorf("mem drive: %v", err)
	}
	mem.Close()
	if _, err := storagenode.DiskInfoOf(ctx, mem); !errors.Is(err, storagenode.ErrDriveOffline) {
		t.Errorf("closed mem drive: got %v, want ErrDriveOffline", err)
	}
}

// A gateway learns that a remote drive is read-only from the node's
// DiskInfo answer.
func TestRemoteDiskInfoReadOnly(t *testing.T) {
	f := faultdrive.New(local.NewMem("m1"))
	d := remote(t, serve(t, rpcOpts(nil), f).URL, f.ID(), rpcOpts(nil))
	ctx := context.Background()
	if di, err := d.DiskInfo(ctx); err != nil || di.ReadOnly {
		t.Fatalf("writable drive: %+v %v", di, err)
	}
	f.SetReadOnly(true)
	if di, err := d.DiskInfo(ctx); err != nil || !di.ReadOnly {
		t.Fatalf("read-only drive: %+v %v; want read-only", di, err)
	}
}
