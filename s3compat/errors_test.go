package s3compat

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// TestErrorCauseStaysInTheLog: what went wrong inside (a path, a drive) is
// logged; the client gets the error's plain message.
func TestErrorCauseStaysInTheLog(t *testing.T) {
	cause := &fs.PathError{Op: "open", Path: "/srv/drive3/.ecstore/tmp/shard-1234", Err: errors.New("no space left on device")}
	for _, err := range []error{
		s3api.ErrInsufficientWriteQuorum.WithMessage("Not enough drives stored the data; please retry.").WithCause(cause),
		s3api.ErrInternalError.WithCause(cause),
		cause, // unknown errors: InternalError
	} {
		layer := newMemLayer("bkt")
		layer.failPut = err
		s, logs := newTestServer(layer, Config{})
		rec := do(s, testRequest{method: "PUT", target: "/bkt/k", body: "data"})
		if rec.Code < 500 || strings.Contains(rec.Body.String(), "/srv/drive3") || strings.Contains(rec.Body.String(), "no space") {
			t.Errorf("%v: answered %d %s", err, rec.Code, rec.Body)
		}
		if !strings.Contains(logs.String(), "/srv/drive3/.ecstore/tmp/shard-1234") {
			t.Errorf("%v: the cause is not in the log:\n%s", err, logs)
		}
	}
	e := s3api.ErrInsufficientWriteQuorum.WithCause(cause)
	var pe *fs.PathError
	if !errors.Is(e, s3api.ErrInsufficientWriteQuorum) || !errors.As(e, &pe) {
		t.Errorf("errors.Is/As do not see through WithCause: %v", e)
	}
}
