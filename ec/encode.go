package ec

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

const (
	// encodeWorkers is the number of stripes an Encode codes at once: each
	// worker computes one stripe's parity and checksums on its own.
	encodeWorkers = 2
	// encodeDepth is the number of stripes an Encode holds at once: one
	// being read, encodeWorkers being coded, the others being written.
	encodeDepth = encodeWorkers + 2
)

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
		dead: make([]atomic.Bool, len(w)),
		min:  minWriters,
		sem:  make(chan struct{}, encodeDepth),
	}
	for i, wi := range w {
		if wi != nil {
			e.workers++
		} else {
			e.dead[i].Store(true)
		}
	}
	e.alive.Store(int32(e.workers))
	if err := e.checkAlive(); err != nil {
		return 0, shardErrs, err
	}
	if err := ctx.Err(); err != nil {
		return 0, shardErrs, fmt.Errorf("ec: encode: %w", err)
	}

	// Three stages: this goroutine reads stripes and hands each to a coding
	// worker and, in order, to every writer goroutine; a coding worker lays
	// the stripe out, computes its parity and checksums; each writer waits
	// until its next stripe is coded and writes its frame. Stripes in
	// flight are bounded by e.sem.
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
	for range encodeWorkers {
		e.wg.Add(1)
		go e.codeStripes(codeCh)
	}
	n, err = e.run(r, codeCh, chans)
	close(codeCh)
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
	errs    []error       // errs[i] is owned by shard i's goroutine until wg.Wait
	dead    []atomic.Bool // dead[i]: shard i is not written (nil or failed writer)
	min     int           // writers needed
	workers int           // writer goroutines
	alive   atomic.Int32
	skipped atomic.Bool   // a frame was not written because ctx was done
	halt    atomic.Bool   // coding failed: stop reading
	sem     chan struct{} // one token per stripe held
	wg      sync.WaitGroup

	mu      sync.Mutex
	codeErr error // the first coding error
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

// run reads stripes from r and hands each to the coding workers and to
// every writer goroutine. It stops early, without error, when coding failed
// or too few writers remain; Encode reports why.
func (e *encoder) run(r io.Reader, codeCh chan<- *stripe, chans []chan *stripe) (int64, error) {
	c := e.c
	var n int64
	for s := int64(0); !e.halt.Load() && int(e.alive.Load()) >= e.min; s++ {
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
		st.index, st.n, st.failed = s, got, false
		st.coded = make(chan struct{})
		st.refs.Store(int32(len(chans)))
		// None of these sends blocks: at most encodeDepth stripes exist.
		codeCh <- st
		for _, ch := range chans {
			ch <- st
		}
		if eof {
			break
		}
	}
	return n, nil
}

// codeStripes is a coding worker: it codes the stripes from codeCh until
// codeCh is closed, and marks each one coded.
func (e *encoder) codeStripes(codeCh <-chan *stripe) {
	defer e.wg.Done()
	for st := range codeCh {
		if e.halt.Load() {
			st.failed = true
		} else if err := e.code(st); err != nil {
			st.failed = true
			e.mu.Lock()
			if e.codeErr == nil {
				e.codeErr = err
			}
			e.mu.Unlock()
			e.halt.Store(true)
		}
		close(st.coded)
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
// ceil(st.n/k) bytes, zero padded, computes the parity blocks and seals
// the frames of the shards still written.
func (e *encoder) code(st *stripe) error {
	c := e.c
	got := st.n
	per := c.perShard
	if got < c.blockSize {
		per = (got + c.k - 1) / c.k
	}
	if per != c.perShard {
		// Short last stripe with smaller blocks: gather, then spread again.
		tmp := make([]byte, got)
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
		if err := c.encOne.Encode(st.shards); err != nil {
			return fmt.Errorf("ec: encode: stripe %d: %w", st.index, err)
		}
	}
	for i := range c.k + c.m {
		if !e.dead[i].Load() {
			sealFrame(c.frame(st, i, per))
		}
	}
	return nil
}

// writeShard is the goroutine that writes shard i's frames, in stripe
// order, each once its stripe is coded.
func (e *encoder) writeShard(i int, w io.Writer, ch <-chan *stripe) {
	defer e.wg.Done()
	stop := false // a stripe failed to code: write no more
	for st := range ch {
		<-st.coded
		stop = stop || st.failed
		switch {
		case stop || e.errs[i] != nil:
			// Only release the stripe.
		case e.ctx.Err() != nil:
			e.skipped.Store(true)
		default:
			f := e.c.frame(st, i, st.per)
			nw, err := w.Write(f)
			if err == nil && nw != len(f) {
				err = io.ErrShortWrite
			}
			if err != nil {
				e.errs[i] = err
				e.dead[i].Store(true)
				e.alive.Add(-1)
			}
		}
		if st.refs.Add(-1) == 0 {
			e.release(st)
		}
	}
}
