package crashpoint

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// TestHit runs this test binary again with ECSTORE_CRASH_AT set and checks
// that it dies of SIGKILL at the named point, and only there.
func TestHit(t *testing.T) {
	if os.Getenv("CRASHPOINT_CHILD") == "1" {
		Hit("other.point")
		os.Stdout.WriteString("passed other.point\n")
		Hit(PutCommitted)
		os.Stdout.WriteString("passed put.committed\n")
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHit$")
	cmd.Env = append(os.Environ(), "CRASHPOINT_CHILD=1", Env+"="+PutCommitted)
	out, err := cmd.Output()
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("child did not die: err %v, output %q", err, out)
	}
	if ws, _ := ee.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL", ee)
	}
	if string(out) != "passed other.point\n" {
		t.Fatalf("child output %q, want only the point before the crash", out)
	}
}
