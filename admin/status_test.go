package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/storagenode"
)

// A read-only drive shows as such in `ecstore admin status`.
func TestFormatStatusReadOnlyDrive(t *testing.T) {
	st := Status{DataShards: 1, ParityShards: 1, Drives: []gateway.DriveState{
		{ID: "d1", Node: "n1", Online: true, Records: -1},
		{ID: "d2", Node: "n2", Online: true, Records: -1, Disk: storagenode.DiskInfo{ReadOnly: true}},
	}}
	out := FormatStatus(st)
	for _, line := range strings.Split(out, "\n") {
		ro := strings.Contains(line, "READ-ONLY")
		switch {
		case strings.HasPrefix(line, "n1 ") && ro:
			t.Errorf("writable drive shown read-only: %q", line)
		case strings.HasPrefix(line, "n2 ") && !ro:
			t.Errorf("read-only drive not shown so: %q", line)
		}
	}
	if !strings.Contains(out, "READ-ONLY") {
		t.Errorf("no read-only drive in:\n%s", out)
	}
}

// The lifecycle line says whether this gateway ran passes, and what they
// did.
func TestLifecycleLine(t *testing.T) {
	if got := LifecycleLine(gateway.LifecycleStatus{}); !strings.Contains(got, "no pass on this gateway") {
		t.Errorf("no pass yet: %q", got)
	}
	ended := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	got := LifecycleLine(gateway.LifecycleStatus{PassEnded: ended, Passes: 3, Scanned: 120, Expired: 4, Removed: 5, Aborted: 1, SkippedLocked: 2, Errors: 1, LastError: "disk full"})
	for _, want := range []string{"last pass ended 2026-12-06T10:00:00Z", "3 passes", "120 versions examined", "4 expired", "5 removed", "1 uploads aborted", "2 kept by object lock", "1 errors", "(last: disk full)"} {
		if !strings.Contains(got, want) {
			t.Errorf("lifecycle line %q lacks %q", got, want)
		}
	}
	if out := FormatStatus(Status{}); !strings.Contains(out, "\nlifecycle: ") {
		t.Errorf("admin status has no lifecycle line:\n%s", out)
	}
}
