package storagenode

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrStaleToken: a write carried a fencing token lower than one the drive
// has already seen for the same job (a job's lease passed to another
// process meanwhile); nothing changed.
var ErrStaleToken = errors.New("storagenode: stale fencing token")

// Fence is a cluster-wide job's fencing token (the metadata group's lease
// token, package meta): writes made for the job carry it in their context.
type Fence struct {
	Job   string
	Token uint64
}

type fenceKey struct{}

// WithFence returns ctx carrying job's fencing token. A drive refuses, with
// ErrStaleToken, every write whose context carries a lower token for job
// than the highest it has seen, and remembers the highest (durably).
// Writes without a fence are not checked.
func WithFence(ctx context.Context, job string, token uint64) context.Context {
	return context.WithValue(ctx, fenceKey{}, Fence{Job: job, Token: token})
}

// FenceOf returns the fence ctx carries.
func FenceOf(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
}

// String encodes the fence for the wire: "job:token".
func (f Fence) String() string { return f.Job + ":" + strconv.FormatUint(f.Token, 10) }

// ParseFence decodes Fence.String's form.
func ParseFence(s string) (Fence, error) {
	job, tok, ok := strings.Cut(s, ":")
	n, err := strconv.ParseUint(tok, 10, 64)
	if !ok || job == "" || err != nil || n == 0 || !ValidName(job) {
		return Fence{}, fmt.Errorf("%w: fence %q", ErrInvalidName, s)
	}
	return Fence{Job: job, Token: n}, nil
}

type coldKey struct{}

// WithColdShard returns ctx telling CreateShard that the shard it creates
// will not be read soon: a parity shard, which a healthy GET never reads.
// A drive may then write it past its cache (local.Drive writes it with
// O_DIRECT), keeping the cache for the data shards the next GET reads. A
// hint only: the shard is the same file either way.
func WithColdShard(ctx context.Context) context.Context {
	return context.WithValue(ctx, coldKey{}, true)
}

// ColdShard reports whether ctx carries WithColdShard's hint.
func ColdShard(ctx context.Context) bool {
	cold, _ := ctx.Value(coldKey{}).(bool)
	return cold
}
