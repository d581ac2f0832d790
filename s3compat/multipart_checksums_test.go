package s3compat

import (
	"errors"
	"net/http"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

func TestFinalChecksumParse(t *testing.T) {
	crc := "AAAAAA=="
	for _, tc := range []struct {
		hdr  http.Header
		want s3api.FinalChecksum
		err  error
	}{
		{http.Header{}, s3api.FinalChecksum{}, nil},
		{http.Header{"X-Amz-Checksum-Crc32": {crc}}, s3api.FinalChecksum{Algo: "CRC32", Value: crc}, nil},
		{http.Header{"X-Amz-Checksum-Crc32c": {crc + "-3"}, "X-Amz-Checksum-Type": {"composite"}}, s3api.FinalChecksum{Algo: "CRC32C", Value: crc + "-3", Type: s3api.ChecksumComposite}, nil},
		{http.Header{"X-Amz-Checksum-Type": {"FULL_OBJECT"}}, s3api.FinalChecksum{Type: s3api.ChecksumFullObject}, nil},
		{http.Header{"X-Amz-Checksum-Type": {"PARTIAL"}}, s3api.FinalChecksum{}, s3api.ErrInvalidRequest},
		{http.Header{"X-Amz-Checksum-Crc32": {"AAAA"}}, s3api.FinalChecksum{}, s3api.ErrInvalidRequest},       // 3 bytes
		{http.Header{"X-Amz-Checksum-Crc32": {crc + "-0"}}, s3api.FinalChecksum{}, s3api.ErrInvalidRequest},   // no parts
		{http.Header{"X-Amz-Checksum-Crc32": {crc + "-x"}}, s3api.FinalChecksum{}, s3api.ErrInvalidRequest},   // not a count
		{http.Header{"X-Amz-Checksum-Sha1": {"not base64!"}}, s3api.FinalChecksum{}, s3api.ErrInvalidRequest}, // not base64
		{http.Header{"X-Amz-Checksum-Crc32": {crc}, "X-Amz-Checksum-Crc32c": {crc}}, s3api.FinalChecksum{}, s3api.ErrInvalidRequest},
	} {
		got, err := finalChecksum(tc.hdr)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%v: got %+v %v, want %v", tc.hdr, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v: got %+v %v, want %+v", tc.hdr, got, err, tc.want)
		}
	}
}

func TestFinalChecksumCheck(t *testing.T) {
	const composite, full = "AAAAAQ==-2", "AAAAAg=="
	for _, tc := range []struct {
		name            string
		fc              s3api.FinalChecksum
		algo, typ, comp string
		err             error
	}{
		{"nothing stated", s3api.FinalChecksum{}, "CRC32", s3api.ChecksumComposite, composite, nil},
		{"nothing stated, no algorithm", s3api.FinalChecksum{}, "", "", "", nil},
		{"composite equal", s3api.FinalChecksum{Algo: "CRC32", Value: composite}, "CRC32", s3api.ChecksumComposite, composite, nil},
		{"composite without -N", s3api.FinalChecksum{Algo: "CRC32", Value: "AAAAAQ=="}, "CRC32", s3api.ChecksumComposite, composite, nil},
		{"composite wrong", s3api.FinalChecksum{Algo: "CRC32", Value: "AAAAAg==-2"}, "CRC32", s3api.ChecksumComposite, composite, s3api.ErrBadDigest},
		{"composite wrong count", s3api.FinalChecksum{Algo: "CRC32", Value: "AAAAAQ==-3"}, "CRC32", s3api.ChecksumComposite, composite, s3api.ErrBadDigest},
		{"full equal", s3api.FinalChecksum{Algo: "CRC32", Value: full, Type: s3api.ChecksumFullObject}, "CRC32", s3api.ChecksumFullObject, full, nil},
		{"full wrong", s3api.FinalChecksum{Algo: "CRC32", Value: "AAAAAQ=="}, "CRC32", s3api.ChecksumFullObject, full, s3api.ErrBadDigest},
		{"full with -N", s3api.FinalChecksum{Algo: "CRC32", Value: full + "-2"}, "CRC32", s3api.ChecksumFullObject, full, s3api.ErrBadDigest},
		{"other algorithm", s3api.FinalChecksum{Algo: "SHA256", Value: full}, "CRC32", s3api.ChecksumFullObject, full, s3api.ErrInvalidRequest},
		{"upload without algorithm", s3api.FinalChecksum{Algo: "CRC32", Value: full}, "", "", "", s3api.ErrInvalidRequest},
		{"other type", s3api.FinalChecksum{Type: s3api.ChecksumFullObject}, "CRC32", s3api.ChecksumComposite, composite, s3api.ErrInvalidRequest},
		{"type without algorithm", s3api.FinalChecksum{Type: s3api.ChecksumComposite}, "", "", "", s3api.ErrInvalidRequest},
	} {
		err := tc.fc.Check(tc.algo, tc.typ, tc.comp)
		if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

func TestCheckCompletePart(t *testing.T) {
	stored := map[string]string{"CRC32": "AAAAAQ=="}
	for _, tc := range []struct {
		name      string
		algo, typ string
		sent      map[string]string
		err       error
	}{
		{"composite, listed", "CRC32", s3api.ChecksumComposite, map[string]string{"CRC32": "AAAAAQ=="}, nil},
		{"composite, left out", "CRC32", s3api.ChecksumComposite, nil, s3api.ErrInvalidRequest},
		{"full object, left out", "CRC32", s3api.ChecksumFullObject, nil, nil},
		{"wrong value", "CRC32", s3api.ChecksumFullObject, map[string]string{"CRC32": "AAAAAg=="}, s3api.ErrInvalidPart},
		{"other algorithm", "CRC32", s3api.ChecksumComposite, map[string]string{"SHA1": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}, s3api.ErrBadDigest},
		{"two checksums", "CRC32", s3api.ChecksumComposite, map[string]string{"CRC32": "AAAAAQ==", "CRC32C": "AAAAAQ=="}, s3api.ErrInvalidRequest},
		{"no algorithm, none listed", "", "", nil, nil},
		{"no algorithm, matching", "", "", map[string]string{"CRC32": "AAAAAQ=="}, nil},
		{"no algorithm, not matching", "", "", map[string]string{"SHA1": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}, s3api.ErrInvalidPart},
	} {
		err := s3api.CheckCompletePart(tc.algo, tc.typ, 1, tc.sent, stored)
		if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

func TestPartChecksumRule(t *testing.T) {
	for _, tc := range []struct {
		algo, typ, part string
		compute, fail   bool
	}{
		{"", "", "", false, false},
		{"", "", "SHA1", false, false},
		{"CRC32", s3api.ChecksumComposite, "CRC32", false, false},
		{"CRC32", s3api.ChecksumComposite, "SHA1", false, true},
		{"CRC32", s3api.ChecksumComposite, "", false, true},
		{"CRC32C", s3api.ChecksumFullObject, "", true, false},
		{"CRC32C", s3api.ChecksumFullObject, "CRC32", false, true},
	} {
		compute, err := partChecksumRule(tc.algo, tc.typ, tc.part)
		if compute != tc.compute || (err != nil) != tc.fail || err != nil && !errors.Is(err, s3api.ErrInvalidRequest) {
			t.Errorf("upload %s %s, part %q: compute %v, %v", tc.algo, tc.typ, tc.part, compute, err)
		}
	}
}
