package gateway

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

// s3VersionID is the S3 version id of a version: its VersionID, or "null"
// for the key's null version.
func s3VersionID(versioned bool, vid string) string {
	if !versioned {
		return "null"
	}
	return vid
}

// vcursor walks one drive's versions in its order (key, then newest
// first) in batches.
type vcursor struct {
	ctx                context.Context
	d                  storagenode.Drive
	bucket, prefix     string
	afterKey, afterVID string // where the next batch starts (S3 version id)
	limit              int
	buf                []storagenode.ObjectEntry
	done               bool
	err                error
}

func (c *vcursor) fill() {
	if len(c.buf) > 0 || c.done {
		return
	}
	es, err := c.d.ListVersions(c.ctx, c.bucket, c.prefix, c.afterKey, c.afterVID, c.limit)
	if err != nil {
		c.buf, c.err, c.done = nil, err, true
		return
	}
	c.buf, c.done = es, len(es) < c.limit
	if len(es) > 0 {
		last := es[len(es)-1]
		c.afterKey, c.afterVID = last.Key, s3VersionID(last.Versioned, last.VersionID)
	}
	c.limit = listBatch
}

func (c *vcursor) peek() *storagenode.ObjectEntry {
	c.fill()
	if len(c.buf) == 0 {
		return nil
	}
	return &c.buf[0]
}

// versionBefore reports whether a comes before b in a version listing:
// key order, then newest first.
func versionBefore(a, b *storagenode.ObjectEntry) bool {
	if a.Key != b.Key {
		return a.Key < b.Key
	}
	return a.Newer(b)
}

// vmerger yields each version the drives hold once, with how many drives
// hold it, in listing order.
//
// It reads every drive, or, when that is safe, a subset, by the rule of
// merger (list.go): when every object is placed on every drive, a version
// whole on k drives has a record on at least one of any r = max(k, m+1),
// and one that none of the r drives holds is on fewer than k: not whole.
// So while every version the r drives hold is held by all of them, those
// are exactly the whole versions. The first version that is not (a drive
// missed a write, a write lost its quorum, a drive fails) opens cursors on
// the other drives, from the last version handed out, before it is
// counted; from there on every drive is read. (A version the other drives
// then show again, from before that point, is held by those drives alone:
// fewer than k, never listed.)
type vmerger struct {
	cur []*vcursor
	// rest are the drives not read yet (nil when all are); opening them
	// needs what the cursors were made with.
	rest           []storagenode.Drive
	ctx            context.Context
	bucket, prefix string
	// lastKey and lastVID are where the walk stands: the last version
	// handed out or skipped (S3 version id; "" for after the whole key).
	lastKey, lastVID string
}

// newVMerger opens cursors on the drives a listing of bucket's versions
// under prefix needs, after (afterKey, afterVID), first batches of batch
// versions (see vmerger).
func (l *Layer) newVMerger(ctx context.Context, bucket, prefix, afterKey, afterVID string, batch int) *vmerger {
	t := l.topo()
	read := t.drives
	m := &vmerger{ctx: ctx, bucket: bucket, prefix: prefix, lastKey: afterKey, lastVID: afterVID}
	if r := l.listReadCount(t); r < len(read) {
		read, m.rest = chooseSubset(read, r)
	}
	m.open(read, batch)
	return m
}

// open adds cursors on drives, from where the walk stands, and reads their
// first batches in parallel.
func (m *vmerger) open(drives []storagenode.Drive, batch int) {
	cs := make([]*vcursor, len(drives))
	for i, d := range drives {
		cs[i] = &vcursor{ctx: m.ctx, d: d, bucket: m.bucket, prefix: m.prefix, afterKey: m.lastKey, afterVID: m.lastVID, limit: batch}
	}
	fanout(drives, func(i int, _ storagenode.Drive) error { cs[i].fill(); return nil })
	m.cur = append(m.cur, cs...)
}

// widen starts reading the drives not read so far.
func (m *vmerger) widen() {
	ds := m.rest
	m.rest = nil
	m.open(ds, listBatch)
}

// next returns the next version and how many drives hold it; ok false at
// the end.
func (m *vmerger) next() (e storagenode.ObjectEntry, holders int, ok bool) {
	for {
		var first *storagenode.ObjectEntry
		failed := false
		for _, c := range m.cur {
			if h := c.peek(); h != nil && (first == nil || versionBefore(h, first)) {
				first = h
			}
			failed = failed || c.err != nil
		}
		if m.rest != nil && (failed || first != nil && m.holders(first) < len(m.cur)) {
			m.widen()
			continue
		}
		if first == nil {
			return e, 0, false
		}
		e = *first
		for _, c := range m.cur {
			if h := c.peek(); h != nil && h.Key == e.Key && h.VersionID == e.VersionID {
				holders++
				c.buf = c.buf[1:]
			}
		}
		m.lastKey, m.lastVID = e.Key, s3VersionID(e.Versioned, e.VersionID)
		return e, holders, true
	}
}

// holders counts the cursors whose next version is e's.
func (m *vmerger) holders(e *storagenode.ObjectEntry) int {
	n := 0
	for _, c := range m.cur {
		if h := c.peek(); h != nil && h.Key == e.Key && h.VersionID == e.VersionID {
			n++
		}
	}
	return n
}

// skipKeys drops every version of keys that start with p.
func (m *vmerger) skipKeys(p string) {
	m.lastKey, m.lastVID = p+"\xff", ""
	for _, c := range m.cur {
		for {
			h := c.peek()
			if h == nil || !strings.HasPrefix(h.Key, p) {
				break
			}
			c.buf = c.buf[1:]
			if len(c.buf) == 0 && !c.done && c.err == nil {
				// Jump past the prefix instead of reading all of it
				// (0xff never occurs in UTF-8).
				c.afterKey, c.afterVID = p+"\xff", ""
			}
		}
	}
}

// ListObjectVersions merges the drives' version indexes: a version is
// listed when at least its k drives hold it (as pick chooses a current
// version); the first listed version of a key is its latest.
func (l *Layer) ListObjectVersions(ctx context.Context, bucket string, p s3api.ListVersionsParams) (_ s3api.ListVersionsResult, err error) {
	defer translate(&err)
	var res s3api.ListVersionsResult
	if _, err := l.bucket(ctx, bucket); err != nil {
		return res, err
	}
	batch := min(max(p.MaxKeys, 1), listBatch) + 1
	afterKey, afterVID := p.KeyMarker, p.VersionIDMarker
	if p.KeyMarker == "" {
		afterVID = ""
	}
	if p.Delimiter != "" && afterVID == "" && strings.HasPrefix(afterKey, p.Prefix) {
		// Continuing after a common prefix: skip everything under it.
		rest := afterKey[len(p.Prefix):]
		if i := strings.Index(rest, p.Delimiter); i >= 0 && i+len(p.Delimiter) == len(rest) {
			afterKey += "\xff"
		}
	}
	m := l.newVMerger(ctx, bucket, p.Prefix, afterKey, afterVID, batch)
	for _, c := range m.cur {
		if m.rest != nil && c.err != nil {
			m.widen() // a drive of the subset did not answer: read them all
			break
		}
	}
	answered, all := 0, l.topo().drives
	for _, c := range m.cur {
		if c.err == nil {
			answered++
		} else if !errors.Is(c.err, storagenode.ErrDriveOffline) {
			l.log.Warn("list versions: drive failed", "drive", c.d.ID(), "err", c.err)
		}
	}
	if answered < len(all)/2+1 {
		return res, withMessage(ErrUnavailable, "Not enough drives answered to list the bucket's versions.")
	}
	// Resuming inside KeyMarker: a drive that does not hold the marker
	// version lists all of that key's versions; drop those up to the
	// marker (if no drive holds it any more, all of them are listed).
	var pending []storagenode.ObjectEntry
	var holders []int
	if afterVID != "" {
		for {
			e, h, ok := m.peekKey(afterKey)
			if !ok {
				break
			}
			pending, holders = append(pending, e), append(holders, h)
		}
		// Drop the marker and what sorts before it (by version order, not
		// position: after the merger widens, the drives opened then show
		// the key again from its start).
		if i := slices.IndexFunc(pending, func(e storagenode.ObjectEntry) bool { return s3VersionID(e.Versioned, e.VersionID) == afterVID }); i >= 0 {
			marker := pending[i]
			var kp []storagenode.ObjectEntry
			var kh []int
			for j, e := range pending {
				if versionBefore(&marker, &e) {
					kp, kh = append(kp, e), append(kh, holders[j])
				}
			}
			pending, holders = kp, kh
		}
	}
	latestDone := afterVID != "" // the marker's key had its latest on an earlier page
	lastKey := ""
	n := 0
	for {
		var e storagenode.ObjectEntry
		var h int
		if len(pending) > 0 {
			e, h, pending, holders = pending[0], holders[0], pending[1:], holders[1:]
		} else {
			var ok bool
			if e, h, ok = m.next(); !ok {
				break
			}
		}
		k := e.DataShards
		if k <= 0 {
			k = l.k
		}
		if h < k {
			continue // not whole: a write that lost its quorum, or a leftover
		}
		if e.Key != lastKey {
			lastKey, latestDone = e.Key, latestDone && e.Key == afterKey
		}
		if p.Delimiter != "" {
			if i := strings.Index(e.Key[len(p.Prefix):], p.Delimiter); i >= 0 {
				if n == p.MaxKeys {
					res.IsTruncated = true
					break
				}
				cp := e.Key[:len(p.Prefix)+i+len(p.Delimiter)]
				res.Prefixes = append(res.Prefixes, cp)
				res.NextKeyMarker, res.NextVersionIDMarker = cp, ""
				n++
				m.skipKeys(cp)
				pending, holders = nil, nil
				continue
			}
		}
		if n == p.MaxKeys {
			res.IsTruncated = true
			break
		}
		vid := s3VersionID(e.Versioned, e.VersionID)
		res.Versions = append(res.Versions, s3api.VersionInfo{
			Key: e.Key, VersionID: vid, IsLatest: !latestDone, DeleteMarker: e.DeleteMarker,
			Size: e.Size, ETag: e.ETag, ModTime: e.ModTime, StorageClass: e.StorageClass,
		})
		latestDone = true
		res.NextKeyMarker, res.NextVersionIDMarker = e.Key, vid
		n++
	}
	return res, nil
}

// peekKey returns the next version if it is one of key's (taking it).
func (m *vmerger) peekKey(key string) (storagenode.ObjectEntry, int, bool) {
	var first *storagenode.ObjectEntry
	for _, c := range m.cur {
		if h := c.peek(); h != nil && (first == nil || versionBefore(h, first)) {
			first = h
		}
	}
	if first == nil || first.Key != key {
		return storagenode.ObjectEntry{}, 0, false
	}
	return m.next()
}
