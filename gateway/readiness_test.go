package gateway

import (
	"context"
	"testing"
)

// A read-only drive answers, but takes no writes: it counts toward the
// read quorum and not toward the write or bucket quorum.
func TestReadinessReadOnlyDrives(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 64<<10) // write quorum 4, bucket quorum 4
	ready := func() (int, bool) { return tc.Readiness(tc.DriveStates(context.Background())) }
	if online, ok := ready(); online != 6 || !ok {
		t.Fatalf("all drives writable: %d online, ready %v", online, ok)
	}
	tc.faulty[0].SetReadOnly(true)
	tc.faulty[1].SetReadOnly(true)
	if online, ok := ready(); online != 6 || !ok {
		t.Fatalf("2 of 6 read-only (4 writable, quorum 4): %d online, ready %v", online, ok)
	}
	for _, s := range tc.DriveStates(context.Background())[:2] {
		if !s.Online || !s.Disk.ReadOnly {
			t.Fatalf("read-only drive's state %+v: want online and read-only", s)
		}
	}
	tc.faulty[2].SetReadOnly(true)
	if online, ok := ready(); online != 6 || ok {
		t.Fatalf("3 of 6 read-only (3 writable, quorum 4): %d online, ready %v; want not ready", online, ok)
	}
	tc.faulty[2].SetReadOnly(false)
	tc.faulty[3].SetOffline(true)
	if online, ok := ready(); online != 5 || ok {
		t.Fatalf("2 read-only, 1 offline: %d online, ready %v; want not ready", online, ok)
	}
	tc.faulty[0].SetReadOnly(false)
	if online, ok := ready(); online != 5 || !ok {
		t.Fatalf("1 read-only, 1 offline: %d online, ready %v", online, ok)
	}
}
