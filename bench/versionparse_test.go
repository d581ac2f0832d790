package bench

import (
	"encoding/xml"
	"fmt"
	"reflect"
	"testing"
)

// testVersionsPage writes a ListObjectVersions answer the way ecstore
// (s3compat's listVersionsResult) and AWS do: Version and DeleteMarker
// elements interleaved in listing order. Entry i is for key(i/3); every
// fifth entry is a delete marker.
func testVersionsPage(n int, truncated bool, key func(int) string) []byte {
	type owner struct{ ID, DisplayName string }
	type entry struct {
		XMLName      xml.Name
		Key          string
		VersionID    string `xml:"VersionId"`
		IsLatest     bool
		LastModified string
		ETag         string `xml:",omitempty"`
		Size         *int64 `xml:",omitempty"`
		StorageClass string `xml:",omitempty"`
		Owner        owner
	}
	type prefix struct{ Prefix string }
	v := struct {
		XMLName             xml.Name `xml:"ListVersionsResult"`
		Xmlns               string   `xml:"xmlns,attr"`
		Name                string
		Prefix              string
		KeyMarker           string
		VersionIDMarker     string `xml:"VersionIdMarker"`
		NextKeyMarker       string `xml:",omitempty"`
		NextVersionIDMarker string `xml:"NextVersionIdMarker,omitempty"`
		MaxKeys             int
		IsTruncated         bool
		Entries             []entry
		CommonPrefixes      []prefix
	}{Xmlns: "http://s3.amazonaws.com/doc/2006-03-01/", Name: "bucket", Prefix: "big/", MaxKeys: 1000, IsTruncated: truncated}
	for i := range n {
		e := entry{Key: key(i / 3), VersionID: fmt.Sprintf("%08x-7e5f-40fc-a512-b5f5bb430ab1", i), IsLatest: i%3 == 0,
			LastModified: "2026-12-06T14:00:00.000Z", Owner: owner{"02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4", "ecstore"}}
		if i%5 == 4 {
			e.XMLName.Local = "DeleteMarker"
		} else {
			size := int64(i)
			e.XMLName.Local, e.ETag, e.Size, e.StorageClass = "Version", `"0cc175b9c0f1b6a831c399e269772661"`, &size, "STANDARD"
		}
		v.Entries = append(v.Entries, e)
	}
	if truncated && n > 0 {
		last := v.Entries[n-1]
		v.NextKeyMarker, v.NextVersionIDMarker = last.Key, last.VersionID
	}
	out, err := xml.Marshal(v)
	if err != nil {
		panic(err)
	}
	return append([]byte(xml.Header[:len(xml.Header)-1]), out...)
}

func TestParseVersionsPage(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		fast bool // scanVersionsPage must answer (no fallback)
	}{
		{"typical page", testVersionsPage(1000, true, plainKey), true},
		{"last page", testVersionsPage(7, false, plainKey), true},
		{"empty", testVersionsPage(0, false, plainKey), true},
		{"unicode keys", testVersionsPage(5, true, func(i int) string { return fmt.Sprintf("δοκιμή/日本/%d/😀", i) }), true},
		{"keys with entities", testVersionsPage(5, true, func(i int) string { return fmt.Sprintf("a&b<c>\"%d'", i) }), false},
		{"key with a newline", testVersionsPage(2, false, func(i int) string { return fmt.Sprintf("x\ny%d", i) }), false},
		{"comment", []byte(`<ListVersionsResult><!-- x --><IsTruncated>true</IsTruncated><Version><Key>k</Key></Version></ListVersionsResult>`), false},
		{"cdata version id", []byte(`<ListVersionsResult><Version><Key>k</Key><VersionId><![CDATA[a<b]]></VersionId></Version></ListVersionsResult>`), false},
		{"two keys in one version", []byte(`<R><Version><Key>k</Key><Key>j</Key></Version></R>`), false},
		{"two version ids", []byte(`<R><DeleteMarker><VersionId>1</VersionId><VersionId>2</VersionId></DeleteMarker></R>`), false},
		{"two next key markers", []byte(`<R><NextKeyMarker>a</NextKeyMarker><NextKeyMarker>b</NextKeyMarker></R>`), false},
		{"markers first, no prolog, spaces", []byte("\n <ListVersionsResult>\n  <NextKeyMarker>k </NextKeyMarker><NextVersionIdMarker> v</NextVersionIdMarker>\n  <IsTruncated> true </IsTruncated>\n  <DeleteMarker>\n   <Key> k </Key><VersionId>v</VersionId>\n  </DeleteMarker>\n</ListVersionsResult>\n"), true},
		{"self-closing", []byte(`<R><IsTruncated/><Version><Key/><VersionId/></Version><DeleteMarker/><NextKeyMarker/></R>`), true},
		{"nested names ignored", []byte(`<R><Owner><Key>no</Key><Version><Key>no</Key></Version></Owner><Version><Owner><Key>no</Key><VersionId>no</VersionId></Owner><Key>yes</Key></Version><Contents><Key>no</Key></Contents></R>`), true},
		{"trailing garbage", []byte(`<R><Version><Key>k</Key></Version></R><<<`), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := xmlVersions(tc.data)
			if err != nil {
				t.Fatalf("encoding/xml: %v", err)
			}
			fast, ok := scanVersionsPage(tc.data)
			if ok != tc.fast {
				t.Fatalf("scanVersionsPage answered %v, want %v", ok, tc.fast)
			}
			if ok && !reflect.DeepEqual(fast, want) {
				t.Fatalf("scanVersionsPage = %+v, encoding/xml = %+v", fast, want)
			}
			got, err := parseVersionsPage(tc.data)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("parseVersionsPage = %+v, %v; want %+v", got, err, want)
			}
		})
	}
	page, _ := parseVersionsPage(testVersionsPage(1000, true, plainKey))
	last := page.Entries[len(page.Entries)-1]
	if len(page.Entries) != 1000 || !page.IsTruncated || last.Key != plainKey(333) || !last.DeleteMarker ||
		page.Entries[0].DeleteMarker || page.NextKeyMarker != last.Key || page.NextVersionIDMarker != last.VersionID || last.VersionID == "" {
		t.Fatalf("typical page read as %d entries, last %+v, truncated %v, next %q %q", len(page.Entries), last, page.IsTruncated, page.NextKeyMarker, page.NextVersionIDMarker)
	}
}

func TestParseVersionsPageErrors(t *testing.T) {
	for _, data := range []string{
		``,
		`<ListVersionsResult><IsTruncated>maybe</IsTruncated></ListVersionsResult>`,
		`<ListVersionsResult><Version><Key>k</Key></ListVersionsResult>`,
		`<ListVersionsResult><DeleteMarker><Key>a&bogus;b</Key></DeleteMarker></ListVersionsResult>`,
	} {
		if page, err := parseVersionsPage([]byte(data)); err == nil {
			t.Errorf("parseVersionsPage(%q) = %+v, want an error", data, page)
		}
	}
}

// FuzzParseVersionsPage: whenever the scanner answers, encoding/xml reads
// the same document without error and to the same page.
func FuzzParseVersionsPage(f *testing.F) {
	f.Add(testVersionsPage(6, true, plainKey))
	f.Add(testVersionsPage(2, false, func(i int) string { return fmt.Sprintf("a&b<%d>", i) }))
	f.Add([]byte(`<R xmlns="x"><IsTruncated>1</IsTruncated><DeleteMarker><Key>&#x41;</Key></DeleteMarker><Version/></R>`))
	f.Add([]byte(`<R><Version><Key>k</Key><Key>j</Key></Version><NextKeyMarker>k</NextKeyMarker><IsTruncated> true</IsTruncated></R>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := scanVersionsPage(data)
		got, err := parseVersionsPage(data)
		want, xerr := xmlVersions(data)
		if (err == nil) != (xerr == nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("parseVersionsPage = %+v, %v; encoding/xml = %+v, %v", got, err, want, xerr)
		}
		if !ok {
			return
		}
		if xerr != nil {
			t.Fatalf("scanVersionsPage read %q as %+v; encoding/xml: %v", data, fast, xerr)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("scanVersionsPage = %+v; encoding/xml = %+v", fast, want)
		}
	})
}

// BenchmarkParseVersionsPage: a 1000-entry page, scanner against
// encoding/xml.
func BenchmarkParseVersionsPage(b *testing.B) {
	data := testVersionsPage(1000, true, plainKey)
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if p, err := parseVersionsPage(data); err != nil || len(p.Entries) != 1000 {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-xml", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if p, err := xmlVersions(data); err != nil || len(p.Entries) != 1000 {
				b.Fatal(err)
			}
		}
	})
}
