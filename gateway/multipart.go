package gateway

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ecstore/ecstore/internal/crashpoint"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

// minPartSize is S3's minimum size of every part but the last.
const minPartSize = 5 << 20

// NewMultipartUpload records an upload on the object's drives.
func (l *Layer) NewMultipartUpload(ctx context.Context, bucket, key string, opts s3api.PutOptions) (_ string, err error) {
	defer translate(&err)
	if _, err := l.bucket(ctx, bucket); err != nil {
		return "", err
	}
	drives, err := l.place(bucket, key)
	if err != nil {
		return "", err
	}
	u := &storagenode.UploadMeta{
		Bucket: bucket, Key: key, UploadID: uuid.NewString(), Initiated: time.Now().UTC(),
		ContentType: opts.ContentType, UserMeta: opts.UserMeta, Headers: opts.Headers,
		EC: l.ecInfo(), Drives: driveIDs(drives), Tags: recordTags(opts.Tags),
		LockMode: opts.Lock.Mode, LegalHold: opts.Lock.LegalHold,
	}
	if opts.Lock.Mode != "" {
		u.RetainUntil = opts.Lock.RetainUntil.UnixNano()
	}
	st := l.stateOf(bucket)
	if err := st.refuseLock(opts.Lock); err != nil {
		return "", err
	}
	seal, err := l.newSealing(ctx, bucket, key, opts.SSE, st)
	if err != nil {
		return "", err
	}
	u.SSE = seal.record()
	errs := fanout(drives, func(_ int, d storagenode.Drive) error { return d.PutUpload(ctx, u) })
	if countNil(errs) < writeQuorum(l.k, l.m) {
		fanout(drives, func(_ int, d storagenode.Drive) error {
			return d.DeleteUpload(context.WithoutCancel(ctx), bucket, u.UploadID)
		})
		return "", worstWriteError(errs)
	}
	return u.UploadID, nil
}

// readUpload finds an upload's record on the object's drives.
func (l *Layer) readUpload(ctx context.Context, bucket, key, uploadID string) (*storagenode.UploadMeta, []storagenode.Drive, error) {
	if _, err := uuid.Parse(uploadID); err != nil {
		return nil, nil, ErrUploadNotFound
	}
	drives, err := l.lookupDrives(l.topo(), bucket, key)
	if err != nil {
		return nil, nil, err
	}
	ups := make([]*storagenode.UploadMeta, len(drives))
	errs := fanout(drives, func(i int, d storagenode.Drive) (err error) {
		ups[i], err = d.GetUpload(ctx, bucket, uploadID)
		return err
	})
	found, missing := 0, 0
	var u *storagenode.UploadMeta
	for i, e := range errs {
		switch {
		case e == nil && ups[i].Key == key:
			found++
			u = ups[i]
		case e == nil, errors.Is(e, storagenode.ErrUploadNotFound), errors.Is(e, storagenode.ErrBucketNotFound):
			missing++
		}
	}
	switch {
	case u != nil && found >= u.EC.Data:
		return u, l.drivesByID(u.Drives), nil
	case missing >= l.k:
		if _, err := l.bucket(ctx, bucket); err != nil {
			return nil, nil, err
		}
		return nil, nil, ErrUploadNotFound
	}
	return nil, nil, ErrReadQuorum
}

var _ s3api.UploadChecksumer = (*Layer)(nil)

// UploadChecksum returns the checksum algorithm and type the upload was
// created with.
func (l *Layer) UploadChecksum(ctx context.Context, bucket, key, uploadID string) (algo, typ string, err error) {
	defer translate(&err)
	u, _, err := l.readUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return "", "", err
	}
	_, algo, typ = s3api.StripUploadChecksumHeaders(u.Headers)
	return algo, typ, nil
}

// PutObjectPart erasure-codes one part into the upload's version directory.
// Each upload of a part gets its own shard file name, so re-uploading a
// part never tears the one already recorded. A shard whose drive is offline
// goes to a fallback drive, as a single PUT's does; the part's record then
// names where its shards are (see partdrives.go).
func (l *Layer) PutObjectPart(ctx context.Context, bucket, key, uploadID string, num int, body io.Reader, size int64, opts s3api.PutOptions) (_ s3api.PartInfo, err error) {
	defer translate(&err)
	defer l.ulocks.part(bucket, uploadID)()
	u, drives, err := l.readUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return s3api.PartInfo{}, err
	}
	seal, err := l.openSealing(ctx, u.SSE, bucket, key, opts.SSE.CustomerKey)
	if err != nil {
		return s3api.PartInfo{}, err
	}
	name := fmt.Sprintf("part.%d.%s", num, uuid.NewString()[:8])
	pw, err := l.writePart(ctx, drives, u.EC, storagenode.ShardRef{Bucket: bucket, VersionDir: uploadID, Name: name}, body, size, opts, u, seal, num)
	if err != nil {
		return s3api.PartInfo{}, err
	}
	pm := &storagenode.PartMeta{Number: num, Size: pw.size, ETag: pw.etag, Name: name, ModTime: time.Now().UTC(), Checksums: pw.checksums,
		Stored: storedOnly(pw.size, pw.stored)}
	ids := slices.Clone(u.Drives)
	for i, d := range pw.drives {
		if d != nil {
			ids[i] = d.ID()
		}
	}
	if !slices.Equal(ids, u.Drives) {
		pm.Drives = ids
	}
	prevs := make([]*storagenode.PartMeta, len(pw.drives))
	errs := fanout(pw.drives, func(i int, d storagenode.Drive) (err error) {
		if !pw.ok[i] {
			return storagenode.ErrDriveOffline
		}
		prevs[i], err = d.PutPart(ctx, bucket, uploadID, pm)
		l.dropReplacedPart(ctx, d, u, prevs[i], pm)
		return err
	})
	if countNil(errs) < writeQuorum(u.EC.Data, u.EC.Parity) {
		return s3api.PartInfo{}, worstWriteError(errs)
	}
	// A replaced upload of the part that went to fallback drives this one
	// did not use: their record now names this upload, their file goes.
	var away []string
	for _, prev := range prevs {
		for _, id := range partDrivesOf(u, prev) {
			if !slices.Contains(pm.Drives, id) && !slices.Contains(u.Drives, id) && !slices.Contains(away, id) {
				away = append(away, id)
			}
		}
	}
	fanout(l.drivesByID(away), func(_ int, d storagenode.Drive) error {
		prev, err := d.PutPart(ctx, bucket, uploadID, pm)
		l.dropReplacedPart(ctx, d, u, prev, pm)
		return err
	})
	return s3api.PartInfo{Number: num, Size: pm.Size, ETag: pm.ETag, ModTime: pm.ModTime, Checksums: pm.Checksums}, nil
}

// partDrivesOf is partDrives for a record that may be nil (none).
func partDrivesOf(u *storagenode.UploadMeta, p *storagenode.PartMeta) []string {
	if p == nil {
		return nil
	}
	return partDrives(u, p)
}

// dropReplacedPart removes from d the shard file of prev, the record pm
// replaced there (a part uploaded again), best effort.
func (l *Layer) dropReplacedPart(ctx context.Context, d storagenode.Drive, u *storagenode.UploadMeta, prev, pm *storagenode.PartMeta) {
	if prev == nil || prev.Name == pm.Name {
		return
	}
	if err := d.DeleteShard(context.WithoutCancel(ctx), storagenode.ShardRef{Bucket: u.Bucket, VersionDir: u.UploadID, Name: prev.Name}); err != nil {
		l.log.Warn("delete replaced part", "bucket", u.Bucket, "upload", u.UploadID, "part", prev.Name, "drive", d.ID(), "err", err)
	}
}

// readParts merges the part records of the upload's drives: for each part
// number the newest record that at least k drives hold.
func (l *Layer) readParts(ctx context.Context, u *storagenode.UploadMeta, drives []storagenode.Drive) ([]*storagenode.PartMeta, error) {
	parts, _, err := l.readPartsAll(ctx, u, drives)
	return parts, err
}

// readPartsAll is readParts that also returns the fallback drives any part
// record of the upload's drives names (extraDriveIDs), replaced parts'
// included. extra is set even when err is.
func (l *Layer) readPartsAll(ctx context.Context, u *storagenode.UploadMeta, drives []storagenode.Drive) (parts []*storagenode.PartMeta, extra []string, err error) {
	lists := make([][]*storagenode.PartMeta, len(drives))
	errs := fanout(drives, func(i int, d storagenode.Drive) (err error) {
		lists[i], err = d.ListParts(ctx, u.Bucket, u.UploadID)
		return err
	})
	extra = extraDriveIDs(u, lists)
	if countNil(errs) < u.EC.Data {
		return nil, extra, ErrReadQuorum
	}
	type vote struct {
		p     *storagenode.PartMeta
		count int
	}
	votes := map[string]*vote{}
	for _, list := range lists {
		for _, p := range list {
			if v := votes[p.Name]; v != nil {
				v.count++
			} else {
				votes[p.Name] = &vote{p: p, count: 1}
			}
		}
	}
	best := map[int]*storagenode.PartMeta{}
	for _, v := range votes {
		if v.count < u.EC.Data {
			continue
		}
		if b := best[v.p.Number]; b == nil || v.p.ModTime.After(b.ModTime) || v.p.ModTime.Equal(b.ModTime) && v.p.Name > b.Name {
			best[v.p.Number] = v.p
		}
	}
	out := make([]*storagenode.PartMeta, 0, len(best))
	for _, p := range best {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, extra, nil
}

// CompleteMultipartUpload turns the listed parts into the object's new
// version. Its ETag is the MD5 of the parts' binary MD5s, a dash and the
// part count, as S3 computes it. opts' write conditions (If-None-Match: *,
// If-Match) are checked first, leaving the upload as it was when they fail,
// and again at commit by the same compare-and-set as PutObject's: of two
// racing conditional completes exactly one wins, and the loser's upload is
// gone (S3 asks the client to start a new one).
func (l *Layer) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []s3api.CompletePart, opts s3api.PutOptions) (_ s3api.ObjectInfo, err error) {
	defer translate(&err)
	t := l.beginWrite()
	defer t.writes.Done()
	defer l.locks.write(bucket, key)()
	defer l.ulocks.lock(bucket, uploadID)()
	u, drives, err := l.readUpload(ctx, bucket, key, uploadID)
	if errors.Is(err, ErrUploadNotFound) || errors.Is(err, ErrReadQuorum) {
		// Gone, or retired on some drives by an earlier Complete.
		return l.completedBefore(ctx, bucket, key, uploadID, err)
	}
	if err != nil {
		return s3api.ObjectInfo{}, err
	}
	cond, err := l.checkWriteConditions(ctx, bucket, key, opts, uploadID)
	if err != nil {
		return s3api.ObjectInfo{}, err
	}
	have, extra, err := l.readPartsAll(ctx, u, drives)
	if err != nil {
		return s3api.ObjectInfo{}, err
	}
	byNum := map[int]*storagenode.PartMeta{}
	for _, p := range have {
		byNum[p.Number] = p
	}
	for i := 1; i < len(parts); i++ {
		if parts[i].Number <= parts[i-1].Number {
			return s3api.ObjectInfo{}, ErrInvalidPartOrder
		}
	}
	headers, ckAlgo, ckType := s3api.StripUploadChecksumHeaders(u.Headers)
	var ckParts []s3api.PartChecksum
	h := md5.New()
	var size int64
	infos := make([]storagenode.PartInfo, 0, len(parts))
	listed := make([]*storagenode.PartMeta, 0, len(parts))
	for i, cp := range parts {
		p := byNum[cp.Number]
		if p == nil || p.ETag != cp.ETag {
			return s3api.ObjectInfo{}, withMessage(ErrInvalidPart, "Part %d was not uploaded, or its ETag does not match.", cp.Number)
		}
		if err := s3api.CheckCompletePart(ckAlgo, ckType, cp.Number, cp.Checksums, p.Checksums); err != nil {
			return s3api.ObjectInfo{}, err
		}
		if ckAlgo != "" {
			v := p.Checksums[ckAlgo]
			if v == "" {
				return s3api.ObjectInfo{}, withMessage(ErrInvalidPart, "The upload was created with a %s checksum; part %d was uploaded without one.", ckAlgo, cp.Number)
			}
			ckParts = append(ckParts, s3api.PartChecksum{Value: v, Size: p.Size})
		}
		if i < len(parts)-1 && p.Size < minPartSize {
			return s3api.ObjectInfo{}, withMessage(ErrPartTooSmall, "Part %d is %d bytes; every part but the last must be at least 5 MiB.", cp.Number, p.Size)
		}
		sum, _ := hex.DecodeString(p.ETag)
		h.Write(sum)
		size += p.Size
		infos = append(infos, storagenode.PartInfo{Number: p.Number, Size: p.Size, ETag: p.ETag, Name: p.Name, Checksums: p.Checksums, Stored: p.Stored})
		listed = append(listed, p)
	}
	if opts.ObjectSize != nil && *opts.ObjectSize != size {
		// Checked before the commit: the upload stays, to be completed
		// with the right parts.
		return s3api.ObjectInfo{}, s3api.ErrInvalidRequest.WithMessage("The object size stated in x-amz-mp-object-size (%d) does not match the size of the listed parts (%d).", *opts.ObjectSize, size)
	}
	meta := &storagenode.ObjectMeta{
		Bucket: bucket, Key: key, VersionID: uploadID, DataDir: uploadID, ModTime: time.Now().UTC(),
		Size: size, ETag: fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(parts)),
		ContentType: u.ContentType, UserMeta: u.UserMeta, Headers: headers, EC: u.EC, Drives: u.Drives, Parts: infos,
		Tags: u.Tags, SSE: u.SSE.Clone(),
	}
	lock := s3api.ObjectLock{Mode: u.LockMode, LegalHold: u.LegalHold}
	if u.RetainUntil != 0 {
		lock.RetainUntil = time.Unix(0, u.RetainUntil)
	}
	st := l.stateOf(bucket)
	if err := st.newVersion(meta, lock); err != nil {
		return s3api.ObjectInfo{}, err
	}
	if ckAlgo != "" {
		v, err := s3api.CombineChecksums(opts.NewHash, ckAlgo, ckType, ckParts)
		if err != nil {
			return s3api.ObjectInfo{}, err
		}
		meta.Checksums = map[string]string{ckAlgo: v}
		if ckType != s3api.ChecksumFullObject {
			meta.Checksums[s3api.ChecksumTypeKey] = ckType
		}
	}
	if err := opts.FinalChecksum.Check(ckAlgo, ckType, meta.Checksums[ckAlgo]); err != nil {
		return s3api.ObjectInfo{}, err
	}
	target, settled := l.settleParts(ctx, u, listed)
	meta.Drives = target
	targets := l.drivesByID(target)
	err = l.commitUpload(ctx, targets, meta, cond)
	if err == nil || errors.Is(err, ErrPreconditionFailed) {
		// Committed (or aborted): the upload's drives the object does not
		// use (fallbacks whose shards were copied home, homes that were
		// down) retire it and lose its files.
		var rest []storagenode.Drive
		for _, d := range l.withExtra(drives, extra) {
			if d != nil && !slices.Contains(target, d.ID()) {
				rest = append(rest, d)
			}
		}
		l.abortUpload(ctx, rest, bucket, key, uploadID)
	}
	if err != nil {
		return s3api.ObjectInfo{}, err
	}
	if !settled {
		l.queueHeal(bucket, key)
	}
	if !slices.Equal(target, u.Drives) {
		l.healq.park(healItem{bucket, key}) // move home when the drives return
	}
	return st.info(meta), nil
}

// completedBefore answers a Complete of an upload that is gone (or that
// too few drives still hold). When an earlier Complete of the upload
// committed its object (SDKs resend a Complete after a timeout; a crash can
// cut one short after its first drive), this one carries that commit to
// the drives it did not reach and answers as the first would have. When the
// key holds another version, or no record names the upload, it answers
// notFound (the upload was aborted, or completed and replaced since).
func (l *Layer) completedBefore(ctx context.Context, bucket, key, uploadID string, notFound error) (s3api.ObjectInfo, error) {
	rec, err := l.readMeta(ctx, bucket, key)
	switch {
	case err == nil && rec.DataDir != uploadID:
		return s3api.ObjectInfo{}, notFound
	case err != nil:
		// No version a read quorum holds: the earlier Complete may have
		// reached fewer drives than that.
		if rec = l.findCompleted(ctx, bucket, key, uploadID); rec == nil {
			return s3api.ObjectInfo{}, notFound
		}
	}
	if err := l.commitUpload(ctx, l.drivesByID(rec.Drives), rec, nil); err != nil {
		return s3api.ObjectInfo{}, err
	}
	return l.stateOf(bucket).info(rec), nil
}

// findCompleted returns the newest record of key on its drives that names
// uploadID's folder, or nil.
func (l *Layer) findCompleted(ctx context.Context, bucket, key, uploadID string) *storagenode.ObjectMeta {
	drives, err := l.lookupDrives(l.topo(), bucket, key)
	if err != nil {
		return nil
	}
	metas := make([]*storagenode.ObjectMeta, len(drives))
	errs := fanout(drives, func(i int, d storagenode.Drive) (err error) {
		metas[i], err = d.GetMeta(ctx, bucket, key)
		return err
	})
	var rec *storagenode.ObjectMeta
	for i, m := range metas {
		if errs[i] == nil && m.DataDir == uploadID && (rec == nil || m.Newer(rec)) {
			rec = m
		}
	}
	if rec != nil {
		rec.Inline = nil
	}
	return rec
}

// commitUpload commits a Complete's record with Drive.CompleteUpload, which
// on each drive stores the record and retires the upload in one synced
// batch: no crash leaves an object record and a live upload over one
// folder, so no abort or expiry can remove a committed object's data.
//
// An unconditional Complete asks one drive first, alone: the first in
// shard order that answers; the others follow in parallel. A conditional
// one (cond set) first takes a quorum of the drives one at a time by
// compare-and-set (raceUpload, see condwrite.go); the others follow in
// parallel. A drive where another Complete of the upload committed first
// (a duplicate through another gateway, or a Complete cut short by a crash)
// counts as holding this one: the records differ only in their time, and
// carrying the commit on to the drives the other did not reach is what
// makes a retried Complete finish a crashed one.
//
// With the write quorum, the replaced versions' files go. Without it, the
// Complete answers 503 and leaves what it committed: once a drive has
// retired the upload, its commit is only ever carried forward (by a resent
// Complete, see completedBefore, or by the heal), never undone, so it also
// runs to the end when the client goes away. Undoing could take back the
// records a duplicate through another gateway counted as its own. The one
// exception is a conditional Complete that lost its race (raceUpload).
func (l *Layer) commitUpload(ctx context.Context, drives []storagenode.Drive, meta *storagenode.ObjectMeta, cond *writeCond) error {
	n := len(drives)
	wq := writeQuorum(meta.EC.Data, meta.EC.Parity)
	prevs := make([]*storagenode.ObjectMeta, n)
	errs := make([]error, n)
	for i, d := range drives {
		if d == nil {
			errs[i] = storagenode.ErrDriveOffline
		}
	}
	asked := make([]bool, n) // before the parallel phase
	if cond != nil {
		// Carried to the end once it starts (see above).
		if err := l.raceUpload(context.WithoutCancel(ctx), drives, meta, cond, prevs, errs, asked); err != nil {
			return err
		}
	} else {
		// The first drive, alone.
		first := -1
		for i, d := range drives {
			if d == nil {
				continue
			}
			asked[i] = true
			prevs[i], errs[i] = d.CompleteUpload(ctx, meta, nil)
			switch err := errs[i]; {
			case errors.Is(err, storagenode.ErrPartReplaced):
				// A part was uploaded again (through another gateway)
				// while this Complete was on its way: nothing is
				// committed.
				return errPartReplaced
			case err == nil, errors.Is(err, storagenode.ErrStale), errors.Is(err, storagenode.ErrUploadCompleted):
				// ErrUploadCompleted: another Complete of the upload
				// committed here first (a duplicate through another
				// gateway, or one cut short by a crash): this one
				// carries the commit on to the drives it may not have
				// reached.
				first = i
			}
			if first >= 0 {
				break
			}
			// The drive is down or lacks the upload: the next one decides.
		}
		if first < 0 {
			return worstWriteError(errs)
		}
		crashpoint.Hit(crashpoint.CompleteArbiter)
	}
	ctx = context.WithoutCancel(ctx) // carried to the end, see above
	// Then the drives not asked yet, in parallel (those before the first
	// answered already: they are down or lack the upload). After a won
	// race they still only replace what they held (a conflict there is a
	// racer's record not yet taken back: a drive to heal).
	rest := make([]storagenode.Drive, n)
	for i, d := range drives {
		if !asked[i] {
			rest[i] = d
		}
	}
	restErrs := fanout(rest, func(i int, d storagenode.Drive) (err error) {
		prevs[i], err = d.CompleteUpload(ctx, meta, cond.expectOf(d))
		return err
	})
	for i, d := range rest {
		if d != nil {
			errs[i] = restErrs[i]
		}
	}
	stale := make([]bool, n)
	good := 0
	for i, err := range errs {
		switch {
		case err == nil:
			good++
		case errors.Is(err, storagenode.ErrStale):
			// A newer version is stored here: ours was replaced at once,
			// which is a success for this Complete.
			stale[i] = true
			good++
		case errors.Is(err, storagenode.ErrUploadCompleted):
			// A duplicate (or this Complete's earlier try) committed the
			// same object here.
			good++
		}
	}
	if good < wq {
		l.queueHeal(meta.Bucket, meta.Key)
		l.log.Warn("multipart upload completed on too few drives; a resent Complete or the heal finishes it",
			"bucket", meta.Bucket, "key", meta.Key, "upload", meta.DataDir, "drives", good, "quorum", wq)
		return withMessage(ErrWriteQuorum, "The object was stored on %d drives of the %d it needs; send the Complete again to finish it.", good, wq)
	}
	crashpoint.Hit(crashpoint.CompleteCommitted)
	// (A stale drive retired the upload; the newer record there is not
	// this upload's: CompleteUpload says ErrUploadCompleted then.)
	l.removeReplaced(ctx, drives, stale, meta, prevs)
	for i, e := range errs {
		if e != nil && !stale[i] && !errors.Is(e, storagenode.ErrUploadCompleted) {
			l.log.Warn("object completed without one drive's record; heal queued", "bucket", meta.Bucket, "key", meta.Key, "drive", driveID(drives[i]), "err", e)
		}
	}
	if good < n {
		l.stats.PartialWrites.Add(1)
		l.queueHeal(meta.Bucket, meta.Key)
	}
	return nil
}

// errPartReplaced answers a Complete that found a listed part uploaded
// again before it committed anything.
var errPartReplaced = withMessage(ErrInvalidPart, "A part was uploaded again while the upload was being completed; list the parts and send the Complete again.")

// raceUpload is a conditional Complete's compare-and-set race (see
// condwrite.go): it takes the placed drives one at a time with
// CompleteUpload expecting what each held, until cond.quorum hold the
// upload's record. It fills prevs, errs and asked for the drives it asked.
// A drive that another Complete of this upload committed already
// (ErrUploadCompleted: an earlier try cut short, or a duplicate through
// another gateway) counts as taken: the commit is carried on.
//
// When the race is lost, the Complete takes back its records where they
// are still the stored ones and aborts the upload (S3 asks the client to
// start a new one), answering 412: each drive then removes the upload's
// files unless a record names them. This is the one place a Complete's
// commit is undone, and it must be: a loser's records would otherwise
// keep the winner from its quorum. The records it takes back are only its
// own (not those of a duplicate, ErrUploadCompleted). A duplicate
// conditional Complete of this upload through another gateway asks the
// same drives in the same order: when it reaches the same drives it shares
// this one's fate (a racer that held the drive this one lost at still
// held it when the duplicate got there) and never wins on records this
// one takes back. A window remains when it cannot reach the drive this
// one lost at: it may then win with a majority that counts this one's
// records, and this take-back leaves that object short (the heal cannot
// rebuild it if fewer than k drives keep it). That needs a duplicate
// conditional Complete, a racing conditional write of another upload or
// PUT, and gateways that reach different drives, all at once.
//
// Short of the quorum without a loss (too few drives answered), it answers
// 503 and leaves what it committed, as an unconditional Complete does.
func (l *Layer) raceUpload(ctx context.Context, drives []storagenode.Drive, meta *storagenode.ObjectMeta, cond *writeCond, prevs []*storagenode.ObjectMeta, errs []error, asked []bool) error {
	need := cond.quorum(writeQuorum(meta.EC.Data, meta.EC.Parity))
	mine := make([]bool, len(drives))
	held, replaced := 0, false
	order := cond.raceOrder(drives, func(int) bool { return true })
	taken, lost := acquire(order, need, func(i int) casResult {
		asked[i] = true
		prevs[i], errs[i] = drives[i].CompleteUpload(ctx, meta, cond.expectOf(drives[i]))
		switch err := errs[i]; {
		case err == nil:
			mine[i] = true
			held++
			return casTaken
		case errors.Is(err, storagenode.ErrUploadCompleted):
			held++
			return casTaken
		case errors.Is(err, storagenode.ErrConflict), errors.Is(err, storagenode.ErrStale):
			// ErrStale: the drive held what was expected but orders
			// after this Complete (a clock behind); it retired the
			// upload all the same. Lost as well.
			return casLost
		case errors.Is(err, storagenode.ErrPartReplaced) && held == 0:
			// Nothing is committed yet: the client lists the parts and
			// sends the Complete again.
			replaced = true
			return casLost
		}
		// Down, lacks the upload, or (after a first commit) a part
		// replaced there: a drive for the heal.
		return casSkipped
	})
	switch {
	case replaced:
		return errPartReplaced
	case lost:
		for i, e := range takeBack(ctx, drives, mine, meta, prevs) {
			if e != nil {
				l.log.Warn("conditional Complete lost its race; record not taken back, heal queued",
					"bucket", meta.Bucket, "key", meta.Key, "upload", meta.DataDir, "drive", drives[i].ID(), "err", e)
				l.queueHeal(meta.Bucket, meta.Key)
			}
		}
		l.abortUpload(ctx, drives, meta.Bucket, meta.Key, meta.DataDir)
		return ErrPreconditionFailed
	case taken < need && taken > 0:
		l.queueHeal(meta.Bucket, meta.Key)
		l.log.Warn("conditional Complete committed on too few drives to win; a resent Complete or the heal finishes it",
			"bucket", meta.Bucket, "key", meta.Key, "upload", meta.DataDir, "drives", taken, "quorum", need)
		return withMessage(ErrWriteQuorum, "The object was stored on %d drives of the %d it needs; send the Complete again to finish it.", taken, need)
	case taken < need:
		return worstWriteError(errs)
	}
	return nil
}

// abortUpload aborts an upload on its drives, best effort (the request's
// end does not stop it): each drive retires the records and removes the
// files unless a committed record references them.
func (l *Layer) abortUpload(ctx context.Context, drives []storagenode.Drive, bucket, key, uploadID string) []error {
	cleanup := context.WithoutCancel(ctx)
	return fanout(drives, func(_ int, d storagenode.Drive) error {
		err := d.AbortUpload(cleanup, bucket, key, uploadID)
		if errors.Is(err, storagenode.ErrUploadNotFound) {
			return nil
		}
		return err
	})
}

func driveID(d storagenode.Drive) string {
	if d == nil {
		return "(not in the map)"
	}
	return d.ID()
}

// AbortMultipartUpload removes an upload and its parts. Data that a
// committed record references stays (the drives check, not the timing): an
// abort, or the expiry of old uploads, never removes a completed object.
func (l *Layer) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) (err error) {
	defer translate(&err)
	defer l.ulocks.lock(bucket, uploadID)()
	return l.abortLocked(ctx, bucket, key, uploadID)
}

// abortLocked is AbortMultipartUpload with the upload's lock held.
func (l *Layer) abortLocked(ctx context.Context, bucket, key, uploadID string) error {
	u, drives, err := l.readUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return err
	}
	// And every other drive of the map: a part's fallback drive holds the
	// upload's record and files too, including one no part record names
	// any more (a part uploaded again once its drive was back, a part write
	// cut short) or that a crash left behind.
	var others []string
	for _, d := range l.allDrives() {
		if !slices.Contains(u.Drives, d.ID()) {
			others = append(others, d.ID())
		}
	}
	errs := l.abortUpload(ctx, l.withExtra(drives, others), bucket, key, u.UploadID)
	if countNil(errs[:len(drives)]) < deleteQuorum(u.EC.Data, u.EC.Parity) {
		return worstWriteError(errs[:len(drives)])
	}
	return nil
}

// ListParts lists an upload's parts after marker.
func (l *Layer) ListParts(ctx context.Context, bucket, key, uploadID string, marker, maxParts int) (_ s3api.ListPartsResult, err error) {
	defer translate(&err)
	u, drives, err := l.readUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return s3api.ListPartsResult{}, err
	}
	parts, err := l.readParts(ctx, u, drives)
	if err != nil {
		return s3api.ListPartsResult{}, err
	}
	res := s3api.ListPartsResult{Initiated: u.Initiated}
	for _, p := range parts {
		if p.Number <= marker {
			continue
		}
		if len(res.Parts) == maxParts {
			res.IsTruncated = true
			break
		}
		res.Parts = append(res.Parts, s3api.PartInfo{Number: p.Number, Size: p.Size, ETag: p.ETag, ModTime: p.ModTime, Checksums: p.Checksums})
		res.NextPartNumberMarker = p.Number
	}
	return res, nil
}

// ListMultipartUploads lists the uploads in progress, merged over drives.
func (l *Layer) ListMultipartUploads(ctx context.Context, bucket string, p s3api.ListUploadsParams) (_ s3api.ListUploadsResult, err error) {
	defer translate(&err)
	all := l.allDrives()
	lists := make([][]*storagenode.UploadMeta, len(all))
	errs := fanout(all, func(i int, d storagenode.Drive) (err error) {
		lists[i], err = d.ListUploads(ctx, bucket)
		return err
	})
	if countNil(errs) < len(all)/2+1 {
		if _, err := l.bucket(ctx, bucket); err != nil {
			return s3api.ListUploadsResult{}, err
		}
		return s3api.ListUploadsResult{}, ErrUnavailable
	}
	count := map[string]int{}
	byID := map[string]*storagenode.UploadMeta{}
	for _, list := range lists {
		for _, u := range list {
			count[u.UploadID]++
			byID[u.UploadID] = u
		}
	}
	var ups []*storagenode.UploadMeta
	for id, u := range byID {
		if count[id] >= u.EC.Data && strings.HasPrefix(u.Key, p.Prefix) {
			ups = append(ups, u)
		}
	}
	sort.Slice(ups, func(i, j int) bool {
		if ups[i].Key != ups[j].Key {
			return ups[i].Key < ups[j].Key
		}
		return ups[i].Initiated.Before(ups[j].Initiated)
	})
	var res s3api.ListUploadsResult
	seenPrefix := map[string]bool{}
	n := 0
	// Markers: keys before key-marker are skipped; for the key-marker
	// itself, uploads up to and including upload-id-marker (in listing
	// order) are skipped. Without an upload-id-marker the key-marker's own
	// uploads are listed, as MinIO does and minio-go's suite expects.
	skipping := p.UploadIDMarker != ""
	for _, u := range ups {
		if u.Key < p.KeyMarker {
			continue
		}
		if u.Key == p.KeyMarker && skipping {
			if u.UploadID == p.UploadIDMarker {
				skipping = false
			}
			continue
		}
		if p.Delimiter != "" {
			if i := strings.Index(u.Key[len(p.Prefix):], p.Delimiter); i >= 0 {
				cp := u.Key[:len(p.Prefix)+i+len(p.Delimiter)]
				if !seenPrefix[cp] {
					if n == p.MaxUploads {
						res.IsTruncated = true
						break
					}
					seenPrefix[cp] = true
					res.Prefixes = append(res.Prefixes, cp)
					n++
				}
				continue
			}
		}
		if n == p.MaxUploads {
			res.IsTruncated = true
			break
		}
		res.Uploads = append(res.Uploads, s3api.UploadInfo{Key: u.Key, UploadID: u.UploadID, Initiated: u.Initiated})
		res.NextKeyMarker, res.NextUploadIDMarker = u.Key, u.UploadID
		n++
	}
	return res, nil
}

var _ s3api.PartedObject = (*object)(nil)

// Parts lists the parts the opened version was assembled from.
func (o *object) Parts() []s3api.PartInfo {
	out := make([]s3api.PartInfo, len(o.meta.Parts))
	for i, p := range o.meta.Parts {
		out[i] = s3api.PartInfo{Number: p.Number, Size: p.Size, ETag: p.ETag, Checksums: p.Checksums}
	}
	return out
}
