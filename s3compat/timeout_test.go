package s3compat

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// stallingBody returns its data, then fails as a read past the
// connection's deadline does.
type stallingBody struct{ r io.Reader }

func (b *stallingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, &os.PathError{Op: "read", Path: "tcp", Err: os.ErrDeadlineExceeded}
	}
	return n, err
}

func (*stallingBody) Close() error { return nil }

// TestBodyDeadlineIsRequestTimeout: a body read that passes its deadline
// becomes S3's RequestTimeout through every reader that sits on the body,
// and the body remembers it timed out.
func TestBodyDeadlineIsRequestTimeout(t *testing.T) {
	for _, tt := range []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"raw", func(r io.Reader) io.Reader { return r }},
		{"sized", func(r io.Reader) io.Reader { return &sizedReader{r: r, left: 100} }},
		{"unsized", func(r io.Reader) io.Reader { return &errMapReader{r} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cb := &countingBody{ReadCloser: &stallingBody{strings.NewReader("half")}}
			_, err := io.ReadAll(tt.wrap(cb))
			if !errors.Is(err, s3api.ErrRequestTimeout) {
				t.Fatalf("got %v, want RequestTimeout", err)
			}
			if ae, _ := toAPIError(bodyError(err)); ae.Code() != "RequestTimeout" || ae.HTTPStatus() != 400 {
				t.Errorf("answered %s %d, want RequestTimeout 400", ae.Code(), ae.HTTPStatus())
			}
			if !cb.timedOut.Load() || cb.n.Load() != 4 {
				t.Errorf("timedOut %v, n %d; want true, 4", cb.timedOut.Load(), cb.n.Load())
			}
		})
	}
}
