package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/ecstore/ecstore/internal/crashpoint"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/google/uuid"
)

// versioningState is a bucket's versioning as S3 defines it: never set
// (every write replaces the key's null version), Enabled (every write adds
// a version with its own id), Suspended (writes replace the null version
// again; the versions with ids stay).
type versioningState uint8

const (
	versioningOff versioningState = iota
	versioningEnabled
	versioningSuspended
)

// parseVersioning reads a versioning document (nil: never set).
func parseVersioning(doc []byte) versioningState {
	var d s3api.VersioningDoc
	if doc == nil || json.Unmarshal(doc, &d) != nil {
		return versioningOff
	}
	switch d.Status {
	case "Enabled":
		return versioningEnabled
	case "Suspended":
		return versioningSuspended
	}
	return versioningOff
}

// bucketState is what the data path needs of a bucket's settings: its
// versioning and object lock, read once per request from the catalog's
// local copy (no network).
type bucketState struct {
	versioning versioningState
	lock       s3api.ObjectLockDoc
	encryption s3api.EncryptionDoc // the default encryption
}

// stateOf reads bucket's state (a bucket without settings, or a layer
// without a catalog: versioning off, no object lock).
func (l *Layer) stateOf(bucket string) bucketState {
	var st bucketState
	c := l.cfg.Catalog
	if c == nil {
		return st
	}
	set, ok := c.Settings(bucket)
	if !ok {
		return st
	}
	st.versioning = parseVersioning(set.Get(s3api.SettingVersioning))
	if doc := set.Get(s3api.SettingObjectLock); doc != nil {
		_ = json.Unmarshal(doc, &st.lock)
	}
	st.encryption = parseEncryption(set.Get(s3api.SettingEncryption))
	return st
}

// versioningOf is the bucket's versioning state.
func (l *Layer) versioningOf(bucket string) versioningState { return l.stateOf(bucket).versioning }

// newVersion gives a new version's record the bucket's versioning and its
// object lock (see applyLock).
func (st bucketState) newVersion(m *storagenode.ObjectMeta, lock s3api.ObjectLock) error {
	m.Versioned = st.versioning == versioningEnabled
	return st.applyLock(m, lock)
}

// info is objectInfo with the S3 version id the bucket shows: the
// version's id, "null" for the null version of a bucket that has had
// versioning, nothing for one that never had.
func (st bucketState) info(m *storagenode.ObjectMeta) s3api.ObjectInfo {
	info := objectInfo(m)
	info.VersionID = st.s3ID(m)
	return info
}

// s3ID is the S3 version id of m as info shows it.
func (st bucketState) s3ID(m *storagenode.ObjectMeta) string {
	switch {
	case m.Versioned:
		return m.VersionID
	case st.versioning != versioningOff:
		return "null"
	}
	return ""
}

// s3ID is the S3 version id of m, its bucket's state read when m is a null
// version.
func (l *Layer) s3ID(m *storagenode.ObjectMeta) string {
	if m.Versioned {
		return m.VersionID
	}
	return l.stateOf(m.Bucket).s3ID(m)
}

// OpenObjectVersion opens one version of bucket/key by its S3 id ("": the
// current version, "null": the null version).
func (l *Layer) OpenObjectVersion(ctx context.Context, bucket, key, versionID string) (_ s3api.Object, err error) {
	defer translate(&err)
	meta, inline, err := l.readVersionInline(ctx, bucket, key, versionID)
	if errors.Is(err, ErrReadQuorum) && versionID == "" {
		l.queueHeal(bucket, key) // perhaps a split key, which the heal settles (split.go)
	}
	if err != nil {
		return nil, err
	}
	return &object{l: l, meta: meta, inline: inline, vid: l.s3ID(meta)}, nil
}

// DeleteObjectVersion deletes bucket/key as S3 does for the bucket's
// versioning: with a versionID, that version goes for good (its files
// after its record, as DeleteObject); without one, a bucket that never had
// versioning loses the key (DeleteObject), an Enabled one gets a delete
// marker with its own id, and a Suspended one a delete marker as the null
// version, which replaces the null version there was (whose files go).
func (l *Layer) DeleteObjectVersion(ctx context.Context, bucket, key, versionID string, opts s3api.DeleteOptions) (_ s3api.DeleteResult, err error) {
	defer translate(&err)
	st := l.stateOf(bucket)
	switch {
	case opts.IfMatch != "" && versionID != "":
		return s3api.DeleteResult{}, withMessage(ErrNotImplemented, "If-Match on a delete of a version by its id is not supported: conditional deletes apply to the current version.")
	case opts.IfMatch != "":
		return l.deleteIfMatch(ctx, bucket, key, st, opts.IfMatch)
	case versionID != "":
		return l.removeVersion(ctx, bucket, key, versionID, opts.BypassGovernance)
	case st.versioning == versioningOff:
		return s3api.DeleteResult{}, l.DeleteObject(ctx, bucket, key)
	}
	if _, err := l.bucket(ctx, bucket); err != nil {
		return s3api.DeleteResult{}, err
	}
	return l.putDeleteMarker(ctx, bucket, key, st, nil)
}

// deleteIfMatch deletes bucket/key's current version as DeleteObjectVersion
// does without a version id, only if it is an object (not a delete marker)
// whose ETag is ifMatch ("*": any). The delete is conditional on that very
// version (its id and time), as the lifecycle's are: a write that commits
// in between, through any gateway, wins, and the delete answers 409 so the
// client asks again.
func (l *Layer) deleteIfMatch(ctx context.Context, bucket, key string, st bucketState, ifMatch string) (s3api.DeleteResult, error) {
	cur, err := l.readMeta(ctx, bucket, key)
	switch {
	case errors.Is(err, ErrReadQuorum):
		return s3api.DeleteResult{}, ErrWriteConflict
	case err != nil:
		return s3api.DeleteResult{}, err
	case cur.DeleteMarker:
		return s3api.DeleteResult{}, ErrObjectNotFound
	}
	if want := strings.Trim(strings.TrimSpace(ifMatch), `"`); want != "*" && want != cur.ETag {
		return s3api.DeleteResult{}, ErrPreconditionFailed
	}
	ref := versionRef{vid: s3VersionID(cur.Versioned, cur.VersionID), mtime: cur.ModTime}
	var res s3api.DeleteResult
	if st.versioning == versioningOff {
		_, err = l.removeVersionIf(ctx, bucket, key, ref, false)
	} else {
		res, err = l.putDeleteMarker(ctx, bucket, key, st, &ref)
	}
	if errors.Is(err, errVersionChanged) {
		return s3api.DeleteResult{}, ErrWriteConflict
	}
	return res, err
}

// errVersionChanged: a lifecycle action found the version it was decided
// on no longer there, or no longer current; it does nothing.
var errVersionChanged = errors.New("gateway: the version changed since it was listed")

// errVersionLocked: a lifecycle removal found the version under object
// lock; it stays.
var errVersionLocked = errors.New("gateway: the version is locked")

// versionRef names a version as a listing showed it: its S3 version id and
// its time, which a later write of the same null version does not share.
type versionRef struct {
	vid   string
	mtime time.Time
}

// is reports whether m is the version r names (with a listing's ids:
// "null" for the null version).
func (r *versionRef) is(m *storagenode.ObjectMeta) bool {
	return m != nil && s3VersionID(m.Versioned, m.VersionID) == r.vid && m.ModTime.Equal(r.mtime)
}

// putDeleteMarker writes a delete marker as bucket/key's current version.
// With ifCurrent set it is a compare-and-set (condwrite.go) that writes
// only over that version, current at the read quorum: a write that came
// since, through any gateway, wins and the marker is not written
// (errVersionChanged).
func (l *Layer) putDeleteMarker(ctx context.Context, bucket, key string, st bucketState, ifCurrent *versionRef) (s3api.DeleteResult, error) {
	t := l.beginWrite()
	defer t.writes.Done()
	defer l.locks.write(bucket, key)()
	var cond *writeCond
	if ifCurrent != nil {
		cur, err := l.readMeta(ctx, bucket, key)
		if errors.Is(err, ErrObjectNotFound) || err == nil && (cur.DeleteMarker || !ifCurrent.is(cur)) {
			return s3api.DeleteResult{}, errVersionChanged
		}
		if err != nil {
			return s3api.DeleteResult{}, err
		}
		if cond, err = l.casOn(ctx, bucket, key, cur, ""); err != nil {
			return s3api.DeleteResult{}, err
		}
	}
	drives, err := t.place(bucket, key, l.k, l.m)
	if err != nil {
		return s3api.DeleteResult{}, err
	}
	vid := uuid.NewString()
	marker := &storagenode.ObjectMeta{
		Bucket: bucket, Key: key, VersionID: vid, DataDir: vid, ModTime: time.Now().UTC(),
		EC: l.ecInfo(), Drives: driveIDs(drives), Versioned: st.versioning == versioningEnabled, DeleteMarker: true,
	}
	ok := make([]bool, len(drives))
	for i := range ok {
		ok[i] = true
	}
	if err := l.commitMeta(ctx, drives, ok, marker, cond, nil); err != nil {
		if cond != nil && errors.Is(err, ErrPreconditionFailed) {
			return s3api.DeleteResult{}, errVersionChanged
		}
		return s3api.DeleteResult{}, err
	}
	return s3api.DeleteResult{VersionID: st.s3ID(marker), DeleteMarker: true}, nil
}

// removeVersion removes one version of bucket/key for good: its records
// with the delete quorum first (put back without it), then its files.
func (l *Layer) removeVersion(ctx context.Context, bucket, key, versionID string, bypass bool) (s3api.DeleteResult, error) {
	return l.removeVersionIf(ctx, bucket, key, versionRef{vid: versionID}, bypass)
}

// removeVersionIf is removeVersion of ref.vid; with ref.mtime set, only of
// the version of that time (a lifecycle removal): a null version written
// since is another version and stays, on every drive (errVersionChanged
// when the quorum holds no such version, errVersionLocked when it is
// locked).
func (l *Layer) removeVersionIf(ctx context.Context, bucket, key string, ref versionRef, bypass bool) (s3api.DeleteResult, error) {
	versionID, cond := ref.vid, !ref.mtime.IsZero()
	same := func(m *storagenode.ObjectMeta) bool { return !cond || m.ModTime.Equal(ref.mtime) }
	t := l.beginWrite()
	defer t.writes.Done()
	defer l.locks.write(bucket, key)()
	// A locked version stays (object lock): judged on its quorum record.
	if meta, _, err := l.readMetaWith(ctx, bucket, key, func(ctx context.Context, d storagenode.Drive) (*storagenode.ObjectMeta, error) {
		return d.GetVersion(ctx, bucket, key, versionID)
	}); err == nil {
		if !same(meta) {
			return s3api.DeleteResult{}, errVersionChanged
		}
		if err := checkDeletable(meta, bypass); err != nil {
			if cond {
				return s3api.DeleteResult{}, errVersionLocked
			}
			return s3api.DeleteResult{}, err
		}
	} else if cond && errors.Is(err, ErrObjectNotFound) {
		return s3api.DeleteResult{}, errVersionChanged
	} else if !errors.Is(err, ErrObjectNotFound) {
		return s3api.DeleteResult{}, err
	}
	drives, err := l.lookupDrives(t, bucket, key)
	if err != nil {
		return s3api.DeleteResult{}, err
	}
	// The version's own drives, as its records name them, too: a degraded
	// write or an older map may have put it elsewhere.
	metas := make([]*storagenode.ObjectMeta, len(drives))
	fanout(drives, func(i int, d storagenode.Drive) (err error) {
		metas[i], err = d.GetVersion(ctx, bucket, key, versionID)
		return err
	})
	drives = append(drives, l.extraDrives(drives, metas)...)
	removed := make([]*storagenode.ObjectMeta, len(drives))
	errs := fanout(drives, func(i int, d storagenode.Drive) (err error) {
		m, err := d.GetVersion(ctx, bucket, key, versionID)
		if errors.Is(err, storagenode.ErrObjectNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !same(m) {
			return nil // another version of the same id (null): not this one
		}
		removed[i], err = d.DeleteMeta(ctx, bucket, key, m.VersionID)
		if errors.Is(err, storagenode.ErrObjectNotFound) {
			return nil
		}
		return err
	})
	for _, e := range errs {
		if errors.Is(e, storagenode.ErrBucketNotFound) {
			if _, err := l.bucket(ctx, bucket); err != nil {
				l.restoreRecords(ctx, drives, removed)
				return s3api.DeleteResult{}, err
			}
			break
		}
	}
	cleanup := context.WithoutCancel(ctx)
	if countNil(errs) < deleteQuorum(l.k, l.m) {
		l.restoreRecords(cleanup, drives, removed)
		return s3api.DeleteResult{}, worstWriteError(errs)
	}
	if cond && recordCount(removed) < deleteQuorum(l.k, l.m) {
		// A quorum of drives answered, but fewer held the version: a
		// write replaced it meanwhile (and won any race it ran: a
		// conditional write and this removal never both succeed), or a
		// degraded write left it on fewer drives and one of them is
		// down. Either way it stays, for a later pass or retry.
		l.restoreRecords(cleanup, drives, removed)
		return s3api.DeleteResult{}, errVersionChanged
	}
	crashpoint.Hit(crashpoint.DeleteRecords)
	res := s3api.DeleteResult{VersionID: versionID}
	for _, m := range removed {
		if m != nil {
			res.DeleteMarker = m.DeleteMarker
		}
	}
	fanout(drives, func(i int, d storagenode.Drive) error {
		if m := removed[i]; m != nil && !m.DeleteMarker {
			return d.DeleteVersion(cleanup, bucket, m.DataDir)
		}
		return nil
	})
	return res, nil
}

// recordCount counts the records in ms.
func recordCount(ms []*storagenode.ObjectMeta) int {
	n := 0
	for _, m := range ms {
		if m != nil {
			n++
		}
	}
	return n
}
