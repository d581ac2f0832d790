package bench

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// dataSlack is how far past the object size the data buffer reaches: each
// object is a window of the buffer starting at one of dataSlack+1 offsets,
// so neighbouring objects differ and a GET that returns another object's
// bytes fails verification.
const dataSlack = 1 << 20

// dataSet holds the bytes of every object of a run, generated once: object
// i is buf[offset(i) : offset(i)+size]. Nothing is generated or copied per
// operation.
type dataSet struct {
	buf   []byte
	size  int64
	fixed bool
}

// newDataSet builds the buffer: ChaCha8 random bytes from a fixed seed, or
// (fixed) one repeated byte.
func newDataSet(size int64, fixed bool) *dataSet {
	d := &dataSet{size: size, fixed: fixed}
	if fixed {
		d.buf = make([]byte, size)
		for i := range d.buf {
			d.buf[i] = 'e'
		}
		return d
	}
	d.buf = make([]byte, size+dataSlack)
	var seed [32]byte
	copy(seed[:], "ecstore bench data, seed one....")
	rng := rand.NewChaCha8(seed)
	_, _ = rng.Read(d.buf) // never fails
	return d
}

// offset is where object i's bytes start in buf.
func (d *dataSet) offset(i int64) int64 {
	if d.fixed {
		return 0
	}
	// splitmix64 finaliser: consecutive objects land far apart.
	z := uint64(i) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return int64(z % (dataSlack + 1))
}

// object returns object i's bytes, a window of the shared buffer (never to
// be written to).
func (d *dataSet) object(i int64) []byte {
	off := d.offset(i)
	return d.buf[off : off+d.size : off+d.size]
}

// key is object i's key under prefix.
func key(prefix string, i int64) string {
	return fmt.Sprintf("%s/obj-%08d", prefix, i)
}

// seedFor gives worker w of a phase its own PCG seed.
func seedFor(phase Phase, w int) (uint64, uint64) {
	var h [8]byte
	copy(h[:], phase)
	return binary.LittleEndian.Uint64(h[:]), uint64(w)
}
