package importtest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const mod = "github.com/ecstore/ecstore/"

// pkgInfo is one package of `go list -deps ./...`.
type pkgInfo struct {
	path        string
	dir         string
	standard    bool
	imports     []string
	testImports []string // test files' imports (module packages only)
}

// rule checks a package: its transitive dependencies and the test
// imports; it returns what breaks the rule.
type rule func(p pkgInfo, deps map[string]bool) []string

// banned forbids packages and everything under them ("net" bans
// "net/http"); a name ending in "!" bans that package alone.
func banned(names ...string) rule {
	return func(p pkgInfo, deps map[string]bool) []string {
		var out []string
		for dep := range deps {
			for _, b := range names {
				if exact, ok := strings.CutSuffix(b, "!"); ok {
					if dep == exact {
						out = append(out, dep)
					}
				} else if dep == b || strings.HasPrefix(dep, b+"/") {
					out = append(out, dep)
				}
			}
		}
		return out
	}
}

// standardOnly allows the standard library and the module packages given.
func standardOnly(all map[string]pkgInfo, allowed ...string) rule {
	return func(p pkgInfo, deps map[string]bool) []string {
		var out []string
		for dep := range deps {
			if dep == p.path || dep == "C" || all[dep].standard {
				continue
			}
			ok := false
			for _, a := range allowed {
				ok = ok || dep == a
			}
			if !ok {
				out = append(out, dep)
			}
		}
		return out
	}
}

// both applies two rules.
func both(a, b rule) rule {
	return func(p pkgInfo, deps map[string]bool) []string { return append(a(p, deps), b(p, deps)...) }
}

// testImports forbids test files to import the given module packages.
func testImports(names ...string) rule {
	return func(p pkgInfo, _ map[string]bool) []string {
		var out []string
		for _, imp := range p.testImports {
			for _, b := range names {
				if imp == b || strings.HasPrefix(imp, b+"/") {
					out = append(out, "test import "+imp)
				}
			}
		}
		return out
	}
}

// TestBoundaries: every package of the module has a doc.go that says what
// it must never import, and the rule it states holds over its transitive
// dependencies (`go list -deps`), not only its direct imports. Some
// packages also check their own rule in their own tests; this table is the
// one place that covers them all, and a new package without a rule here
// fails it.
func TestBoundaries(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	cmd := exec.Command(gobin, "list", "-deps", "-f",
		`{{.ImportPath}}|{{.Dir}}|{{.Standard}}|{{join .Imports " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}`, "./...")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./...: %v", err)
	}
	all := map[string]pkgInfo{}
	var ours []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		p := pkgInfo{path: f[0], dir: f[1], standard: f[2] == "true", imports: strings.Fields(f[3]), testImports: strings.Fields(f[4])}
		all[p.path] = p
		if strings.HasPrefix(p.path, mod) || p.path == strings.TrimSuffix(mod, "/") {
			ours = append(ours, p.path)
		}
	}
	sort.Strings(ours)
	reach := func(root string) map[string]bool {
		seen := map[string]bool{}
		var walk func(string)
		walk = func(p string) {
			if seen[p] {
				return
			}
			seen[p] = true
			for _, q := range all[p].imports {
				walk(q)
			}
		}
		walk(root)
		delete(seen, root)
		return seen
	}
	const (
		pebble = "github.com/cockroachdb/pebble"
		gin    = "github.com/gin-gonic/gin"
	)
	module := strings.TrimSuffix(mod, "/") // banned(module): every package of ours
	testOnly := []string{mod + "storagenode/faultdrive", mod + "storagenode/drivetest", mod + "internal/importtest"}
	drives := []string{mod + "storagenode/local", mod + "storagenode/rpc", pebble}
	rules := map[string]rule{
		"s3api":                  standardOnly(all),
		"s3compat":               banned(mod+"gateway", mod+"ec", mod+"placement", mod+"storagenode"),
		"s3compat/sigv4":         standardOnly(all),
		"gateway":                banned(append([]string{mod + "s3compat", gin, "net/http", mod + "server", mod + "meta"}, drives...)...),
		"ec":                     banned("net", mod+"storagenode", mod+"gateway", mod+"placement"),
		"placement":              both(banned("net"), standardOnly(all)),
		"lifecycle":              both(banned("net"), standardOnly(all)),
		"storagenode":            banned(pebble, "net/http", mod+"gateway", mod+"s3compat", mod+"s3api", mod+"ec", mod+"placement", mod+"cluster"),
		"storagenode/drivetest":  standardOnly(all, mod+"storagenode", "github.com/fxamacker/cbor/v2", "github.com/x448/float16"),
		"storagenode/local":      banned(mod+"storagenode/rpc", mod+"storagenode/intercept", mod+"storagenode/faultdrive", mod+"gateway", mod+"s3compat", mod+"s3api"),
		"storagenode/rpc":        banned(pebble, mod+"storagenode/local", mod+"gateway", mod+"s3compat", mod+"s3api"),
		"storagenode/intercept":  banned(append([]string{"net/http", mod + "gateway", mod + "s3compat"}, drives...)...),
		"storagenode/faultdrive": banned(append([]string{"net/http", mod + "gateway", mod + "s3compat"}, drives...)...),
		"storagenode/scrub":      banned(append([]string{"net/http", mod + "gateway", mod + "s3compat"}, drives...)...),
		"cluster":                banned(mod+"gateway", mod+"s3compat", mod+"server"),
		"meta":                   banned(append([]string{mod + "gateway", mod + "s3compat", mod + "server", gin}, drives...)...),
		"console":                banned(mod+"s3compat", gin, mod+"server", mod+"storagenode/local", mod+"storagenode/rpc", pebble),
		"admin":                  banned(append([]string{mod + "s3compat!", gin, mod + "server"}, drives...)...),
		"bench":                  banned(module),
		"sse":                    banned("net", module),
		"server":                 banned(testOnly...),
		"cmd/ecstore":            banned(testOnly...),
		"internal/crashpoint":    standardOnly(all),
		"internal/md5pool":       banned(module),
		"internal/importtest":    standardOnly(all),
		"tests":                  testImports(mod+"gateway", mod+"server", mod+"s3compat", mod+"storagenode/local"),
	}
	for _, path := range ours {
		rel := strings.TrimPrefix(path, mod)
		p := all[path]
		doc, err := os.ReadFile(filepath.Join(p.dir, "doc.go"))
		switch {
		case err != nil:
			t.Errorf("%s has no doc.go: %v", rel, err)
		case !strings.Contains(string(doc), "must never"):
			t.Errorf("%s/doc.go does not say what the package must never import", rel)
		}
		r, ok := rules[rel]
		if !ok {
			t.Errorf("%s has no rule in TestBoundaries: add the one its doc.go states", rel)
			continue
		}
		if bad := r(p, reach(path)); len(bad) > 0 {
			sort.Strings(bad)
			t.Errorf("%s breaks its rule: it depends on %s", rel, strings.Join(bad, ", "))
		}
	}
}
