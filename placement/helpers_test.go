package placement

import (
	"fmt"
	"slices"
)

// cluster builds zones*nodesPerZone nodes of drivesPerNode drives each, listed
// node by node. weight(i) gives drive i's weight (nil: all 1).
func cluster(zones, nodesPerZone, drivesPerNode int, weight func(i int) float64) []Drive {
	var ds []Drive
	for z := range zones {
		for n := range nodesPerZone {
			for d := range drivesPerNode {
				w := 1.0
				if weight != nil {
					w = weight(len(ds))
				}
				ds = append(ds, Drive{
					ID:     fmt.Sprintf("z%d-n%d-d%d", z, n, d),
					Node:   fmt.Sprintf("z%d-n%d", z, n),
					Zone:   fmt.Sprintf("z%d", z),
					Weight: w,
				})
			}
		}
	}
	return ds
}

// withDrive returns a copy of ds with d appended.
func withDrive(ds []Drive, d Drive) []Drive {
	return append(slices.Clip(slices.Clone(ds)), d)
}

func testKey(i int) string { return fmt.Sprintf("photos/2024/%08d.jpg", i) }

// mustPlace calls Place and fails the test on error.
func mustPlace(t interface{ Fatalf(string, ...any) }, bucket, key string, ds []Drive, n int) []int {
	got, err := Place(bucket, key, ds, n)
	if err != nil {
		t.Fatalf("Place(%q, %q, %d drives, %d): %v", bucket, key, len(ds), n, err)
	}
	return got
}
