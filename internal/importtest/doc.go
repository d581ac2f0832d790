// Package importtest checks package boundaries over transitive
// dependencies: the import tests of the packages that state in doc.go what
// they must never import use it. It runs `go list -deps`, so a banned
// package is found however deep it hides, not only among direct imports.
//
// It is for tests only, and imports nothing of ecstore.
//
// It must never import another ecstore package, nor anything outside the
// standard library (TestBoundaries, which also checks every other
// package's rule).
package importtest
