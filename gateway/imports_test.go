package gateway_test

import (
	"strings"
	"testing"

	"github.com/ecstore/ecstore/internal/importtest"
)

// TestImports enforces the package boundary stated in doc.go over every
// transitive dependency: the gateway reaches S3 only through package
// s3api, so neither the S3 front end (s3compat, gin) nor net/http is
// among its dependencies.
func TestImports(t *testing.T) {
	g, self := importtest.Load(t)
	banned := []string{
		"github.com/ecstore/ecstore/s3compat",
		"github.com/gin-gonic/gin",
		"net/http",
	}
	// The storagenode package still holds its RPC client beside the Drive
	// contract; once the RPC code lives in its own package (issue 15), the
	// gateway reaches net/http through nothing and this exception goes.
	const storagenode = "github.com/ecstore/ecstore/storagenode"
	for _, dep := range importtest.Banned(g.Reach(self, storagenode), banned...) {
		t.Errorf("gateway depends on %s", dep)
	}
	if via := importtest.Banned(g.Reach(self), banned...); len(via) > 0 {
		t.Logf("known exception: through %s alone the gateway depends on %s", storagenode, strings.Join(via, " "))
	}
}
