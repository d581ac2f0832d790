package s3compat

import (
	"encoding/xml"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Listing responses carry up to a thousand entries and were the costliest
// bodies to encode with encoding/xml's reflection, so they write their XML
// by hand. The bytes are exactly what xml.Marshal gives for the same value
// (the tests compare the two on random values); a value the hand-written
// path does not cover (MinIO's metadata extension) goes to xml.Marshal.

// xmlAppender is a response body that can append its own XML encoding; ok
// is false when it leaves the value to xml.Marshal.
type xmlAppender interface {
	appendXML(b []byte) (out []byte, ok bool)
}

var (
	_ xmlAppender = listBucketResultV1{}
	_ xmlAppender = listBucketResultV2{}
	_ xmlAppender = listVersionsResult{}
)

// marshalXML encodes a response body (without the XML header). Give the
// result back with recycleXML once written.
func (s *Server) marshalXML(v any) ([]byte, error) {
	if a, ok := v.(xmlAppender); ok {
		var buf []byte
		if p, _ := s.xmlBufs.Get().(*[]byte); p != nil {
			buf = (*p)[:0]
		}
		if out, ok := a.appendXML(buf); ok {
			return out, nil
		}
	}
	return xml.Marshal(v)
}

// recycleXML keeps a written body's buffer for the next listing (up to
// 1 MiB: a 1000-key page takes about 250 KiB).
func (s *Server) recycleXML(b []byte) {
	if cap(b) <= 1<<20 {
		s.xmlBufs.Put(&b)
	}
}

func (v listBucketResultV2) appendXML(b []byte) ([]byte, bool) {
	b = appendListOpen(b, v.Xmlns)
	b = appendElem(b, "Name", v.Name)
	b = appendTextElem(b, "Prefix", v.Prefix)
	b = appendTextElemOmit(b, "StartAfter", v.StartAfter)
	b = appendElemOmit(b, "ContinuationToken", v.ContinuationToken)
	b = appendElemOmit(b, "NextContinuationToken", v.NextContinuationToken)
	b = appendInt(b, "KeyCount", int64(v.KeyCount))
	b = appendInt(b, "MaxKeys", int64(v.MaxKeys))
	b = appendTextElemOmit(b, "Delimiter", v.Delimiter)
	b = appendElem(b, "IsTruncated", strconv.FormatBool(v.IsTruncated))
	b = appendElemOmit(b, "EncodingType", v.EncodingType)
	return appendListTail(b, v.Contents, v.CommonPrefixes)
}

func (v listBucketResultV1) appendXML(b []byte) ([]byte, bool) {
	b = appendListOpen(b, v.Xmlns)
	b = appendElem(b, "Name", v.Name)
	b = appendTextElem(b, "Prefix", v.Prefix)
	b = appendTextElem(b, "Marker", v.Marker)
	b = appendTextElemOmit(b, "NextMarker", v.NextMarker)
	b = appendInt(b, "MaxKeys", int64(v.MaxKeys))
	b = appendTextElemOmit(b, "Delimiter", v.Delimiter)
	b = appendElem(b, "IsTruncated", strconv.FormatBool(v.IsTruncated))
	b = appendElemOmit(b, "EncodingType", v.EncodingType)
	return appendListTail(b, v.Contents, v.CommonPrefixes)
}

func (v listVersionsResult) appendXML(b []byte) ([]byte, bool) {
	n := 0
	for i := range v.Entries {
		n += 300 + len(v.Entries[i].Key) + len(v.Entries[i].ETag) // as appendContents
	}
	b = slices.Grow(b, n)
	b = append(b, `<ListVersionsResult xmlns="`...)
	b = appendEscaped(b, v.Xmlns)
	b = append(b, `">`...)
	b = appendElem(b, "Name", v.Name)
	b = appendTextElem(b, "Prefix", v.Prefix)
	b = appendTextElem(b, "KeyMarker", v.KeyMarker)
	b = appendElem(b, "VersionIdMarker", v.VersionIDMarker)
	b = appendTextElemOmit(b, "NextKeyMarker", v.NextKeyMarker)
	b = appendElemOmit(b, "NextVersionIdMarker", v.NextVersionIDMarker)
	b = appendInt(b, "MaxKeys", int64(v.MaxKeys))
	b = appendTextElemOmit(b, "Delimiter", v.Delimiter)
	b = appendElem(b, "IsTruncated", strconv.FormatBool(v.IsTruncated))
	b = appendElemOmit(b, "EncodingType", v.EncodingType)
	for i := range v.Entries {
		e := &v.Entries[i]
		name := e.XMLName.Local
		if e.XMLName.Space != "" || name != "Version" && name != "DeleteMarker" {
			return b, false
		}
		b = append(b, '<')
		b = append(b, name...)
		b = append(b, '>')
		b = appendTextElem(b, "Key", e.Key)
		b = appendElem(b, "VersionId", e.VersionID)
		b = appendElem(b, "IsLatest", strconv.FormatBool(e.IsLatest))
		b = appendElem(b, "LastModified", e.LastModified)
		b = appendElemOmit(b, "ETag", e.ETag)
		if e.Size != nil {
			b = appendInt(b, "Size", *e.Size)
		}
		b = appendElemOmit(b, "StorageClass", e.StorageClass)
		b = append(b, `<Owner>`...)
		b = appendElem(b, "ID", e.Owner.ID)
		b = appendElem(b, "DisplayName", e.Owner.DisplayName)
		b = append(b, `</Owner></`...)
		b = append(b, name...)
		b = append(b, '>')
	}
	b = appendPrefixes(b, v.CommonPrefixes)
	return append(b, `</ListVersionsResult>`...), true
}

// appendListOpen and appendListTail write what both versions of
// ListBucketResult share: the opening tag, and the objects, the common
// prefixes and the closing tag.
func appendListOpen(b []byte, xmlns string) []byte {
	b = append(b, `<ListBucketResult xmlns="`...)
	b = appendEscaped(b, xmlns)
	return append(b, `">`...)
}

func appendListTail(b []byte, objs []objectXML, ps []commonPrefix) ([]byte, bool) {
	b, ok := appendContents(b, objs)
	if !ok {
		return b, false
	}
	b = appendPrefixes(b, ps)
	return append(b, `</ListBucketResult>`...), true
}

func appendContents(b []byte, objs []objectXML) ([]byte, bool) {
	n := 0
	for i := range objs {
		// The tags, a size and the owner take about 250 bytes.
		n += 250 + len(objs[i].Key) + len(objs[i].ETag)
	}
	b = slices.Grow(b, n)
	for i := range objs {
		o := &objs[i]
		if o.UserMetadata != nil {
			return b, false
		}
		b = append(b, `<Contents>`...)
		b = appendTextElem(b, "Key", o.Key)
		b = appendElem(b, "LastModified", o.LastModified)
		b = appendElem(b, "ETag", o.ETag)
		b = appendInt(b, "Size", o.Size)
		b = appendElem(b, "StorageClass", o.StorageClass)
		if o.Owner != nil {
			b = append(b, `<Owner>`...)
			b = appendElem(b, "ID", o.Owner.ID)
			b = appendElem(b, "DisplayName", o.Owner.DisplayName)
			b = append(b, `</Owner>`...)
		}
		b = append(b, `</Contents>`...)
	}
	return b, true
}

func appendPrefixes(b []byte, ps []commonPrefix) []byte {
	for _, p := range ps {
		b = append(b, `<CommonPrefixes>`...)
		b = appendTextElem(b, "Prefix", p.Prefix)
		b = append(b, `</CommonPrefixes>`...)
	}
	return b
}

// appendElem appends <name>s</name> with s escaped.
func appendElem(b []byte, name, s string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = appendEscaped(b, s)
	b = append(b, '<', '/')
	b = append(b, name...)
	return append(b, '>')
}

// appendTextElem appends <name>s</name> with s written by appendText.
func appendTextElem(b []byte, name string, s xmlText) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = appendText(b, string(s))
	b = append(b, '<', '/')
	b = append(b, name...)
	return append(b, '>')
}

// appendTextElemOmit is appendTextElem that writes nothing for "".
func appendTextElemOmit(b []byte, name string, s xmlText) []byte {
	if s == "" {
		return b
	}
	return appendTextElem(b, name, s)
}

// xmlText is user data in an XML response (keys, prefixes, markers): it
// is written by appendText, by hand or through encoding/xml.
type xmlText string

// MarshalXML writes the element with appendText's escaping (encoding/xml
// would turn control characters into U+FFFD).
func (s xmlText) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeElement(struct {
		Text []byte `xml:",innerxml"`
	}{appendText(nil, string(s))}, start)
}

// appendElemOmit is appendElem that writes nothing for "" (omitempty).
func appendElemOmit(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return appendElem(b, name, s)
}

func appendInt(b []byte, name string, n int64) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = strconv.AppendInt(b, n, 10)
	b = append(b, '<', '/')
	b = append(b, name...)
	return append(b, '>')
}

// xmlPlain marks the bytes appendEscaped copies as they are: printable
// ASCII other than the markup characters.
var xmlPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"'&<>` {
		t[c] = false
	}
	return t
}()

// appendEscaped appends s escaped as encoding/xml escapes character data:
// the five markup characters and tab, newline and carriage return as
// character references, and what XML cannot carry (other control
// characters, invalid UTF-8, U+FFFE and U+FFFF) as U+FFFD.
func appendEscaped(b []byte, s string) []byte { return appendXMLChars(b, s, false) }

// appendText appends user data (a key, prefix or marker) as S3 writes it:
// as appendEscaped does, except that control characters are character
// references (&#x1;), so a key holding one comes back as it was stored.
func appendText(b []byte, s string) []byte { return appendXMLChars(b, s, true) }

const upperHex = "0123456789ABCDEF"

// appendXMLChars is appendEscaped, or appendText when refs is set.
func appendXMLChars(b []byte, s string, refs bool) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if xmlPlain[c] {
				continue
			}
			var esc string
			switch c {
			case '"':
				esc = "&#34;"
			case '\'':
				esc = "&#39;"
			case '&':
				esc = "&amp;"
			case '<':
				esc = "&lt;"
			case '>':
				esc = "&gt;"
			case '\t':
				esc = "&#x9;"
			case '\n':
				esc = "&#xA;"
			case '\r':
				esc = "&#xD;"
			default:
				if refs && c != 0 { // no XML version can carry NUL
					b = append(b, s[last:i-1]...)
					b = append(b, "&#x"...)
					if c >= 0x10 {
						b = append(b, upperHex[c>>4])
					}
					b = append(b, upperHex[c&0xF], ';')
					last = i
					continue
				}
				esc = "\uFFFD"
			}
			b = append(b, s[last:i-1]...)
			b = append(b, esc...)
			last = i
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		i += w
		if r == utf8.RuneError && w == 1 || r == 0xFFFE || r == 0xFFFF {
			b = append(b, s[last:i-w]...)
			b = append(b, "\uFFFD"...)
			last = i
		}
	}
	return append(b, s[last:]...)
}
