package gateway

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ecstore/ecstore/ec"
	"github.com/ecstore/ecstore/internal/crashpoint"
	"github.com/ecstore/ecstore/internal/md5pool"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

// partWrite is the outcome of erasure-coding one stream onto drives.
type partWrite struct {
	size      int64 // of the plaintext
	stored    int64 // of what the shards encode (the ciphertext of an encrypted part)
	etag      string
	checksums map[string]string
	ok        []bool              // drives holding a committed shard
	drives    []storagenode.Drive // where each shard went (fallbacks included)
}

// digestReader is the one sequence every written body goes through, inline
// or in shard files: it counts the bytes and sums their MD5 as the encoder
// reads them; check then holds them against the declared size and
// Content-MD5 and returns the ETag and the client's checksum.
type digestReader struct {
	r   io.Reader
	n   int64
	md5 md5pool.Hash
}

// newDigestReader reads body of size bytes (-1: unknown); close returns
// its hash to the pool.
func (l *Layer) newDigestReader(body io.Reader, size int64) *digestReader {
	return &digestReader{r: body, md5: l.cfg.MD5.Get(size)}
}

// Read fills p (unless the body ends or fails first) before it hashes it:
// the MD5 then gets one large write per read of the encoder (a data block)
// rather than one per read of the connection (a TLS record, 16 KiB). An
// md5-simd lane costs a round trip to its server per write, and a round
// that finds few lanes filled hashes all 16 all the same: with TLS's small
// reads the ETag cost more CPU through md5-simd than through crypto/md5.
func (d *digestReader) Read(p []byte) (int, error) {
	var n int
	var err error
	for idle := 0; n < len(p) && err == nil; {
		var k int
		k, err = d.r.Read(p[n:])
		n += k
		if k > 0 {
			idle = 0
		} else if idle++; idle >= 100 && err == nil {
			err = io.ErrNoProgress
		}
	}
	if n > 0 {
		d.md5.Write(p[:n])
		d.n += int64(n)
	}
	return n, err
}

func (d *digestReader) close() { d.md5.Close() }

// check verifies a fully read body: size (-1: unknown) and Content-MD5.
func (d *digestReader) check(size int64, opts s3api.PutOptions) (etag string, checksums map[string]string, err error) {
	sum := d.md5.Sum(nil)
	if size >= 0 && d.n != size {
		return "", nil, ErrIncompleteBody
	}
	if opts.ContentMD5 != nil && !bytes.Equal(opts.ContentMD5, sum) {
		return "", nil, ErrBadDigest
	}
	if opts.Checksum != nil {
		if algo, v, ok := opts.Checksum(); ok {
			checksums = map[string]string{algo: v}
		}
	}
	return hex.EncodeToString(sum), checksums, nil
}

// newVersionMeta is the record of a single-part version written by a PUT
// (inline or in shard files).
func newVersionMeta(bucket, key, vid string, size int64, etag string, checksums map[string]string, opts s3api.PutOptions, e storagenode.ECInfo, drives []storagenode.Drive) *storagenode.ObjectMeta {
	return &storagenode.ObjectMeta{
		Bucket: bucket, Key: key, VersionID: vid, DataDir: vid, ModTime: time.Now().UTC(),
		Size: size, ETag: etag, ContentType: opts.ContentType, UserMeta: opts.UserMeta,
		Headers: opts.Headers, Checksums: checksums, EC: e, Drives: driveIDs(drives),
		Parts: []storagenode.PartInfo{{Number: 1, Size: size, ETag: etag, Name: storagenode.SinglePartName}},
		Tags:  recordTags(opts.Tags),
	}
}

// writePart erasure-codes body into shard files named ref.Name under
// ref.VersionDir on drives (one shard per drive, by index) and commits them.
// On success at least the write quorum holds committed shards; on failure
// no shard file it wrote remains (a part's fallback drive keeps the
// upload's record, which the abort or expiry of the upload removes).
//
// A shard whose drive is offline goes to the next drive in the placement
// order of (ref.Bucket, ref.VersionDir) instead (a degraded write that
// stays fully redundant); pw.drives says where each shard went. upload is
// nil for a single PUT (a new version directory); for a part it is the
// upload's record, which a fallback drive gets before the shard file, so
// that every drive holding an upload's files holds its record too (and
// Complete, abort and expiry treat it as one of the upload's drives).
//
// seal, when not nil, encrypts the part (part number num) before it is
// coded.
func (l *Layer) writePart(ctx context.Context, drives []storagenode.Drive, e storagenode.ECInfo, ref storagenode.ShardRef, body io.Reader, size int64, opts s3api.PutOptions, upload *storagenode.UploadMeta, seal *sealing, num int) (*partWrite, error) {
	coder, err := l.coder(e)
	if err != nil {
		return nil, err
	}
	drives = slices.Clone(drives)
	wq := writeQuorum(e.Data, e.Parity)
	sws := make([]storagenode.ShardWriter, len(drives))
	createErrs := fanout(drives, func(i int, d storagenode.Drive) (err error) {
		sws[i], err = d.CreateShard(shardCtx(ctx, i, e), ref)
		return err
	})
	if countNil(createErrs) < len(drives) {
		l.useFallbacks(ctx, ref, upload, e, drives, sws, createErrs)
	}
	if countNil(createErrs) < wq {
		abortAll(sws)
		return nil, worstWriteError(createErrs)
	}
	writers := make([]io.Writer, len(drives))
	for i, sw := range sws {
		switch {
		case sw != nil && l.cfg.SlowWriteTimeout > 0:
			writers[i] = &timeoutWriter{sw: sw, timeout: l.cfg.SlowWriteTimeout}
		case sw != nil:
			writers[i] = sw
		}
	}
	dr := l.newDigestReader(body, size)
	defer dr.close()
	key := seal.partKey(num)
	src, err := encrypting(dr, key)
	if err != nil {
		abortAll(sws)
		return nil, err
	}
	_, shardErrs, err := coder.Encode(ctx, src, writers, wq)
	if err != nil {
		abortAll(sws)
		if errors.Is(err, ec.ErrTooFewShards) {
			return nil, worstWriteError(shardErrs)
		}
		return nil, fmt.Errorf("gateway: write %s/%s: %w", ref.Bucket, ref.VersionDir, unwrapBodyError(err))
	}
	etag, checksums, err := dr.check(size, opts)
	if err != nil {
		abortAll(sws)
		return nil, err
	}
	pw := &partWrite{size: dr.n, stored: storedSize(dr.n, key), etag: seal.etag(etag), checksums: checksums, ok: make([]bool, len(drives)), drives: drives}
	commitErrs := commitShards(ctx, sws, shardErrs, nil)
	for i, e := range commitErrs {
		pw.ok[i] = e == nil
		if e != nil && sws[i] != nil {
			_ = sws[i].Abort()
			l.log.Warn("shard write failed", "drive", drives[i].ID(), "bucket", ref.Bucket, "dir", ref.VersionDir, "err", e)
		}
	}
	if countNil(commitErrs) < wq {
		if upload == nil {
			l.deleteVersion(ctx, drives, ref.Bucket, ref.VersionDir)
		} else {
			// The upload's folder holds its other parts: only this
			// part's files go.
			l.deleteShards(ctx, drives, ref)
		}
		return nil, worstWriteError(commitErrs)
	}
	return pw, nil
}

// deleteShards removes one shard file name from drives, best effort.
func (l *Layer) deleteShards(ctx context.Context, drives []storagenode.Drive, ref storagenode.ShardRef) {
	ctx = context.WithoutCancel(ctx)
	errs := fanout(drives, func(_ int, d storagenode.Drive) error { return d.DeleteShard(ctx, ref) })
	for i, e := range errs {
		if e != nil && !errors.Is(e, storagenode.ErrDriveOffline) && !errors.Is(e, storagenode.ErrShardNotFound) {
			l.log.Warn("delete shard failed", "drive", drives[i].ID(), "shard", ref, "err", e)
		}
	}
}

func abortAll(sws []storagenode.ShardWriter) {
	for _, sw := range sws {
		if sw != nil {
			_ = sw.Abort()
		}
	}
}

// unwrapBodyError keeps an S3 error raised by the body reader (bad
// signature, checksum, truncation) visible through ec's wrapping; toS3
// passes it through.
func unwrapBodyError(err error) error {
	var ae *s3api.APIError
	if errors.As(err, &ae) {
		return ae
	}
	var c s3api.ErrorCode
	if errors.As(err, &c) {
		return c
	}
	return err
}

// deleteVersion removes a version directory from drives, best effort.
func (l *Layer) deleteVersion(ctx context.Context, drives []storagenode.Drive, bucket, dir string) {
	// Cleanup must run even when the request's context is cancelled.
	ctx = context.WithoutCancel(ctx)
	errs := fanout(drives, func(_ int, d storagenode.Drive) error { return d.DeleteVersion(ctx, bucket, dir) })
	for i, e := range errs {
		if e != nil && !errors.Is(e, storagenode.ErrDriveOffline) {
			l.log.Warn("delete version failed", "drive", drives[i].ID(), "bucket", bucket, "dir", dir, "err", e)
		}
	}
}

// PutObject stores a new version of bucket/key.
func (l *Layer) PutObject(ctx context.Context, bucket, key string, body io.Reader, size int64, opts s3api.PutOptions) (_ s3api.ObjectInfo, err error) {
	defer translate(&err)
	if _, err := l.bucket(ctx, bucket); err != nil {
		return s3api.ObjectInfo{}, err
	}
	st := l.stateOf(bucket)
	if err := st.refuseLock(opts.Lock); err != nil {
		return s3api.ObjectInfo{}, err
	}
	t := l.beginWrite()
	defer t.writes.Done()
	defer l.locks.write(bucket, key)()
	cond, err := l.checkWriteConditions(ctx, bucket, key, opts, "")
	if err != nil {
		return s3api.ObjectInfo{}, err
	}
	drives, err := t.place(bucket, key, l.k, l.m)
	if err != nil {
		return s3api.ObjectInfo{}, err
	}
	seal, err := l.newSealing(ctx, bucket, key, opts.SSE, st)
	if err != nil {
		return s3api.ObjectInfo{}, err
	}
	vid := uuid.NewString()
	e := l.ecInfo()
	if size >= 0 && size <= l.cfg.InlineMax {
		return l.putInline(ctx, st, bucket, key, vid, drives, body, size, opts, cond, seal)
	}
	pw, err := l.writePart(ctx, drives, e, storagenode.ShardRef{Bucket: bucket, VersionDir: vid, Name: storagenode.SinglePartName}, body, size, opts, nil, seal, 1)
	if err != nil {
		return s3api.ObjectInfo{}, err
	}
	if !slices.Equal(driveIDs(drives), driveIDs(pw.drives)) {
		// Shards went to fallback drives: move them home once the home
		// drives are back.
		l.healq.park(healItem{bucket, key})
	}
	drives = pw.drives
	meta := newVersionMeta(bucket, key, vid, pw.size, pw.etag, pw.checksums, opts, e, drives)
	meta.Parts[0].Stored, meta.SSE = storedOnly(pw.size, pw.stored), seal.record()
	if err := st.newVersion(meta, opts.Lock); err != nil {
		return s3api.ObjectInfo{}, err
	}
	if err := l.commitMeta(ctx, drives, pw.ok, meta, cond, nil); err != nil {
		return s3api.ObjectInfo{}, err
	}
	return st.info(meta), nil
}

// putInline stores a small object with its shards inline in the metadata
// records: the body (at most InlineMax bytes) is encoded in memory and each
// drive gets its record and shard in one synced write. Drives known to be
// down are replaced by fallback drives, as for shard files.
func (l *Layer) putInline(ctx context.Context, st bucketState, bucket, key, vid string, drives []storagenode.Drive, body io.Reader, size int64, opts s3api.PutOptions, cond *writeCond, seal *sealing) (s3api.ObjectInfo, error) {
	e := l.ecInfo()
	coder, err := l.coder(e)
	if err != nil {
		return s3api.ObjectInfo{}, err
	}
	pkey := seal.partKey(1)
	n := e.Data + e.Parity
	bufs := make([]bytes.Buffer, n)
	writers := make([]io.Writer, n)
	for i := range bufs {
		bufs[i].Grow(int(coder.ShardFileSize(storedSize(size, pkey))))
		writers[i] = &bufs[i]
	}
	dr := l.newDigestReader(body, size)
	defer dr.close()
	src, err := encrypting(dr, pkey)
	if err != nil {
		return s3api.ObjectInfo{}, err
	}
	if _, _, err := coder.Encode(ctx, src, writers, n); err != nil {
		return s3api.ObjectInfo{}, fmt.Errorf("gateway: write %s/%s: %w", bucket, key, unwrapBodyError(err))
	}
	etag, checksums, err := dr.check(size, opts)
	if err != nil {
		return s3api.ObjectInfo{}, err
	}
	etag = seal.etag(etag)
	home := driveIDs(drives)
	drives = slices.Clone(drives)
	errs := make([]error, n)
	for i, d := range drives {
		if !online(d) {
			errs[i] = storagenode.ErrDriveOffline
		}
	}
	if countNil(errs) < n {
		l.fallbacks(bucket, vid, drives, errs, func(_ int, c storagenode.Drive) bool { return online(c) })
	}
	ok := make([]bool, n)
	shards := make([][]byte, n)
	for i := range ok {
		ok[i] = errs[i] == nil
		shards[i] = bufs[i].Bytes()
	}
	meta := newVersionMeta(bucket, key, vid, size, etag, checksums, opts, e, drives)
	meta.Parts[0].Stored, meta.SSE = storedOnly(size, storedSize(size, pkey)), seal.record()
	if err := st.newVersion(meta, opts.Lock); err != nil {
		return s3api.ObjectInfo{}, err
	}
	meta.InlineData = true
	if err := l.commitMeta(ctx, drives, ok, meta, cond, shards); err != nil {
		return s3api.ObjectInfo{}, err
	}
	if !slices.Equal(home, meta.Drives) {
		l.healq.park(healItem{bucket, key}) // move home when the drives return
	}
	return st.info(meta), nil
}

// withInline returns meta carrying shard as its inline bytes (meta itself
// when shards is nil: a record of shard files, or a metadata-only rewrite).
func withInline(meta *storagenode.ObjectMeta, shards [][]byte, i int) *storagenode.ObjectMeta {
	if shards == nil || shards[i] == nil {
		return meta
	}
	c := *meta
	c.Inline = shards[i]
	return &c
}

// checkWriteConditions applies If-None-Match: * and If-Match to a write.
// It returns nil for an unconditional write. own is the upload id of a
// Complete ("" for a PUT): a record of that upload is the Complete's own
// (an earlier try cut short, or a duplicate through another gateway), not
// a racer's.
func (l *Layer) checkWriteConditions(ctx context.Context, bucket, key string, opts s3api.PutOptions, own string) (*writeCond, error) {
	if opts.IfNoneMatch == "" && opts.IfMatch == "" {
		return nil, nil
	}
	cur, err := l.expectedVersion(ctx, bucket, key, opts)
	if err != nil {
		return nil, err
	}
	return l.casOn(ctx, bucket, key, cur, own)
}

// casOn returns the compare-and-set of a write that may replace cur (the
// read quorum's current version, nil for none) and nothing written since;
// own is the data folder of a Complete, whose records count as cur's.
func (l *Layer) casOn(ctx context.Context, bucket, key string, cur *storagenode.ObjectMeta, own string) (*writeCond, error) {
	// Each placed drive is expected to hold what it holds now (see
	// condwrite.go): a drive that missed the last write or delete is
	// guarded in its own state, and two racers expect the same.
	drives, err := l.place(bucket, key)
	if err != nil {
		return nil, err
	}
	metas := make([]*storagenode.ObjectMeta, len(drives))
	errs := fanout(drives, func(i int, d storagenode.Drive) (err error) {
		metas[i], err = d.GetMeta(ctx, bucket, key)
		return err
	})
	cond := &writeCond{placed: driveIDs(drives), expect: map[string]string{}}
	absent := 0 // drives left out of the race for lacking a record
	for i, e := range errs {
		if e != nil && !errors.Is(e, storagenode.ErrObjectNotFound) {
			continue // unreadable: not part of the race
		}
		m := metas[i]
		switch {
		case m == nil && cur != nil && !cur.DeleteMarker:
			// No record where the quorum has an object: the drive missed
			// that write, or a delete is removing the object right now.
			// Expecting "no record" there would let this write take a
			// drive the delete already took (both would succeed), so the
			// drive is left out of the race and written after it is won,
			// as a drive to heal.
			absent++
			continue
		case m == nil:
		case cur != nil && m.VersionID == cur.VersionID, own != "" && m.DataDir == own:
			// The drive agrees with the quorum, or holds this Complete.
		case (cur == nil || m.Newer(cur)) && time.Since(m.ModTime) < l.inFlightWindow():
			// A newer version is being committed by another writer right
			// now: S3 answers 409 and the client retries.
			return nil, ErrWriteConflict
		default:
			// Stale (it missed the last write or delete), or an old
			// leftover: the compare-and-set guards its own state.
		}
		cond.expect[drives[i].ID()] = heldVersion(m)
	}
	if need := cond.quorum(writeQuorum(l.k, l.m)); len(cond.expect) < need {
		// Too few drives to win a race: fail before any data is written.
		if len(cond.expect)+absent >= need {
			// Most likely a delete in flight: retry. Or drives that
			// missed the write, which the heal fills.
			l.queueHeal(bucket, key)
			return nil, ErrWriteConflict
		}
		var failed []error
		for _, e := range errs {
			if e != nil && !errors.Is(e, storagenode.ErrObjectNotFound) {
				failed = append(failed, e)
			}
		}
		return nil, worstWriteError(failed)
	}
	return cond, nil
}

// heldVersion is the version a drive holding m (nil: no record) holds to
// a compare-and-set (PutMetaIf's expect): a delete marker is no current
// version. (Expecting a marker's own id could never match: a drive left
// holding a crashed writer's marker would refuse every conditional write
// of the key for good.)
func heldVersion(m *storagenode.ObjectMeta) string {
	if m == nil || m.DeleteMarker {
		return ""
	}
	return m.VersionID
}

// defaultInFlightWindow: a record newer than the quorum's version and
// younger than this is taken for a write being committed; an older one for
// a leftover (Config.InFlightWindow).
const defaultInFlightWindow = 10 * time.Minute

func (l *Layer) inFlightWindow() time.Duration {
	if l.cfg.InFlightWindow > 0 {
		return l.cfg.InFlightWindow
	}
	return defaultInFlightWindow
}

// expectedVersion checks the preconditions against the current version (the
// read quorum's) and returns it (nil for none; it may be a delete marker).
func (l *Layer) expectedVersion(ctx context.Context, bucket, key string, opts s3api.PutOptions) (*storagenode.ObjectMeta, error) {
	cur, err := l.readMeta(ctx, bucket, key)
	if errors.Is(err, ErrReadQuorum) {
		// Most often another write of this key is committing: S3 answers
		// 409 and the client retries.
		return nil, ErrWriteConflict
	}
	if err != nil && !errors.Is(err, ErrObjectNotFound) {
		return nil, err
	}
	// A delete marker is no object to the conditions, but stays the
	// version the compare-and-set expects (casOn: drives holding it agree
	// with the quorum, and it is no write in flight).
	live := cur != nil && !cur.DeleteMarker
	switch {
	case opts.IfNoneMatch != "":
		if opts.IfNoneMatch != "*" {
			return nil, withMessage(ErrNotImplemented, "If-None-Match on writes supports only \"*\".")
		}
		if live {
			return nil, ErrPreconditionFailed
		}
		return cur, nil
	default:
		if !live {
			return nil, ErrObjectNotFound
		}
		want := strings.Trim(strings.TrimSpace(opts.IfMatch), `"`)
		if want != "*" && want != cur.ETag {
			return nil, ErrPreconditionFailed
		}
		return cur, nil
	}
}

// commitMeta writes meta to the drives that hold its shards (ok). When the
// write quorum stores it, the versions it replaced are deleted; otherwise
// the previous records are restored and the new shards removed.
//
// With cond set, the write is a compare-and-set on a quorum of the placed
// drives, taken one at a time in shard order (see condwrite.go): of two
// racing conditional writers exactly one wins, through one gateway or
// several, even when they reach different drives. (It used to be one
// arbiter drive, the first each gateway could reach: two gateways that
// reached different first drives could both win.) The other drives follow
// in parallel, as all drives of an unconditional write do.
//
// inline, when set, holds the shards of an inline object by index: each
// drive's record carries its own.
func (l *Layer) commitMeta(ctx context.Context, drives []storagenode.Drive, ok []bool, meta *storagenode.ObjectMeta, cond *writeCond, inline [][]byte) error {
	wq := writeQuorum(meta.EC.Data, meta.EC.Parity)
	n := len(drives)
	prevs := make([]*storagenode.ObjectMeta, n)
	stale := make([]bool, n)
	asked := make([]bool, n) // by the compare-and-set race, one at a time
	errs := make([]error, n)
	if cond != nil {
		mine := make([]bool, n)
		need := cond.quorum(wq)
		order := cond.raceOrder(drives, func(i int) bool { return ok[i] })
		taken, lost := acquire(order, need, func(i int) casResult {
			asked[i] = true
			prevs[i], errs[i] = drives[i].PutMetaIf(ctx, withInline(meta, inline, i), *cond.expectOf(drives[i]))
			switch err := errs[i]; {
			case err == nil:
				mine[i] = true
				return casTaken
			case errors.Is(err, storagenode.ErrConflict), errors.Is(err, storagenode.ErrStale):
				// ErrStale: the drive holds what was expected, but it
				// orders after this write (a clock behind): lost as well.
				return casLost
			}
			return casSkipped
		})
		if lost || taken < need {
			for i, e := range takeBack(ctx, drives, mine, meta, prevs) {
				if e != nil {
					l.log.Warn("conditional write: record not taken back; heal queued", "bucket", meta.Bucket, "key", meta.Key, "drive", drives[i].ID(), "err", e)
					l.queueHeal(meta.Bucket, meta.Key)
				}
			}
			l.deleteVersion(ctx, drives, meta.Bucket, meta.DataDir)
			if lost {
				return ErrPreconditionFailed
			}
			for i := range errs {
				if errs[i] == nil && !mine[i] {
					errs[i] = storagenode.ErrDriveOffline
				}
			}
			return worstWriteError(errs)
		}
	}
	rest := fanout(drives, func(i int, d storagenode.Drive) (err error) {
		switch {
		case asked[i]:
			return errs[i]
		case !ok[i]:
			return storagenode.ErrDriveOffline
		}
		m := withInline(meta, inline, i)
		if e := cond.expectOf(d); e != nil {
			// Won: the rest still only replace what they held (a conflict
			// is a racer's record not yet taken back: a drive to heal).
			prevs[i], err = d.PutMetaIf(ctx, m, *e)
		} else {
			prevs[i], err = d.PutMeta(ctx, m)
		}
		if errors.Is(err, storagenode.ErrStale) {
			// A newer version is already stored here: ours was superseded
			// at once, which is a success for this write.
			stale[i] = true
			return nil
		}
		return err
	})
	copy(errs, rest)
	if countNil(errs) < wq {
		// (Never after a won race: it holds the write quorum.)
		wrote := make([]bool, len(drives))
		for i, e := range errs {
			wrote[i] = e == nil && !stale[i]
		}
		undoRecords(ctx, drives, wrote, meta, prevs)
		l.deleteVersion(ctx, drives, meta.Bucket, meta.DataDir)
		return worstWriteError(errs)
	}
	crashpoint.Hit(crashpoint.PutCommitted)
	l.removeReplaced(ctx, drives, stale, meta, prevs)
	for i, e := range errs {
		if e != nil {
			l.log.Warn("object written without one shard; heal queued", "bucket", meta.Bucket, "key", meta.Key, "drive", drives[i].ID(), "err", e)
		}
	}
	if countNil(errs) < len(drives) {
		l.stats.PartialWrites.Add(1)
		l.queueHeal(meta.Bucket, meta.Key)
	}
	return nil
}

// undoRecords takes meta's record back from the drives that stored it
// (wrote), putting back the record it replaced there (prevs), after a
// write that missed its quorum. It runs to the end even when the request
// is cancelled.
func undoRecords(ctx context.Context, drives []storagenode.Drive, wrote []bool, meta *storagenode.ObjectMeta, prevs []*storagenode.ObjectMeta) {
	ctx = context.WithoutCancel(ctx)
	fanout(drives, func(i int, d storagenode.Drive) error {
		if !wrote[i] {
			return nil
		}
		if _, err := d.DeleteMeta(ctx, meta.Bucket, meta.Key, meta.VersionID); err != nil {
			return err
		}
		if prevs[i] != nil {
			_, err := d.PutMeta(ctx, prevs[i])
			return err
		}
		return nil
	})
}

// removeReplaced removes, once meta is committed, the shard files of the
// versions it replaced (prevs), and meta's own where a newer record
// superseded it at once (stale), to the drives' trash; then the records and
// shards of replaced versions on drives outside the write's set (a degraded
// write's fallbacks).
func (l *Layer) removeReplaced(ctx context.Context, drives []storagenode.Drive, stale []bool, meta *storagenode.ObjectMeta, prevs []*storagenode.ObjectMeta) {
	ctx = context.WithoutCancel(ctx)
	fanout(drives, func(i int, d storagenode.Drive) error {
		switch {
		case stale[i]:
			return d.DeleteVersion(ctx, meta.Bucket, meta.DataDir)
		case prevs[i] != nil && prevs[i].DataDir != meta.DataDir:
			return d.DeleteVersion(ctx, meta.Bucket, prevs[i].DataDir)
		}
		return nil
	})
	fanout(l.extraDrives(drives, prevs), func(_ int, d storagenode.Drive) error {
		for _, p := range prevs {
			if p != nil && p.DataDir != meta.DataDir {
				if _, err := d.DeleteMeta(ctx, meta.Bucket, meta.Key, p.VersionID); err == nil {
					return d.DeleteVersion(ctx, meta.Bucket, p.DataDir)
				}
			}
		}
		return nil
	})
}

func objectInfo(m *storagenode.ObjectMeta) s3api.ObjectInfo {
	info := s3api.ObjectInfo{
		Bucket: m.Bucket, Key: m.Key, Size: m.Size, ETag: m.ETag, ModTime: m.ModTime,
		ContentType: m.ContentType, UserMeta: m.UserMeta, Headers: m.Headers, Checksums: m.Checksums,
		Tags: s3Tags(m.Tags), Encryption: encryptionOf(m.SSE),
	}
	if len(m.Parts) > 1 || (len(m.Parts) == 1 && isMultipartETag(m.ETag)) {
		info.PartsCount = len(m.Parts)
	}
	return info
}

func isMultipartETag(etag string) bool {
	for i := len(etag) - 1; i >= 0; i-- {
		if etag[i] == '-' {
			return true
		}
	}
	return false
}

// commitShards commits every shard writer in parallel, aborting those whose
// stream failed (shardErrs) or that are skipped; it returns the errors by
// index (ErrDriveOffline where there was no writer).
func commitShards(ctx context.Context, sws []storagenode.ShardWriter, shardErrs []error, skip []bool) []error {
	errs := make([]error, len(sws))
	var wg sync.WaitGroup
	for i, sw := range sws {
		switch {
		case sw == nil || skip != nil && skip[i]:
			errs[i] = storagenode.ErrDriveOffline
		case shardErrs[i] != nil:
			_ = sw.Abort()
			errs[i] = shardErrs[i]
		default:
			wg.Go(func() { errs[i] = sw.Commit(ctx) })
		}
	}
	wg.Wait()
	return errs
}

// shardCtx is the context shard i of a part is created in: parity shards
// (i >= e.Data), which a healthy GET never reads, are cold
// (storagenode.WithColdShard), so drives keep their cache for the data
// shards.
func shardCtx(ctx context.Context, i int, e storagenode.ECInfo) context.Context {
	if i >= e.Data {
		return storagenode.WithColdShard(ctx)
	}
	return ctx
}
