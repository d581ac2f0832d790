package s3compat

import (
	"strconv"
	"strings"

	"github.com/ecstore/ecstore/s3api"
)

// byteRange is a resolved, satisfiable range [Start, Start+Length).
type byteRange struct {
	Start, Length int64
}

// parseRange resolves a Range header against an object of size bytes.
// It returns (nil, nil) when the header is absent or not a single
// well-formed bytes range (HTTP says to ignore those and send the whole
// object), and s3api.ErrInvalidRange when it is well-formed but unsatisfiable.
func parseRange(h string, size int64) (*byteRange, error) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return nil, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return nil, nil
	}
	if first == "" { // suffix: last N bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return nil, nil
		}
		if n == 0 {
			return nil, s3api.ErrInvalidRange
		}
		n = min(n, size)
		if size == 0 {
			return nil, s3api.ErrInvalidRange
		}
		return &byteRange{Start: size - n, Length: n}, nil
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return nil, nil
	}
	end := size - 1
	if last != "" {
		e, err := strconv.ParseInt(last, 10, 64)
		if err != nil || e < start {
			return nil, nil
		}
		end = min(e, size-1)
	}
	if start >= size {
		return nil, s3api.ErrInvalidRange
	}
	return &byteRange{Start: start, Length: end - start + 1}, nil
}
