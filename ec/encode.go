package ec

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"sync/atomic"
)

// encodeDepth is the number of stripes an Encode holds at once: one being
// read, one being coded, the others being written.
const encodeDepth = 4

// Encode reads r to EOF, cuts the stream into stripes of BlockSize bytes and
// writes each stripe's k+m frames, one to each writer: w[i] receives shard i
// (w[:k] the data shards, w[k:] the parity shards), so len(w) must be k+m.
// It returns the number of object bytes read from r.
//
// Writers are written in parallel, each by its own goroutine, while the next
// stripe is read; every frame is passed to its writer in one Write call. A
// nil w[i] is skipped (its drive is unavailable). A writer whose Write fails
// is dropped for the rest of the stream and its error kept in shardErrs[i];
// shardErrs always has k+m entries, nil for writers that got every frame and
// for nil writers.
//
// Encode fails with an error wrapping ErrTooFewShards when fewer than
// minWriters writers remain (at the start or at any stripe); a minWriters
// below k counts as k, since fewer than k shards cannot hold the object. It
// fails with r's error, wrapped, when a Read fails, including an error
// returned together with the last bytes or instead of io.EOF (as a checksum
// verifier does). On failure the caller must discard what the writers got.
//
// Encode stops at the next stripe when ctx is cancelled and returns an error
// wrapping ctx.Err(). It waits for its goroutines before returning, so a
// Read or Write that blocks forever blocks Encode: writers and readers that
// may block should be unblocked by the caller on cancellation.
//
// Memory is bounded by a few stripe buffers, whatever the stream length.
func (c *Coder) Encode(ctx context.Context, r io.Reader, w []io.Writer, minWriters int) (n int64, shardErrs []error, err error) {
	if len(w) != c.k+c.m {
		return 0, nil, fmt.Errorf("ec: encode: got %d writers, want %d (k+m)", len(w), c.k+c.m)
	}
	minWriters = max(minWriters, c.k)
	shardErrs = make([]error, len(w))
	e := &encoder{
		c:    c,
		ctx:  ctx,
		errs: shardErrs,
		min:  minWriters,
		sem:  make(chan struct{}, encodeDepth),
	}
	for _, wi := range w {
		if wi != nil {
			e.workers++
		}
	}
	e.alive.Store(int32(e.workers))
	if err := e.checkAlive(); err != nil {
		return 0, shardErrs, err
	}
	if err := ctx.Err(); err != nil {
		return 0, shardErrs, fmt.Errorf("ec: encode: %w", err)
	}

	// Three stages: this goroutine reads stripes, the coding goroutine lays
	// them out and computes parity, one goroutine per writer checksums and
	// writes its frames. Stripes in flight are bounded by e.sem.
	chans := make([]chan *stripe, 0, e.workers)
	for i, wi := range w {
		if wi == nil {
			continue
		}
		ch := make(chan *stripe, encodeDepth)
		chans = append(chans, ch)
		e.wg.Add(1)
		go e.writeShard(i, wi, ch)
	}
	codeCh := make(chan *stripe, encodeDepth)
	coded := make(chan struct{})
	go func() {
		defer close(coded)
		e.codeStripes(codeCh, chans)
	}()
	n, err = e.run(r, codeCh)
	close(codeCh)
	<-coded
	for _, ch := range chans {
		close(ch)
	}
	e.wg.Wait()

	if err == nil {
		err = e.codeErr
	}
	if err == nil && e.skipped.Load() {
		err = fmt.Errorf("ec: encode: %w", context.Cause(ctx))
	}
	if err == nil {
		err = e.checkAlive()
	}
	return n, shardErrs, err
}

type encoder struct {
	c       *Coder
	ctx     context.Context
	errs    []error // errs[i] is owned by shard i's goroutine until wg.Wait
	min     int     // writers needed
	workers int     // writer goroutines
	alive   atomic.Int32
	skipped atomic.Bool   // a frame was not written because ctx was done
	halt    atomic.Bool   // the coding goroutine failed: stop reading
	sem     chan struct{} // one token per stripe held
	wg      sync.WaitGroup

	// Owned by the coding goroutine until it ends.
	codeErr error
	scratch []byte // for re-laying out the last stripe
}

func (e *encoder) checkAlive() error {
	if a := int(e.alive.Load()); a < e.min {
		return fmt.Errorf("ec: encode: %d of %d shard writers usable, need %d: %w",
			a, e.c.k+e.c.m, e.min, ErrTooFewShards)
	}
	return nil
}

// release drops one stripe in flight.
func (e *encoder) release(st *stripe) {
	e.c.putStripe(st)
	<-e.sem
}

// run reads stripes from r and hands them to the coding goroutine.
func (e *encoder) run(r io.Reader, codeCh chan<- *stripe) (int64, error) {
	c := e.c
	var n int64
	for s := int64(0); !e.halt.Load(); s++ {
		if err := e.ctx.Err(); err != nil {
			return n, fmt.Errorf("ec: encode: %w", context.Cause(e.ctx))
		}
		select {
		case e.sem <- struct{}{}:
		case <-e.ctx.Done():
			return n, fmt.Errorf("ec: encode: %w", context.Cause(e.ctx))
		}
		st := c.getStripe()
		got, eof, err := c.readStripe(r, st)
		n += int64(got)
		if err != nil || got == 0 {
			e.release(st)
			return n, err
		}
		st.index, st.n = s, got
		codeCh <- st // never blocks: at most encodeDepth stripes exist
		if eof {
			break
		}
	}
	return n, nil
}

// codeStripes lays out and codes the stripes from codeCh and hands them to
// the writer goroutines, until codeCh is closed.
func (e *encoder) codeStripes(codeCh <-chan *stripe, chans []chan *stripe) {
	for st := range codeCh {
		if e.codeErr == nil {
			e.codeErr = e.code(st)
			if e.codeErr == nil {
				e.codeErr = e.checkAlive()
			}
			if e.codeErr != nil {
				e.halt.Store(true)
			}
		}
		if e.codeErr != nil {
			e.release(st)
			continue
		}
		st.refs.Store(int32(len(chans)))
		for _, ch := range chans {
			ch <- st // never blocks, as above
		}
	}
}

// readStripe fills the data blocks of st (laid out for a full stripe) from
// r. It returns the number of bytes read and whether r reported io.EOF; any
// other error of r is returned wrapped.
func (c *Coder) readStripe(r io.Reader, st *stripe) (got int, eof bool, err error) {
	for i := 0; i < c.k && got < c.blockSize; i++ {
		blk := c.block(st, i, c.perShard)[:min(c.perShard, c.blockSize-got)]
		nr, err := readFull(r, blk)
		got += nr
		if err == io.EOF {
			return got, true, nil
		}
		if err != nil {
			return got, false, fmt.Errorf("ec: encode: read: %w", err)
		}
	}
	return got, false, nil
}

// readFull reads into p until it is full or r returns an error. Unlike
// io.ReadFull it returns an error that comes with the last bytes, and it
// returns io.EOF unchanged after a partial read.
func readFull(r io.Reader, p []byte) (int, error) {
	n, idle := 0, 0
	for n < len(p) {
		nr, err := r.Read(p[n:])
		n += nr
		if err != nil {
			return n, err
		}
		if nr > 0 {
			idle = 0
		} else if idle++; idle >= 100 {
			return n, io.ErrNoProgress
		}
	}
	return n, nil
}

// code lays out a stripe of st.n bytes (read by readStripe) as k blocks of
// ceil(st.n/k) bytes, zero padded, and computes the parity blocks.
func (e *encoder) code(st *stripe) error {
	c := e.c
	got := st.n
	per := c.perShard
	if got < c.blockSize {
		per = (got + c.k - 1) / c.k
	}
	if per != c.perShard {
		// Short last stripe with smaller blocks: gather, then spread again.
		if cap(e.scratch) < got {
			e.scratch = make([]byte, got)
		}
		tmp := e.scratch[:got]
		for i, o := 0, 0; o < got; i++ {
			o += copy(tmp[o:], c.block(st, i, c.perShard)[:min(c.perShard, got-o)])
		}
		for i := 0; i < c.k; i++ {
			lo := min(i*per, got)
			blk := c.block(st, i, per)
			clear(blk[copy(blk, tmp[lo:min(lo+per, got)]):])
		}
	} else {
		for i := 0; i < c.k; i++ {
			blk := c.block(st, i, per)
			clear(blk[min(max(got-i*per, 0), per):])
		}
	}
	st.per = per
	if c.m > 0 {
		for i := range st.shards {
			st.shards[i] = c.block(st, i, per)
		}
		if err := c.enc.Encode(st.shards); err != nil {
			return fmt.Errorf("ec: encode: stripe %d: %w", st.index, err)
		}
	}
	return nil
}

// writeShard is the goroutine that checksums and writes shard i's frames.
func (e *encoder) writeShard(i int, w io.Writer, ch <-chan *stripe) {
	defer e.wg.Done()
	for st := range ch {
		switch {
		case e.errs[i] != nil:
			// Dropped: only release the stripe.
		case e.ctx.Err() != nil:
			e.skipped.Store(true)
		default:
			f := e.c.frame(st, i, st.per)
			binary.BigEndian.PutUint32(f, crc32.Checksum(f[ChecksumSize:], castagnoli))
			nw, err := w.Write(f)
			if err == nil && nw != len(f) {
				err = io.ErrShortWrite
			}
			if err != nil {
				e.errs[i] = err
				e.alive.Add(-1)
			}
		}
		if st.refs.Add(-1) == 0 {
			e.release(st)
		}
	}
}
