package storagenode_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/ecstore/ecstore/"

// s3Side is the S3 side of the system, which no storage package may
// depend on.
var s3Side = []string{mod + "gateway", mod + "s3compat", mod + "s3api", "github.com/gin-gonic/gin"}

// leaf is all the contract and its conformance suite may depend on
// outside the standard library: no other ecstore package, no pebble, only
// the record codec.
var leaf = []string{mod + "storagenode", "github.com/fxamacker/cbor", "github.com/x448/float16"}

// TestImports enforces the package boundaries the doc.go of each storage
// package states: deps are banned from the package's transitive
// dependencies (go list -deps); direct only from its own imports, for what
// a third-party dependency brings in anyway (pebble uses net/http).
func TestImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	wrapperBans := append([]string{"github.com/cockroachdb/pebble", "net/http", mod + "storagenode/local", mod + "storagenode/rpc"}, s3Side...)
	tests := []struct {
		pkg          string
		deps, direct []string
		only         []string // when set, the only packages outside the standard library it may depend on
	}{
		{pkg: ".", deps: []string{"net/http"}, only: leaf},
		{pkg: "./drivetest", deps: []string{"net/http"}, only: leaf},
		{pkg: "./local", deps: append([]string{mod + "storagenode/rpc", mod + "storagenode/intercept", mod + "storagenode/faultdrive"}, s3Side...), direct: []string{"net/http"}},
		{pkg: "./rpc", deps: append([]string{"github.com/cockroachdb/pebble", mod + "storagenode/local"}, s3Side...)},
		{pkg: "./intercept", deps: wrapperBans},
		{pkg: "./faultdrive", deps: wrapperBans},
		{pkg: "./scrub", deps: wrapperBans},
	}
	list := func(args ...string) []string {
		t.Helper()
		out, err := exec.Command(gobin, append([]string{"list"}, args...)...).Output()
		if err != nil {
			t.Fatalf("go list %v: %v", args, err)
		}
		return strings.Fields(string(out))
	}
	matches := func(dep string, pkgs []string) bool {
		for _, p := range pkgs {
			if dep == p || strings.HasPrefix(dep, p+"/") {
				return true
			}
		}
		return false
	}
	for _, tc := range tests {
		self := strings.TrimSuffix(mod+"storagenode/"+strings.TrimPrefix(tc.pkg, "./"), "/.")
		for _, dep := range list("-deps", tc.pkg) {
			if matches(dep, tc.deps) {
				t.Errorf("%s depends on %s", tc.pkg, dep)
			}
		}
		for _, dep := range list("-f", `{{join .Imports " "}}`, tc.pkg) {
			if matches(dep, tc.direct) {
				t.Errorf("%s imports %s", tc.pkg, dep)
			}
		}
		if tc.only == nil {
			continue
		}
		for _, dep := range list("-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", tc.pkg) {
			// ecstore packages by their exact path, others with their subpackages
			allowed := dep == self || slices.Contains(tc.only, dep) || !strings.HasPrefix(dep, mod) && matches(dep, tc.only)
			if !allowed {
				t.Errorf("%s depends on %s: only %v and the standard library are allowed", tc.pkg, dep, tc.only)
			}
		}
	}
}
