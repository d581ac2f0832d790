package storagenode

import (
	"fmt"
	"unicode/utf8"
)

// Name limits.
const (
	// MaxNameLen is the longest version directory, upload id or shard file name.
	MaxNameLen = 128
	// MaxKeyLen is the longest object key in bytes (as in S3). Keys must be
	// 1 to MaxKeyLen bytes of valid UTF-8 (as in S3); any character is
	// allowed, including '/', NUL and control characters.
	MaxKeyLen = 1024
	// MaxPartNumber is the highest part number a part record may carry (S3
	// allows 10000; the index encodes five digits).
	MaxPartNumber = 99999
)

// SinglePartName is the shard file name of an object written whole by one
// PUT (its one part). A drive may keep a file of this name without a
// version directory of its own (local.Drive does, which saves a directory
// and its sync per PUT); any name works for any version.
const SinglePartName = "part.1"

// ValidBucketName reports whether s follows the S3 bucket naming rules the
// drives enforce: 3 to 63 characters of [a-z0-9.-], starting and ending with
// a letter or digit, without "..".
func ValidBucketName(s string) bool {
	if len(s) < 3 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' || c == '.':
			if i == 0 || i == len(s)-1 {
				return false
			}
			if c == '.' && s[i-1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// ValidName reports whether s may be used as a version directory, upload id
// or shard file name: 1 to MaxNameLen characters of [A-Za-z0-9._-], and
// neither "." nor "..". Such a name is always a single path element.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.' || c == '_' || c == '-':
		default:
			return false
		}
	}
	return true
}

// CheckBucket fails with ErrInvalidName unless bucket follows
// ValidBucketName. Drive implementations check every name before any I/O
// with these functions, so that all of them refuse the same names with the
// same errors.
func CheckBucket(bucket string) error {
	if !ValidBucketName(bucket) {
		return fmt.Errorf("storagenode: bucket %q: %w", bucket, ErrInvalidName)
	}
	return nil
}

// CheckKey checks the bucket and an object key (1 to MaxKeyLen bytes of
// UTF-8).
func CheckKey(bucket, key string) error {
	if err := CheckBucket(bucket); err != nil {
		return err
	}
	if len(key) == 0 || len(key) > MaxKeyLen {
		return fmt.Errorf("storagenode: key of %d bytes in %s: %w", len(key), bucket, ErrInvalidName)
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("storagenode: key %q in %s is not UTF-8: %w", key, bucket, ErrInvalidName)
	}
	return nil
}

// CheckVersionDir checks the bucket and a version directory (ValidName).
func CheckVersionDir(bucket, versionDir string) error {
	if err := CheckBucket(bucket); err != nil {
		return err
	}
	if !ValidName(versionDir) {
		return fmt.Errorf("storagenode: version directory %q: %w", versionDir, ErrInvalidName)
	}
	return nil
}

// CheckUpload checks the bucket and an upload id (ValidName).
func CheckUpload(bucket, uploadID string) error {
	if err := CheckBucket(bucket); err != nil {
		return err
	}
	if !ValidName(uploadID) {
		return fmt.Errorf("storagenode: upload id %q: %w", uploadID, ErrInvalidName)
	}
	return nil
}

// CheckRef checks every name of a shard reference.
func CheckRef(ref ShardRef) error {
	if err := CheckVersionDir(ref.Bucket, ref.VersionDir); err != nil {
		return err
	}
	if !ValidName(ref.Name) {
		return fmt.Errorf("storagenode: shard name %q: %w", ref.Name, ErrInvalidName)
	}
	return nil
}

// CheckPart checks a part record's number (1 to MaxPartNumber).
func CheckPart(p *PartMeta) error {
	if p == nil {
		return fmt.Errorf("storagenode: nil part record: %w", ErrInvalidName)
	}
	if p.Number < 1 || p.Number > MaxPartNumber {
		return fmt.Errorf("storagenode: part number %d: %w", p.Number, ErrInvalidName)
	}
	return nil
}

// CheckMeta validates the names of an object record.
func CheckMeta(m *ObjectMeta) error {
	if m == nil {
		return fmt.Errorf("storagenode: nil object record: %w", ErrInvalidName)
	}
	return CheckKey(m.Bucket, m.Key)
}

// CheckUploadMeta validates the names of an upload record.
func CheckUploadMeta(u *UploadMeta) error {
	if u == nil {
		return fmt.Errorf("storagenode: nil upload record: %w", ErrInvalidName)
	}
	if err := CheckUpload(u.Bucket, u.UploadID); err != nil {
		return err
	}
	return CheckKey(u.Bucket, u.Key)
}
