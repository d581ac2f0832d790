package storagenode

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/fxamacker/cbor/v2"
)

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
	var err error
	if len(b) > 0 && b[0] == '{' {
		err = json.Unmarshal(b, v)
	} else {
		err = recordDec.Unmarshal(b, v)
	}
	if err != nil {
		return err
	}
	if r, ok := v.(timedRecord); ok {
		return r.checkTimes()
	}
	return nil
}

// timedRecord is a record with times in it. CBOR carries a time as a
// number too, so a damaged record can decode to a year RFC 3339 (and so
// MarshalRecord) cannot write: such a record is refused as it is read,
// rather than failing whoever tries to write it back (a heal, a move).
type timedRecord interface{ checkTimes() error }

// checkTime refuses a time outside the years RFC 3339 can write.
func checkTime(name string, t time.Time) error {
	if y := t.Year(); y < 0 || y > 9999 {
		return fmt.Errorf("%s: year %d out of range", name, y)
	}
	return nil
}

func (m *ObjectMeta) checkTimes() error  { return checkTime("mtime", m.ModTime) }
func (u *UploadMeta) checkTimes() error  { return checkTime("init", u.Initiated) }
func (p *PartMeta) checkTimes() error    { return checkTime("mtime", p.ModTime) }
func (b *BucketInfo) checkTimes() error  { return checkTime("created", b.Created) }
func (e *ObjectEntry) checkTimes() error { return checkTime("mtime", e.ModTime) }

// ReadRecord decodes one CBOR value from r into v, with the bounds of
// UnmarshalRecord.
func ReadRecord(r io.Reader, v any) error { return recordDec.NewDecoder(r).Decode(v) }

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
	c.Tags = slices.Clone(m.Tags)
	c.SSE = m.SSE.Clone()
	return &c
}

// Clone returns a deep copy of s (nil for nil).
func (s *SSEInfo) Clone() *SSEInfo {
	if s == nil {
		return nil
	}
	c := *s
	c.Sealed = slices.Clone(s.Sealed)
	c.Salt = slices.Clone(s.Salt)
	c.MAC = slices.Clone(s.MAC)
	return &c
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
	c.Tags = slices.Clone(u.Tags)
	c.SSE = u.SSE.Clone()
	return &c
}

// Clone returns a deep copy of p (nil for nil).
func (p *PartMeta) Clone() *PartMeta {
	if p == nil {
		return nil
	}
	c := *p
	c.Checksums = maps.Clone(p.Checksums)
	c.Drives = slices.Clone(p.Drives)
	return &c
}
