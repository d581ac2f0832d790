package gateway

import (
	"context"
	"time"

	"github.com/ecstore/ecstore/s3api"
)

// AbortStaleUploads aborts every multipart upload initiated before cutoff
// (uploads a client abandoned) and returns how many it aborted.
func (r *Repair) AbortStaleUploads(ctx context.Context, cutoff time.Time) (int, error) {
	l := r.l
	buckets, err := l.ListBuckets(ctx)
	if err != nil {
		return 0, err
	}
	aborted := 0
	for _, b := range buckets {
		p := s3api.ListUploadsParams{MaxUploads: 1000}
		for {
			res, err := l.ListMultipartUploads(ctx, b.Name, p)
			if err != nil {
				return aborted, err
			}
			for _, u := range res.Uploads {
				if u.Initiated.Before(cutoff) {
					// Never behind a client: an upload still receiving a part
					// is skipped (and comes up again at the next pass).
					unlock, err := l.ulocks.try(ctx, b.Name, u.UploadID, l.healLockWait)
					if err != nil {
						continue
					}
					err = l.abortLocked(ctx, b.Name, u.Key, u.UploadID)
					unlock()
					if err == nil {
						aborted++
						l.log.Info("aborted an abandoned multipart upload", "bucket", b.Name, "key", u.Key, "upload", u.UploadID, "initiated", u.Initiated)
					}
				}
			}
			if !res.IsTruncated {
				break
			}
			p.KeyMarker, p.UploadIDMarker = res.NextKeyMarker, res.NextUploadIDMarker
		}
	}
	return aborted, nil
}

// RunUploadExpiry aborts uploads older than expiry every interval until ctx
// ends. expiry <= 0 disables it.
func (r *Repair) RunUploadExpiry(ctx context.Context, expiry, interval time.Duration) {
	if expiry <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := r.AbortStaleUploads(ctx, time.Now().Add(-expiry)); err != nil && ctx.Err() == nil {
			r.l.log.Warn("abandoned-upload cleanup failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
