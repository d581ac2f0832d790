package placement

import (
	"fmt"
	"testing"
)

// BenchmarkPlace measures one placement of a 4+2 object. The topologies list
// each node's drives together, as cluster maps do; "600-spread" lists 600 drives
// on 600 nodes, the worst case for grouping drives into nodes.
func BenchmarkPlace(b *testing.B) {
	cases := []struct {
		name   string
		drives []Drive
	}{
		{"drives=6", cluster(1, 1, 6, nil)},
		{"drives=60", cluster(3, 5, 4, nil)},
		{"drives=600", cluster(4, 25, 6, nil)},
		{"drives=600-spread", cluster(4, 150, 1, nil)},
	}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = testKey(i)
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := PlaceEC("bucket", keys[i%len(keys)], c.drives, 4, 2); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

var _ = fmt.Sprint

// BenchmarkPlacer is BenchmarkPlace with the drives prepared once.
func BenchmarkPlacer(b *testing.B) {
	cases := []struct {
		name   string
		drives []Drive
	}{
		{"drives=6", cluster(1, 1, 6, nil)},
		{"drives=60", cluster(3, 5, 4, nil)},
		{"drives=600", cluster(4, 25, 6, nil)},
		{"drives=600-spread", cluster(4, 150, 1, nil)},
	}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = testKey(i)
	}
	for _, c := range cases {
		p, err := NewPlacer(c.drives)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := p.PlaceEC("bucket", keys[i%len(keys)], 4, 2); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
