package local

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ecstore/ecstore/storagenode"
)

// Listing entries are decoded straight from the stored records, reading
// only the fields of ObjectEntry and stepping over the rest (parts, drive
// list, checksums, headers) without building them. Listings decode every
// record of a page on several drives, and building whole ObjectMetas
// (maps, slices, strings) was most of a listing's cost.

// entryRecord is the listing projection of an ObjectMeta record, for the
// general decoders (JSON records, and CBOR the fast path leaves to them):
// ObjectEntry's fields carry the record's names, but for DataShards, which
// a record holds as ec.k (a record has no top-level "k").
type entryRecord struct {
	storagenode.ObjectEntry
	EC struct {
		Data int `json:"k"`
	} `json:"ec"`
	Headers map[string]string `json:"headers"`
}

// storageClassHeader is the stored header that holds an object's storage
// class (absent: STANDARD), as the S3 front end stores it.
const storageClassHeader = "X-Amz-Storage-Class"

// decodeEntry decodes the listing entry of an object record. CBOR records
// written by this package take the fast path; JSON records and anything
// unusual go through the same decoders as decodeRecord, so a record that
// decodeRecord rejects as corrupt never decodes here differently from the
// fields it has.
func decodeEntry(b []byte) (storagenode.ObjectEntry, error) {
	if len(b) > 0 && b[0] != '{' {
		if e, ok := fastEntry(b); ok {
			return e, nil
		}
	}
	r, err := decodeRecord[entryRecord](b)
	if err != nil {
		return storagenode.ObjectEntry{}, err
	}
	e := r.ObjectEntry
	e.DataShards = r.EC.Data
	e.StorageClass = r.Headers[storageClassHeader]
	return e, nil
}

// cborMaxDepth bounds the nesting the fast path steps over (the record decoder
// allows 16 levels).
const cborMaxDepth = 16

// fastEntry decodes an ObjectMeta record as MarshalRecord writes it: a map of
// definite length whose keys are ObjectMeta's field names. It reports false
// for anything else (other keys, indefinite lengths or tags where a value
// is read, invalid UTF-8 in a read string, trailing bytes), leaving the
// record to the general decoder.
func fastEntry(b []byte) (e storagenode.ObjectEntry, ok bool) {
	r := cborReader{b: b, ok: true}
	major, n, indef := r.head()
	if !r.ok || major != cborMap || indef || n > uint64(len(b)) {
		return e, false
	}
	// The strings are views into b until the end, then copied into one
	// allocation.
	var key, vid, etag, ctype, sc []byte
	for range n {
		name, ok := r.shortText()
		if !ok {
			return e, false
		}
		switch string(name) {
		case "key":
			key, ok = r.utf8()
		case "vid":
			vid, ok = r.utf8()
		case "etag":
			etag, ok = r.utf8()
		case "ctype":
			ctype, ok = r.utf8()
		case "size":
			e.Size, ok = r.int()
		case "mtime":
			if !r.null() { // null: the zero time
				var s []byte
				if s, ok = r.text(); ok {
					e.ModTime, ok = parseRFC3339(s)
				}
			}
		case "umeta":
			e.UserMeta, ok = r.strMap()
		case "ec":
			e.DataShards, ok = r.ecData()
		case "vd":
			e.Versioned, ok = r.boolean()
		case "dm":
			e.DeleteMarker, ok = r.boolean()
		case "headers":
			sc, ok = r.strMapGet(storageClassHeader)
		case "bucket", "dir", "sums", "drives", "lay", "parts", "inl", "inline", "tags", "tagt", "lm", "lru", "lh", "sse":
			ok = r.skip(1)
		default:
			// Not a field name of ours: the general decoder also matches
			// names case-insensitively, so let it decide.
			return e, false
		}
		if !ok {
			return e, false
		}
	}
	if !r.ok || r.i != len(b) {
		return e, false
	}
	var sb strings.Builder
	sb.Grow(len(key) + len(vid) + len(etag) + len(ctype) + len(sc))
	sb.Write(key)
	sb.Write(vid)
	sb.Write(etag)
	sb.Write(ctype)
	sb.Write(sc)
	all := sb.String()
	e.Key, all = all[:len(key)], all[len(key):]
	e.VersionID, all = all[:len(vid)], all[len(vid):]
	e.ETag, all = all[:len(etag)], all[len(etag):]
	e.ContentType, e.StorageClass = all[:len(ctype)], all[len(ctype):]
	return e, true
}

// CBOR major types (RFC 8949 section 3.1).
const (
	cborUint   = 0
	cborNegInt = 1
	cborBytes  = 2
	cborText   = 3
	cborArray  = 4
	cborMap    = 5
	cborTag    = 6
	cborSimple = 7
)

// cborReader reads CBOR data items from b; ok (true to begin with) turns
// false, for good, at the first malformed or truncated item.
type cborReader struct {
	b  []byte
	i  int
	ok bool
}

// head reads an item's initial byte and argument. indef reports an
// indefinite length (or, for major type 7, a break).
func (r *cborReader) head() (major byte, arg uint64, indef bool) {
	if r.i >= len(r.b) {
		r.ok = false
		return 0, 0, false
	}
	c := r.b[r.i]
	r.i++
	major, info := c>>5, c&31
	var size int
	switch {
	case info < 24:
		return major, uint64(info), false
	case info == 24:
		size = 1
	case info == 25:
		size = 2
	case info == 26:
		size = 4
	case info == 27:
		size = 8
	case info == 31 && (major >= cborBytes && major <= cborMap || major == cborSimple):
		return major, 0, true
	default:
		r.ok = false
		return 0, 0, false
	}
	if len(r.b)-r.i < size {
		r.ok = false
		return 0, 0, false
	}
	for _, x := range r.b[r.i : r.i+size] {
		arg = arg<<8 | uint64(x)
	}
	r.i += size
	return major, arg, false
}

// shortText is text with a fast path for strings of up to 23 bytes (a
// one-byte head), such as field names.
func (r *cborReader) shortText() ([]byte, bool) {
	if r.i < len(r.b) {
		if c := r.b[r.i]; c >= 0x60 && c < 0x78 {
			start, end := r.i+1, r.i+1+int(c-0x60)
			if end > len(r.b) {
				r.ok = false
				return nil, false
			}
			r.i = end
			return r.b[start:end], true
		}
	}
	return r.text()
}

// text reads a definite-length text string, without copying it.
func (r *cborReader) text() ([]byte, bool) {
	major, n, indef := r.head()
	if !r.ok || major != cborText || indef || n > uint64(len(r.b)-r.i) {
		r.ok = false
		return nil, false
	}
	s := r.b[r.i : r.i+int(n)]
	r.i += int(n)
	return s, true
}

// null consumes a null item if one is next.
func (r *cborReader) null() bool {
	if r.i < len(r.b) && r.b[r.i] == 0xf6 {
		r.i++
		return true
	}
	return false
}

// boolean reads a CBOR true or false (or null, as false).
func (r *cborReader) boolean() (bool, bool) {
	if r.i < len(r.b) {
		switch r.b[r.i] {
		case 0xf5:
			r.i++
			return true, true
		case 0xf4, 0xf6:
			r.i++
			return false, true
		}
	}
	return false, false
}

// utf8 reads a text string holding valid UTF-8 (as the record decoder requires),
// without copying it, or null as empty.
func (r *cborReader) utf8() ([]byte, bool) {
	if r.null() {
		return nil, true
	}
	s, ok := r.text()
	if !ok || !utf8.Valid(s) {
		return nil, false
	}
	return s, true
}

// str is utf8 as a string.
func (r *cborReader) str() (string, bool) {
	s, ok := r.utf8()
	return string(s), ok
}

// int reads an integer that fits an int64, or null as 0.
func (r *cborReader) int() (int64, bool) {
	if r.null() {
		return 0, true
	}
	major, n, _ := r.head()
	if !r.ok || n > math.MaxInt64 {
		return 0, false
	}
	switch major {
	case cborUint:
		return int64(n), true
	case cborNegInt:
		return -1 - int64(n), true
	}
	return 0, false
}

// strMap reads a map of text to text, or null.
func (r *cborReader) strMap() (map[string]string, bool) {
	if r.null() {
		return nil, true
	}
	major, n, indef := r.head()
	if !r.ok || major != cborMap || indef || n > uint64(len(r.b)-r.i) {
		return nil, false
	}
	m := make(map[string]string, n)
	for range n {
		k, ok1 := r.str()
		v, ok2 := r.str()
		if !ok1 || !ok2 {
			return nil, false
		}
		m[k] = v
	}
	return m, true
}

// strMapGet reads a map of text strings, or null, without copying it, and
// returns the value under want (nil when absent). A map holding want twice
// is left to the general decoder (ok false).
func (r *cborReader) strMapGet(want string) ([]byte, bool) {
	if r.null() {
		return nil, true
	}
	major, n, indef := r.head()
	if !r.ok || major != cborMap || indef || n > uint64(len(r.b)-r.i) {
		return nil, false
	}
	var got []byte
	found := false
	for range n {
		k, ok1 := r.utf8()
		v, ok2 := r.utf8()
		if !ok1 || !ok2 {
			return nil, false
		}
		if string(k) == want {
			if found {
				return nil, false
			}
			got, found = v, true
		}
	}
	return got, true
}

// ecData reads an ECInfo map, or null, and returns its "k".
func (r *cborReader) ecData() (int, bool) {
	if r.null() {
		return 0, true
	}
	major, n, indef := r.head()
	if !r.ok || major != cborMap || indef || n > uint64(len(r.b)-r.i) {
		return 0, false
	}
	k := 0
	for range n {
		name, ok := r.shortText()
		if !ok {
			return 0, false
		}
		if string(name) != "k" {
			if !r.skip(1) {
				return 0, false
			}
			continue
		}
		v, ok := r.int()
		if !ok || v < math.MinInt || v > math.MaxInt {
			return 0, false
		}
		k = int(v)
	}
	return k, true
}

// skip steps over one data item (nested at most cborMaxDepth deep).
func (r *cborReader) skip(depth int) bool {
	if depth > cborMaxDepth {
		return false
	}
	if r.i < len(r.b) {
		// Fast paths for one-byte heads: small integers, simple values,
		// short strings.
		switch c := r.b[r.i]; {
		case c < 0x18, c >= 0x20 && c < 0x38, c >= 0xe0 && c < 0xf8:
			r.i++
			return true
		case c >= 0x40 && c < 0x58, c >= 0x60 && c < 0x78:
			end := r.i + 1 + int(c&31)
			if end > len(r.b) {
				r.ok = false
				return false
			}
			r.i = end
			return true
		}
	}
	major, n, indef := r.head()
	if !r.ok {
		return false
	}
	switch major {
	case cborUint, cborNegInt:
		return true
	case cborBytes, cborText:
		if indef {
			// Chunks of the same major type, each definite, up to a break.
			for {
				if r.i < len(r.b) && r.b[r.i] == 0xff {
					r.i++
					return true
				}
				m, c, ind := r.head()
				if !r.ok || m != major || ind || c > uint64(len(r.b)-r.i) {
					return false
				}
				r.i += int(c)
			}
		}
		if n > uint64(len(r.b)-r.i) {
			return false
		}
		r.i += int(n)
		return true
	case cborArray, cborMap:
		items := n
		if major == cborMap {
			if n > math.MaxUint64/2 {
				return false
			}
			items = 2 * n
		}
		if indef {
			for {
				if r.i < len(r.b) && r.b[r.i] == 0xff {
					r.i++
					return true
				}
				if !r.skip(depth + 1) {
					return false
				}
			}
		}
		if items > uint64(len(r.b)-r.i) { // each item takes a byte at least
			return false
		}
		for range items {
			if !r.skip(depth + 1) {
				return false
			}
		}
		return true
	case cborTag:
		return r.skip(depth + 1)
	default: // cborSimple: the argument was the value (or float bits)
		return !indef // a break outside an indefinite item is malformed
	}
}

// parseRFC3339 parses the times MarshalRecord writes (RFC 3339 with up to nine
// fractional digits, UTC "Z") without allocating, and anything else through
// time.Parse, as the general decoder does.
func parseRFC3339(s []byte) (time.Time, bool) {
	// 2006-01-02T15:04:05[.fffffffff]Z
	if len(s) >= 20 && s[len(s)-1] == 'Z' && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' {
		year, ok1 := digits(s[0:4])
		month, ok2 := digits(s[5:7])
		day, ok3 := digits(s[8:10])
		hour, ok4 := digits(s[11:13])
		minute, ok5 := digits(s[14:16])
		sec, ok6 := digits(s[17:19])
		frac, nsec, ok7 := s[19:len(s)-1], 0, true
		if len(frac) > 0 {
			if len(frac) < 2 || len(frac) > 10 || frac[0] != '.' {
				ok7 = false
			} else {
				nsec, ok7 = digits(frac[1:])
				for range 10 - len(frac) {
					nsec *= 10
				}
			}
		}
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && month >= 1 && month <= 12 && day >= 1 &&
			day <= daysIn(time.Month(month), year) && hour < 24 && minute < 60 && sec < 60 {
			return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
		}
	}
	t, err := time.Parse(time.RFC3339, string(s))
	return t, err == nil
}

// digits parses a run of ASCII digits (at most 9).
func digits(s []byte) (int, bool) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

// daysIn is the number of days of month m (1 to 12) of year.
func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return [...]int{31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
}
