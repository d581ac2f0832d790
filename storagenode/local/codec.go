package local

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/ecstore/ecstore/storagenode"
)

// Index keys. Each record kind is a contiguous, sorted range of the index:
//
//	b\x00<bucket>                             bucket record
//	o\x00<bucket>\x00<key>                    object metadata record
//	u\x00<bucket>\x00<uploadID>               multipart upload record
//	p\x00<bucket>\x00<uploadID>\x00<%05d n>   part record
//
// Bucket names and upload ids never contain a NUL byte (see ValidBucketName,
// ValidName), so the encoding is unambiguous; object keys may contain any
// byte because they are the last element.

const sep = 0

func bucketKey(bucket string) []byte {
	k := make([]byte, 0, 2+len(bucket))
	return append(append(k, 'b', sep), bucket...)
}

// bucketPrefix is the prefix of every bucket record.
func bucketPrefix() []byte { return []byte{'b', sep} }

// kindPrefix returns "<kind>\x00<bucket>\x00": the prefix of a bucket's
// records of one kind ('o', 'u' or 'p').
func kindPrefix(kind byte, bucket string) []byte {
	k := make([]byte, 0, 3+len(bucket))
	k = append(k, kind, sep)
	k = append(k, bucket...)
	return append(k, sep)
}

func objectKey(bucket, key string) []byte {
	return append(kindPrefix('o', bucket), key...)
}

// inlineKey holds the inline shard of an InlineData record, by version
// directory (DeleteVersion removes it like a shard file).
func inlineKey(bucket, versionDir string) []byte {
	return append(kindPrefix('i', bucket), versionDir...)
}

func uploadKey(bucket, uploadID string) []byte {
	return append(kindPrefix('u', bucket), uploadID...)
}

// partPrefix is the prefix of all part records of one upload.
func partPrefix(bucket, uploadID string) []byte {
	return append(append(kindPrefix('p', bucket), uploadID...), sep)
}

func partKey(bucket, uploadID string, number int) []byte {
	k := partPrefix(bucket, uploadID)
	s := strconv.Itoa(number)
	for i := len(s); i < 5; i++ {
		k = append(k, '0')
	}
	return append(k, s...)
}

// prefixEnd returns the smallest key greater than every key starting with
// p, or nil if there is none (p is empty or all 0xff).
func prefixEnd(p []byte) []byte {
	end := slices.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// encodeRecord encodes a record for the index.
func encodeRecord(v any) ([]byte, error) {
	b, err := storagenode.MarshalRecord(v)
	if err != nil {
		return nil, fmt.Errorf("storagenode: encode %T: %w", v, err)
	}
	return b, nil
}

// decodeRecord decodes a record of the index; ErrCorrupt if it cannot.
func decodeRecord[T any](b []byte) (*T, error) {
	v := new(T)
	if err := storagenode.UnmarshalRecord(b, v); err != nil {
		return nil, fmt.Errorf("%w: decode %T: %v", storagenode.ErrCorrupt, v, err)
	}
	return v, nil
}
