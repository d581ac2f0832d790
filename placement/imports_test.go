package placement

import (
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ecstore/ecstore/internal/importtest"
)

// TestImports enforces the package boundary stated in doc.go: placement is a
// pure function of its inputs and imports nothing that does I/O (no
// networking, no files, no storage, no other ecstore package).
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"errors": true, "fmt": true, "math": true, "math/bits": true, "strings": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowed[path] {
				t.Errorf("%s imports %q; placement may import only %v", name, path, slices.Sorted(maps.Keys(allowed)))
			}
		}
	}
}

// TestDeps: nothing networked among placement's transitive dependencies
// either.
func TestDeps(t *testing.T) {
	importtest.Check(t, "net", "crypto/tls", "github.com/gin-gonic/gin")
}
