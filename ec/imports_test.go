package ec

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ecstore/ecstore/internal/importtest"
)

// TestImports keeps ec a pure coding package: no networking, no storage,
// no other ecstore package. Adding an import here is a design decision.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"context": true, "encoding/binary": true, "errors": true, "fmt": true,
		"io": true, "sync": true, "sync/atomic": true,
		"github.com/klauspost/reedsolomon": true, "github.com/zeebo/xxh3": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
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
				t.Errorf("%s imports %q, outside the allowed set", name, path)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}

// TestDeps: nothing networked among ec's transitive dependencies either.
func TestDeps(t *testing.T) {
	importtest.Check(t, "net", "crypto/tls", "github.com/gin-gonic/gin")
}
