package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// maxVerifyNotes bounds the verification failures written to the log; all
// of them are counted.
const maxVerifyNotes = 10

// worker runs one phase's operations one at a time. Its tally, buffer and
// random source are its own.
type worker struct {
	r   *runner
	p   *phaseRun
	rng *rand.Rand
	buf []byte // GET bodies are read into it
	t   *tally
	// own: PUT, the objects written; MIXED, the objects written and not
	// deleted again; DELETE, the objects that could not be deleted.
	own []int64
	// walk is a LIST worker's position in its walk over the prefix.
	walk listWalk
}

type listWalk struct {
	token string // ListObjectsV2: continuation token of the next page; "" starts a walk
	// ListObjectVersions: where the next page starts ("": the start), and
	// the key of the last entry seen (a key's latest entry comes first).
	keyMarker, vidMarker, lastKey string
	count                         int64 // keys, or versions and delete markers, seen so far
	current                       int64 // ListObjectVersions: keys seen whose latest entry is a version
}

func newWorker(r *runner, p *phaseRun, id int, expectOps int64) *worker {
	s1, s2 := seedFor(p.phase, id)
	return &worker{
		r: r, p: p,
		rng: rand.New(rand.NewPCG(s1, s2)),
		buf: make([]byte, min(max(r.cfg.Size, 4<<10), 256<<10)),
		t:   newTally(expectOps),
	}
}

// outcome is what one operation did; err is nil on success.
type outcome struct {
	objects, bytes int64
	code           string
	err            error
}

func (w *worker) loop() {
	for {
		n, ok := w.p.claim()
		if !ok {
			return
		}
		start := time.Now()
		o := w.op(n)
		lat := time.Since(start)
		if o.err != nil && w.p.ctx.Err() != nil {
			return // cut off by cancellation: not an operation
		}
		if o.err != nil {
			if o.code == "" {
				o.code = errorCode(o.err)
			}
			w.t.fail(o.code, o.err)
			w.p.doneErrs.Add(1)
		} else {
			w.t.ok(lat, o.objects, o.bytes)
		}
		w.p.doneOps.Add(1)
		w.p.doneBytes.Add(o.bytes)
	}
}

// op runs operation number n of the phase.
func (w *worker) op(n int64) outcome {
	switch w.p.phase {
	case PhasePut:
		return w.put()
	case PhaseGet:
		return w.get(w.p.base[n%int64(len(w.p.base))])
	case PhaseMixed:
		switch x := w.rng.IntN(100); {
		case x < MixGetPercent:
			return w.get(w.p.base[w.rng.IntN(len(w.p.base))])
		case x < MixGetPercent+MixPutPercent || len(w.own) == 0:
			return w.put()
		}
		i := w.own[len(w.own)-1]
		o := w.del(i)
		if o.err == nil {
			w.own = w.own[:len(w.own)-1]
		}
		return o
	case PhaseList:
		return w.list()
	case PhaseListVersions:
		return w.listVersions()
	case PhaseDelete:
		i := w.p.base[n]
		o := w.del(i)
		if o.err != nil {
			w.own = append(w.own, i)
		}
		return o
	}
	panic("bench: unknown phase " + string(w.p.phase))
}

func (w *worker) put() outcome {
	i := w.r.next.Add(1) - 1
	if err := w.r.c.put(w.p.ctx, key(w.r.cfg.Prefix, i), w.r.data.object(i)); err != nil {
		return outcome{err: err}
	}
	w.own = append(w.own, i)
	return outcome{objects: 1, bytes: w.r.cfg.Size}
}

func (w *worker) del(i int64) outcome {
	if err := w.r.c.del(w.p.ctx, key(w.r.cfg.Prefix, i)); err != nil {
		return outcome{err: err}
	}
	return outcome{objects: 1}
}

// get reads object i to its end and, for a sample of GETs, compares every
// byte with what was written.
func (w *worker) get(i int64) outcome {
	k := key(w.r.cfg.Prefix, i)
	resp, err := w.r.c.get(w.p.ctx, k)
	if err != nil {
		return outcome{err: err}
	}
	verify := w.r.cfg.VerifySample > 0 && w.rng.Float64() < w.r.cfg.VerifySample
	want := w.r.data.object(i)
	n, diff, err := readCompare(resp.Body, w.buf, want, verify)
	resp.Body.Close()
	if err != nil {
		return outcome{bytes: n, err: fmt.Errorf("bench: GET %s: reading the body: %w", k, err)}
	}
	if verify {
		w.t.verified++
	}
	switch {
	case verify && (diff >= 0 || n != int64(len(want))):
		w.t.verifyFailures++
		var msg string
		if diff >= 0 {
			msg = fmt.Sprintf("VERIFICATION FAILED: GET %s: byte %d differs from what was written", k, diff)
		} else {
			msg = fmt.Sprintf("VERIFICATION FAILED: GET %s: %d bytes, %d were written", k, n, len(want))
		}
		if c := w.r.verifyNotes.Add(1); c <= maxVerifyNotes {
			w.r.logf("%s", msg)
		} else if c == maxVerifyNotes+1 {
			w.r.logf("more verification failures: counted, not shown")
		}
		return outcome{bytes: n, code: CodeVerifyMismatch, err: errors.New(msg)}
	case n != int64(len(want)):
		return outcome{bytes: n, code: CodeSizeMismatch,
			err: fmt.Errorf("bench: GET %s: %d bytes, %d were written", k, n, len(want))}
	}
	return outcome{objects: 1, bytes: n}
}

// readCompare reads body to its end through buf. When verify is set it
// compares what it reads with want and returns the offset of the first
// byte that differs (diff), or -1 when none does; a body longer than want
// differs at len(want). A body shorter than want is left for the caller to
// notice from n.
func readCompare(body io.Reader, buf, want []byte, verify bool) (n, diff int64, err error) {
	diff = -1
	for {
		k, rerr := body.Read(buf)
		if k > 0 && verify && diff < 0 {
			diff = firstDiff(buf[:k], want[min(n, int64(len(want))):])
			if diff >= 0 {
				diff += n
			}
		}
		n += int64(k)
		if rerr == io.EOF {
			return n, diff, nil
		}
		if rerr != nil {
			return n, diff, rerr
		}
	}
}

// firstDiff is the first offset where got differs from want, or where got
// runs past want's end; -1 when got is a prefix of want.
func firstDiff(got, want []byte) int64 {
	if len(got) <= len(want) && bytes.Equal(got, want[:len(got)]) {
		return -1
	}
	for i := range got {
		if i >= len(want) || got[i] != want[i] {
			return int64(i)
		}
	}
	return -1
}

// list fetches the next ListObjectsV2 page of this worker's walk over the
// prefix.
func (w *worker) list() outcome {
	lw := &w.walk
	page, err := w.r.c.list(w.p.ctx, w.r.cfg.Prefix+"/", lw.token, w.r.cfg.pageKeys)
	if err != nil {
		*lw = listWalk{}
		return outcome{err: err}
	}
	n := int64(len(page.Contents))
	lw.count += n
	o := outcome{objects: n}
	if page.IsTruncated {
		lw.token = page.NextContinuationToken
		return o
	}
	return w.endWalk(o, "LIST", lw.count, lw.count, "keys")
}

// listVersions fetches the next ListObjectVersions page of this worker's
// walk over the prefix; versions and delete markers count as objects.
func (w *worker) listVersions() outcome {
	lw := &w.walk
	page, err := w.r.c.listVersions(w.p.ctx, w.r.cfg.Prefix+"/", lw.keyMarker, lw.vidMarker, w.r.cfg.pageKeys)
	if err != nil {
		*lw = listWalk{}
		return outcome{err: err}
	}
	for _, e := range page.Entries {
		if e.Key != lw.lastKey { // the key's latest entry
			lw.lastKey = e.Key
			if !e.DeleteMarker {
				lw.current++
			}
		}
	}
	n := int64(len(page.Entries))
	lw.count += n
	o := outcome{objects: n}
	if page.IsTruncated {
		lw.keyMarker, lw.vidMarker = page.NextKeyMarker, page.NextVersionIDMarker
		return o
	}
	return w.endWalk(o, "LISTVERSIONS", lw.current, lw.count, "versions and delete markers")
}

// endWalk checks a walk that has just ended with operation o: over the
// run's own objects it must have found every object written (objects: the
// keys, or the keys whose latest entry is a version); over an existing
// data set, as many entries (total, named what) as the phase's first
// complete walk.
func (w *worker) endWalk(o outcome, op string, objects, total int64, what string) outcome {
	w.walk = listWalk{}
	if w.r.existing {
		w.p.firstWalk.CompareAndSwap(0, total+1)
		if want := w.p.firstWalk.Load() - 1; total != want {
			o.code = CodeListMismatch
			o.err = fmt.Errorf("bench: %s %s/ found %d %s, the phase's first walk %d", op, w.r.cfg.Prefix, total, what, want)
		}
		return o
	}
	if want := int64(len(w.p.base)); objects != want {
		o.code = CodeListMismatch
		o.err = fmt.Errorf("bench: %s %s/ found %d objects, %d were written", op, w.r.cfg.Prefix, objects, want)
	}
	return o
}
