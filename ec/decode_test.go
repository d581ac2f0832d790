package ec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// combinations calls f with every subset of {0..n-1} of size r.
func combinations(n, r int, f func([]int)) {
	idx := make([]int, 0, r)
	var rec func(start int)
	rec = func(start int) {
		if len(idx) == r {
			f(slices.Clone(idx))
			return
		}
		for i := start; i < n; i++ {
			idx = append(idx, i)
			rec(i + 1)
			idx = idx[:len(idx)-1]
		}
	}
	rec(0)
}

func TestDecodeMissingShards(t *testing.T) {
	noLeak(t)
	for _, cfg := range []config{{4, 2, 1000}, {6, 3, 1000}, {3, 1, 64 << 10}} {
		c := mustNew(t, cfg)
		size := 3*cfg.block + 17
		data := randData(size, 1)
		files := encodeFiles(t, c, data)
		n := cfg.k + cfg.m
		for r := 0; r <= cfg.m; r++ {
			combinations(n, r, func(missing []int) {
				got, rep, err := decodeRange(c, readersOf(files, missing...), int64(size), 0, int64(size))
				if err != nil {
					t.Fatalf("%v missing %v: %v", cfg, missing, err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("%v missing %v: wrong data", cfg, missing)
				}
				if !slices.Equal(rep.Missing, missing) && !(len(missing) == 0 && rep.Missing == nil) {
					t.Fatalf("%v missing %v: Report.Missing = %v", cfg, missing, rep.Missing)
				}
				if rep.Corrupt != nil {
					t.Fatalf("%v missing %v: Report.Corrupt = %v", cfg, missing, rep.Corrupt)
				}
			})
		}
		// One more than m missing: every combination fails before writing.
		combinations(n, cfg.m+1, func(missing []int) {
			got, rep, err := decodeRange(c, readersOf(files, missing...), int64(size), 0, int64(size))
			if !errors.Is(err, ErrTooFewShards) {
				t.Fatalf("%v missing %v: err %v, want ErrTooFewShards", cfg, missing, err)
			}
			if len(got) != 0 {
				t.Fatalf("%v missing %v: wrote %d bytes", cfg, missing, len(got))
			}
			if !slices.Equal(rep.Missing, missing) {
				t.Fatalf("%v missing %v: Report.Missing = %v", cfg, missing, rep.Missing)
			}
		})
	}
}

// TestDecodeHealthyBlocksOnly: a range whose data blocks are all present is
// served even when more than m other shards are gone.
func TestDecodeHealthyBlocksOnly(t *testing.T) {
	c := mustNew(t, config{4, 2, 1000})
	data := randData(2500, 2)
	files := encodeFiles(t, c, data)
	got, rep, err := decodeRange(c, readersOf(files, 1, 2, 3, 4, 5), 2500, 1000, 250) // block 0 of stripe 1
	if err != nil || !bytes.Equal(got, data[1000:1250]) {
		t.Fatalf("err %v, data ok %v", err, bytes.Equal(got, data[1000:1250]))
	}
	if !slices.Equal(rep.Missing, []int{1, 2, 3, 4, 5}) {
		t.Errorf("Missing = %v", rep.Missing)
	}
}

// flip inverts one byte of shard file f in stripe s at offset o of the frame
// (o < ChecksumSize hits the checksum).
func flip(c *Coder, f []byte, s, o int) {
	f[s*(ChecksumSize+(c.BlockSize()+c.DataShards()-1)/c.DataShards())+o] ^= 0x5a
}

func cloneFiles(files [][]byte) [][]byte {
	out := make([][]byte, len(files))
	for i, f := range files {
		out[i] = slices.Clone(f)
	}
	return out
}

func TestDecodeCorrupt(t *testing.T) {
	noLeak(t)
	c := mustNew(t, config{4, 2, 1000})
	size := 3*1000 + 17
	data := randData(size, 3)
	orig := encodeFiles(t, c, data)

	tests := []struct {
		name    string
		damage  func(f [][]byte)
		corrupt []int
		missing []int
		fail    bool
		prefix  int // bytes written before the failure
	}{
		{name: "data block", damage: func(f [][]byte) { flip(c, f[2], 1, ChecksumSize+5) }, corrupt: []int{2}},
		{name: "checksum", damage: func(f [][]byte) { flip(c, f[0], 0, 1) }, corrupt: []int{0}},
		{name: "last short stripe", damage: func(f [][]byte) { flip(c, f[3], 3, ChecksumSize+1) }, corrupt: []int{3}},
		{name: "padding", damage: func(f [][]byte) { flip(c, f[3], 3, ChecksumSize+4) }, corrupt: []int{3}},
		{name: "two in one stripe", damage: func(f [][]byte) {
			flip(c, f[1], 2, ChecksumSize)
			flip(c, f[3], 2, 0)
		}, corrupt: []int{1, 3}},
		{name: "spread over stripes", damage: func(f [][]byte) {
			flip(c, f[0], 0, 10)
			flip(c, f[1], 1, 10)
			flip(c, f[2], 1, 10)
			flip(c, f[3], 2, 10)
			flip(c, f[1], 3, 2)
		}, corrupt: []int{0, 1, 2, 3}},
		{name: "parity used for repair", damage: func(f [][]byte) {
			f[0] = nil
			flip(c, f[4], 0, 7)
		}, missing: []int{0}, corrupt: []int{4}},
		{name: "parity not read when healthy", damage: func(f [][]byte) {
			flip(c, f[4], 0, 7)
			flip(c, f[5], 1, 7)
		}},
		{name: "m+1 in stripe 1", damage: func(f [][]byte) {
			flip(c, f[0], 1, 9)
			flip(c, f[2], 1, 9)
			flip(c, f[4], 1, 9)
		}, corrupt: []int{0, 2, 4}, fail: true, prefix: 1000},
		{name: "m+1 with missing", damage: func(f [][]byte) {
			f[5] = nil
			flip(c, f[1], 0, 9)
			flip(c, f[3], 0, 1)
		}, missing: []int{5}, corrupt: []int{1, 3}, fail: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := cloneFiles(orig)
			tc.damage(files)
			rs := make([]io.ReaderAt, len(files))
			for i, f := range files {
				if f != nil {
					rs[i] = bytes.NewReader(f)
				}
			}
			got, rep, err := decodeRange(c, rs, int64(size), 0, int64(size))
			if tc.fail {
				if !errors.Is(err, ErrTooFewShards) {
					t.Fatalf("err = %v, want ErrTooFewShards", err)
				}
				if !bytes.Equal(got, data[:tc.prefix]) {
					t.Fatalf("wrote %d bytes, want the first %d of the object", len(got), tc.prefix)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Fatal("wrong data")
				}
			}
			if !slices.Equal(rep.Corrupt, tc.corrupt) || !slices.Equal(rep.Missing, tc.missing) {
				t.Errorf("report %+v, want corrupt %v missing %v", rep, tc.corrupt, tc.missing)
			}
		})
	}
}

// countingReaderAt records every ReadAt call; fail makes every call fail,
// and a non-zero cut makes the file end there.
type countingReaderAt struct {
	shard int
	data  []byte
	fail  bool
	cut   int

	mu    *sync.Mutex
	calls *[]readCall
}

type readCall struct {
	shard int
	off   int64
	n     int
}

var errDiskGone = errors.New("disk gone")

func (r *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	*r.calls = append(*r.calls, readCall{r.shard, off, len(p)})
	r.mu.Unlock()
	if r.fail {
		return 0, errDiskGone
	}
	data := r.data
	if r.cut > 0 {
		data = data[:r.cut]
	}
	return bytes.NewReader(data).ReadAt(p, off)
}

type counter struct {
	mu    sync.Mutex
	calls []readCall
}

func (cn *counter) readers(files [][]byte) []*countingReaderAt {
	out := make([]*countingReaderAt, len(files))
	for i, f := range files {
		out[i] = &countingReaderAt{shard: i, data: f, mu: &cn.mu, calls: &cn.calls}
	}
	return out
}

func asReaderAts(rs []*countingReaderAt) []io.ReaderAt {
	out := make([]io.ReaderAt, len(rs))
	for i, r := range rs {
		if r != nil {
			out[i] = r
		}
	}
	return out
}

func sortCalls(calls []readCall) []readCall {
	calls = slices.Clone(calls)
	sort.Slice(calls, func(i, j int) bool {
		if calls[i].off != calls[j].off {
			return calls[i].off < calls[j].off
		}
		return calls[i].shard < calls[j].shard
	})
	return calls
}

// expectedReads lists the ReadAt calls a healthy decode of [off, off+n)
// must make: for each stripe of the range, one frame read per data block
// covering the range.
func expectedReads(c *Coder, size, off, n int64) []readCall {
	var want []readCall
	if n == 0 {
		return nil
	}
	b := int64(c.BlockSize())
	k := int64(c.DataShards())
	stride := int64(ChecksumSize) + (b+k-1)/k
	for s := off / b; s*b < off+n; s++ {
		slen := min(b, size-s*b)
		per := (slen + k - 1) / k
		lo, hi := max(off-s*b, 0), min(off+n-s*b, b)
		for j := lo / per; j <= (hi-1)/per; j++ {
			want = append(want, readCall{int(j), s * stride, int(ChecksumSize + per)})
		}
	}
	return want
}

func TestDecodeRanges(t *testing.T) {
	noLeak(t)
	for _, cfg := range []config{{4, 2, 1000}, {3, 2, 1000}, {1, 0, 1000}, {6, 3, 64 << 10}} {
		c := mustNew(t, cfg)
		b := int64(cfg.block)
		size := 5*b + 333
		data := randData(int(size), 4)
		files := encodeFiles(t, c, data)
		per := (b + int64(cfg.k) - 1) / int64(cfg.k)
		lastPer := (size - 5*b + int64(cfg.k) - 1) / int64(cfg.k)
		ranges := [][2]int64{
			{0, 0}, {0, 1}, {b - 1, 1}, {b - 1, 2}, {b, 1}, {b, b}, {2*b - 1, 1}, {0, size},
			{size - 1, 1}, {5 * b, size - 5*b}, {5*b - 1, size - 5*b + 1}, {per - 1, 2}, {per, per},
			{5*b + lastPer, 1}, {5*b + lastPer - 1, 2}, {size, 0}, {b + 234, 2345}, {3, size - 6},
			{b / 2, 3 * b}, {2 * b, 3 * b},
		}
		r := rand.New(rand.NewPCG(5, 5))
		for range 30 {
			off := r.Int64N(size + 1)
			ranges = append(ranges, [2]int64{off, r.Int64N(size - off + 1)})
		}
		for _, rg := range ranges {
			off, n := min(rg[0], size), rg[1]
			n = min(n, size-off)
			t.Run(fmt.Sprintf("%v/%d+%d", cfg, off, n), func(t *testing.T) {
				var cn counter
				rs := cn.readers(files)
				got, rep, err := decodeRange(c, asReaderAts(rs), size, off, n)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data[off:off+n]) {
					t.Fatalf("got %d bytes, want %d; content equal: false", len(got), n)
				}
				if rep.Degraded() {
					t.Errorf("report %+v", rep)
				}
				calls, want := sortCalls(cn.calls), expectedReads(c, size, off, n)
				if !slices.Equal(calls, want) && !(len(calls) == 0 && len(want) == 0) {
					t.Errorf("ReadAt calls %v, want %v", calls, want)
				}
				for _, cl := range calls {
					if cl.shard >= cfg.k {
						t.Errorf("healthy read touched parity shard %d", cl.shard)
					}
				}
			})
		}
	}
}

func TestDecodeRangesDegraded(t *testing.T) {
	noLeak(t)
	c := mustNew(t, config{4, 2, 1000})
	size := int64(5*1000 + 333)
	data := randData(int(size), 6)
	files := encodeFiles(t, c, data)
	r := rand.New(rand.NewPCG(6, 6))
	for _, missing := range [][]int{{0}, {3}, {1, 3}, {0, 5}, {4, 5}} {
		for range 25 {
			off := r.Int64N(size + 1)
			n := r.Int64N(size - off + 1)
			var cn counter
			rs := cn.readers(files)
			for _, i := range missing {
				rs[i] = nil
			}
			got, rep, err := decodeRange(c, asReaderAts(rs), size, off, n)
			if err != nil || !bytes.Equal(got, data[off:off+n]) {
				t.Fatalf("missing %v range %d+%d: err %v, data ok %v", missing, off, n, err, bytes.Equal(got, data[off:off+n]))
			}
			if !slices.Equal(rep.Missing, missing) {
				t.Fatalf("Missing = %v, want %v", rep.Missing, missing)
			}
			// Each stripe is read at most once per shard, at most k blocks.
			per := map[[2]int64]bool{}
			stripes := map[int64]int{}
			for _, cl := range cn.calls {
				key := [2]int64{int64(cl.shard), cl.off}
				if per[key] {
					t.Fatalf("shard %d read twice at %d", cl.shard, cl.off)
				}
				per[key] = true
				stripes[cl.off]++
			}
			for off, cnt := range stripes {
				if cnt > c.DataShards() {
					t.Fatalf("%d reads of stripe at %d", cnt, off)
				}
			}
		}
	}
}

func TestDecodeReadErrors(t *testing.T) {
	noLeak(t)
	c := mustNew(t, config{4, 2, 1000})
	size := int64(4000)
	data := randData(int(size), 7)
	files := encodeFiles(t, c, data)

	t.Run("failing shard", func(t *testing.T) {
		var cn counter
		rs := cn.readers(files)
		rs[1].fail = true
		got, rep, err := decodeRange(c, asReaderAts(rs), size, 0, size)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("err %v", err)
		}
		if !slices.Equal(rep.Missing, []int{1}) || rep.Corrupt != nil {
			t.Errorf("report %+v", rep)
		}
		n := 0
		for _, cl := range cn.calls {
			if cl.shard == 1 {
				n++
			}
		}
		if n != 1 {
			t.Errorf("failed shard read %d times, want once", n)
		}
	})
	t.Run("truncated shard", func(t *testing.T) {
		var cn counter
		rs := cn.readers(files)
		rs[2].cut = len(files[2]) - 100 // last stripe cut short
		got, rep, err := decodeRange(c, asReaderAts(rs), size, 0, size)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("err %v", err)
		}
		if !slices.Equal(rep.Missing, []int{2}) {
			t.Errorf("report %+v", rep)
		}
	})
	t.Run("too many failing", func(t *testing.T) {
		var cn counter
		rs := cn.readers(files)
		rs[0].fail, rs[4].fail, rs[5].fail = true, true, true
		got, rep, err := decodeRange(c, asReaderAts(rs), size, 0, size)
		if !errors.Is(err, ErrTooFewShards) || len(got) != 0 {
			t.Fatalf("err %v, wrote %d", err, len(got))
		}
		if !slices.Equal(rep.Missing, []int{0, 4, 5}) {
			t.Errorf("report %+v", rep)
		}
	})
}

type failWriter struct {
	after int // successful writes before failing
	err   error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, w.err
	}
	w.after--
	return len(p), nil
}

func TestDecodeWriterError(t *testing.T) {
	noLeak(t)
	c := mustNew(t, config{4, 2, 1000})
	size := int64(20_000)
	files := encodeFiles(t, c, randData(int(size), 8))
	errW := errors.New("client went away")
	for _, after := range []int{0, 1, 9, 40} {
		w := &failWriter{after: after, err: errW}
		_, err := c.Decode(context.Background(), w, readersOf(files), size, 0, size)
		if err != errW {
			t.Errorf("after %d writes: err %v, want the writer's error as is", after, err)
		}
	}
}

// cancelWriter cancels a context on its first Write.
type cancelWriter struct {
	cancel context.CancelFunc
	n      int
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.cancel()
	w.n += len(p)
	return len(p), nil
}

func TestDecodeCancel(t *testing.T) {
	noLeak(t)
	c := mustNew(t, config{4, 2, 1000})
	size := int64(100_000)
	files := encodeFiles(t, c, randData(int(size), 9))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if _, err := c.Decode(ctx, &out, readersOf(files), size, 0, size); !errors.Is(err, context.Canceled) || out.Len() != 0 {
		t.Errorf("cancelled ctx: err %v, wrote %d", err, out.Len())
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	w := &cancelWriter{cancel: cancel}
	_, err := c.Decode(ctx, w, readersOf(files), size, 0, size)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancel during decode: err %v", err)
	}
	if w.n >= int(size) {
		t.Errorf("decode went on to the end after cancel (%d bytes)", w.n)
	}
}

func TestDecodeArgs(t *testing.T) {
	c := mustNew(t, config{4, 2, 1000})
	files := encodeFiles(t, c, randData(3000, 10))
	rs := readersOf(files)
	for _, a := range [][3]int64{{3000, -1, 1}, {3000, 0, -1}, {3000, 2999, 2}, {3000, 3001, 0}, {-1, 0, 0}, {3000, 1, 1 << 62}} {
		if _, err := c.Decode(context.Background(), io.Discard, rs, a[0], a[1], a[2]); err == nil {
			t.Errorf("Decode(size %d, off %d, len %d) succeeded", a[0], a[1], a[2])
		}
	}
	if _, err := c.Decode(context.Background(), io.Discard, rs[:5], 3000, 0, 3000); err == nil {
		t.Error("Decode with 5 shards for 4+2 succeeded")
	}
	// Empty object: nothing to read, even with no shards at all.
	rep, err := c.Decode(context.Background(), io.Discard, make([]io.ReaderAt, 6), 0, 0, 0)
	if err != nil || len(rep.Missing) != 6 {
		t.Errorf("empty object: %+v, %v", rep, err)
	}
}

// TestDecodeBoundedMemory: a long decode holds only a few stripe buffers.
func TestDecodeBoundedMemory(t *testing.T) {
	c := mustNew(t, config{4, 2, 1000})
	size := int64(200_000)
	data := randData(int(size), 11)
	files := encodeFiles(t, c, data)
	w := &liveWriter{c: c}
	if _, err := c.Decode(context.Background(), w, readersOf(files, 2), size, 0, size); err != nil {
		t.Fatal(err)
	}
	if w.max > 3 || w.max == 0 {
		t.Errorf("%d stripe buffers in use at once, want at most 3", w.max)
	}
	if c.live.Load() != 0 {
		t.Errorf("%d stripe buffers not returned", c.live.Load())
	}
}

// liveWriter records the most stripe buffers in use during its writes.
type liveWriter struct {
	c   *Coder
	max int64
}

func (w *liveWriter) Write(p []byte) (int, error) {
	w.max = max(w.max, w.c.live.Load())
	return len(p), nil
}

// barrier releases the callers of wait in groups of n; wait reports false
// if its group was not complete within a second.
type barrier struct {
	mu    sync.Mutex
	n     int
	count int
	gen   chan struct{}
}

func (b *barrier) wait() bool {
	b.mu.Lock()
	if b.gen == nil {
		b.gen = make(chan struct{})
	}
	ch := b.gen
	if b.count++; b.count == b.n {
		b.count, b.gen = 0, nil
		close(ch)
	}
	b.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-time.After(time.Second):
		return false
	}
}

type barrierReaderAt struct {
	r       io.ReaderAt
	b       *barrier
	timeout *atomic.Bool
}

func (r barrierReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if !r.b.wait() {
		r.timeout.Store(true)
	}
	return r.r.ReadAt(p, off)
}

// TestDecodeMissingOneRound: with data shards known missing, Decode reads
// the k blocks it reconstructs from at once, not the data blocks first and
// the parity blocks in a second round.
func TestDecodeMissingOneRound(t *testing.T) {
	noLeak(t)
	c := mustNew(t, config{4, 2, 1000})
	data := randData(2500, 9)
	files := encodeFiles(t, c, data)
	b := &barrier{n: c.DataShards()}
	var timeout atomic.Bool
	rs := readersOf(files, 0, 2)
	for i, r := range rs {
		if r != nil {
			rs[i] = barrierReaderAt{r: r, b: b, timeout: &timeout}
		}
	}
	got, rep, err := decodeRange(c, rs, int64(len(data)), 0, int64(len(data)))
	if err != nil || !bytes.Equal(got, data) || !slices.Equal(rep.Missing, []int{0, 2}) {
		t.Fatalf("err %v, data ok %v, report %+v", err, bytes.Equal(got, data), rep)
	}
	if timeout.Load() {
		t.Error("the k reads of a stripe were not made at once")
	}
}

// hintingReaderAt is a countingReaderAt that takes range hints and checks
// every read against them.
type hintingReaderAt struct {
	*countingReaderAt
	hints    int
	off, end int64
	last     int64 // end of the previous read
	bad      []string
}

func (r *hintingReaderAt) HintRange(off, end int64) {
	r.hints++
	r.off, r.end, r.last = off, end, off
}

func (r *hintingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	switch {
	case r.hints != 1:
		r.bad = append(r.bad, fmt.Sprintf("shard %d: read at %d after %d hints", r.shard, off, r.hints))
	case off < r.last || off+int64(len(p)) > r.end:
		r.bad = append(r.bad, fmt.Sprintf("shard %d: read %d+%d outside hint [%d, %d) or before the previous read's end %d",
			r.shard, off, len(p), r.off, r.end, r.last))
	}
	r.last = off + int64(len(p))
	return r.countingReaderAt.ReadAt(p, off)
}

// TestDecodeHintsRange: every reader that takes a hint gets one before its
// first read, and its reads stay inside it at increasing offsets, healthy
// or degraded; the last read of a healthy full read ends at the hint's end.
func TestDecodeHintsRange(t *testing.T) {
	noLeak(t)
	c := mustNew(t, config{4, 2, 1000})
	size := int64(5*1000 + 333)
	data := randData(int(size), 7)
	files := encodeFiles(t, c, data)
	r := rand.New(rand.NewPCG(7, 7))
	ranges := [][2]int64{{0, size}, {0, 1}, {size - 1, 1}, {999, 2}, {1000, 1000}}
	for range 40 {
		off := r.Int64N(size)
		ranges = append(ranges, [2]int64{off, 1 + r.Int64N(size-off)})
	}
	for _, missing := range [][]int{nil, {0}, {2, 5}, {1, 3}} {
		for _, rg := range ranges {
			var cn counter
			hs := make([]*hintingReaderAt, len(files))
			rs := make([]io.ReaderAt, len(files))
			for i, cr := range cn.readers(files) {
				hs[i] = &hintingReaderAt{countingReaderAt: cr}
				rs[i] = hs[i]
			}
			for _, i := range missing {
				rs[i] = nil
			}
			got, _, err := decodeRange(c, rs, size, rg[0], rg[1])
			if err != nil || !bytes.Equal(got, data[rg[0]:rg[0]+rg[1]]) {
				t.Fatalf("missing %v range %v: err %v, data ok %v", missing, rg, err, bytes.Equal(got, data[rg[0]:rg[0]+rg[1]]))
			}
			for i, h := range hs {
				if rs[i] == nil {
					continue
				}
				if h.hints != 1 {
					t.Fatalf("missing %v range %v: shard %d got %d hints", missing, rg, i, h.hints)
				}
				if len(h.bad) > 0 {
					t.Fatalf("missing %v range %v: %v", missing, rg, h.bad)
				}
				if missing == nil && rg == [2]int64{0, size} && i < c.DataShards() && h.last != h.end {
					t.Fatalf("full read: shard %d read up to %d, hint ends at %d", i, h.last, h.end)
				}
			}
		}
	}
}
