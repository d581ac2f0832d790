package console_test

import (
	"testing"

	"github.com/ecstore/ecstore/internal/importtest"
)

// TestImports enforces the package boundary stated in doc.go over every
// transitive dependency: the console serves HTTP with net/http alone (no
// gin, no S3 front end), and sees storage only through s3api.ObjectLayer
// and the gateway's health types, so the drive, erasure-coding and
// placement packages are reached through the gateway or not at all.
func TestImports(t *testing.T) {
	g, self := importtest.Load(t)
	for _, dep := range importtest.Banned(g.Reach(self), "github.com/gin-gonic/gin", "github.com/ecstore/ecstore/s3compat") {
		t.Errorf("console depends on %s", dep)
	}
	for _, dep := range importtest.Banned(g.Reach(self, "github.com/ecstore/ecstore/gateway"),
		"github.com/ecstore/ecstore/storagenode",
		"github.com/ecstore/ecstore/ec",
		"github.com/ecstore/ecstore/placement",
	) {
		t.Errorf("console depends on %s other than through the gateway", dep)
	}
}
