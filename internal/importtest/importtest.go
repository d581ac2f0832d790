package importtest

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// Graph is an import graph: each package's import path -> the packages it
// imports.
type Graph map[string][]string

// Load returns the import graph of the package in the current directory
// and of all its dependencies (`go list -deps .`, test files excluded), and
// that package's import path. It skips t when there is no go command.
func Load(t testing.TB) (g Graph, self string) {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", `{{.ImportPath}} {{join .Imports " "}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	g = Graph{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		g[f[0]] = f[1:]
		self = f[0] // go list -deps prints the package itself last
	}
	return g, self
}

// Reach returns the packages reachable from root (root included), not
// passing through any package of skip.
func (g Graph) Reach(root string, skip ...string) map[string]bool {
	seen := map[string]bool{}
	for _, s := range skip {
		seen[s] = true
	}
	var walk func(p string)
	walk = func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		for _, q := range g[p] {
			walk(q)
		}
	}
	walk(root)
	for _, s := range skip {
		delete(seen, s)
	}
	return seen
}

// Banned returns the packages of deps that are one of banned or under one
// of them ("net" bans "net/http").
func Banned(deps map[string]bool, banned ...string) []string {
	var out []string
	for dep := range deps {
		for _, b := range banned {
			if dep == b || strings.HasPrefix(dep, b+"/") {
				out = append(out, dep)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// Check fails t for every package the package in the current directory
// depends on, transitively, that is banned (see Banned).
func Check(t *testing.T, banned ...string) {
	t.Helper()
	g, self := Load(t)
	for _, dep := range Banned(g.Reach(self), banned...) {
		t.Errorf("%s depends on %s", self, dep)
	}
}
