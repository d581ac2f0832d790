package placement

import (
	"math"
	"math/bits"
)

// This file holds every function whose output decides where an object's
// shards live. Each one is part of the on-disk format: changing a single bit
// of any result moves stored data. The golden tests in hash_test.go and
// placement_test.go pin them down; they must never be edited to make a change
// pass.

// XXH64 primes, from the xxHash specification.
const (
	prime1 uint64 = 11400714785074694791
	prime2 uint64 = 14029467366897019727
	prime3 uint64 = 1609587929392839161
	prime4 uint64 = 9650029242287828579
	prime5 uint64 = 2870177450012600261
)

// xxh64 is XXH64 (xxHash, 64-bit variant, as specified at
// https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md) of s with
// the given seed. It is written out here, rather than imported, so that the
// package depends on the standard library only and the function can never
// change under us.
func xxh64(s string, seed uint64) uint64 {
	n := len(s)
	var h uint64
	if n >= 32 {
		v1 := seed + prime1 + prime2
		v2 := seed + prime2
		v3 := seed
		v4 := seed - prime1
		for len(s) >= 32 {
			v1 = xxRound(v1, le64(s[0:8]))
			v2 = xxRound(v2, le64(s[8:16]))
			v3 = xxRound(v3, le64(s[16:24]))
			v4 = xxRound(v4, le64(s[24:32]))
			s = s[32:]
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) +
			bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = xxMerge(h, v1)
		h = xxMerge(h, v2)
		h = xxMerge(h, v3)
		h = xxMerge(h, v4)
	} else {
		h = seed + prime5
	}
	h += uint64(n)
	for len(s) >= 8 {
		h ^= xxRound(0, le64(s[0:8]))
		h = bits.RotateLeft64(h, 27)*prime1 + prime4
		s = s[8:]
	}
	if len(s) >= 4 {
		h ^= uint64(le32(s[0:4])) * prime1
		h = bits.RotateLeft64(h, 23)*prime2 + prime3
		s = s[4:]
	}
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i]) * prime5
		h = bits.RotateLeft64(h, 11) * prime1
	}
	h ^= h >> 33
	h *= prime2
	h ^= h >> 29
	h *= prime3
	h ^= h >> 32
	return h
}

func xxRound(acc, input uint64) uint64 {
	acc += input * prime2
	acc = bits.RotateLeft64(acc, 31)
	return acc * prime1
}

func xxMerge(acc, v uint64) uint64 {
	acc ^= xxRound(0, v)
	return acc*prime1 + prime4
}

// le64 and le32 read little-endian words from the start of s without
// converting it to a byte slice (the compiler merges the byte loads).
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// objectHash identifies the object (bucket, key): XXH64 of the key, seeded
// with XXH64 of the bucket name. Seeding (rather than concatenating) keeps
// the pair unambiguous: ("ab", "c") and ("a", "bc") hash differently.
func objectHash(bucket, key string) uint64 {
	return xxh64(key, xxh64(bucket, 0))
}

// driveHash identifies a drive by its ID: XXH64 of the ID with seed 0. The
// drive's position in the list, its node and its zone do not enter the
// score, so the set of drives chosen for an object does not depend on the
// order of the list.
func driveHash(id string) uint64 {
	return xxh64(id, 0)
}

// mix64 is the splitmix64 finalizer ("Mix13" by David Stafford): a bijection
// on 64-bit words with full avalanche.
func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// draw is the pseudo-random 64-bit draw of a drive (by its driveHash) for an
// object (by its objectHash). It is uniform over all 64-bit words and, for a
// fixed object, independent between drives for all practical purposes.
func draw(objHash, drvHash uint64) uint64 {
	return mix64(objHash ^ drvHash)
}

// rotation is the object's shard-index offset, uniform in [0, n). It uses
// its own salt so that it is independent of every drive's draw.
func rotation(objHash uint64, n int) int {
	hi, _ := bits.Mul64(mix64(objHash^rotationSalt), uint64(n))
	return int(hi)
}

// rotationSalt is an arbitrary constant (the first 64 bits of the
// fractional part of pi).
const rotationSalt = 0x243f6a8885a308d3

// expDraw turns a draw x into an exponential variate with rate 1: -ln(u),
// where u = (top 53 bits of x + 1) / 2^53 is uniform on (0, 1]. The result is
// in [0, 53 ln 2].
//
// It does not call math.Log, whose last bit differs between architectures
// (amd64 uses assembly, others a Go version that the compiler may contract
// into fused multiply-adds). Every operation below is a single IEEE-754
// double operation, and every product is converted explicitly with float64()
// so that no compiler may fuse it with the following addition. The result is
// therefore bit-for-bit identical on every platform and Go version.
func expDraw(x uint64) float64 {
	a := x>>11 + 1 // in [1, 2^53]: exact as a float64
	// a = m * 2^e with m in [1, 2); both conversions are exact.
	e := 63 - bits.LeadingZeros64(a)
	m := float64(a) * math.Float64frombits(uint64(1023-e)<<52)
	if m > sqrt2 {
		m /= 2 // exact
		e++
	}
	// ln(u) = ln(a) - 53 ln 2 = (e-53) ln 2 + ln(m), m in (0.707, 1.415].
	return float64(float64(53-e)*ln2) - lnNear1(m)
}

// expLowerBound is a cheap lower bound of expDraw(x), below it by less than
// 0.005 (and exact in real numbers: rounding may put it a few ulps above,
// which the margin of surelyAbove covers). With u = m * 2^(e-53), m in [1, 2), and t = (m-1.5)/1.5 in [-1/3,
// 1/3), ln(m) = ln(1.5) + ln(1+t), and t - t^2/2 + t^3/3 bounds ln(1+t) from
// above (the terms it drops sum to a negative number). Unlike expDraw it
// has no data-dependent branch, which matters in the loop over all drives.
func expLowerBound(x uint64) float64 {
	a := x>>11 + 1
	e := 63 - bits.LeadingZeros64(a)
	m := float64(a) * math.Float64frombits(uint64(1023-e)<<52)
	t := (m - 1.5) * (2.0 / 3)
	return float64(53-e)*ln2 - ln1p5 - (t - t*t*(0.5-t*(1.0/3)))
}

// surelyAbove reports, given lb = expLowerBound(x), whether expDraw(x) is
// certainly greater than t. Its margin covers every rounding error of the
// computations many times over, so it never answers true when expDraw(x) <=
// t: it only saves work, it never changes a result.
func surelyAbove(lb, t float64) bool {
	return lb > float64(t*(1+1e-9))+1e-9
}

const (
	sqrt2 = 1.41421356237309504880168872420969807856967187537694807317667974
	ln2   = 0.693147180559945309417232121458176568075500134360255254120680009
	ln1p5 = 0.405465108108164381978013115464349136571990423462494928203779
)

// lnNear1 returns ln(m) for m in [0.7, 1.5] from the series
// ln(m) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (m-1)/(m+1).
// |s| <= 0.1716 there, so nine terms leave a relative error below 1e-15.
func lnNear1(m float64) float64 {
	s := (m - 1) / (m + 1)
	z := float64(s * s)
	p := 1.0 / 17
	p = float64(p*z) + 1.0/15
	p = float64(p*z) + 1.0/13
	p = float64(p*z) + 1.0/11
	p = float64(p*z) + 1.0/9
	p = float64(p*z) + 1.0/7
	p = float64(p*z) + 1.0/5
	p = float64(p*z) + 1.0/3
	p = float64(p*z) + 1
	return float64(2 * s * p)
}
