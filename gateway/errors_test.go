package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ecstore/ecstore/ec"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/faultdrive"
	"github.com/ecstore/ecstore/storagenode/local"
)

// TestErrorMessagesArePlain: the S3 errors the gateway answers with keep
// internal detail (paths, drives) out of the message the client gets;
// Error(), which the log prints, keeps it.
func TestErrorMessagesArePlain(t *testing.T) {
	shard := &fs.PathError{Op: "open", Path: "/srv/drive3/.ecstore/tmp/shard-1234", Err: fs.ErrPermission}
	for name, err := range map[string]error{
		"write quorum": toS3(worstWriteError([]error{nil, shard, shard})),
		"cancelled":    toS3(fmt.Errorf("read /srv/drive3/.ecstore/b/k: %w", context.Canceled)),
	} {
		var ae *s3api.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("%s: %v is no S3 error", name, err)
		}
		if strings.Contains(ae.Message(), "/srv/drive3") {
			t.Errorf("%s: the client's message names a path: %q", name, ae.Message())
		}
		if !strings.Contains(err.Error(), "/srv/drive3") {
			t.Errorf("%s: the log loses the cause: %q", name, err)
		}
	}
}

// lostBucket is a drive that, once gone is set, has lost the bucket's
// record (and with it every object record of the bucket) but still holds
// the bucket's uploads and parts.
type lostBucket struct {
	storagenode.Drive
	gone atomic.Bool
}

func (d *lostBucket) StatBucket(ctx context.Context, bucket string) (storagenode.BucketInfo, error) {
	if d.gone.Load() {
		return storagenode.BucketInfo{}, storagenode.ErrBucketNotFound
	}
	return d.Drive.StatBucket(ctx, bucket)
}

func (d *lostBucket) GetMeta(ctx context.Context, bucket, key string) (*storagenode.ObjectMeta, error) {
	if d.gone.Load() {
		return nil, storagenode.ErrBucketNotFound
	}
	return d.Drive.GetMeta(ctx, bucket, key)
}

// TestConditionalWriteBucketUnconfirmedIs503: when a conditional write
// cannot confirm the bucket (too few drives answer HeadBucket), the client
// gets the 503 ServiceUnavailable that says so, not the 409
// ConditionalRequestConflict of a racing write. (The S3 errors of both
// quorum failures share the code ServiceUnavailable; when errors compared
// by code, the bucket's was taken for the object's read quorum.)
func TestConditionalWriteBucketUnconfirmedIs503(t *testing.T) {
	ctx := context.Background()
	var lost []*lostBucket
	var faulty []*faultdrive.Drive
	var drives []Drive
	for i := range 6 {
		id := fmt.Sprintf("d%d", i)
		lb := &lostBucket{Drive: local.NewMem(id)}
		f := faultdrive.New(lb)
		lost, faulty = append(lost, lb), append(faulty, f)
		drives = append(drives, Drive{Drive: f, Node: id})
	}
	l, err := New(Config{Drives: drives, DataShards: 4, ParityShards: 2, BlockSize: 4096,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.MakeBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	id, err := l.NewMultipartUpload(ctx, "bkt", "k", s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("the only part")
	part, err := l.PutObjectPart(ctx, "bkt", "k", id, 1, bytes.NewReader(data), int64(len(data)), s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The upload is still read from four drives; of the key's records two
	// are missing and two are in a bucket those drives lost: enough "not
	// found" to check the bucket, which only two drives confirm.
	faulty[0].SetOffline(true)
	faulty[1].SetOffline(true)
	lost[2].gone.Store(true)
	lost[3].gone.Store(true)
	_, err = l.CompleteMultipartUpload(ctx, "bkt", "k", id, []s3api.CompletePart{{Number: 1, ETag: part.ETag}}, s3api.PutOptions{IfNoneMatch: "*"})
	ae, _ := s3api.ToAPIError(err)
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrWriteConflict) || ae.HTTPStatus() != 503 || ae.Code() != "ServiceUnavailable" {
		t.Fatalf("conditional Complete with the bucket unconfirmed: %v (%d %s); want 503 ServiceUnavailable (ErrUnavailable)", err, ae.HTTPStatus(), ae.Code())
	}
	if !errors.Is(err, s3api.ErrServiceUnavailable) || errors.Is(err, s3api.ErrInsufficientReadQuorum) {
		t.Fatalf("%v: translated to the wrong S3 error", err)
	}
	// The same write with the drives back goes through.
	faulty[0].SetOffline(false)
	faulty[1].SetOffline(false)
	lost[2].gone.Store(false)
	lost[3].gone.Store(false)
	if _, err := l.CompleteMultipartUpload(ctx, "bkt", "k", id, []s3api.CompletePart{{Number: 1, ETag: part.ETag}}, s3api.PutOptions{IfNoneMatch: "*"}); err != nil {
		t.Fatalf("conditional Complete with every drive back: %v", err)
	}
}

// TestToS3: each error the gateway returns, or meets below it, is answered
// with the S3 error it was before errors became the gateway's own, also
// wrapped with context; the gateway's error stays visible to errors.Is.
func TestToS3(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   s3api.ErrorCode
		status int
	}{
		{ErrBucketNotFound, s3api.ErrNoSuchBucket, 404},
		{ErrBucketExists, s3api.ErrBucketAlreadyOwnedByYou, 409},
		{ErrBucketNotEmpty, s3api.ErrBucketNotEmpty, 409},
		{ErrObjectNotFound, s3api.ErrNoSuchKey, 404},
		{ErrUploadNotFound, s3api.ErrNoSuchUpload, 404},
		{ErrReadQuorum, s3api.ErrInsufficientReadQuorum, 503},
		{ErrWriteQuorum, s3api.ErrInsufficientWriteQuorum, 503},
		{ErrUnavailable, s3api.ErrServiceUnavailable, 503},
		{ErrStorageFull, s3api.ErrStorageFull, 507},
		{ErrPreconditionFailed, s3api.ErrPreconditionFailed, 412},
		{ErrWriteConflict, s3api.ErrConditionalRequestConflict, 409},
		{ErrNotImplemented, s3api.ErrNotImplemented, 501},
		{ErrInvalidPart, s3api.ErrInvalidPart, 400},
		{ErrInvalidPartOrder, s3api.ErrInvalidPartOrder, 400},
		{ErrPartTooSmall, s3api.ErrEntityTooSmall, 400},
		{ErrInvalidRange, s3api.ErrInvalidRange, 416},
		{ErrIncompleteBody, s3api.ErrIncompleteBody, 400},
		{ErrBadDigest, s3api.ErrBadDigest, 400},
		{storagenode.ErrBucketNotFound, s3api.ErrNoSuchBucket, 404},
		{storagenode.ErrObjectNotFound, s3api.ErrNoSuchKey, 404},
		{storagenode.ErrUploadNotFound, s3api.ErrNoSuchUpload, 404},
		{storagenode.ErrDiskFull, s3api.ErrStorageFull, 507},
		{ec.ErrTooFewShards, s3api.ErrInsufficientReadQuorum, 503},
		{context.Canceled, s3api.ErrSlowDown, 503},
		{context.DeadlineExceeded, s3api.ErrSlowDown, 503},
	} {
		for _, err := range []error{tc.err, fmt.Errorf("gateway: doing something: %w", tc.err)} {
			got := toS3(err)
			ae, known := s3api.ToAPIError(got)
			if !known || ae.ErrorCode() != tc.code || ae.HTTPStatus() != tc.status || !errors.Is(got, tc.err) {
				t.Errorf("toS3(%v) = %v (%d), want %v (%d)", err, got, ae.HTTPStatus(), tc.code, tc.status)
			}
			if toS3(got) != got {
				t.Errorf("toS3 translates %v again", got)
			}
		}
	}
	// The table's message, or the one the gateway gave.
	for _, tc := range []struct {
		err  error
		want string
	}{
		{ErrReadQuorum, s3api.ErrInsufficientReadQuorum.Description()},
		{withMessage(ErrUnavailable, "Not enough drives answered to list buckets."), "Not enough drives answered to list buckets."},
		{fmt.Errorf("x: %w", withMessage(ErrInvalidPart, "Part %d was not uploaded.", 3)), "Part 3 was not uploaded."},
		{context.Canceled, "The request was cancelled or timed out."},
	} {
		if ae, _ := s3api.ToAPIError(toS3(tc.err)); ae.Message() != tc.want {
			t.Errorf("toS3(%v) says %q, want %q", tc.err, ae.Message(), tc.want)
		}
	}
	// The two quorum errors and the bucket's share a code, not an identity.
	if errors.Is(toS3(ErrUnavailable), ErrReadQuorum) || errors.Is(toS3(ErrUnavailable), s3api.ErrInsufficientReadQuorum) ||
		errors.Is(toS3(ErrReadQuorum), s3api.ErrInsufficientWriteQuorum) {
		t.Error("distinct errors compare equal after translation")
	}
	// A write-quorum error caused by a cancelled context is a write-quorum
	// error; an S3 error raised above the gateway (the body's reader)
	// passes through; anything else stays unknown (InternalError).
	if got := toS3(worstWriteError([]error{nil, context.Canceled})); !errors.Is(got, s3api.ErrInsufficientWriteQuorum) {
		t.Errorf("write quorum missed by cancellation: %v", got)
	}
	body := fmt.Errorf("gateway: write b/k: %w", s3api.ErrSignatureDoesNotMatch)
	if got := toS3(body); got != body {
		t.Errorf("S3 error of the body: %v", got)
	}
	if _, known := s3api.ToAPIError(toS3(fs.ErrPermission)); known {
		t.Error("an unknown error became an S3 error")
	}
}
