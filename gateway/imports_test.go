package gateway_test

import (
	"testing"

	"github.com/ecstore/ecstore/internal/importtest"
)

// TestImports enforces the package boundary stated in doc.go over every
// transitive dependency: the gateway reaches S3 only through package
// s3api, so neither the S3 front end (s3compat, gin) nor net/http is
// among its dependencies, and drives only through the storagenode
// contract (no local drive, no RPC, no pebble).
func TestImports(t *testing.T) {
	g, self := importtest.Load(t)
	banned := []string{
		"github.com/ecstore/ecstore/s3compat",
		"github.com/gin-gonic/gin",
		"net/http",
		// Drives reach the gateway as the storagenode contract only.
		"github.com/ecstore/ecstore/storagenode/local",
		"github.com/ecstore/ecstore/storagenode/rpc",
		"github.com/cockroachdb/pebble",
	}
	for _, dep := range importtest.Banned(g.Reach(self), banned...) {
		t.Errorf("gateway depends on %s", dep)
	}
}
