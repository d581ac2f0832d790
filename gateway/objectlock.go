package gateway

import (
	"context"
	"time"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

var _ s3api.LockLayer = (*Layer)(nil)

// lockOf is the bucket's object lock document (zero: object lock not
// enabled).
func (l *Layer) lockOf(bucket string) s3api.ObjectLockDoc { return l.stateOf(bucket).lock }

// refuseLock refuses a lock asked for on a bucket without object lock
// (before any byte of the write is stored).
func (st bucketState) refuseLock(lock s3api.ObjectLock) error {
	if !st.lock.Enabled && (lock.Mode != "" || lock.LegalHold) {
		return s3api.ErrInvalidRequest.WithMessage("Bucket is missing Object Lock Configuration.")
	}
	return nil
}

// applyLock gives a new version its object lock: the request's, or the
// bucket's default retention when the request sets no retention. On a
// bucket without object lock a lock is refused (refuseLock did already).
func (st bucketState) applyLock(m *storagenode.ObjectMeta, lock s3api.ObjectLock) error {
	doc := st.lock
	if !doc.Enabled {
		return st.refuseLock(lock)
	}
	m.LegalHold = lock.LegalHold
	switch {
	case lock.Mode != "":
		m.LockMode, m.RetainUntil = lock.Mode, lock.RetainUntil.UnixNano()
	case doc.Mode != "":
		until := m.ModTime.AddDate(doc.Years, 0, doc.Days)
		m.LockMode, m.RetainUntil = doc.Mode, until.UnixNano()
	}
	return nil
}

// checkDeletable refuses (AccessDenied, as S3) the removal of a version
// under a legal hold or a retention that has not run out; a GOVERNANCE
// retention gives way to bypass, a COMPLIANCE one to nobody.
func checkDeletable(m *storagenode.ObjectMeta, bypass bool) error {
	if m.LegalHold {
		return s3api.ErrAccessDenied.WithMessage("The object version is under a legal hold.")
	}
	if m.LockMode == "" || time.Now().UnixNano() >= m.RetainUntil {
		return nil
	}
	if m.LockMode == "GOVERNANCE" && bypass {
		return nil
	}
	return s3api.ErrAccessDenied.WithMessage("The object version is locked (%s retention until %s).",
		m.LockMode, time.Unix(0, m.RetainUntil).UTC().Format(time.RFC3339))
}

// GetObjectLock returns a version's retention and legal hold.
func (l *Layer) GetObjectLock(ctx context.Context, bucket, key, versionID string) (_ s3api.ObjectLock, _ string, err error) {
	defer translate(&err)
	if !l.lockOf(bucket).Enabled {
		if _, err := l.bucket(ctx, bucket); err != nil {
			return s3api.ObjectLock{}, "", err
		}
		return s3api.ObjectLock{}, "", s3api.ErrInvalidRequest.WithMessage("Bucket is missing Object Lock Configuration.")
	}
	meta, err := l.readVersion(ctx, bucket, key, versionID)
	if err != nil {
		return s3api.ObjectLock{}, "", err
	}
	lock := s3api.ObjectLock{Mode: meta.LockMode, LegalHold: meta.LegalHold}
	if meta.RetainUntil != 0 {
		lock.RetainUntil = time.Unix(0, meta.RetainUntil).UTC()
	}
	return lock, l.s3ID(meta), nil
}

// PutObjectRetention sets a version's retention. Extending is always
// allowed; shortening or removing a GOVERNANCE retention needs bypass,
// a COMPLIANCE one cannot be shortened, removed or weakened.
func (l *Layer) PutObjectRetention(ctx context.Context, bucket, key, versionID string, lock s3api.ObjectLock, bypass bool) (_ string, err error) {
	defer translate(&err)
	return l.updateLock(ctx, bucket, key, versionID, func(m *storagenode.ObjectMeta) error {
		until := lock.RetainUntil.UnixNano()
		if lock.Mode == "" {
			until = 0
		}
		running := m.LockMode != "" && time.Now().UnixNano() < m.RetainUntil
		weaker := until < m.RetainUntil || (m.LockMode == "COMPLIANCE" && lock.Mode != "COMPLIANCE")
		if running && weaker {
			if m.LockMode == "COMPLIANCE" {
				return s3api.ErrAccessDenied.WithMessage("A COMPLIANCE retention cannot be shortened or removed.")
			}
			if !bypass {
				return s3api.ErrAccessDenied.WithMessage("Shortening or removing a GOVERNANCE retention needs x-amz-bypass-governance-retention.")
			}
		}
		m.LockMode, m.RetainUntil = lock.Mode, until
		return nil
	})
}

// PutObjectLegalHold sets or lifts a version's legal hold.
func (l *Layer) PutObjectLegalHold(ctx context.Context, bucket, key, versionID string, on bool) (_ string, err error) {
	defer translate(&err)
	return l.updateLock(ctx, bucket, key, versionID, func(m *storagenode.ObjectMeta) error {
		m.LegalHold = on
		return nil
	})
}

// updateLock changes a version's lock fields with edit, on a bucket with
// object lock.
func (l *Layer) updateLock(ctx context.Context, bucket, key, versionID string, edit func(*storagenode.ObjectMeta) error) (string, error) {
	if !l.lockOf(bucket).Enabled {
		if _, err := l.bucket(ctx, bucket); err != nil {
			return "", err
		}
		return "", s3api.ErrInvalidRequest.WithMessage("Bucket is missing Object Lock Configuration.")
	}
	return l.updateRecord(ctx, bucket, key, versionID, edit)
}
