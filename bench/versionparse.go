package bench

import (
	"bytes"
	"encoding/xml"
)

// versionsPage is the part of a ListObjectVersions answer bench reads.
type versionsPage struct {
	IsTruncated         bool
	NextKeyMarker       string
	NextVersionIDMarker string
	// Entries are the page's <Version> and <DeleteMarker> elements, in
	// the order of the document (a key's newest first).
	Entries []versionEntry
}

// versionEntry is one <Version> or <DeleteMarker> of a page.
type versionEntry struct {
	Key, VersionID string
	DeleteMarker   bool
}

// xmlVersionsPage is versionsPage as encoding/xml reads it: every child of
// the root that is not one of the three named fields lands in Any, in
// document order, so versions and delete markers keep their interleaving.
type xmlVersionsPage struct {
	IsTruncated         bool
	NextKeyMarker       string
	NextVersionIDMarker string `xml:"NextVersionIdMarker"`
	Any                 []struct {
		XMLName   xml.Name
		Key       string
		VersionID string `xml:"VersionId"`
	} `xml:",any"`
}

// xmlVersions decodes a ListObjectVersions answer with encoding/xml.
func xmlVersions(data []byte) (versionsPage, error) {
	var x xmlVersionsPage
	if err := xml.Unmarshal(data, &x); err != nil {
		return versionsPage{}, err
	}
	page := versionsPage{IsTruncated: x.IsTruncated, NextKeyMarker: x.NextKeyMarker, NextVersionIDMarker: x.NextVersionIDMarker}
	for _, e := range x.Any {
		if dm := e.XMLName.Local == "DeleteMarker"; dm || e.XMLName.Local == "Version" {
			page.Entries = append(page.Entries, versionEntry{Key: e.Key, VersionID: e.VersionID, DeleteMarker: dm})
		}
	}
	return page, nil
}

// parseVersionsPage decodes a ListObjectVersions answer: the plain pages
// S3 servers send through scanVersionsPage, anything it does not fully
// understand through encoding/xml (as parseListPage does; a 1000-version
// page is about 400 KB). FuzzParseVersionsPage checks that the two agree
// whenever the scanner answers.
func parseVersionsPage(data []byte) (versionsPage, error) {
	if page, ok := scanVersionsPage(data); ok {
		return page, nil
	}
	return xmlVersions(data)
}

// scanVersionsPage reads the fields of versionsPage under scanListPage's
// rules; false means "ask encoding/xml".
func scanVersionsPage(data []byte) (versionsPage, bool) {
	var s versionsScan
	if !scanPage(data, &s) {
		return versionsPage{}, false
	}
	return s.page, true
}

// versionsScan is scanVersionsPage's result so far.
type versionsScan struct {
	page                                versionsPage
	haveTrunc, haveNextKey, haveNextVID bool
	haveKey, haveVID                    bool // in the open entry
}

// isEntry reports whether name is a <Version> or a <DeleteMarker>.
func isEntry(name []byte) bool {
	return string(name) == "Version" || string(name) == "DeleteMarker"
}

// isField: IsTruncated, NextKeyMarker or NextVersionIdMarker under the
// root; Key or VersionId under an entry under the root.
func (*versionsScan) isField(stack [][]byte) bool {
	switch len(stack) {
	case 2:
		n := string(stack[1])
		return n == "IsTruncated" || n == "NextKeyMarker" || n == "NextVersionIdMarker"
	case 3:
		n := string(stack[2])
		return isEntry(stack[1]) && (n == "Key" || n == "VersionId")
	}
	return false
}

// start opens an entry, and refuses a second Key or VersionId in one.
func (s *versionsScan) start(stack [][]byte) bool {
	switch {
	case len(stack) == 2 && isEntry(stack[1]):
		s.page.Entries = append(s.page.Entries, versionEntry{DeleteMarker: string(stack[1]) == "DeleteMarker"})
		s.haveKey, s.haveVID = false, false
	case len(stack) == 3 && s.isField(stack):
		seen := &s.haveKey
		if string(stack[2]) == "VersionId" {
			seen = &s.haveVID
		}
		if *seen {
			return false
		}
		*seen = true
	}
	return true
}

// field stores a field's text; false for text to unescape, a field given
// twice, an IsTruncated that is not a boolean.
func (s *versionsScan) field(name, text []byte) bool {
	if bytes.IndexByte(text, '&') >= 0 {
		return false
	}
	switch string(name) {
	case "IsTruncated":
		return boolField(text, &s.page.IsTruncated, &s.haveTrunc)
	case "NextKeyMarker":
		return stringField(text, &s.page.NextKeyMarker, &s.haveNextKey)
	case "NextVersionIdMarker":
		return stringField(text, &s.page.NextVersionIDMarker, &s.haveNextVID)
	case "Key":
		s.page.Entries[len(s.page.Entries)-1].Key = string(text)
	case "VersionId":
		s.page.Entries[len(s.page.Entries)-1].VersionID = string(text)
	}
	return true
}
