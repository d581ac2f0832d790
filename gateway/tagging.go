package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecstore/ecstore/internal/crashpoint"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

var _ s3api.TaggingLayer = (*Layer)(nil)

// recordTags and s3Tags convert a tag set between the front end's and the
// records' types (nil for none).
func recordTags(ts []s3api.Tag) []storagenode.Tag {
	if len(ts) == 0 {
		return nil
	}
	out := make([]storagenode.Tag, len(ts))
	for i, t := range ts {
		out[i] = storagenode.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

func s3Tags(ts []storagenode.Tag) []s3api.Tag {
	if len(ts) == 0 {
		return nil
	}
	out := make([]s3api.Tag, len(ts))
	for i, t := range ts {
		out[i] = s3api.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

// readVersion reads the quorum record of a version of bucket/key by its S3
// id ("": the current one); a delete marker answers as OpenObjectVersion.
func (l *Layer) readVersion(ctx context.Context, bucket, key, versionID string) (*storagenode.ObjectMeta, error) {
	meta, _, err := l.readVersionInline(ctx, bucket, key, versionID)
	return meta, err
}

// readVersionInline is readVersion with an inline object's shards (see
// readMetaInline).
func (l *Layer) readVersionInline(ctx context.Context, bucket, key, versionID string) (*storagenode.ObjectMeta, map[string][]byte, error) {
	fetch := func(ctx context.Context, d storagenode.Drive) (*storagenode.ObjectMeta, error) {
		if versionID == "" {
			return d.GetMeta(ctx, bucket, key)
		}
		return d.GetVersion(ctx, bucket, key, versionID)
	}
	meta, inline, err := l.readMetaWith(ctx, bucket, key, fetch)
	if versionID != "" && errors.Is(err, ErrObjectNotFound) {
		return nil, nil, s3api.ErrNoSuchVersion
	}
	if err != nil {
		return nil, nil, err
	}
	if meta.DeleteMarker {
		code := s3api.ErrNoSuchKey
		if versionID != "" {
			code = s3api.ErrMethodNotAllowed
		}
		return nil, nil, &s3api.DeleteMarkerError{VersionID: l.s3ID(meta), Err: code}
	}
	return meta, inline, nil
}

// GetObjectTags returns a version's tag set.
func (l *Layer) GetObjectTags(ctx context.Context, bucket, key, versionID string) (_ []s3api.Tag, _ string, err error) {
	defer translate(&err)
	meta, err := l.readVersion(ctx, bucket, key, versionID)
	if err != nil {
		return nil, "", err
	}
	return s3Tags(meta.Tags), l.s3ID(meta), nil
}

// PutObjectTags replaces a version's tag set: its record, with the new tags
// and a newer TagTime, goes to every drive of the version (the data stays);
// the write quorum must take it. A drive that misses it keeps the older
// record, which reads and the heal tell apart by TagTime.
func (l *Layer) PutObjectTags(ctx context.Context, bucket, key, versionID string, tags []s3api.Tag) (_ string, err error) {
	defer translate(&err)
	return l.updateRecord(ctx, bucket, key, versionID, func(m *storagenode.ObjectMeta) error {
		m.Tags = recordTags(tags)
		return nil
	})
}

// updateRecord changes a version's record with edit (its tags, its lock)
// and writes it to the version's drives with a newer TagTime; see
// PutObjectTags. Each drive's record is rewritten only where the version
// still is (rewriteVersion): a DELETE through another gateway between the
// read and the writes must not be undone by them. When the version went
// meanwhile, the answer is the read's (NoSuchKey, NoSuchVersion).
func (l *Layer) updateRecord(ctx context.Context, bucket, key, versionID string, edit func(*storagenode.ObjectMeta) error) (string, error) {
	if _, err := l.bucket(ctx, bucket); err != nil {
		return "", err
	}
	t := l.beginWrite()
	defer t.writes.Done()
	defer l.locks.write(bucket, key)()
	meta, err := l.readVersion(ctx, bucket, key, versionID)
	if err != nil {
		return "", err
	}
	next := meta.Clone()
	next.Inline = nil // PutMeta keeps each drive's own inline shard
	if err := edit(next); err != nil {
		return "", err
	}
	next.TagTime = max(time.Now().UnixNano(), meta.TagTime+1)
	drives := l.drivesByID(meta.Drives)
	errs := fanout(drives, func(_ int, d storagenode.Drive) error {
		if d == nil {
			return storagenode.ErrDriveOffline
		}
		err := rewriteVersion(ctx, d, next)
		if err == nil {
			crashpoint.Hit(crashpoint.RecordPartial)
		}
		return err
	})
	if countNil(errs) < writeQuorum(l.k, l.m) {
		// The version read may have gone meanwhile (deleted, or replaced
		// in place): then its answer is the one a read now gives.
		now, err := l.readVersion(ctx, bucket, key, versionID)
		switch {
		case err != nil:
			return "", err
		case now.VersionID != meta.VersionID && versionID != "":
			return "", s3api.ErrNoSuchVersion // ("null": another null version replaced it)
		case now.VersionID != meta.VersionID:
			return "", fmt.Errorf("%s/%s: version %s replaced meanwhile: %w", bucket, key, meta.VersionID, ErrObjectNotFound)
		}
		return "", worstWriteError(errs)
	}
	if countNil(errs) < len(drives) {
		l.queueHeal(bucket, key)
	}
	return l.s3ID(meta), nil
}
