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

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
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
	var faulty []*storagenode.FaultyDrive
	var drives []Drive
	for i := range 6 {
		id := fmt.Sprintf("d%d", i)
		lb := &lostBucket{Drive: storagenode.NewMem(id)}
		f := storagenode.NewFaulty(lb)
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
