package storagenode

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	"github.com/fxamacker/cbor/v2"
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

// Record values are CBOR (RFC 8949, github.com/fxamacker/cbor, which
// reads the json struct tags): listings decode thousands of records per
// page, several times faster than JSON. Records written as JSON by earlier
// versions (they start with '{', which no CBOR map does) still decode.

// recordMode encodes records; recordDec decodes them with bounds on what a
// damaged record could make the decoder allocate.
var (
	recordMode, _ = cbor.EncOptions{Time: cbor.TimeRFC3339Nano}.EncMode()
	recordDec, _  = cbor.DecOptions{MaxArrayElements: 1 << 20, MaxMapPairs: 1 << 16, MaxNestedLevels: 16}.DecMode()
)

// MarshalRecord encodes v (a record, or a call's arguments) as CBOR.
func MarshalRecord(v any) ([]byte, error) { return recordMode.Marshal(v) }

// UnmarshalRecord decodes b into v: JSON when b starts with '{' (records
// and arguments written by hand or by earlier versions), CBOR otherwise.
func UnmarshalRecord(b []byte, v any) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, v)
	}
	return recordDec.Unmarshal(b, v)
}

// ReadRecord decodes one CBOR value from r into v, with the bounds of
// UnmarshalRecord.
func ReadRecord(r io.Reader, v any) error { return recordDec.NewDecoder(r).Decode(v) }

func encodeRecord(v any) ([]byte, error) {
	b, err := recordMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("storagenode: encode %T: %w", v, err)
	}
	return b, nil
}

func decodeRecord[T any](b []byte) (*T, error) {
	v := new(T)
	if err := UnmarshalRecord(b, v); err != nil {
		return nil, fmt.Errorf("%w: decode %T: %v", ErrCorrupt, v, err)
	}
	return v, nil
}

// Deep copies, so that no caller can change a record a drive holds or has
// handed out.

// Clone returns a deep copy of m (nil for nil).
func (m *ObjectMeta) Clone() *ObjectMeta {
	if m == nil {
		return nil
	}
	c := *m
	c.UserMeta = maps.Clone(m.UserMeta)
	c.Headers = maps.Clone(m.Headers)
	c.Checksums = maps.Clone(m.Checksums)
	c.Drives = slices.Clone(m.Drives)
	c.Parts = slices.Clone(m.Parts)
	c.Inline = slices.Clone(m.Inline)
	return &c
}

// header returns a deep copy of m without its inline shard.
func (m *ObjectMeta) header() *ObjectMeta {
	if m == nil {
		return nil
	}
	c := *m
	c.Inline = nil
	return c.Clone()
}

// Clone returns a deep copy of u (nil for nil).
func (u *UploadMeta) Clone() *UploadMeta {
	if u == nil {
		return nil
	}
	c := *u
	c.UserMeta = maps.Clone(u.UserMeta)
	c.Headers = maps.Clone(u.Headers)
	c.Drives = slices.Clone(u.Drives)
	return &c
}

// Clone returns a deep copy of p (nil for nil).
func (p *PartMeta) Clone() *PartMeta {
	if p == nil {
		return nil
	}
	c := *p
	c.Checksums = maps.Clone(p.Checksums)
	return &c
}
