package s3compat

import (
	"encoding/xml"
	"testing"
)

// FuzzRequestXML feeds arbitrary bodies to the XML request decoders: they
// must never panic, and what they accept must survive a round trip.
func FuzzRequestXML(f *testing.F) {
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"a"</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<Delete><Quiet>true</Quiet><Object><Key>a/../b</Key></Object><Object><Key>c</Key><VersionId>null</VersionId></Object></Delete>`))
	f.Add([]byte(`<CreateBucketConfiguration><LocationConstraint>eu</LocationConstraint></CreateBucketConfiguration>`))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Delete><Object><Key>&a;</Key></Object></Delete>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var c completeMultipartUpload
		if xml.Unmarshal(body, &c) == nil {
			if _, err := xml.Marshal(c); err != nil {
				t.Fatalf("accepted complete body does not marshal: %v", err)
			}
		}
		var d deleteRequest
		if xml.Unmarshal(body, &d) == nil {
			for _, o := range d.Objects {
				_ = checkKey(o.Key)
			}
		}
	})
}
