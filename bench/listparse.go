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
// 200 KB of XML, and encoding/xml takes several milliseconds of CPU on it:
// on a shared machine, more than the server's work for the page. So the
// plain pages S3 servers send are read by scanListPage, which looks only
// at the three fields bench needs, and anything it does not fully
// understand (entities in those fields, comments, CDATA, namespaces prefixes, attributes
// other than xmlns, odd nesting) goes to encoding/xml; FuzzParseListPage
// checks that the two agree whenever the scanner answers.
func parseListPage(data []byte) (listPage, error) {
	if page, ok := scanListPage(data); ok {
		return page, nil
	}
	var page listPage
	err := xml.Unmarshal(data, &page)
	return page, err
}

// xmlProlog is the one XML declaration scanListPage accepts.
const xmlProlog = `<?xml version="1.0" encoding="UTF-8"?>`

// scanListPage reads the fields of listPage from a well-formed document
// made only of elements without attributes (but xmlns) and of text without
// control characters, where the fields bench reads hold no entity. It reports false, meaning "ask
// encoding/xml", for anything else.
func scanListPage(data []byte) (page listPage, ok bool) {
	p := data
	skipSpace := func() {
		for len(p) > 0 && isSpace(p[0]) {
			p = p[1:]
		}
	}
	skipSpace()
	if bytes.HasPrefix(p, []byte(xmlProlog)) {
		p = p[len(xmlProlog):]
		skipSpace()
	}
	var (
		stack    [][]byte // names of the open elements
		text     []byte   // the text of the element just opened
		haveTok  bool
		haveTrun bool
		haveKey  bool // the open Contents already has a Key
	)
	for {
		// Text up to the next tag: only plain characters are accepted.
		i := bytes.IndexByte(p, '<')
		if i < 0 {
			return listPage{}, false
		}
		if len(stack) == 0 && i > 0 {
			return listPage{}, false // text before the root
		}
		if !plainText(p[:i]) {
			return listPage{}, false
		}
		chunk := p[:i]
		p = p[i+1:]
		if len(p) == 0 {
			return listPage{}, false
		}
		if p[0] == '/' { // end tag
			name, rest, good := tagName(p[1:])
			if !good || len(rest) == 0 || rest[0] != '>' || len(stack) == 0 || !bytes.Equal(name, stack[len(stack)-1]) {
				return listPage{}, false
			}
			p = rest[1:]
			// text != nil: the element closing had no children, so chunk
			// is its whole text.
			if !endElement(&page, stack, chunk, text != nil, &haveTok, &haveTrun, &haveKey) {
				return listPage{}, false
			}
			text = nil
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return page, true // encoding/xml reads no further either
			}
			continue
		}
		// Start tag.
		name, rest, good := tagName(p)
		if !good {
			return listPage{}, false
		}
		rest, selfClosing, good := tagEnd(rest)
		if !good {
			return listPage{}, false
		}
		p = rest
		if text != nil && isTarget(stack) {
			return listPage{}, false // a field element with children
		}
		stack = append(stack, name)
		if len(stack) == 3 && string(stack[1]) == "Contents" && string(name) == "Key" && haveKey {
			return listPage{}, false // two keys in one Contents
		}
		if len(stack) == 2 && string(name) == "Contents" {
			page.Contents = append(page.Contents, struct{ Key string }{})
			haveKey = false
		}
		text = []byte{}
		if selfClosing {
			if !endElement(&page, stack, nil, true, &haveTok, &haveTrun, &haveKey) {
				return listPage{}, false
			}
			text = nil
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return page, true
			}
		}
	}
}

// isTarget reports whether the innermost open element is one whose text
// bench reads.
func isTarget(stack [][]byte) bool {
	switch len(stack) {
	case 2:
		n := string(stack[1])
		return n == "IsTruncated" || n == "NextContinuationToken"
	case 3:
		return string(stack[1]) == "Contents" && string(stack[2]) == "Key"
	}
	return false
}

// endElement stores the text of the innermost element, if it is a field,
// as it closes. leaf says the element had no children, so chunk is its
// whole text.
func endElement(page *listPage, stack [][]byte, chunk []byte, leaf bool, haveTok, haveTrun, haveKey *bool) bool {
	if !isTarget(stack) {
		return true
	}
	if !leaf || bytes.IndexByte(chunk, '&') >= 0 {
		return false // children, or text to unescape: encoding/xml's job
	}
	switch string(stack[len(stack)-1]) {
	case "IsTruncated":
		if *haveTrun {
			return false
		}
		*haveTrun = true
		t := bytes.TrimSpace(chunk)
		if len(t) == 0 {
			page.IsTruncated = false
			return true
		}
		v, err := strconv.ParseBool(string(t))
		if err != nil {
			return false
		}
		page.IsTruncated = v
	case "NextContinuationToken":
		if *haveTok {
			return false
		}
		*haveTok = true
		page.NextContinuationToken = string(chunk)
	case "Key":
		*haveKey = true
		page.Contents[len(page.Contents)-1].Key = string(chunk)
	}
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

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
