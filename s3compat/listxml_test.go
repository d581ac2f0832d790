package s3compat

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
)

// xmlTestStrings mix plain text with everything encoding/xml escapes or
// replaces: markup characters, tab/newline/return, other control bytes,
// invalid UTF-8, U+FFFD, U+FFFE/U+FFFF, surrogate encodings, 4-byte runes.
var xmlTestStrings = []string{
	"", "a", "photos/2024/img 001.jpg", `<&>"'`, "tab\there", "nl\nx\r\n", "\x00\x01\x1f\x7f",
	"\xff\xfe", "caf\xc3", "\uFFFD", "\uFFFE\uFFFF", "\xed\xa0\x80", "日本語/🎉", "a&amp;b", "]]>",
}

func randXMLString(r *rand.Rand) string {
	var b []byte
	for range r.IntN(4) {
		b = append(b, xmlTestStrings[r.IntN(len(xmlTestStrings))]...)
	}
	if r.IntN(3) == 0 {
		for range r.IntN(8) {
			b = append(b, byte(r.IntN(256)))
		}
	}
	return string(b)
}

func randObjects(r *rand.Rand) []objectXML {
	var out []objectXML
	for range r.IntN(5) {
		o := objectXML{Key: xmlText(randXMLString(r)), LastModified: timeISO(time.Unix(r.Int64N(1<<34), 0)),
			ETag: `"` + randXMLString(r) + `"`, Size: r.Int64N(1<<40) - 5, StorageClass: "STANDARD"}
		if r.IntN(2) == 0 {
			ow := owner{ID: randXMLString(r), DisplayName: randXMLString(r)}
			o.Owner = &ow
		}
		out = append(out, o)
	}
	return out
}

func randPrefixes(r *rand.Rand) []commonPrefix {
	var out []commonPrefix
	for range r.IntN(3) {
		out = append(out, commonPrefix{Prefix: xmlText(randXMLString(r))})
	}
	return out
}

func randVersionsResult(r *rand.Rand) listVersionsResult {
	v := listVersionsResult{
		Xmlns: s3NS, Name: randXMLString(r), Prefix: xmlText(randXMLString(r)), KeyMarker: xmlText(randXMLString(r)),
		VersionIDMarker: randXMLString(r), NextKeyMarker: xmlText(randXMLString(r)), NextVersionIDMarker: randXMLString(r),
		MaxKeys: r.IntN(2000), Delimiter: xmlText(randXMLString(r)), IsTruncated: r.IntN(2) == 0, EncodingType: randXMLString(r),
		CommonPrefixes: randPrefixes(r),
	}
	for range r.IntN(5) {
		e := versionXML{Key: xmlText(randXMLString(r)), VersionID: randXMLString(r), IsLatest: r.IntN(2) == 0,
			LastModified: timeISO(time.Unix(r.Int64N(1<<34), 0)), Owner: owner{ID: randXMLString(r), DisplayName: randXMLString(r)}}
		if r.IntN(3) == 0 {
			e.XMLName.Local = "DeleteMarker"
		} else {
			size := r.Int64N(1<<40) - 5
			e.XMLName.Local, e.ETag, e.Size, e.StorageClass = "Version", `"`+randXMLString(r)+`"`, &size, randXMLString(r)
		}
		v.Entries = append(v.Entries, e)
	}
	return v
}

// TestListXMLMatchesEncodingXML: the hand-written listing bodies are byte
// for byte what xml.Marshal writes.
func TestListXMLMatchesEncodingXML(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		var v any
		if i%3 == 2 {
			v = randVersionsResult(r)
		} else if i%2 == 0 {
			v = listBucketResultV2{
				Xmlns: s3NS, Name: randXMLString(r), Prefix: xmlText(randXMLString(r)), StartAfter: xmlText(randXMLString(r)),
				ContinuationToken: randXMLString(r), NextContinuationToken: randXMLString(r),
				KeyCount: r.IntN(2000) - 1, MaxKeys: r.IntN(2000), Delimiter: xmlText(randXMLString(r)),
				IsTruncated: r.IntN(2) == 0, EncodingType: randXMLString(r),
				Contents: randObjects(r), CommonPrefixes: randPrefixes(r),
			}
		} else {
			v = listBucketResultV1{
				Xmlns: s3NS, Name: randXMLString(r), Prefix: xmlText(randXMLString(r)), Marker: xmlText(randXMLString(r)),
				NextMarker: xmlText(randXMLString(r)), MaxKeys: r.IntN(2000), Delimiter: xmlText(randXMLString(r)),
				IsTruncated: r.IntN(2) == 0, EncodingType: randXMLString(r),
				Contents: randObjects(r), CommonPrefixes: randPrefixes(r),
			}
		}
		want, err := xml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := v.(xmlAppender).appendXML(nil)
		if !ok {
			t.Fatalf("case %d: the hand-written path refused %+v", i, v)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d:\n got %q\nwant %q", i, got, want)
		}
	}
}

// TestListXMLMetadataFallsBack: entries with MinIO's metadata extension are
// left to encoding/xml.
func TestListXMLMetadataFallsBack(t *testing.T) {
	v := listBucketResultV2{Xmlns: s3NS, Name: "b", Contents: []objectXML{{Key: "k", UserMetadata: listMetadata(s3api.ObjectInfo{
		UserMeta: map[string]string{"color": "blue"}, ContentType: "text/plain"})}}}
	if _, ok := v.appendXML(nil); ok {
		t.Fatal("the hand-written path took an entry with user metadata")
	}
	got, err := (&Server{}).marshalXML(v)
	want, _ := xml.Marshal(v)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("marshalXML = %q, %v; want %q", got, err, want)
	}
}

// BenchmarkListXML encodes a 1000-key ListObjectsV2 page by hand and with
// encoding/xml.
func BenchmarkListXML(b *testing.B) {
	v := listBucketResultV2{Xmlns: s3NS, Name: "bucket", Prefix: "photos/", MaxKeys: 1000, KeyCount: 1000, IsTruncated: true,
		NextContinuationToken: "cGhvdG9zLzAwMDAwOTk5"}
	for i := range 1000 {
		v.Contents = append(v.Contents, objectXML{Key: xmlText(fmt.Sprintf("photos/%08d.jpg", i)), LastModified: "2026-11-25T18:45:48.261Z",
			ETag: `"9dd4e461268c8034f5c8564e155c67a6"`, Size: 3 << 20, StorageClass: "STANDARD"})
	}
	b.Run("Hand", func(b *testing.B) {
		s := &Server{}
		b.ReportAllocs()
		for b.Loop() {
			out, err := s.marshalXML(v)
			if err != nil {
				b.Fatal(err)
			}
			s.recycleXML(out)
		}
	})
	b.Run("EncodingXML", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := xml.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
