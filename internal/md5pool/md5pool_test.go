package md5pool

import (
	"crypto/md5"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestSums hashes streams of many sizes, written in uneven pieces, from
// 8 goroutines at once (so most hashes are md5-simd lanes) and from one,
// and compares every sum with crypto/md5's.
func TestSums(t *testing.T) {
	p := New()
	defer p.Close()
	sizes := []int{0, 1, 55, 56, 63, 64, 65, 4095, 32 << 10, 32<<10 + 1, 1<<20 + 7, 3 << 20}
	check := func(seed uint64) error {
		rng := rand.New(rand.NewPCG(seed, 7))
		for _, n := range sizes {
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			h := p.Get(-1)
			for rest := data; len(rest) > 0; {
				k := min(len(rest), 1+rng.IntN(100_000))
				h.Write(rest[:k])
				rest = rest[k:]
			}
			got, want := h.Sum(nil), md5.Sum(data)
			h.Close()
			if string(got) != string(want[:]) {
				t.Errorf("seed %d, %d bytes: sum %x, want %x", seed, n, got, want)
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() { check(uint64(g)) })
	}
	wg.Wait()
	check(100)
	if n := p.active.Load(); n != 0 {
		t.Fatalf("%d hashes still counted in use after all were closed", n)
	}
}

// TestLanesAfterTwo: the first two hashes in use are crypto/md5's, the
// third a lane of the server; closing one frees its place.
func TestLanesAfterTwo(t *testing.T) {
	p := New()
	defer p.Close()
	a, b := p.Get(SimdFrom), p.Get(SimdFrom)
	c := p.Get(SimdFrom)
	if _, ok := a.(*stdHash); !ok {
		t.Errorf("first hash is a %T, want crypto/md5's", a)
	}
	if _, ok := b.(*stdHash); !ok {
		t.Errorf("second hash is a %T, want crypto/md5's", b)
	}
	if _, ok := c.(*simdHash); !ok {
		t.Errorf("third hash is a %T, want an md5-simd lane", c)
	}
	if small := p.Get(SimdFrom - 1); small != nil {
		if _, ok := small.(*stdHash); !ok {
			t.Errorf("a hash for a body below SimdFrom is a %T, want crypto/md5's", small)
		}
		small.Close()
	}
	c.Close()
	c.Close() // twice is harmless
	b.Close()
	d := p.Get(-1)
	if _, ok := d.(*stdHash); !ok {
		t.Errorf("a hash got while one other is in use is a %T, want crypto/md5's", d)
	}
	a.Close()
	d.Close()
	if n := p.active.Load(); n != 0 {
		t.Fatalf("%d in use after all were closed", n)
	}
}

// TestNilAndClosed: a nil pool and a closed one still hash (crypto/md5).
func TestNilAndClosed(t *testing.T) {
	var nilPool *Pool
	p := New()
	p.Close()
	for _, pool := range []*Pool{nilPool, p} {
		hs := []Hash{pool.Get(-1), pool.Get(-1), pool.Get(-1)}
		for _, h := range hs {
			h.Write([]byte("abc"))
			if got, want := h.Sum(nil), md5.Sum([]byte("abc")); string(got) != string(want[:]) {
				t.Errorf("sum %x, want %x", got, want)
			}
			if _, ok := h.(*stdHash); !ok {
				t.Errorf("%T from a nil or closed pool, want crypto/md5's", h)
			}
			h.Close()
		}
	}
	nilPool.Close()
}

// TestCloseWaitsForLanes: Close while a lane is in use leaves the server
// running for it; closing the lane then stops the server.
func TestCloseWaitsForLanes(t *testing.T) {
	p := New()
	hs := []Hash{p.Get(-1), p.Get(-1), p.Get(-1)}
	if !p.running() {
		t.Fatal("the third hash did not start the server")
	}
	p.Close()
	if !p.running() {
		t.Fatal("Close stopped the server under a lane in use")
	}
	hs[2].Write([]byte("abc"))
	if got, want := hs[2].Sum(nil), md5.Sum([]byte("abc")); string(got) != string(want[:]) {
		t.Errorf("lane after Close: sum %x, want %x", got, want)
	}
	for _, h := range hs {
		h.Close()
	}
	if p.running() {
		t.Fatal("the server still runs after the last hash was closed")
	}
}
