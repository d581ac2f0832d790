package bench

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"unicode/utf8"
)

// listPage is the part of a ListObjectsV2 answer bench reads.
type listPage struct {
	IsTruncated           bool
	NextContinuationToken string
	Contents              []struct{ Key string }
}

// parseListPage decodes a ListObjectsV2 answer. A 1000-key page is about
// 200 KB of XML, and encoding/xml takes 5–9 ms of CPU and 49,000
// allocations on it, about as much as the server's work for the page, on
// the CPUs bench shares with a local server. So the plain pages S3 servers
// send are read by scanListPage, which looks only at the three fields
// bench needs (0.35 ms), and anything it does not fully understand
// (entities in those fields, comments, CDATA, namespace prefixes,
// attributes other than xmlns, odd nesting) goes to encoding/xml;
// FuzzParseListPage checks that the two agree whenever the scanner
// answers.
func parseListPage(data []byte) (listPage, error) {
	if page, ok := scanListPage(data); ok {
		return page, nil
	}
	var page listPage
	err := xml.Unmarshal(data, &page)
	return page, err
}

// xmlProlog is the XML declaration scanListPage accepts, in either
// spelling of the encoding: "UTF-8" (AWS, MinIO, ecstore) and "utf-8"
// (moto), which encoding/xml takes alike.
var xmlProlog = [][]byte{
	[]byte(`<?xml version="1.0" encoding="UTF-8"?>`),
	[]byte(`<?xml version="1.0" encoding="utf-8"?>`),
}

// scanListPage reads the fields of listPage from a well-formed document
// made only of elements without attributes (but xmlns) and of text without
// control characters, where the fields bench reads hold no entity and no
// child element. It reports false, meaning "ask encoding/xml", for
// anything else.
func scanListPage(data []byte) (listPage, bool) {
	var s pageScan
	if !scanPage(data, &s) {
		return listPage{}, false
	}
	return s.page, true
}

// pageFields is what scanPage reads from one kind of page: which elements
// are fields (whose text it reads), and what to do as an element starts
// and as a field ends.
type pageFields interface {
	// isField reports whether the innermost open element (the last name
	// of stack, the root first) is a field.
	isField(stack [][]byte) bool
	// start notes the element that stack's last name opens; false means
	// "ask encoding/xml".
	start(stack [][]byte) bool
	// field stores the text of a field as it ends; false means "ask
	// encoding/xml".
	field(name, text []byte) bool
}

// scanPage walks the document for f under the rules of scanListPage,
// reporting false for anything it does not fully understand.
func scanPage(data []byte, f pageFields) bool {
	p := bytes.TrimLeft(data, " \t\r\n")
	for _, prolog := range xmlProlog {
		if rest, ok := bytes.CutPrefix(p, prolog); ok {
			p = bytes.TrimLeft(rest, " \t\r\n")
			break
		}
	}
	var stack [][]byte // names of the open elements
	for {
		// Text up to the next tag.
		i := bytes.IndexByte(p, '<')
		if i < 0 || len(stack) == 0 && i > 0 || !plainText(p[:i]) || i+1 == len(p) {
			return false
		}
		text := p[:i]
		p = p[i+1:]
		if p[0] == '/' { // end tag
			name, rest, good := tagName(p[1:])
			if !good || len(rest) == 0 || rest[0] != '>' || len(stack) == 0 || !bytes.Equal(name, stack[len(stack)-1]) {
				return false
			}
			p = rest[1:]
		} else { // start tag
			if f.isField(stack) {
				return false // a field with a child element
			}
			name, rest, good := tagName(p)
			if !good {
				return false
			}
			var selfClosing bool
			if p, selfClosing, good = tagEnd(rest); !good {
				return false
			}
			stack = append(stack, name)
			if !f.start(stack) {
				return false
			}
			if !selfClosing {
				continue
			}
			text = nil
		}
		// The innermost element ends; a field has no children, so text is
		// its whole text.
		if f.isField(stack) && !f.field(stack[len(stack)-1], text) {
			return false
		}
		stack = stack[:len(stack)-1]
		if len(stack) == 0 {
			return true // encoding/xml reads no further either
		}
	}
}

// pageScan is scanListPage's result so far.
type pageScan struct {
	page                        listPage
	haveTrunc, haveTok, haveKey bool // haveKey: in the open Contents
}

// start notes the element that stack's last name opens. It reports false
// for a second Key in one Contents.
func (s *pageScan) start(stack [][]byte) bool {
	switch {
	case len(stack) == 2 && string(stack[1]) == "Contents":
		s.page.Contents = append(s.page.Contents, struct{ Key string }{})
		s.haveKey = false
	case len(stack) == 3 && s.isField(stack): // a Key
		if s.haveKey {
			return false
		}
		s.haveKey = true
	}
	return true
}

// field stores the text of a field as it ends. It reports false for what
// encoding/xml should decide: text to unescape, a field given twice, an
// IsTruncated that is not a boolean.
func (s *pageScan) field(name, text []byte) bool {
	if bytes.IndexByte(text, '&') >= 0 {
		return false
	}
	switch string(name) {
	case "IsTruncated":
		return boolField(text, &s.page.IsTruncated, &s.haveTrunc)
	case "NextContinuationToken":
		return stringField(text, &s.page.NextContinuationToken, &s.haveTok)
	case "Key":
		s.page.Contents[len(s.page.Contents)-1].Key = string(text)
	}
	return true
}

// isField reports whether the innermost open element is one whose text
// bench reads: IsTruncated or NextContinuationToken under the root, Key
// under a Contents under the root.
func (*pageScan) isField(stack [][]byte) bool {
	switch len(stack) {
	case 2:
		n := string(stack[1])
		return n == "IsTruncated" || n == "NextContinuationToken"
	case 3:
		return string(stack[1]) == "Contents" && string(stack[2]) == "Key"
	}
	return false
}

// boolField reads a boolean field as encoding/xml does (spaces trimmed,
// empty is false), once: false for a second one or text that is not a
// boolean.
func boolField(text []byte, v, seen *bool) bool {
	if *seen {
		return false
	}
	*seen = true
	t := bytes.TrimSpace(text)
	if len(t) == 0 {
		*v = false
		return true
	}
	b, err := strconv.ParseBool(string(t))
	if err != nil {
		return false
	}
	*v = b
	return true
}

// stringField reads a text field, once: false for a second one.
func stringField(text []byte, v *string, seen *bool) bool {
	if *seen {
		return false
	}
	*seen = true
	*v = string(text)
	return true
}

// tagName splits a plain element name (letters, digits, '_', '-', '.'; no
// namespace prefix) off the front of p.
func tagName(p []byte) (name, rest []byte, ok bool) {
	n := 0
	for n < len(p) {
		c := p[n]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' ||
			n > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.') {
			n++
			continue
		}
		break
	}
	return p[:n], p[n:], n > 0
}

// tagEnd reads the end of a start tag: '>' or "/>", optionally after one
// xmlns="..." attribute.
func tagEnd(p []byte) (rest []byte, selfClosing, ok bool) {
	const attr = ` xmlns="`
	if bytes.HasPrefix(p, []byte(attr)) {
		p = p[len(attr):]
		q := bytes.IndexByte(p, '"')
		if q < 0 || !plainText(p[:q]) || bytes.IndexByte(p[:q], '<') >= 0 {
			return nil, false, false
		}
		p = p[q+1:]
	}
	switch {
	case len(p) > 0 && p[0] == '>':
		return p[1:], false, true
	case len(p) > 1 && p[0] == '/' && p[1] == '>':
		return p[2:], true, true
	}
	return nil, false, false
}

// plainText reports whether t is text that encoding/xml accepts and, apart
// from the entities and character references it may hold (the five named
// ones, and references to printable ASCII), returns as it is: no carriage
// return (which encoding/xml normalises), only characters XML allows.
func plainText(t []byte) bool {
	for i := 0; i < len(t); {
		c := t[i]
		if c < utf8.RuneSelf {
			if c == '&' {
				n := entityLen(t[i:])
				if n == 0 {
					return false
				}
				i += n
				continue
			}
			if c < 0x20 && c != '\t' && c != '\n' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(t[i:])
		if r == utf8.RuneError && n == 1 || !xmlChar(r) {
			return false
		}
		i += n
	}
	return true
}

// entityLen returns the length of the entity or character reference at the
// start of t ("&amp;", "&#34;", "&#x41;"), or 0 if it is not one of those
// plainText accepts.
func entityLen(t []byte) int {
	end := bytes.IndexByte(t[:min(len(t), 10)], ';')
	if end < 2 {
		return 0
	}
	name := string(t[1:end])
	switch name {
	case "amp", "lt", "gt", "quot", "apos":
		return end + 1
	}
	if name[0] != '#' || len(name) < 2 {
		return 0
	}
	var v uint64
	var err error
	if name[1] == 'x' {
		if len(name) < 3 {
			return 0
		}
		v, err = strconv.ParseUint(name[2:], 16, 8)
	} else {
		v, err = strconv.ParseUint(name[1:], 10, 8)
	}
	if err != nil || v < 0x20 || v > 0x7e {
		return 0
	}
	return end + 1
}

// xmlChar reports whether r is in XML 1.0's Char range (above ASCII).
func xmlChar(r rune) bool {
	return r >= 0x80 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
