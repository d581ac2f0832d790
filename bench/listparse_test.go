package bench

import (
	"encoding/xml"
	"fmt"
	"reflect"
	"testing"
)

// testPage writes a ListObjectsV2 answer the way S3 servers do (through
// encoding/xml, as AWS, MinIO and ecstore's byte-identical writer do), with
// n keys made by key(i).
func testPage(n int, truncated bool, token string, key func(int) string) []byte {
	type object struct {
		Key          string
		LastModified string
		ETag         string
		Size         int64
		StorageClass string
	}
	type prefix struct{ Prefix string }
	v := struct {
		XMLName               xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
		Name                  string
		Prefix                string
		KeyCount              int
		MaxKeys               int
		IsTruncated           bool
		NextContinuationToken string `xml:",omitempty"`
		Contents              []object
		CommonPrefixes        []prefix
	}{Name: "bucket", Prefix: "big/", KeyCount: n, MaxKeys: 1000, IsTruncated: truncated, NextContinuationToken: token}
	for i := range n {
		v.Contents = append(v.Contents, object{
			Key: key(i), LastModified: "2026-11-25T21:00:00.000Z",
			ETag: `"0cc175b9c0f1b6a831c399e269772661"`, Size: int64(i), StorageClass: "STANDARD",
		})
	}
	v.CommonPrefixes = []prefix{{"big/dir/"}}
	out, err := xml.Marshal(v)
	if err != nil {
		panic(err)
	}
	return append([]byte(xml.Header[:len(xml.Header)-1]), out...)
}

func plainKey(i int) string { return fmt.Sprintf("big/obj-%08d", i) }

// xmlPage is what encoding/xml makes of data.
func xmlPage(data []byte) (listPage, error) {
	var page listPage
	err := xml.Unmarshal(data, &page)
	return page, err
}

func TestParseListPage(t *testing.T) {
	const tok = "YmlnL29iai0wMDAwMDk5OQ=="
	for _, tc := range []struct {
		name string
		data []byte
		fast bool // scanListPage must answer (no fallback)
	}{
		{"typical page", testPage(1000, true, tok, plainKey), true},
		{"last page", testPage(3, false, "", plainKey), true},
		{"empty", testPage(0, false, "", plainKey), true},
		{"unicode keys", testPage(5, true, tok, func(i int) string { return fmt.Sprintf("δοκιμή/日本/%d/😀", i) }), true},
		{"keys with entities", testPage(5, true, tok, func(i int) string { return fmt.Sprintf("a&b<c>\"%d'", i) }), false},
		{"key with a newline", testPage(2, false, "", func(i int) string { return fmt.Sprintf("x\ny%d", i) }), false},
		{"comment", []byte(`<ListBucketResult><!-- x --><IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken><Contents><Key>k</Key></Contents></ListBucketResult>`), false},
		{"cdata key", []byte(`<ListBucketResult><Contents><Key><![CDATA[a<b]]></Key></Contents></ListBucketResult>`), false},
		{"moto's page", []byte(`<?xml version="1.0" encoding="utf-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsTruncated>true</IsTruncated><Contents><Key>a/b1.txt</Key><LastModified>2026-11-25T22:04:22.000Z</LastModified><ETag>"6520213d3695a344f306efffa2523807"</ETag><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>a/b2.txt</Key><LastModified>2026-11-25T22:04:22.000Z</LastModified><ETag>"6520213d3695a344f306efffa2523807"</ETag><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents><Name>lbtest</Name><Prefix>a/</Prefix><MaxKeys>2</MaxKeys><KeyCount>2</KeyCount><NextContinuationToken>2ab67c8dbb06d122273eb6989903e47f</NextContinuationToken></ListBucketResult>`), true},
		{"other prolog", []byte(`<?xml version='1.0'?><R><Contents><Key>k</Key></Contents></R>`), false},
		{"no prolog, spaces", []byte("\n <ListBucketResult>\n  <IsTruncated> false </IsTruncated>\n  <Contents>\n   <Key> k </Key>\n  </Contents>\n</ListBucketResult>\n"), true},
		{"self-closing", []byte(`<ListBucketResult><IsTruncated/><Contents><Key/></Contents><Contents/></ListBucketResult>`), true},
		{"nested names ignored", []byte(`<ListBucketResult><Owner><Key>no</Key><IsTruncated>true</IsTruncated></Owner><Contents><Owner><Key>no</Key></Owner><Key>yes</Key></Contents></ListBucketResult>`), true},
		{"trailing garbage", []byte(`<R><Contents><Key>k</Key></Contents></R><<<`), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := xmlPage(tc.data)
			if err != nil {
				t.Fatalf("encoding/xml: %v", err)
			}
			fast, ok := scanListPage(tc.data)
			if ok != tc.fast {
				t.Fatalf("scanListPage answered %v, want %v", ok, tc.fast)
			}
			if ok && !reflect.DeepEqual(fast, want) {
				t.Fatalf("scanListPage = %+v, encoding/xml = %+v", fast, want)
			}
			got, err := parseListPage(tc.data)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("parseListPage = %+v, %v; want %+v", got, err, want)
			}
		})
	}
	page, _ := parseListPage(testPage(1000, true, tok, plainKey))
	if len(page.Contents) != 1000 || page.Contents[999].Key != plainKey(999) || !page.IsTruncated || page.NextContinuationToken != tok {
		t.Fatalf("typical page read as %d keys, last %q, truncated %v, token %q", len(page.Contents), page.Contents[len(page.Contents)-1].Key, page.IsTruncated, page.NextContinuationToken)
	}
}

func TestParseListPageErrors(t *testing.T) {
	for _, data := range []string{
		``,
		`<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>`,
		`<ListBucketResult><Contents><Key>k</Key></ListBucketResult>`,
		`<ListBucketResult><Contents><Key>a&bogus;b</Key></Contents></ListBucketResult>`,
	} {
		if page, err := parseListPage([]byte(data)); err == nil {
			t.Errorf("parseListPage(%q) = %+v, want an error", data, page)
		}
	}
}

// FuzzParseListPage: whenever the scanner answers, encoding/xml reads the
// same document without error and to the same page.
func FuzzParseListPage(f *testing.F) {
	f.Add(testPage(3, true, "tok", plainKey))
	f.Add(testPage(2, false, "", func(i int) string { return fmt.Sprintf("a&b<%d>", i) }))
	f.Add([]byte(`<R xmlns="x"><IsTruncated>1</IsTruncated><Contents><Key>&#x41;</Key></Contents><Contents/></R>`))
	f.Add([]byte(`<R><Contents><Key>k</Key><Key>j</Key></Contents><IsTruncated> true</IsTruncated></R>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := scanListPage(data)
		got, err := parseListPage(data)
		want, xerr := xmlPage(data)
		if (err == nil) != (xerr == nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("parseListPage = %+v, %v; encoding/xml = %+v, %v", got, err, want, xerr)
		}
		if !ok {
			return
		}
		if xerr != nil {
			t.Fatalf("scanListPage read %q as %+v; encoding/xml: %v", data, fast, xerr)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("scanListPage = %+v; encoding/xml = %+v", fast, want)
		}
	})
}

// BenchmarkParseListPage: a 1000-key page, scanner against encoding/xml.
func BenchmarkParseListPage(b *testing.B) {
	data := testPage(1000, true, "YmlnL29iai0wMDAwMDk5OQ==", plainKey)
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if p, err := parseListPage(data); err != nil || len(p.Contents) != 1000 {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-xml", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if p, err := xmlPage(data); err != nil || len(p.Contents) != 1000 {
				b.Fatal(err)
			}
		}
	})
}
