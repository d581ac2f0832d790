package gateway

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// TestErrorMessagesArePlain: the S3 errors the gateway answers with keep
// internal detail (paths, drives) out of the message the client gets;
// Error(), which the log prints, keeps it.
func TestErrorMessagesArePlain(t *testing.T) {
	shard := &fs.PathError{Op: "open", Path: "/srv/drive3/.ecstore/tmp/shard-1234", Err: fs.ErrPermission}
	for name, err := range map[string]error{
		"write quorum": worstWriteError([]error{nil, shard, shard}),
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
