package lifecycle_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces the package boundary stated in doc.go over every
// transitive dependency: the standard library only, nothing networked.
func TestImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", `{{.ImportPath}} {{.Standard}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const self = "github.com/ecstore/ecstore/lifecycle"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		dep, std, _ := strings.Cut(line, " ")
		switch {
		case dep == self:
		case std != "true":
			t.Errorf("lifecycle depends on %s, outside the standard library", dep)
		case dep == "net" || strings.HasPrefix(dep, "net/"):
			t.Errorf("lifecycle depends on %s", dep)
		}
	}
}
