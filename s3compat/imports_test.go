package s3compat_test

import (
	"testing"

	"github.com/ecstore/ecstore/internal/importtest"
)

// TestImports enforces the package boundary stated in doc.go over every
// transitive dependency: storage is reached only through package s3api.
func TestImports(t *testing.T) {
	importtest.Check(t,
		"github.com/ecstore/ecstore/gateway",
		"github.com/ecstore/ecstore/ec",
		"github.com/ecstore/ecstore/placement",
		"github.com/ecstore/ecstore/storagenode",
	)
}
