package gateway

import (
	"fmt"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

// errSlowShard is the error of a shard writer that made no progress for
// the slow-write timeout; the write goes on without it if the quorum holds.
var errSlowShard = fmt.Errorf("gateway: shard write made no progress: %w", storagenode.ErrDriveOffline)

// timeoutWriter bounds each Write to a shard writer. A Write that does not
// finish in time fails (and the shard is aborted, which unblocks it), so
// one slow node cannot stall a PUT whose other shards are going fine: the
// encoder drops the writer and carries on while the write quorum holds.
// Each Write hands a copy of p to the underlying writer, since the caller
// reuses p as soon as Write returns.
type timeoutWriter struct {
	sw      storagenode.ShardWriter
	timeout time.Duration
	buf     []byte
	failed  error
}

type writeResult struct {
	n   int
	err error
}

func (t *timeoutWriter) Write(p []byte) (int, error) {
	if t.failed != nil {
		return 0, t.failed
	}
	t.buf = append(t.buf[:0], p...)
	done := make(chan writeResult, 1)
	buf := t.buf
	go func() {
		n, err := t.sw.Write(buf)
		done <- writeResult{n, err}
	}()
	timer := time.NewTimer(t.timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.n, r.err
	case <-timer.C:
		t.failed = errSlowShard
		_ = t.sw.Abort()
		// The abandoned Write still owns buf: never reuse it.
		t.buf = nil
		return 0, t.failed
	}
}
