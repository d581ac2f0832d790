package placement

import (
	"fmt"
	"testing"
)

// realisticCluster returns drives drives in 3 zones, each zone's drives on
// nodes of 2 to 10 drives (sizes taken in turn from a fixed mix, the last
// node of a zone taking what is left), listed node by node as a cluster map
// lists them, with weights of 1 to 4 (TiB) in a fixed mix. With 6 drives it
// is 3 nodes of 2 drives, one per zone.
func realisticCluster(drives int) []Drive {
	const zones = 3
	sizes := []int{4, 2, 8, 6, 10, 3, 5, 9, 7}
	weights := []float64{4, 4, 2, 4, 1, 2, 4, 3}
	ds := make([]Drive, 0, drives)
	s := 0
	for z := range zones {
		left := drives / zones
		if z < drives%zones {
			left++
		}
		for n := 0; left > 0; n++ {
			size := min(sizes[s%len(sizes)], left)
			if left-size == 1 { // no node of 1 drive
				if size < 10 {
					size++
				} else {
					size--
				}
			}
			s++
			for d := range size {
				ds = append(ds, Drive{
					ID:     fmt.Sprintf("z%d-n%d-d%d", z, n, d),
					Node:   fmt.Sprintf("z%d-n%d", z, n),
					Zone:   fmt.Sprintf("z%d", z),
					Weight: weights[len(ds)%len(weights)],
				})
			}
			left -= size
		}
	}
	return ds
}

// BenchmarkLookup measures what the gateway does per object: the 4+2
// placement of one key with the Placer it prepares once per cluster map
// (Placer), and the same without a prepared Placer (PlaceEC), on
// realisticCluster maps of 6, 60 and 600 drives. Keys change every call.
func BenchmarkLookup(b *testing.B) {
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = testKey(i)
	}
	for _, n := range []int{6, 60, 600} {
		drives := realisticCluster(n)
		if len(drives) != n {
			b.Fatalf("realisticCluster(%d) has %d drives", n, len(drives))
		}
		p, err := NewPlacer(drives)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("Placer/drives=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := p.PlaceEC("bucket", keys[i%len(keys)], 4, 2); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("PlaceEC/drives=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := PlaceEC("bucket", keys[i%len(keys)], drives, 4, 2); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// TestRealisticCluster checks the benchmark's maps: the drive count, 3
// zones, nodes of 2 to 10 drives.
func TestRealisticCluster(t *testing.T) {
	for _, n := range []int{6, 60, 600} {
		ds := realisticCluster(n)
		if err := Validate(ds); err != nil {
			t.Fatal(err)
		}
		nodes, zones := map[string]int{}, map[string]bool{}
		for _, d := range ds {
			nodes[d.Node]++
			zones[d.Zone] = true
		}
		if len(ds) != n || len(zones) != 3 {
			t.Errorf("%d drives: got %d drives in %d zones", n, len(ds), len(zones))
		}
		for node, size := range nodes {
			if size < 2 || size > 10 {
				t.Errorf("%d drives: node %s has %d drives", n, node, size)
			}
		}
	}
}
