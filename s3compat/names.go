package s3compat

import (
	"net"
	"strings"
	"unicode/utf8"

	"github.com/ecstore/ecstore/s3api"
)

// MaxKeyLength is S3's limit on object key length, in bytes.
const MaxKeyLength = 1024

// ValidBucketName reports whether name follows S3's bucket naming rules:
// 3-63 characters of lower-case letters, digits, '.' and '-', starting and
// ending with a letter or digit, no "..", not shaped like an IP address.
func ValidBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return false
			}
		default:
			return false
		}
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return false
	}
	return net.ParseIP(name) == nil
}

// checkKey validates an object key: 1-1024 bytes of valid UTF-8 without NUL.
func checkKey(key string) error {
	switch {
	case key == "":
		return s3api.ErrInvalidObjectName.WithMessage("Object key must not be empty.")
	case len(key) > MaxKeyLength:
		return s3api.ErrKeyTooLong
	case !utf8.ValidString(key):
		return s3api.ErrInvalidObjectName.WithMessage("Object key must be valid UTF-8.")
	case strings.IndexByte(key, 0) >= 0:
		return s3api.ErrInvalidObjectName.WithMessage("Object key must not contain NUL.")
	}
	return nil
}

func checkBucket(bucket string) error {
	if !ValidBucketName(bucket) {
		return s3api.ErrInvalidBucketName.WithMessage("The specified bucket is not valid: %q.", bucket)
	}
	return nil
}
