package rpc

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

func gmacOf(key []byte, sig string, data []byte, splits []int) string {
	m := newGMACStream(key, sig)
	for _, n := range splits {
		m.Write(data[:n])
		data = data[n:]
	}
	m.Write(data)
	return hex.EncodeToString(m.Sum(nil))
}

// TestGMACStreamSplits: the MAC of a stream does not depend on how it is
// cut into writes (the gateway writes frames, the node hashes what each
// read of the connection returns).
func TestGMACStreamSplits(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	r := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, gmacSegment - 1, gmacSegment, gmacSegment + 1, 3*gmacSegment + 5, 4 * (256<<10 + 8)} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		want := gmacOf(key, "sig", data, nil)
		for range 20 {
			var splits []int
			for left := size; left > 0; {
				n := r.IntN(min(left, 3*gmacSegment)) + 1
				if r.IntN(4) == 0 {
					n = 0 // empty writes too
				}
				splits = append(splits, n)
				left -= n
			}
			if got := gmacOf(key, "sig", data, splits); got != want {
				t.Fatalf("size %d, writes %v: MAC %s, whole %s", size, splits, got, want)
			}
		}
	}
}

// TestGMACStreamBinds: the MAC changes with any byte, the order of the
// segments, a segment dropped or added, the length, the signature and the
// key.
func TestGMACStreamBinds(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	data := make([]byte, 3*gmacSegment+100)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	data[len(data)-1] = 0
	base := gmacOf(key, "sig", data, nil)
	seg := func(i int) []byte { return data[i*gmacSegment : (i+1)*gmacSegment] }
	swapped := append(append(append([]byte{}, seg(1)...), seg(0)...), data[2*gmacSegment:]...)
	flipped := bytes.Clone(data)
	flipped[2*gmacSegment+7] ^= 0x80
	otherKey := bytes.Clone(key)
	otherKey[0] ^= 1
	for _, c := range []struct {
		name string
		mac  string
	}{
		{"a byte flipped", gmacOf(key, "sig", flipped, nil)},
		{"two segments swapped", gmacOf(key, "sig", swapped, nil)},
		{"last segment dropped", gmacOf(key, "sig", data[:3*gmacSegment], nil)},
		{"first segment dropped", gmacOf(key, "sig", data[gmacSegment:], nil)},
		{"a byte more", gmacOf(key, "sig", append(bytes.Clone(data), 0), nil)},
		{"a zero byte less", gmacOf(key, "sig", data[:len(data)-1], nil)},
		{"another signature", gmacOf(key, "sig2", data, nil)},
		{"another key", gmacOf(otherKey, "sig", data, nil)},
		{"empty", gmacOf(key, "sig", nil, nil)},
	} {
		if c.mac == base {
			t.Errorf("%s: same MAC", c.name)
		}
	}
	if again := gmacOf(key, "sig", data, nil); again != base {
		t.Fatal("MAC not deterministic")
	}
}

func BenchmarkStreamMAC(b *testing.B) {
	a := clientAuth(testOpts)
	frame := make([]byte, 256<<10+8)
	for _, marker := range []string{streamMarker, streamV1} {
		b.Run(marker, func(b *testing.B) {
			b.SetBytes(int64(len(frame)))
			m := a.streamMAC("sig", marker)
			for range b.N {
				m.Write(frame)
			}
		})
	}
}
