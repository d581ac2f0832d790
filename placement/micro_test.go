package placement

import "testing"

var sink uint64
var sinkf float64

func BenchmarkMicroXXH(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		sink += xxh64("z3-n24-d5", uint64(i))
	}
}
func BenchmarkMicroExp(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		sinkf += expDraw(uint64(i) * 0x9e3779b97f4a7c15)
	}
}
func BenchmarkMicroSurely(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		if surelyAbove(expLowerBound(splitDraw(uint64(i)*0x9e3779b97f4a7c15)), 0.01) {
			sink++
		}
	}
}
func BenchmarkMicroTopo(b *testing.B) {
	ds := cluster(4, 25, 6, nil)
	for b.Loop() {
		t, _ := newTopology(ds)
		sink += uint64(t.zones)
	}
}
func BenchmarkMicroTopoSpread(b *testing.B) {
	ds := cluster(4, 150, 1, nil)
	for b.Loop() {
		t, _ := newTopology(ds)
		sink += uint64(t.zones)
	}
}
