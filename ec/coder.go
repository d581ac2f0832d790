package ec

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/klauspost/reedsolomon"
)

// DefaultBlockSize is the number of object bytes per stripe unless
// WithBlockSize says otherwise.
const DefaultBlockSize = 1 << 20

var (
	// ErrTooFewShards is returned (wrapped) when fewer than k good shard
	// blocks exist for a stripe on Decode, or fewer than the minimum number
	// of writers remain on Encode.
	ErrTooFewShards = errors.New("ec: too few shards")

	// ErrCorrupt is returned (wrapped) by VerifyShard when a frame's checksum
	// does not match its block, or the shard file is cut short. Decode does
	// not return it: it reconstructs corrupt blocks from parity instead and
	// lists them in Report.Corrupt.
	ErrCorrupt = errors.New("ec: shard block checksum mismatch")
)

// Option configures a Coder.
type Option func(*options)

type options struct {
	blockSize int // object bytes per stripe; default DefaultBlockSize
}

// WithBlockSize sets the number of object bytes per stripe (default
// DefaultBlockSize). Every stripe but the last of an object holds exactly
// this many bytes, split over k shard blocks of ceil(n/k) bytes. Objects
// must be decoded with the block size they were encoded with.
func WithBlockSize(n int) Option {
	return func(o *options) { o.blockSize = n }
}

// Coder splits object streams into stripes and erasure codes them into
// k data and m parity shard streams, and decodes any byte range back.
// A Coder is safe for concurrent use by multiple goroutines.
type Coder struct {
	k, m      int
	blockSize int                 // object bytes per full stripe
	perShard  int                 // shard block bytes of a full stripe: ceil(blockSize/k)
	stride    int                 // bytes between frames in a stripe buffer: ChecksumSize+perShard
	enc       reedsolomon.Encoder // for Decode: splits a stripe over goroutines
	encOne    reedsolomon.Encoder // for Encode's workers: one goroutine each
	pool      sync.Pool           // *stripe
	live      atomic.Int64        // stripe buffers taken from pool and not returned
}

// New returns a Coder for k data shards and m parity shards.
// It requires k >= 1, m >= 0, k+m <= 256 and a positive block size.
// With m == 0 nothing can be reconstructed: every shard is needed.
func New(k, m int, opts ...Option) (*Coder, error) {
	o := options{blockSize: DefaultBlockSize}
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case k < 1:
		return nil, fmt.Errorf("ec: data shards %d: need at least 1", k)
	case m < 0:
		return nil, fmt.Errorf("ec: parity shards %d: must not be negative", m)
	case k+m > 256:
		return nil, fmt.Errorf("ec: %d+%d shards: at most 256 in total", k, m)
	case o.blockSize <= 0:
		return nil, fmt.Errorf("ec: block size %d: must be positive", o.blockSize)
	}
	enc, err := reedsolomon.New(k, m)
	if err != nil {
		return nil, fmt.Errorf("ec: %w", err)
	}
	encOne, err := reedsolomon.New(k, m, reedsolomon.WithMaxGoroutines(1))
	if err != nil {
		return nil, fmt.Errorf("ec: %w", err)
	}
	per := (o.blockSize + k - 1) / k
	c := &Coder{
		k:         k,
		m:         m,
		blockSize: o.blockSize,
		perShard:  per,
		stride:    ChecksumSize + per,
		enc:       enc,
		encOne:    encOne,
	}
	c.pool.New = func() any {
		n := k + m
		return &stripe{
			buf:    make([]byte, n*c.stride),
			shards: make([][]byte, n),
		}
	}
	return c, nil
}

// DataShards returns k, the number of data shards.
func (c *Coder) DataShards() int { return c.k }

// ParityShards returns m, the number of parity shards.
func (c *Coder) ParityShards() int { return c.m }

// BlockSize returns the number of object bytes per stripe.
func (c *Coder) BlockSize() int { return c.blockSize }

// ShardFileSize returns the exact size in bytes of each shard file (data or
// parity: they are all the same size) that Encode writes for an object of
// objectSize bytes, checksums included. It is 0 for an empty object.
func (c *Coder) ShardFileSize(objectSize int64) int64 {
	if objectSize <= 0 {
		return 0
	}
	b := int64(c.blockSize)
	n := objectSize / b * int64(c.stride)
	if rest := objectSize % b; rest > 0 {
		n += ChecksumSize + (rest+int64(c.k)-1)/int64(c.k)
	}
	return n
}

// stripeLen returns the number of object bytes in stripe s of an object of
// size bytes, and the size of its shard blocks.
func (c *Coder) stripeLen(s, size int64) (n, per int) {
	n = int(min(int64(c.blockSize), size-s*int64(c.blockSize)))
	return n, (n + c.k - 1) / c.k
}

// stripe is one stripe's buffer: k+m frames at a fixed stride of
// ChecksumSize+perShard bytes, each [checksum][block]. A short last stripe
// uses the same frame offsets with shorter blocks.
type stripe struct {
	buf    []byte
	shards [][]byte // scratch for reedsolomon calls

	index int64 // stripe number
	per   int   // block size of this stripe

	// Set per use by Encode.
	n      int           // object bytes in the stripe
	refs   atomic.Int32  // writers still to handle the stripe
	coded  chan struct{} // closed when the frames are ready (or failed is set)
	failed bool          // coding failed: the frames must not be written

	// Set per use by Decode: bytes [lo, hi) of the stripe go to the writer,
	// taken from out, the data blocks (read or reconstructed).
	lo, hi int
	out    [][]byte
}

func (c *Coder) getStripe() *stripe {
	c.live.Add(1)
	return c.pool.Get().(*stripe)
}

func (c *Coder) putStripe(st *stripe) {
	st.out = nil
	c.live.Add(-1)
	c.pool.Put(st)
}

// frame returns frame i of st with blocks of per bytes.
func (c *Coder) frame(st *stripe, i, per int) []byte {
	o := i * c.stride
	return st.buf[o : o+ChecksumSize+per : o+ChecksumSize+per]
}

// block returns block i of st (the frame without its checksum).
func (c *Coder) block(st *stripe, i, per int) []byte {
	return c.frame(st, i, per)[ChecksumSize:]
}
