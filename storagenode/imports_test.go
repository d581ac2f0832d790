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
	banned := []string{
		"github.com/ecstore/ecstore/gateway",
		"github.com/ecstore/ecstore/s3compat",
		"github.com/gin-gonic/gin",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, b := range banned {
			if dep == b || strings.HasPrefix(dep, b+"/") {
				t.Errorf("storagenode depends on %s", dep)
			}
		}
	}
}
