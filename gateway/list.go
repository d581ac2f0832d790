package gateway

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

// listBatch is how many entries a drive returns per index scan, after the
// first scan of a listing (which is sized to the page).
const listBatch = 1000

// cursor walks one drive's sorted metadata index in batches of entries.
type cursor struct {
	ctx     context.Context
	d       storagenode.Drive
	bucket  string
	prefix  string
	after   string // the last key read from the drive, or where the walk starts
	limit   int    // entries of the next scan
	scanned bool   // the first scan is done: later ones are sized by need
	need    *int   // keys the listing still needs (nil, 0: read listBatch); see batchFor
	buf     []storagenode.ObjectEntry
	done    bool
	err     error
}

// fill reads the next batch when the buffer is empty.
func (c *cursor) fill() {
	if len(c.buf) > 0 || c.done {
		return
	}
	if c.scanned && c.need != nil {
		c.limit = batchFor(*c.need)
	}
	es, err := c.d.ListEntries(c.ctx, c.bucket, c.prefix, c.after, c.limit)
	if err != nil {
		c.buf, c.err, c.done = nil, err, true
		return
	}
	c.buf = es
	c.done = len(es) < c.limit
	if len(es) > 0 {
		c.after = es[len(es)-1].Key
	}
	c.limit, c.scanned = listBatch, true
}

// batchFor is the size of a later scan when a listing still needs need
// keys: a little more than that (keys the listing skips, as delete
// markers and versions not whole, cost a few more), never more than
// listBatch. Without it a page that needs 53 more keys after its first
// scan (a twentieth of its keys deleted: their current versions are
// delete markers) had every drive read 1000.
func batchFor(need int) int {
	if need <= 0 {
		return listBatch
	}
	return min(listBatch, need+need/4+32)
}

// peek returns the cursor's next entry, or nil at the end.
func (c *cursor) peek() *storagenode.ObjectEntry {
	c.fill()
	if len(c.buf) == 0 {
		return nil
	}
	return &c.buf[0]
}

// seek drops everything up to and including after.
func (c *cursor) seek(after string) {
	for len(c.buf) > 0 && c.buf[0].Key <= after {
		c.buf = c.buf[1:]
	}
	if len(c.buf) == 0 && after > c.after && c.err == nil {
		c.after = after
		c.done = false
	}
}

// merger yields each key once, with the entries the drives it reads hold
// for it and the key's current version.
//
// It reads every drive, or, when that is safe, a subset: when every object
// is placed on every drive (as many drives as k+m, no rebalance under
// way), a version whole on k drives has a record on at least one of any
// m+1. With r = max(k, m+1) drives read, any version without a record on
// them is on at most n-r < k drives: not whole. So when a key's records on
// the drives read all have one version, held by at least its k of them,
// that version is the one pick would choose from all n drives; a key whose
// records disagree or are too few needs the other drives: the merger then
// opens cursors on them, from the last key it handed out, and reads every
// drive for the rest of the walk. The rule assumes no version was written
// with fewer data shards than the code in use (a store whose code was
// lowered to k' <= n-r and raised again could hold a version whole on the
// unread drives only).
type merger struct {
	ctx    context.Context
	bucket string
	prefix string
	cur    []*cursor
	need   int                        // keys the listing still needs, 0 if it does not say (batchFor)
	rest   []storagenode.Drive        // drives not read (yet); nil when all are
	last   string                     // every key <= last is behind the merge
	recs   []*storagenode.ObjectEntry // the current key's entries, reused
}

// newMerger starts a walk of bucket's keys under prefix after after. batch
// is the number of entries of each drive's first scan (later scans read
// listBatch); subset allows reading a subset of the drives (see merger).
func (l *Layer) newMerger(ctx context.Context, bucket, prefix, after string, batch int, subset bool) (*merger, error) {
	t := l.topo()
	all := t.drives
	m := &merger{ctx: ctx, bucket: bucket, prefix: prefix, last: after}
	read := all
	if r := l.listReadCount(t); subset && r < len(all) {
		read, m.rest = chooseSubset(all, r)
	}
	m.open(read, after, batch)
	if m.rest != nil {
		for _, c := range m.cur {
			if c.err != nil {
				m.widen() // a drive of the subset did not answer: read them all
				break
			}
		}
	}
	ok, bucketMissing := 0, 0
	for _, c := range m.cur {
		switch {
		case c.err == nil:
			ok++
		case errors.Is(c.err, storagenode.ErrBucketNotFound):
			bucketMissing++
		}
	}
	if ok < len(all)/2+1 {
		if bucketMissing > 0 {
			if _, err := l.bucket(ctx, bucket); err != nil {
				return nil, err
			}
		}
		return nil, withMessage(ErrUnavailable, "Not enough drives answered to list the bucket.")
	}
	return m, nil
}

// listReadCount is how many drives a listing must read under t: all of
// them, or max(k, m+1) when every object is placed on every drive (see
// merger).
func (l *Layer) listReadCount(t *topology) int {
	n := len(t.drives)
	if n != l.k+l.m || len(t.prior) > 0 {
		return n
	}
	return min(n, max(l.k, l.m+1))
}

// chooseSubset splits drives into r to read and the rest: drives whose
// circuit breaker is open go last, the others from a random start, so that
// listings spread over the drives and a lagging drive is not always read.
func chooseSubset(drives []storagenode.Drive, r int) (read, rest []storagenode.Drive) {
	n := len(drives)
	order := make([]storagenode.Drive, 0, n)
	var down []storagenode.Drive
	start := rand.IntN(n)
	for i := range n {
		d := drives[(start+i)%n]
		if online(d) {
			order = append(order, d)
		} else {
			down = append(down, d)
		}
	}
	order = append(order, down...)
	return order[:r:r], order[r:]
}

// open adds cursors on drives starting after after, and reads their first
// batches in parallel.
func (m *merger) open(drives []storagenode.Drive, after string, batch int) {
	cs := make([]*cursor, len(drives))
	for i, d := range drives {
		cs[i] = &cursor{ctx: m.ctx, d: d, bucket: m.bucket, prefix: m.prefix, after: after, limit: batch, need: &m.need}
	}
	fanout(drives, func(i int, _ storagenode.Drive) error { cs[i].fill(); return nil })
	m.cur = append(m.cur, cs...)
}

// widen starts reading the drives not read so far, from the last key
// handed out.
func (m *merger) widen() {
	ds := m.rest
	m.rest = nil
	m.open(ds, m.last, listBatch)
}

// refill reads the next batch of every cursor that needs one, in parallel
// when several do (they run dry at about the same key).
func (m *merger) refill() {
	var empty []storagenode.Drive
	var idx []int
	for i, c := range m.cur {
		if len(c.buf) == 0 && !c.done {
			empty = append(empty, c.d)
			idx = append(idx, i)
		}
	}
	if len(empty) > 1 {
		fanout(empty, func(j int, _ storagenode.Drive) error { m.cur[idx[j]].fill(); return nil })
	}
}

// next returns the next key's entries (one per drive read that holds it,
// valid until the next call) and its current version: the entry to list,
// or nil when no version is whole. ok is false at the end of the walk.
func (m *merger) next() (recs []*storagenode.ObjectEntry, current *storagenode.ObjectEntry, ok bool) {
	for {
		m.refill()
		var key string
		found := false
		for _, c := range m.cur {
			if e := c.peek(); e != nil && (!found || e.Key < key) {
				key, found = e.Key, true
			}
		}
		if !found {
			return nil, nil, false
		}
		m.recs = m.recs[:0]
		for _, c := range m.cur {
			if e := c.peek(); e != nil && e.Key == key {
				m.recs = append(m.recs, e)
			}
		}
		if m.rest != nil {
			current = unanimous(m.recs)
			if current == nil {
				m.widen()
				continue // the other drives may hold keys before this one
			}
		} else {
			current = pick(m.recs)
		}
		for _, c := range m.cur {
			if len(c.buf) > 0 && c.buf[0].Key == key {
				c.buf = c.buf[1:]
			}
		}
		m.last = key
		return m.recs, current, true
	}
}

// skip moves the walk past all keys <= after.
func (m *merger) skip(after string) {
	for _, c := range m.cur {
		c.seek(after)
	}
	if after > m.last {
		m.last = after
	}
}

// unanimous returns a key's entry when all its entries are of one version
// and at least its k of them; nil otherwise.
func unanimous(recs []*storagenode.ObjectEntry) *storagenode.ObjectEntry {
	if len(recs) == 0 {
		return nil
	}
	first := recs[0]
	if first.DataShards > len(recs) {
		return nil
	}
	for _, e := range recs[1:] {
		if e.VersionID != first.VersionID {
			return nil
		}
	}
	return first
}

// pick chooses a key's current version: the newest entry whose version at
// least its k drives hold, or nil when none is (a stale leftover, or a
// write that lost its quorum).
func pick(recs []*storagenode.ObjectEntry) *storagenode.ObjectEntry {
	var best *storagenode.ObjectEntry
	for _, r := range recs {
		if best != nil && !r.Newer(best) {
			continue
		}
		n := 0
		for _, o := range recs {
			if o.VersionID == r.VersionID {
				n++
			}
		}
		if n >= r.DataShards {
			best = r
		}
	}
	return best
}

// logErrors logs the drives that failed during the walk.
func (m *merger) logErrors(log *slog.Logger) {
	for _, c := range m.cur {
		if c.err != nil && !errors.Is(c.err, storagenode.ErrDriveOffline) {
			log.Warn("list: drive failed", "drive", c.d.ID(), "err", c.err)
		}
	}
}

// entryInfo is a listing's ObjectInfo of an entry: the fields a listing
// shows (no headers, checksums or part count).
func entryInfo(bucket string, e *storagenode.ObjectEntry) s3api.ObjectInfo {
	info := s3api.ObjectInfo{
		Bucket: bucket, Key: e.Key, Size: e.Size, ETag: e.ETag, ModTime: e.ModTime,
		ContentType: e.ContentType, UserMeta: e.UserMeta,
	}
	if e.StorageClass != "" {
		info.Headers = map[string]string{s3api.StorageClassHeader: e.StorageClass}
	}
	return info
}

// ListObjects merges the sorted indexes of the drives (see merger).
func (l *Layer) ListObjects(ctx context.Context, bucket string, p s3api.ListParams) (_ s3api.ListResult, err error) {
	defer translate(&err)
	var res s3api.ListResult
	after := p.After
	if p.Delimiter != "" && strings.HasPrefix(after, p.Prefix) {
		// Continuing after a common prefix: skip everything under it.
		rest := after[len(p.Prefix):]
		if i := strings.Index(rest, p.Delimiter); i >= 0 && i+len(p.Delimiter) == len(rest) {
			after += "\xff"
		}
	}
	// The first scan of each drive covers the page and one key more, which
	// tells whether the listing is truncated.
	m, err := l.newMerger(ctx, bucket, p.Prefix, after, min(max(p.MaxKeys, 1), listBatch)+1, true)
	if err != nil {
		return res, err
	}
	res.Objects = make([]s3api.ObjectInfo, 0, min(max(p.MaxKeys, 0), listBatch))
	n := 0
	for {
		m.need = p.MaxKeys - n + 1 // and one more, to learn whether it is truncated
		_, e, ok := m.next()
		if !ok {
			break
		}
		if e == nil || e.DeleteMarker {
			continue // no version whole, or deleted (its current version is a delete marker)
		}
		if n == p.MaxKeys {
			res.IsTruncated = true
			break
		}
		key := e.Key
		if p.Delimiter != "" {
			if i := strings.Index(key[len(p.Prefix):], p.Delimiter); i >= 0 {
				cp := key[:len(p.Prefix)+i+len(p.Delimiter)]
				res.Prefixes = append(res.Prefixes, cp)
				res.NextAfter = cp
				n++
				// 0xff never occurs in UTF-8, so cp+"\xff" sorts after
				// every key that starts with cp.
				m.skip(cp + "\xff")
				continue
			}
		}
		res.Objects = append(res.Objects, entryInfo(bucket, e))
		res.NextAfter = key
		n++
	}
	m.logErrors(l.log)
	return res, nil
}
