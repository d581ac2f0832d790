package console_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces the package boundary stated in doc.go: the console
// sees storage only through s3api.ObjectLayer and the gateway's health
// types, never the drive, erasure-coding or placement packages, and serves
// HTTP with net/http alone.
func TestImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(gobin, "list", "-f", `{{join .Imports " "}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	banned := []string{
		"github.com/ecstore/ecstore/storagenode",
		"github.com/ecstore/ecstore/ec",
		"github.com/ecstore/ecstore/placement",
		"github.com/gin-gonic/gin",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, b := range banned {
			if dep == b || strings.HasPrefix(dep, b+"/") {
				t.Errorf("console depends on %s", dep)
			}
		}
	}
}
