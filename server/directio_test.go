package server

import (
	"strings"
	"testing"

	"github.com/ecstore/ecstore/storagenode/local"
)

// TestDirectIO: ECSTORE_DIRECT_IO picks how drives write shard files, and
// unset a storage node's drives bypass the page cache for small files too
// while the embedded server's keep them in it.
func TestDirectIO(t *testing.T) {
	for _, tc := range []struct {
		env             string
		node            bool
		buffered, small bool
	}{
		{"", false, false, false},
		{"", true, false, true},
		{"large", true, false, false},
		{"all", false, false, true},
		{"off", true, true, false},
		{"off", false, true, false},
	} {
		t.Setenv("ECSTORE_DIRECT_IO", tc.env)
		got, err := directIO(local.Options{ID: "d1"}, tc.node)
		if err != nil {
			t.Fatalf("ECSTORE_DIRECT_IO=%q: %v", tc.env, err)
		}
		if got.BufferedWrites != tc.buffered || got.DirectSmallShards != tc.small || got.ID != "d1" {
			t.Errorf("ECSTORE_DIRECT_IO=%q node=%v: BufferedWrites %v DirectSmallShards %v (ID %q), want %v %v", tc.env, tc.node, got.BufferedWrites, got.DirectSmallShards, got.ID, tc.buffered, tc.small)
		}
	}
	t.Setenv("ECSTORE_DIRECT_IO", "on")
	if _, err := directIO(local.Options{}, true); err == nil || !strings.Contains(err.Error(), "want all, large or off") {
		t.Errorf("ECSTORE_DIRECT_IO=on: %v, want a refusal naming the values", err)
	}
}
