package placement

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestXXH64 checks the written-out XXH64 against reference values for every
// code path (lengths around 4, 8 and 32 bytes), computed with
// github.com/cespare/xxhash/v2. The unseeded values for "", "a" and "abc"
// are also the published test vectors of xxHash.
func TestXXH64(t *testing.T) {
	src := strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 6)
	cases := []struct {
		n    int
		seed uint64
		want uint64
	}{
		{0, 0x0, 0xef46db3751d8e999},
		{0, 0xdeadbeefcafebabe, 0x3ad50a3a77644ff9},
		{1, 0x0, 0xd24ec4f1a98c6e5b},
		{1, 0xdeadbeefcafebabe, 0x2ac7441d2c451ce5},
		{3, 0x0, 0x44bc2cf5ad770999},
		{3, 0xdeadbeefcafebabe, 0xdc7a93329bc72779},
		{4, 0x0, 0xde0327b0d25d92cc},
		{4, 0xdeadbeefcafebabe, 0x653ec7b69de04770},
		{5, 0x0, 0x07e3670c0c8dc7eb},
		{5, 0xdeadbeefcafebabe, 0x07d4982838927a9a},
		{7, 0x0, 0x1860940e2902822d},
		{7, 0xdeadbeefcafebabe, 0xc5b92db6387df378},
		{8, 0x0, 0x3ad351775b4634b7},
		{8, 0xdeadbeefcafebabe, 0x939cc080799279e1},
		{9, 0x0, 0x27f1a34fdbb95e13},
		{9, 0xdeadbeefcafebabe, 0x44094e08f39111eb},
		{12, 0x0, 0x4b09b7d3a233d4b3},
		{12, 0xdeadbeefcafebabe, 0x7b177985b2aa410a},
		{15, 0x0, 0x2e1218a2b1375068},
		{15, 0xdeadbeefcafebabe, 0x8230567f35c2b499},
		{16, 0x0, 0x71ce8137ca2dd53d},
		{16, 0xdeadbeefcafebabe, 0x5ffbe443b2ea52a6},
		{31, 0x0, 0x16058c7b947da137},
		{31, 0xdeadbeefcafebabe, 0x19a25f75f21d501c},
		{32, 0x0, 0xbf2cd639b4143b80},
		{32, 0xdeadbeefcafebabe, 0x7236d55bd2b4c212},
		{33, 0x0, 0x4f89e4082bcbf673},
		{33, 0xdeadbeefcafebabe, 0xe70e15544eab15cb},
		{40, 0x0, 0x2774d99411dd5d1c},
		{40, 0xdeadbeefcafebabe, 0x12c6bb19654a6662},
		{63, 0x0, 0xe1d5bec70d85cd20},
		{63, 0xdeadbeefcafebabe, 0xdcf2dc153e91a08b},
		{64, 0x0, 0x040d7eb5d0212db5},
		{64, 0xdeadbeefcafebabe, 0x573ea5789d964782},
		{65, 0x0, 0x61779b1514785232},
		{65, 0xdeadbeefcafebabe, 0xe434c84d8d863e64},
		{100, 0x0, 0x5f009d36eeb305be},
		{100, 0xdeadbeefcafebabe, 0x4d2f036800f691bf},
		{200, 0x0, 0xe0fa6509ecac52f1},
		{200, 0xdeadbeefcafebabe, 0x56c2de0a2bc74934},
	}
	for _, c := range cases {
		if got := xxh64(src[:c.n], c.seed); got != c.want {
			t.Errorf("xxh64(%q, %#x) = %#x, want %#x", src[:c.n], c.seed, got, c.want)
		}
	}
}

// TestExpDrawAccuracy compares expDraw with -math.Log(u).
func TestExpDrawAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	xs := []uint64{0, 1 << 11, 1<<11 - 1, 1 << 63, math.MaxUint64, math.MaxUint64 - 1<<11}
	for range 200_000 {
		// Uniform draws, and draws with many leading zeros (tiny u).
		xs = append(xs, r.Uint64(), r.Uint64()>>r.IntN(64))
	}
	worst := 0.0
	for _, x := range xs {
		u := float64(x>>11+1) / (1 << 53)
		want := -math.Log(u)
		got := expDraw(x)
		if err := math.Abs(got-want) / max(1, want); err > worst {
			worst = err
		}
		if got < 0 || got > 53*math.Ln2+1e-12 {
			t.Fatalf("expDraw(%#x) = %v, outside [0, 53 ln 2]", x, got)
		}
	}
	t.Logf("worst error relative to max(1, value): %.2g", worst)
	if worst > 1e-14 {
		t.Errorf("expDraw differs from -ln(u) by up to %.2g (relative), want < 1e-14", worst)
	}
	if got := expDraw(math.MaxUint64); got != 0 {
		t.Errorf("expDraw(max) = %v, want 0 (u = 1)", got)
	}
}

// TestExpLowerBound checks the shortcut that skips drives without scoring
// them: the bound is below expDraw, close to it, and surelyAbove never
// rejects a draw whose value is at or below the threshold.
func TestExpLowerBound(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 500_000 {
		x := r.Uint64()
		if i%2 == 1 {
			x >>= r.IntN(64)
		}
		lb, v := expLowerBound(x), expDraw(x)
		// The bound is exact in real numbers; rounding may put it a few
		// ulps above the value (surelyAbove's margin covers that).
		if lb > v+1e-13 || v-lb > 0.005 {
			t.Fatalf("x=%#x: lower bound %v, value %v: want bound <= value < bound+0.005", x, lb, v)
		}
		for _, thr := range []float64{v, math.Nextafter(v, 10), v * (1 + 1e-12), v + 1e-12} {
			if surelyAbove(lb, thr) {
				t.Fatalf("x=%#x: surelyAbove(%v, %v) with value %v", x, lb, thr, v)
			}
		}
	}
}

// TestHashGolden pins the hashing down: these values are part of the
// on-disk format (they decide where every stored object lives). If this test
// fails, the change moves data: revert it.
func TestHashGolden(t *testing.T) {
	if got, want := objectHash("bucket", "key"), uint64(0xc0436c41a46f3eec); got != want {
		t.Errorf("objectHash(bucket, key) = %#x, want %#x", got, want)
	}
	if got, want := objectHash("", ""), uint64(0xa258d6ec1fb5d95c); got != want {
		t.Errorf("objectHash(\"\", \"\") = %#x, want %#x", got, want)
	}
	if got, want := objectHash("photos", "2024/06/cat.jpg"), uint64(0x998748d6b08186b1); got != want {
		t.Errorf("objectHash(photos, 2024/06/cat.jpg) = %#x, want %#x", got, want)
	}
	if got, want := driveHash("drive-1"), uint64(0x9a2ad765483a3d31); got != want {
		t.Errorf("driveHash(drive-1) = %#x, want %#x", got, want)
	}
	if got, want := draw(objectHash("bucket", "key"), driveHash("drive-1")), uint64(0x3701503790752236); got != want {
		t.Errorf("draw = %#x, want %#x", got, want)
	}
	// Exact bits of expDraw, which must be the same on every platform.
	for _, c := range []struct{ x, bits uint64 }{
		{0x0000000000000000, 0x40425e4f7b2737fa}, // 36.7368005696771 = 53 ln 2
		{0x0000000000000800, 0x404205966f2b4f12}, // 36.04365338911715
		{0x8000000000000000, 0x3fe62e42fefa39ed}, // 0.6931471805599451
		{0xffffffffffffffff, 0x0000000000000000}, // 0
		{0x0123456789abcdef, 0x4015aa16394d4818}, // 5.416100402204414
		{0xfedcba9876543210, 0x3f723eb991354e4c}, // 0.004454350349380198
		{0x5555555555555555, 0x3ff193ea7aad030a}, // 1.0986122886681096
		{0x00000abcdef12345, 0x402c8605f73d74cd}, // 14.261764265300735
	} {
		if got := math.Float64bits(expDraw(c.x)); got != c.bits {
			t.Errorf("expDraw(%#x) = %v (bits %#x), want %v (bits %#x)",
				c.x, expDraw(c.x), got, math.Float64frombits(c.bits), c.bits)
		}
	}
}
