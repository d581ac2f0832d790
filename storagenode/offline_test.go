package storagenode_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

var bg = context.Background()

func TestOfflineDrive(t *testing.T) {
	d := storagenode.NewOffline("drive3", errors.New("drive.json: corrupt"))
	if d.ID() != "drive3" {
		t.Fatalf("ID = %q", d.ID())
	}
	_, err := d.GetMeta(bg, "bkt", "k")
	if !errors.Is(err, storagenode.ErrDriveOffline) || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("GetMeta = %v, want ErrDriveOffline with the reason", err)
	}
	if err := d.MakeBucket(bg, "bkt", time.Now()); !errors.Is(err, storagenode.ErrDriveOffline) {
		t.Fatalf("MakeBucket = %v", err)
	}
	if _, err := storagenode.DiskInfoOf(bg, d); !errors.Is(err, storagenode.ErrDriveOffline) {
		t.Fatalf("DiskInfo = %v", err)
	}
}
