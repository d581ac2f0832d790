package gateway

import (
	"container/heap"
	"context"
	"errors"
	"strings"

	"github.com/ecstore/ecstore/s3compat"
	"github.com/ecstore/ecstore/storagenode"
)

// listBatch is how many records each drive returns per index scan.
const listBatch = 1000

// cursor walks one drive's sorted metadata index in batches.
type cursor struct {
	ctx    context.Context
	d      storagenode.Drive
	bucket string
	prefix string
	after  string
	buf    []*storagenode.ObjectMeta
	done   bool
	err    error
}

func (c *cursor) fill() {
	if len(c.buf) > 0 || c.done {
		return
	}
	metas, err := c.d.ListMeta(c.ctx, c.bucket, c.prefix, c.after, listBatch)
	if err != nil {
		c.err, c.done = err, true
		return
	}
	c.buf = metas
	c.done = len(metas) < listBatch
	if len(metas) > 0 {
		c.after = metas[len(metas)-1].Key
	}
}

// peek returns the cursor's next record, or nil at the end.
func (c *cursor) peek() *storagenode.ObjectMeta {
	if len(c.buf) == 0 {
		if c.done {
			return nil
		}
		c.fill()
	}
	if len(c.buf) == 0 {
		return nil
	}
	return c.buf[0]
}

// seek drops everything up to and including after.
func (c *cursor) seek(after string) {
	for len(c.buf) > 0 && c.buf[0].Key <= after {
		c.buf = c.buf[1:]
	}
	if len(c.buf) == 0 && after > c.after {
		c.after = after
		c.done = false
	}
}

// cursorHeap orders cursors by their next key.
type cursorHeap []*cursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return h[i].peek().Key < h[j].peek().Key }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// merger yields each key once with the records all drives hold for it.
type merger struct {
	h   cursorHeap
	all []*cursor
}

func (l *Layer) newMerger(ctx context.Context, bucket, prefix, after string) (*merger, error) {
	m := &merger{}
	all := l.allDrives()
	for _, d := range all {
		m.all = append(m.all, &cursor{ctx: ctx, d: d, bucket: bucket, prefix: prefix, after: after})
	}
	// Prime every cursor in parallel: the first batch is the slow part.
	ds := make([]storagenode.Drive, len(m.all))
	for i, c := range m.all {
		ds[i] = c.d
	}
	fanout(ds, func(i int, _ storagenode.Drive) error { m.all[i].fill(); return nil })
	ok, bucketMissing := 0, 0
	for _, c := range m.all {
		switch {
		case c.err == nil:
			ok++
		case errors.Is(c.err, storagenode.ErrBucketNotFound):
			bucketMissing++
		}
	}
	if ok < len(all)/2+1 {
		if bucketMissing > 0 {
			if _, err := l.HeadBucket(ctx, bucket); err != nil {
				return nil, err
			}
		}
		return nil, s3compat.ErrServiceUnavailable.WithMessage("Not enough drives answered to list the bucket.")
	}
	m.rebuild()
	return m, nil
}

func (m *merger) rebuild() {
	m.h = m.h[:0]
	for _, c := range m.all {
		if c.peek() != nil {
			m.h = append(m.h, c)
		}
	}
	heap.Init(&m.h)
}

// next returns the next key's records (one per drive holding it), or nil.
func (m *merger) next() []*storagenode.ObjectMeta {
	if len(m.h) == 0 {
		return nil
	}
	key := m.h[0].peek().Key
	var out []*storagenode.ObjectMeta
	for len(m.h) > 0 && m.h[0].peek().Key == key {
		c := m.h[0]
		out = append(out, c.buf[0])
		c.buf = c.buf[1:]
		if c.peek() == nil {
			heap.Pop(&m.h)
		} else {
			heap.Fix(&m.h, 0)
		}
	}
	return out
}

// skip moves every cursor past all keys <= after.
func (m *merger) skip(after string) {
	for _, c := range m.all {
		c.seek(after)
	}
	m.rebuild()
}

// pick chooses a key's current version: the newest record held by at
// least k drives, or nil when none is (a stale leftover, or a write that
// lost its quorum).
func pick(recs []*storagenode.ObjectMeta) *storagenode.ObjectMeta {
	count := map[string]int{}
	var best *storagenode.ObjectMeta
	for _, r := range recs {
		count[r.VersionID]++
	}
	for _, r := range recs {
		if count[r.VersionID] >= r.EC.Data && (best == nil || r.Newer(best)) {
			best = r
		}
	}
	return best
}

// ListObjects merges the sorted indexes of all drives.
func (l *Layer) ListObjects(ctx context.Context, bucket string, p s3compat.ListParams) (s3compat.ListResult, error) {
	var res s3compat.ListResult
	after := p.After
	if p.Delimiter != "" && strings.HasPrefix(after, p.Prefix) {
		// Continuing after a common prefix: skip everything under it.
		rest := after[len(p.Prefix):]
		if i := strings.Index(rest, p.Delimiter); i >= 0 && i+len(p.Delimiter) == len(rest) {
			after += "\xff"
		}
	}
	m, err := l.newMerger(ctx, bucket, p.Prefix, after)
	if err != nil {
		return res, err
	}
	n := 0
	for {
		recs := m.next()
		if recs == nil {
			break
		}
		meta := pick(recs)
		if meta == nil {
			continue
		}
		if n == p.MaxKeys {
			res.IsTruncated = true
			break
		}
		key := meta.Key
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
		res.Objects = append(res.Objects, objectInfo(meta))
		res.NextAfter = key
		n++
	}
	for _, c := range m.all {
		if c.err != nil && !errors.Is(c.err, storagenode.ErrDriveOffline) {
			l.log.Warn("list: drive failed", "drive", c.d.ID(), "err", c.err)
		}
	}
	return res, nil
}
