package s3compat

import (
	"encoding/xml"
	"slices"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// FuzzParseTagging feeds arbitrary bodies to the PutBucketTagging parser:
// it must never panic; what it accepts keeps S3's rules and survives a
// round trip through GetBucketTagging's XML.
func FuzzParseTagging(f *testing.F) {
	f.Add([]byte(taggingBody("team", "storage", "env", "")))
	f.Add([]byte(`<Tagging><TagSet/></Tagging>`))
	f.Add([]byte(`<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>`))
	f.Add([]byte(`<Tagging><TagSet><Tag><Key>aws:x</Key><Value>v</Value></Tag></TagSet></Tagging>`))
	f.Add([]byte(`<Tagging><TagSet><Tag><Key>k&amp;&#x9;&lt;</Key><Value>é日</Value></Tag></TagSet></Tagging>`))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Tagging><TagSet><Tag><Key>&a;</Key><Value/></Tag></TagSet></Tagging>`))
	f.Add([]byte(`<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tags, err := parseTagging(body, s3api.MaxBucketTags)
		if err != nil {
			if _, known := toAPIError(err); !known {
				t.Fatalf("an error outside the S3 table: %v", err)
			}
			return
		}
		if err := s3api.CheckTags(tags, s3api.MaxBucketTags); err != nil {
			t.Fatalf("accepted tags break the rules: %v", err)
		}
		out := taggingXML{Xmlns: s3NS}
		for _, tg := range tags {
			out.TagSet = append(out.TagSet, tagXML{Key: xmlText(tg.Key), Value: xmlText(tg.Value)})
		}
		if len(out.TagSet) == 0 {
			return // answered NoSuchTagSet, not a document
		}
		data, err := xml.Marshal(out)
		if err != nil {
			t.Fatalf("accepted tags do not marshal: %v", err)
		}
		again, err := parseTagging(data, s3api.MaxBucketTags)
		if err != nil || !slices.Equal(again, tags) {
			t.Fatalf("round trip: %q -> %s -> %q, %v", tags, data, again, err)
		}
	})
}
