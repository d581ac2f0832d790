package gateway_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces the package boundary stated in doc.go: the gateway
// imports no HTTP code itself (it reaches S3 only through s3compat types).
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
		"net/http",
		"github.com/gin-gonic/gin",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, b := range banned {
			if dep == b || strings.HasPrefix(dep, b+"/") {
				t.Errorf("gateway depends on %s", dep)
			}
		}
	}
}
