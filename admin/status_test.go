package admin

import (
	"strings"
	"testing"

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
