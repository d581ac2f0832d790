package ec

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// Report says which shards a Decode found missing or corrupt, so the caller
// can queue a heal. Both lists hold shard indexes, sorted, each at most once.
type Report struct {
	// Missing lists the nil readers and the shards whose ReadAt failed
	// (after a failure a shard is not read again by the same Decode).
	Missing []int
	// Corrupt lists the shards with a block that failed its checksum and
	// that are not in Missing. Only blocks that were read are checked: a
	// healthy read does not look at parity.
	Corrupt []int
}

// Degraded reports whether any shard was missing or corrupt.
func (r Report) Degraded() bool { return len(r.Missing) > 0 || len(r.Corrupt) > 0 }

// Decode writes bytes [offset, offset+length) of an object of size bytes to
// w. shards[i] reads shard i's file as written by Encode (nil: missing), so
// len(shards) must be k+m.
//
// Only the stripes covering the range are read, and of each stripe only the
// data blocks covering the range, one ReadAt per shard, in parallel, while
// the previous stripe is written to w. A missing shard, a failed ReadAt or a
// checksum mismatch makes Decode read further blocks of that stripe (data,
// then parity) until it has k good ones, and reconstruct. Only the requested
// bytes are written.
//
// Decode returns a Report of the shards found missing or corrupt, also on
// error. It returns an error wrapping ErrTooFewShards if fewer than k good
// blocks exist for a stripe; the bytes of that stripe and the stripes after
// it are not written. Errors from w are returned as is. Decode stops at the
// next stripe when ctx is cancelled; it waits for its goroutines before
// returning, so a ReadAt that blocks forever blocks Decode.
func (c *Coder) Decode(ctx context.Context, w io.Writer, shards []io.ReaderAt, size, offset, length int64) (Report, error) {
	if len(shards) != c.k+c.m {
		return Report{}, fmt.Errorf("ec: decode: got %d shards, want %d (k+m)", len(shards), c.k+c.m)
	}
	if size < 0 || offset < 0 || length < 0 || offset > size || length > size-offset {
		return Report{}, fmt.Errorf("ec: decode: range of %d bytes at %d outside object of %d bytes", length, offset, size)
	}
	n := c.k + c.m
	d := &decoder{
		c:        c,
		shards:   shards,
		size:     size,
		usable:   make([]bool, n),
		missing:  make([]bool, n),
		corrupt:  make([]bool, n),
		state:    make([]blockState, n),
		errs:     make([]error, n),
		toRead:   make([]int, 0, n),
		required: make([]bool, c.k),
	}
	for i, r := range shards {
		d.usable[i] = r != nil
		d.missing[i] = r == nil
	}
	if length == 0 {
		return d.report(), nil
	}
	off, end := c.shardRange(size, offset, offset+length)
	for _, r := range shards {
		if h, ok := r.(RangeHinter); ok {
			h.HintRange(off, end)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan *stripe, 1)
	var perr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ch)
		perr = d.produce(ctx, ch, offset, offset+length)
	}()
	var werr error
	for st := range ch {
		if werr == nil {
			if werr = writeRange(w, st); werr != nil {
				cancel()
			}
		}
		c.putStripe(st)
	}
	wg.Wait()
	if werr != nil {
		return d.report(), werr
	}
	return d.report(), perr
}

// RangeHinter is an optional interface of the shard readers given to
// Decode. Before its first ReadAt, Decode calls HintRange once on each
// reader that has it, with the range [off, end) of the shard file that its
// reads will fall in, at increasing offsets (data shards read every stripe
// in turn; parity shards only the stripes that need them). A reader that
// fetches over the network can then fetch the range in one request instead
// of one per ReadAt. A hint changes no result, only the cost.
type RangeHinter interface {
	HintRange(off, end int64)
}

// shardRange returns the bytes [off, end) of every shard file that hold the
// frames of the stripes covering object bytes [from, to) (from < to) of an
// object of size bytes.
func (c *Coder) shardRange(size, from, to int64) (off, end int64) {
	b := int64(c.blockSize)
	off = from / b * int64(c.stride)
	end = min((to-1)/b*int64(c.stride)+int64(c.stride), c.ShardFileSize(size))
	return off, end
}

type blockState uint8

const (
	unknown blockState = iota // not read in this stripe
	good                      // read and checksum matches
	bad                       // missing, read failed or checksum mismatch
)

// decoder is the state of one Decode, owned by its producer goroutine
// (Decode reads the report only after that goroutine ended).
type decoder struct {
	c        *Coder
	shards   []io.ReaderAt
	size     int64
	usable   []bool // not nil and no ReadAt failed yet
	missing  []bool
	corrupt  []bool
	state    []blockState // per block of the current stripe
	errs     []error      // ReadAt results of the current round
	toRead   []int
	required []bool // data blocks ReconstructSome must rebuild
	firstErr error  // first ReadAt error, for messages
}

// produce decodes the stripes covering [from, to) of the object and sends
// them to ch.
func (d *decoder) produce(ctx context.Context, ch chan<- *stripe, from, to int64) error {
	c := d.c
	b := int64(c.blockSize)
	for s := from / b; s*b < to; s++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("ec: decode: %w", context.Cause(ctx))
		}
		st := c.getStripe()
		st.index = s
		st.lo = int(max(from-s*b, 0))
		st.hi = int(min(to-s*b, b))
		if err := d.stripe(st); err != nil {
			c.putStripe(st)
			return err
		}
		select {
		case ch <- st:
		case <-ctx.Done():
			c.putStripe(st)
			return fmt.Errorf("ec: decode: %w", context.Cause(ctx))
		}
	}
	return nil
}

// stripe reads (and if need be reconstructs) the data blocks of st that
// cover [st.lo, st.hi), leaving them in st.out.
func (d *decoder) stripe(st *stripe) error {
	c := d.c
	_, per := c.stripeLen(st.index, d.size)
	st.per = per
	off := st.index * int64(c.stride)
	j0, j1 := st.lo/per, (st.hi-1)/per // data blocks needed

	clear(d.state)
	d.toRead = d.toRead[:0]
	for j := j0; j <= j1; j++ {
		if d.usable[j] {
			d.toRead = append(d.toRead, j)
		} else {
			d.state[j] = bad
		}
	}
	if len(d.toRead) <= j1-j0 {
		// A block needed is known missing: read k blocks in this first round
		// (data first, then parity) to reconstruct it without a second one.
		for i := 0; i < c.k+c.m && len(d.toRead) < c.k; i++ {
			if (i < j0 || i > j1) && d.usable[i] {
				d.toRead = append(d.toRead, i)
			}
		}
	}
	nGood := 0
	for {
		d.readFrames(st, per, off)
		for _, i := range d.toRead {
			if d.state[i] == good {
				nGood++
			}
		}
		complete := true
		for j := j0; j <= j1; j++ {
			complete = complete && d.state[j] == good
		}
		if complete {
			st.out = st.shards[:c.k]
			for j := j0; j <= j1; j++ {
				st.out[j] = c.block(st, j, per)
			}
			return nil
		}
		if nGood >= c.k {
			return d.reconstruct(st, per, j0, j1)
		}
		// Read more blocks, data first, then parity, as many as still needed.
		d.toRead = d.toRead[:0]
		for i := 0; i < c.k+c.m && len(d.toRead) < c.k-nGood; i++ {
			if d.state[i] == unknown && d.usable[i] {
				d.toRead = append(d.toRead, i)
			}
		}
		if len(d.toRead) == 0 {
			cause := ""
			if d.firstErr != nil {
				cause = fmt.Sprintf(" (first read error: %v)", d.firstErr)
			}
			return fmt.Errorf("ec: decode: stripe %d: %d good shard blocks, need %d%s: %w",
				st.index, nGood, c.k, cause, ErrTooFewShards)
		}
	}
}

// readFrames reads the frames of the shards in d.toRead for one stripe in
// parallel, checks their checksums and sets their state.
func (d *decoder) readFrames(st *stripe, per int, off int64) {
	c := d.c
	read := func(i int) {
		f := c.frame(st, i, per)
		n, err := d.shards[i].ReadAt(f, off)
		switch {
		case n == len(f):
			err = nil
		case err == nil:
			err = io.ErrUnexpectedEOF
		}
		d.errs[i] = err
		if err == nil && frameOK(f) {
			d.state[i] = good
		} else {
			d.state[i] = bad
		}
	}
	switch len(d.toRead) {
	case 0:
	case 1:
		read(d.toRead[0])
	default:
		var wg sync.WaitGroup
		for _, i := range d.toRead[1:] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				read(i)
			}()
		}
		read(d.toRead[0])
		wg.Wait()
	}
	for _, i := range d.toRead {
		switch {
		case d.errs[i] != nil:
			d.usable[i] = false
			d.missing[i] = true
			if d.firstErr == nil {
				d.firstErr = fmt.Errorf("shard %d: %w", i, d.errs[i])
			}
			d.errs[i] = nil
		case d.state[i] == bad:
			d.corrupt[i] = true
		}
	}
}

// reconstruct rebuilds the needed data blocks j0..j1 of st that are not
// good from the good blocks (at least k of them).
func (d *decoder) reconstruct(st *stripe, per, j0, j1 int) error {
	c := d.c
	for i := range st.shards {
		blk := c.block(st, i, per)
		if d.state[i] != good {
			blk = blk[:0] // missing, with room for reedsolomon to fill in place
		}
		st.shards[i] = blk
	}
	for j := range d.required {
		d.required[j] = j >= j0 && j <= j1 && d.state[j] != good
	}
	if err := c.enc.ReconstructSome(st.shards, d.required); err != nil {
		return fmt.Errorf("ec: decode: stripe %d: %w", st.index, err)
	}
	st.out = st.shards[:c.k]
	return nil
}

// writeRange writes bytes [st.lo, st.hi) of the stripe to w from st.out.
func writeRange(w io.Writer, st *stripe) error {
	per := st.per
	for j := st.lo / per; j*per < st.hi; j++ {
		lo, hi := max(st.lo, j*per)-j*per, min(st.hi, (j+1)*per)-j*per
		n, err := w.Write(st.out[j][lo:hi])
		if err != nil {
			return err
		}
		if n != hi-lo {
			return io.ErrShortWrite
		}
	}
	return nil
}

func (d *decoder) report() Report {
	var r Report
	for i := range d.missing {
		if d.missing[i] {
			r.Missing = append(r.Missing, i)
		} else if d.corrupt[i] {
			r.Corrupt = append(r.Corrupt, i)
		}
	}
	return r
}
