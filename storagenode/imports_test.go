package storagenode_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces the package boundary stated in doc.go: storagenode
// (and its conformance suite) never depend on the S3 side of the system.
func TestImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".", "./drivetest").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"/gateway", "/s3compat", "gin-gonic", "/ec", "/placement"} {
			if strings.HasPrefix(dep, "github.com/ecstore/ecstore") && strings.HasSuffix(dep, banned) || strings.Contains(dep, "gin-gonic") && banned == "gin-gonic" {
				t.Errorf("storagenode depends on %s", dep)
			}
		}
	}
}
