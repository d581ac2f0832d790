package storagenode

import (
	"context"
	"fmt"
	"time"
)

// OfflineDrive is a Drive that could not be opened: it keeps the drive's ID
// (so placement is unchanged) and answers every call with an error wrapping
// ErrDriveOffline that says why. A process starts with one in place of an
// unusable drive folder, as long as enough other drives opened.
type OfflineDrive struct {
	id  string
	err error
}

var _ Drive = (*OfflineDrive)(nil)

// NewOffline returns the offline stand-in for drive id, which could not be
// opened because of reason.
func NewOffline(id string, reason error) *OfflineDrive {
	return &OfflineDrive{id: id, err: fmt.Errorf("storagenode: drive %s could not be opened (%v): %w", id, reason, ErrDriveOffline)}
}

// Err is the error every call answers.
func (o *OfflineDrive) Err() error { return o.err }

func (o *OfflineDrive) ID() string   { return o.id }
func (o *OfflineDrive) Close() error { return nil }

// DiskInfo fails: health reports show the drive offline, with the reason.
func (o *OfflineDrive) DiskInfo(context.Context) (DiskInfo, error) { return DiskInfo{}, o.err }

func (o *OfflineDrive) MakeBucket(context.Context, string, time.Time) error { return o.err }
func (o *OfflineDrive) DeleteBucket(context.Context, string) error          { return o.err }
func (o *OfflineDrive) StatBucket(context.Context, string) (BucketInfo, error) {
	return BucketInfo{}, o.err
}
func (o *OfflineDrive) ListBuckets(context.Context) ([]BucketInfo, error) { return nil, o.err }

func (o *OfflineDrive) CreateShard(context.Context, ShardRef) (ShardWriter, error) { return nil, o.err }
func (o *OfflineDrive) OpenShard(context.Context, ShardRef) (ShardReader, error)   { return nil, o.err }
func (o *OfflineDrive) DeleteVersion(context.Context, string, string) error        { return o.err }
func (o *OfflineDrive) DeleteShard(context.Context, ShardRef) error                { return o.err }

func (o *OfflineDrive) PutMeta(context.Context, *ObjectMeta) (*ObjectMeta, error) { return nil, o.err }
func (o *OfflineDrive) PutMetaIf(context.Context, *ObjectMeta, string) (*ObjectMeta, error) {
	return nil, o.err
}
func (o *OfflineDrive) RewriteMeta(context.Context, *ObjectMeta, int64) (*ObjectMeta, error) {
	return nil, o.err
}
func (o *OfflineDrive) GetMeta(context.Context, string, string) (*ObjectMeta, error) {
	return nil, o.err
}
func (o *OfflineDrive) GetVersion(context.Context, string, string, string) (*ObjectMeta, error) {
	return nil, o.err
}
func (o *OfflineDrive) DeleteMeta(context.Context, string, string, string) (*ObjectMeta, error) {
	return nil, o.err
}
func (o *OfflineDrive) ListVersions(context.Context, string, string, string, string, int) ([]ObjectEntry, error) {
	return nil, o.err
}
func (o *OfflineDrive) ListMeta(context.Context, string, string, string, int) ([]*ObjectMeta, error) {
	return nil, o.err
}
func (o *OfflineDrive) ListEntries(context.Context, string, string, string, int) ([]ObjectEntry, error) {
	return nil, o.err
}

func (o *OfflineDrive) PutUpload(context.Context, *UploadMeta) error { return o.err }
func (o *OfflineDrive) GetUpload(context.Context, string, string) (*UploadMeta, error) {
	return nil, o.err
}
func (o *OfflineDrive) DeleteUpload(context.Context, string, string) error { return o.err }
func (o *OfflineDrive) CompleteUpload(context.Context, *ObjectMeta, *string) (*ObjectMeta, error) {
	return nil, o.err
}
func (o *OfflineDrive) AbortUpload(context.Context, string, string, string) error { return o.err }
func (o *OfflineDrive) ListUploads(context.Context, string) ([]*UploadMeta, error) {
	return nil, o.err
}
func (o *OfflineDrive) PutPart(context.Context, string, string, *PartMeta) (*PartMeta, error) {
	return nil, o.err
}
func (o *OfflineDrive) ListParts(context.Context, string, string) ([]*PartMeta, error) {
	return nil, o.err
}
