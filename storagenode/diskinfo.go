package storagenode

import (
	"context"
	"errors"
	"fmt"
)

// DiskInfo is a drive's capacity as its file system reports it.
type DiskInfo struct {
	// Total is the file system's size in bytes.
	Total uint64 `json:"total"`
	// Free is the space the drive's process may still use.
	Free uint64 `json:"free"`
	// Used is Total minus the file system's free blocks.
	Used uint64 `json:"used"`
	// Records is the number of object records the drive holds (one per
	// shard of an object), when asked for with WithRecordCount; else -1.
	Records int64 `json:"records"`
	// ReadOnly is set when the drive takes no writes: its file system is
	// mounted read-only (as after errors), a file cannot be created in its
	// folder, or a fault marks it so. It still serves reads.
	ReadOnly bool `json:"readOnly,omitempty"`
	// Versions is set by drives that keep noncurrent versions and delete
	// markers (every drive since issue 17). A node of an earlier version
	// answers without it: its drives would keep one record per key, so
	// no bucket may turn versioning on while one is in the cluster.
	Versions bool `json:"versions,omitempty"`
	// SSE is set by drives that keep an encrypted version's record whole
	// (its SSE and parts' Stored fields; every drive since issue 19). A
	// node of an earlier version would drop them and serve ciphertext as
	// the object, so no write is encrypted while one is in the cluster.
	SSE bool `json:"sse,omitempty"`
}

type recordCountKey struct{}

// WithRecordCount makes DiskInfo calls under ctx count the drive's object
// records too: a scan of its index keys, fine for a status page, too much
// for every metrics scrape.
func WithRecordCount(ctx context.Context) context.Context {
	return context.WithValue(ctx, recordCountKey{}, true)
}

// WantsRecordCount reports whether ctx asks DiskInfo for the record count
// (WithRecordCount).
func WantsRecordCount(ctx context.Context) bool {
	v, _ := ctx.Value(recordCountKey{}).(bool)
	return v
}

// DiskInfoer is implemented by drives that can report their capacity. A
// drive that answers DiskInfo is reachable and has its folder in place, so
// health checks use it as a liveness probe too.
type DiskInfoer interface {
	DiskInfo(ctx context.Context) (DiskInfo, error)
}

// DiskInfoOf asks d for its capacity; errors.ErrUnsupported if d cannot tell.
func DiskInfoOf(ctx context.Context, d Drive) (DiskInfo, error) {
	if di, ok := d.(DiskInfoer); ok {
		return di.DiskInfo(ctx)
	}
	return DiskInfo{}, fmt.Errorf("disk info of drive %s: %w", d.ID(), errors.ErrUnsupported)
}
