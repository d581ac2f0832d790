package s3compat

import (
	"strings"
	"unicode/utf8"

	"github.com/ecstore/ecstore/s3api"
)

// checkKey validates an object key: 1-1024 bytes of valid UTF-8 without NUL.
func checkKey(key string) error {
	switch {
	case key == "":
		return s3api.ErrInvalidObjectName.WithMessage("Object key must not be empty.")
	case len(key) > s3api.MaxKeyLength:
		return s3api.ErrKeyTooLong
	case !utf8.ValidString(key):
		return s3api.ErrInvalidObjectName.WithMessage("Object key must be valid UTF-8.")
	case strings.IndexByte(key, 0) >= 0:
		return s3api.ErrInvalidObjectName.WithMessage("Object key must not contain NUL.")
	}
	return nil
}

func checkBucket(bucket string) error {
	if !s3api.ValidBucketName(bucket) {
		return s3api.ErrInvalidBucketName.WithMessage("The specified bucket is not valid: %q.", bucket)
	}
	return nil
}
