package tests

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestServerRefusesImpossibleEC checks that `ecstore server` refuses an
// erasure code the drives cannot hold, with a message a user can act on,
// before it touches any folder.
func TestServerRefusesImpossibleEC(t *testing.T) {
	parallelLight(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--ec", "4+2"}, "needs at least 6 drives, but 5 drive folders were given"},
		{[]string{"--ec", "four+two"}, `want K+M, for example 4+2`},
		{[]string{"--ec", "0+2"}, "need 1 or more data shards"},
	} {
		dirs := NewDriveDirs(t, 5)
		cmd := exec.Command(binPath, append(append([]string{"server", "--address", "127.0.0.1:0"}, tc.args...), dirs...)...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("%v: server started, want refusal", tc.args)
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: output %q does not say %q", tc.args, out, tc.want)
		}
		for _, d := range dirs {
			if _, err := os.Stat(d); err == nil {
				t.Errorf("%v: drive folder %s was created by a refused start", tc.args, d)
			}
		}
	}
}
