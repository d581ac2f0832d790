package s3api

import (
	"net/netip"
	"strings"
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
	_, err := netip.ParseAddr(name)
	return err != nil
}
