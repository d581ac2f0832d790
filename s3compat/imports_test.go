package s3compat_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces the package boundary stated in doc.go.
func TestImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	banned := []string{
		"github.com/ecstore/ecstore/gateway",
		"github.com/ecstore/ecstore/ec",
		"github.com/ecstore/ecstore/placement",
		"github.com/ecstore/ecstore/storagenode",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, b := range banned {
			if dep == b || strings.HasPrefix(dep, b+"/") {
				t.Errorf("s3compat depends on %s", dep)
			}
		}
	}
}
