package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/ecstore/ecstore/ec"
	"github.com/ecstore/ecstore/internal/crashpoint"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/sse"
	"github.com/ecstore/ecstore/storagenode"
)

// readMeta reads bucket/key's metadata from its placement drives and picks
// the newest version that at least k drives hold (shards are committed
// before metadata, so k records mean k shards were written).
func (l *Layer) readMeta(ctx context.Context, bucket, key string) (*storagenode.ObjectMeta, error) {
	meta, _, err := l.readMetaInline(ctx, bucket, key)
	return meta, err
}

// readMetaInline is readMeta that also returns, for an inline object, the
// inline shards of the chosen version by drive ID. The record it returns
// carries no inline bytes.
func (l *Layer) readMetaInline(ctx context.Context, bucket, key string) (*storagenode.ObjectMeta, map[string][]byte, error) {
	return l.readMetaWith(ctx, bucket, key, func(ctx context.Context, d storagenode.Drive) (*storagenode.ObjectMeta, error) {
		return d.GetMeta(ctx, bucket, key)
	})
}

// readMetaWith is readMetaInline reading each drive's record with fetch
// (the current version, or one version by id).
func (l *Layer) readMetaWith(ctx context.Context, bucket, key string, fetch func(context.Context, storagenode.Drive) (*storagenode.ObjectMeta, error)) (*storagenode.ObjectMeta, map[string][]byte, error) {
	drives, err := l.lookupDrives(l.topo(), bucket, key)
	if err != nil {
		return nil, nil, err
	}
	metas := make([]*storagenode.ObjectMeta, len(drives))
	errs := fanout(drives, func(i int, d storagenode.Drive) (err error) {
		metas[i], err = fetch(ctx, d)
		return err
	})
	// A degraded write may have put shards (and records) on drives outside
	// the placement: ask those too, once, as the records name them.
	if extra := l.extraDrives(drives, metas); len(extra) > 0 {
		xm := make([]*storagenode.ObjectMeta, len(extra))
		xe := fanout(extra, func(i int, d storagenode.Drive) (err error) {
			xm[i], err = fetch(ctx, d)
			return err
		})
		for i := range extra {
			// Only records count from these: their "not found" says nothing.
			if xe[i] == nil {
				metas, errs = append(metas, xm[i]), append(errs, nil)
				drives = append(drives, extra[i])
			}
		}
	}
	type vote struct {
		meta  *storagenode.ObjectMeta
		count int
	}
	votes := map[string]*vote{}
	notFound, bucketMissing := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			v := votes[metas[i].VersionID]
			if v == nil {
				v = &vote{meta: metas[i]}
				votes[metas[i].VersionID] = v
			} else {
				v.meta = mergeRecords(v.meta, metas[i])
			}
			v.count++
		case errors.Is(err, storagenode.ErrBucketNotFound):
			notFound++
			bucketMissing++
		case errors.Is(err, storagenode.ErrObjectNotFound):
			notFound++
		}
	}
	var best, newest *storagenode.ObjectMeta
	found := 0
	for _, v := range votes {
		found += v.count
		if v.count >= v.meta.EC.Data && (best == nil || v.meta.Newer(best)) {
			best = v.meta
		}
		if newest == nil || v.meta.Newer(newest) {
			newest = v.meta
		}
	}
	if best == nil && found >= l.k && newest != nil {
		// An overwrite is committing: its drives hold old and new records,
		// neither yet on k drives. Shards are committed before any record,
		// so the newest version is whole on at least the write quorum.
		best = newest
	}
	if best != nil {
		var inline map[string][]byte
		if best.InlineData {
			inline = map[string][]byte{}
			for i, m := range metas {
				if errs[i] == nil && m.VersionID == best.VersionID && len(m.Inline) > 0 {
					inline[drives[i].ID()] = m.Inline
				}
			}
		}
		header := *best
		header.Inline = nil
		return &header, inline, nil
	}
	if notFound >= l.k {
		// So many drives lack the key that no acknowledged write can exist.
		if bucketMissing > 0 {
			if _, err := l.bucket(ctx, bucket); err != nil {
				return nil, nil, err
			}
		}
		return nil, nil, ErrObjectNotFound
	}
	return nil, nil, ErrReadQuorum
}

// OpenObject returns a handle on the current version of bucket/key.
func (l *Layer) OpenObject(ctx context.Context, bucket, key string) (_ s3api.Object, err error) {
	return l.OpenObjectVersion(ctx, bucket, key, "")
}

// object is an opened version; it reads shards from the drives recorded in
// its metadata, whatever the cluster map says now.
type object struct {
	l      *Layer
	meta   *storagenode.ObjectMeta
	inline map[string][]byte // an inline object's shards by drive ID
	vid    string            // its S3 version id (see Layer.s3ID)
	seal   *sealing          // an encrypted version's opened key (UseCustomerKey, or the first Read)
}

// UseCustomerKey opens an SSE-C version's key with the request's key.
func (o *object) UseCustomerKey(key []byte) (err error) {
	defer translate(&err)
	o.seal, err = o.l.openSealing(context.Background(), o.meta.SSE, o.meta.Bucket, o.meta.Key, key)
	return err
}

func (o *object) Info() s3api.ObjectInfo {
	info := objectInfo(o.meta)
	info.VersionID = o.vid
	return info
}

// Read streams bytes [offset, offset+length) part by part.
func (o *object) Read(ctx context.Context, w io.Writer, offset, length int64) (err error) {
	defer translate(&err)
	m := o.meta
	if offset < 0 || length < 0 || offset+length > m.Size {
		return ErrInvalidRange
	}
	coder, err := o.l.coder(m.EC)
	if err != nil {
		return err
	}
	if m.SSE != nil && o.seal == nil {
		if o.seal, err = o.l.openSealing(ctx, m.SSE, m.Bucket, m.Key, nil); err != nil {
			return err
		}
	}
	drives := o.l.drivesByID(m.Drives)
	var partStart int64
	for _, p := range m.Parts {
		partEnd := partStart + p.Size
		if length > 0 && offset < partEnd && offset+length > partStart {
			from := max(offset, partStart) - partStart
			to := min(offset+length, partEnd) - partStart
			shards := make([]io.ReaderAt, len(drives))
			lazy := make([]*lazyShard, len(drives))
			for i, d := range drives {
				switch {
				case d == nil:
				case m.InlineData:
					if b, ok := o.inline[d.ID()]; ok {
						shards[i] = bytes.NewReader(b)
					}
				default:
					lazy[i] = &lazyShard{ctx: ctx, d: d, ref: storagenode.ShardRef{Bucket: m.Bucket, VersionDir: m.DataDir, Name: p.Name},
						size: coder.ShardFileSize(p.DataSize())}
					shards[i] = lazy[i]
				}
			}
			rep, err := o.decodePart(ctx, coder, w, shards, p, from, to-from)
			for _, s := range lazy {
				if s != nil {
					s.close()
				}
			}
			if rep.Degraded() {
				o.l.stats.DegradedReads.Add(1)
				o.l.stats.ChecksumFailures.Add(int64(len(rep.Corrupt)))
				o.l.log.Warn("degraded read; heal queued", "bucket", m.Bucket, "key", m.Key, "version", m.VersionID,
					"part", p.Number, "missing", rep.Missing, "corrupt", rep.Corrupt)
				o.l.queueHeal(m.Bucket, m.Key)
			}
			if err != nil {
				return fmt.Errorf("gateway: read %s/%s part %d: %w", m.Bucket, m.Key, p.Number, err)
			}
		}
		partStart = partEnd
	}
	return nil
}

// lazyShard opens a shard file on its first ReadAt, so a healthy read never
// opens the parity shards. It opens it knowing its size (the record's), so
// that a remote drive needs no request for it, and passes the decoder's
// range hint on to the reader it opens.
type lazyShard struct {
	ctx      context.Context
	d        storagenode.Drive
	ref      storagenode.ShardRef
	size     int64 // of the shard file, from the record
	off, end int64 // the range hint, if end > 0
	once     sync.Once
	r        storagenode.ShardReader
	err      error
}

// HintRange is called by ec.Decode before the first ReadAt.
func (s *lazyShard) HintRange(off, end int64) { s.off, s.end = off, end }

func (s *lazyShard) ReadAt(p []byte, off int64) (int, error) {
	s.once.Do(func() {
		if s.r, s.err = storagenode.OpenShardSized(s.ctx, s.d, s.ref, s.size); s.err == nil && s.end > 0 {
			storagenode.HintRange(s.r, s.off, s.end)
		}
	})
	if s.err != nil {
		return 0, s.err
	}
	return s.r.ReadAt(p, off)
}

func (s *lazyShard) close() {
	s.once.Do(func() { s.err = storagenode.ErrDriveOffline })
	if s.r != nil {
		_ = s.r.Close()
	}
}

// DeleteObject removes bucket/key from its drives in two phases: first the
// records, with quorum; then, only once the quorum holds, the shard files.
// Without the quorum (full or failing drives) the records removed are put
// back and the shard files were never touched: nothing visible changes.
func (l *Layer) DeleteObject(ctx context.Context, bucket, key string) (err error) {
	defer translate(&err)
	t := l.beginWrite()
	defer t.writes.Done()
	defer l.locks.write(bucket, key)()
	drives, err := l.lookupDrives(t, bucket, key)
	if err != nil {
		return err
	}
	if crashpoint.Armed(crashpoint.DeleteSplit) {
		// The crash tests' split: the first n-k+1 records, then the crash.
		for _, d := range drives[:len(drives)-l.k+1] {
			_, _ = d.DeleteMeta(ctx, bucket, key, "")
		}
		crashpoint.Hit(crashpoint.DeleteSplit)
	}
	removed := make([]*storagenode.ObjectMeta, len(drives))
	errs := fanout(drives, func(i int, d storagenode.Drive) (err error) {
		removed[i], err = d.DeleteMeta(ctx, bucket, key, "")
		if errors.Is(err, storagenode.ErrObjectNotFound) {
			return nil
		}
		return err
	})
	bucketMissing := 0
	for _, e := range errs {
		if errors.Is(e, storagenode.ErrBucketNotFound) {
			bucketMissing++
		}
	}
	if bucketMissing > 0 {
		if _, err := l.bucket(ctx, bucket); err != nil {
			l.restoreRecords(ctx, drives, removed)
			return err
		}
	}
	cleanup := context.WithoutCancel(ctx)
	if countNil(errs) < deleteQuorum(l.k, l.m) {
		l.restoreRecords(cleanup, drives, removed)
		return worstWriteError(errs)
	}
	crashpoint.Hit(crashpoint.DeleteRecords)
	fanout(drives, func(i int, d storagenode.Drive) error {
		if removed[i] != nil {
			return d.DeleteVersion(cleanup, bucket, removed[i].DataDir)
		}
		return nil
	})
	// Shards a degraded write left on fallback drives go too.
	extra := l.extraDrives(drives, removed)
	fanout(extra, func(_ int, d storagenode.Drive) error {
		m, err := d.DeleteMeta(ctx, bucket, key, "")
		if err == nil {
			return d.DeleteVersion(cleanup, bucket, m.DataDir)
		}
		return nil
	})
	return nil
}

// restoreRecords puts back the records a delete that missed its quorum
// removed (their shard files and inline shards were left in place).
func (l *Layer) restoreRecords(ctx context.Context, drives []storagenode.Drive, removed []*storagenode.ObjectMeta) {
	ctx = context.WithoutCancel(ctx)
	errs := fanout(drives, func(i int, d storagenode.Drive) error {
		if removed[i] == nil {
			return nil
		}
		_, err := d.PutMeta(ctx, removed[i])
		return err
	})
	for i, e := range errs {
		if e != nil && removed[i] != nil {
			l.log.Warn("could not put back a record after a failed delete; heal will settle it",
				"bucket", removed[i].Bucket, "key", removed[i].Key, "drive", drives[i].ID(), "err", e)
		}
	}
}

// extraDrives returns the drives named by the records in metas that are not
// among drives (shards a degraded write sent to a fallback drive).
func (l *Layer) extraDrives(drives []storagenode.Drive, metas []*storagenode.ObjectMeta) []storagenode.Drive {
	in := map[string]bool{}
	for _, d := range drives {
		in[d.ID()] = true
	}
	byID := l.topo().byID
	var out []storagenode.Drive
	for _, m := range metas {
		if m == nil {
			continue
		}
		for _, id := range m.Drives {
			if d := byID[id]; d != nil && !in[id] {
				in[id] = true
				out = append(out, d)
			}
		}
	}
	return out
}

// decodePart writes bytes [off, off+n) of part p's plaintext to w: the
// decoded bytes themselves, or, for an encrypted version, the packages
// that hold them, decrypted.
func (o *object) decodePart(ctx context.Context, coder *ec.Coder, w io.Writer, shards []io.ReaderAt, p storagenode.PartInfo, off, n int64) (ec.Report, error) {
	if o.seal == nil {
		return coder.Decode(ctx, w, shards, p.Size, off, n)
	}
	win := sse.WindowOf(off, n, p.Size)
	dw, err := sse.DecryptWriter(w, o.seal.partKey(p.Number), win, n)
	if err != nil {
		return ec.Report{}, err
	}
	rep, err := coder.Decode(ctx, dw, shards, p.DataSize(), win.Offset, win.Length)
	if cerr := dw.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, sse.ErrAuth) {
		o.l.log.Error("encrypted data failed authentication", "bucket", o.meta.Bucket, "key", o.meta.Key, "version", o.meta.VersionID, "part", p.Number)
	}
	return rep, err
}

// mergeRecords returns one record of a version from two drives' records
// of it that may disagree (a drive missed a change): the tags and
// object-lock settings of the later TagTime, the drive list of the higher
// Layout (a move since). a and b are not changed.
func mergeRecords(a, b *storagenode.ObjectMeta) *storagenode.ObjectMeta {
	m := a
	if b.TagTime > a.TagTime {
		m = b
	}
	if lay := max(a.Layout, b.Layout); m.Layout < lay {
		other := a
		if m == a {
			other = b
		}
		c := *m
		c.Drives, c.Layout = other.Drives, other.Layout
		m = &c
	}
	return m
}
