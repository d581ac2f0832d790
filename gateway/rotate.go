package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/sse"
	"github.com/ecstore/ecstore/storagenode"
)

// Key rotation: the object keys of SSE-S3 versions and uploads sealed by
// any ring key but the target are opened and sealed again under it, record
// by record (as a tag change rewrites one: a newer TagTime on every drive
// of the version); no data is rewritten. The walk is idempotent: what is
// sealed under the target already is passed over, so a walk cut short (a
// crash, a cancel) is resumed by running it again.

// RotateStatus is the progress of the current or last rotation walk.
type RotateStatus struct {
	Running  bool      `json:"running"`
	To       string    `json:"to"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended"`
	Versions int64     `json:"versions"` // versions examined
	Resealed int64     `json:"resealed"` // versions and uploads sealed anew
	Failed   int64     `json:"failed"`   // versions or uploads that could not be
	Error    string    `json:"error,omitempty"`
}

type rotation struct {
	mu sync.Mutex
	st RotateStatus
}

func (r *Repair) rotUpdate(f func(*RotateStatus)) {
	r.rot.mu.Lock()
	f(&r.rot.st)
	r.rot.mu.Unlock()
}

// RotateStatus returns the progress of the current or last rotation.
func (r *Repair) RotateStatus() RotateStatus {
	r.rot.mu.Lock()
	defer r.rot.mu.Unlock()
	return r.rot.st
}

// ErrRotating: a rotation is running already.
var ErrRotating = errors.New("gateway: a key rotation is running")

// RotateKeys seals every SSE-S3 object key (of versions and of uploads in
// progress) under ring key to. It returns once the walk ended; a nil error
// with RotateStatus().Failed == 0 means nothing is sealed by another ring
// key any more.
func (r *Repair) RotateKeys(ctx context.Context, to string) error {
	l := r.l
	if l.cfg.Keys == nil {
		return ErrNoMasterKey
	}
	if _, err := l.cfg.Keys.SealUnder(to, nil, make([]byte, sse.KeySize)); err != nil {
		return fmt.Errorf("gateway: rotate to %q: %w", to, err)
	}
	r.rot.mu.Lock()
	if r.rot.st.Running {
		r.rot.mu.Unlock()
		return ErrRotating
	}
	r.rot.st = RotateStatus{Running: true, To: to, Started: time.Now()}
	r.rot.mu.Unlock()
	err := r.rotateAll(ctx, to)
	r.rotUpdate(func(s *RotateStatus) {
		s.Running, s.Ended = false, time.Now()
		if err != nil {
			s.Error = err.Error()
		}
	})
	return err
}

func (r *Repair) rotateAll(ctx context.Context, to string) error {
	l := r.l
	buckets, err := l.ListBuckets(ctx)
	if err != nil {
		return err
	}
	for _, b := range buckets {
		params := s3api.ListVersionsParams{MaxKeys: 1000}
		for {
			page, err := l.ListObjectVersions(ctx, b.Name, params)
			if err != nil {
				return fmt.Errorf("bucket %q: %w", b.Name, err)
			}
			for _, v := range page.Versions {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if v.DeleteMarker {
					continue
				}
				r.rotUpdate(func(s *RotateStatus) { s.Versions++ })
				r.count(r.rotateVersion(ctx, b.Name, v.Key, v.VersionID, to), b.Name, v.Key)
			}
			if !page.IsTruncated {
				break
			}
			params.KeyMarker, params.VersionIDMarker = page.NextKeyMarker, page.NextVersionIDMarker
		}
		up := s3api.ListUploadsParams{MaxUploads: 1000}
		for {
			res, err := l.ListMultipartUploads(ctx, b.Name, up)
			if err != nil {
				return fmt.Errorf("bucket %q: %w", b.Name, err)
			}
			for _, u := range res.Uploads {
				r.count(r.rotateUpload(ctx, b.Name, u.Key, u.UploadID, to), b.Name, u.Key)
			}
			if !res.IsTruncated {
				break
			}
			up.KeyMarker, up.UploadIDMarker = res.NextKeyMarker, res.NextUploadIDMarker
		}
	}
	return nil
}

// errUnchanged: nothing to reseal.
var errUnchanged = errors.New("unchanged")

func (r *Repair) count(err error, bucket, key string) {
	switch {
	case err == nil:
		r.rotUpdate(func(s *RotateStatus) { s.Resealed++ })
	case errors.Is(err, errUnchanged), errors.Is(err, s3api.ErrNoSuchVersion), errors.Is(err, ErrUploadNotFound):
		// sealed under the target already, or gone meanwhile
	default:
		var dm *s3api.DeleteMarkerError
		if errors.As(err, &dm) {
			return
		}
		r.rotUpdate(func(s *RotateStatus) { s.Failed++; s.Error = err.Error() })
		r.l.log.Warn("key rotation: not resealed", "bucket", bucket, "key", key, "err", err)
	}
}

// reseal opens info's object key and seals it under to; errUnchanged when
// info is no SSE-S3 sealing or is under to already.
func (l *Layer) reseal(info *storagenode.SSEInfo, bucket, key, to string) error {
	if info == nil || info.Method != sse3Method || info.KeyID == to {
		return errUnchanged
	}
	k, err := l.cfg.Keys.Unseal(info.KeyID, sse.AAD(sse3Method, info.KeyID, bucket, key), info.Sealed)
	if err != nil {
		return err
	}
	sealed, err := l.cfg.Keys.SealUnder(to, sse.AAD(sse3Method, to, bucket, key), k)
	if err != nil {
		return err
	}
	info.KeyID, info.Sealed = to, sealed
	return nil
}

func (r *Repair) rotateVersion(ctx context.Context, bucket, key, vid, to string) error {
	l := r.l
	m, err := l.readVersion(ctx, bucket, key, vid)
	if err != nil {
		return err
	}
	if m.SSE == nil || m.SSE.Method != sse3Method || m.SSE.KeyID == to {
		return errUnchanged
	}
	_, err = l.updateRecord(ctx, bucket, key, vid, func(next *storagenode.ObjectMeta) error {
		return l.reseal(next.SSE, bucket, key, to)
	})
	return err
}

// rotateUpload reseals an upload's record on every drive of the upload
// that holds it (under the upload's lock: no part is written meanwhile).
func (r *Repair) rotateUpload(ctx context.Context, bucket, key, uploadID, to string) error {
	l := r.l
	unlock, err := l.ulocks.try(ctx, bucket, uploadID, l.healLockWait)
	if err != nil {
		return err
	}
	defer unlock()
	u, drives, err := l.readUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return err
	}
	next := u.Clone()
	if err := l.reseal(next.SSE, bucket, key, to); err != nil {
		return err
	}
	errs := fanout(drives, func(_ int, d storagenode.Drive) error {
		if d == nil {
			return storagenode.ErrDriveOffline
		}
		return d.PutUpload(ctx, next)
	})
	if countNil(errs) < writeQuorum(u.EC.Data, u.EC.Parity) {
		return worstWriteError(errs)
	}
	return nil
}
