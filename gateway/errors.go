package gateway

import (
	"context"
	"errors"

	"github.com/ecstore/ecstore/ec"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

// toS3 translates an error of the layers below into the S3 error to answer.
// This is the one place where storage errors meet S3 codes; errors it does
// not know pass through and become InternalError.
func toS3(err error) error {
	var ae *s3api.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return err
	case errors.Is(err, storagenode.ErrBucketNotFound):
		return s3api.ErrNoSuchBucket
	case errors.Is(err, storagenode.ErrObjectNotFound):
		return s3api.ErrNoSuchKey
	case errors.Is(err, storagenode.ErrUploadNotFound):
		return s3api.ErrNoSuchUpload
	case errors.Is(err, storagenode.ErrDiskFull):
		return s3api.ErrStorageFull
	case errors.Is(err, ec.ErrTooFewShards):
		return s3api.ErrInsufficientReadQuorum
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return s3api.ErrSlowDown.WithMessage("The request was cancelled or timed out.").WithCause(err)
	}
	return err
}

// worstWriteError picks the error to report when a write missed its quorum:
// a disk-full anywhere is the most useful thing to tell the user.
func worstWriteError(errs []error) error {
	for _, e := range errs {
		if errors.Is(e, storagenode.ErrDiskFull) {
			return s3api.ErrStorageFull
		}
	}
	for _, e := range errs {
		if e != nil {
			return s3api.ErrInsufficientWriteQuorum.WithMessage("Not enough drives stored the data; please retry.").WithCause(e)
		}
	}
	return s3api.ErrInsufficientWriteQuorum
}
