package s3compat

import (
	"errors"
	"net/http"
	"testing"
)

func TestFinalChecksumParse(t *testing.T) {
	crc := "AAAAAA=="
	for _, tc := range []struct {
		hdr  http.Header
		want FinalChecksum
		err  *APIError
	}{
		{http.Header{}, FinalChecksum{}, nil},
		{http.Header{"X-Amz-Checksum-Crc32": {crc}}, FinalChecksum{Algo: "CRC32", Value: crc}, nil},
		{http.Header{"X-Amz-Checksum-Crc32c": {crc + "-3"}, "X-Amz-Checksum-Type": {"composite"}}, FinalChecksum{Algo: "CRC32C", Value: crc + "-3", Type: ChecksumComposite}, nil},
		{http.Header{"X-Amz-Checksum-Type": {"FULL_OBJECT"}}, FinalChecksum{Type: ChecksumFullObject}, nil},
		{http.Header{"X-Amz-Checksum-Type": {"PARTIAL"}}, FinalChecksum{}, ErrInvalidRequest},
		{http.Header{"X-Amz-Checksum-Crc32": {"AAAA"}}, FinalChecksum{}, ErrInvalidRequest},       // 3 bytes
		{http.Header{"X-Amz-Checksum-Crc32": {crc + "-0"}}, FinalChecksum{}, ErrInvalidRequest},   // no parts
		{http.Header{"X-Amz-Checksum-Crc32": {crc + "-x"}}, FinalChecksum{}, ErrInvalidRequest},   // not a count
		{http.Header{"X-Amz-Checksum-Sha1": {"not base64!"}}, FinalChecksum{}, ErrInvalidRequest}, // not base64
		{http.Header{"X-Amz-Checksum-Crc32": {crc}, "X-Amz-Checksum-Crc32c": {crc}}, FinalChecksum{}, ErrInvalidRequest},
	} {
		got, err := finalChecksum(tc.hdr)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%v: got %+v %v, want %s", tc.hdr, got, err, tc.err.Code)
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
		fc              FinalChecksum
		algo, typ, comp string
		err             *APIError
	}{
		{"nothing stated", FinalChecksum{}, "CRC32", ChecksumComposite, composite, nil},
		{"nothing stated, no algorithm", FinalChecksum{}, "", "", "", nil},
		{"composite equal", FinalChecksum{Algo: "CRC32", Value: composite}, "CRC32", ChecksumComposite, composite, nil},
		{"composite without -N", FinalChecksum{Algo: "CRC32", Value: "AAAAAQ=="}, "CRC32", ChecksumComposite, composite, nil},
		{"composite wrong", FinalChecksum{Algo: "CRC32", Value: "AAAAAg==-2"}, "CRC32", ChecksumComposite, composite, ErrBadDigest},
		{"composite wrong count", FinalChecksum{Algo: "CRC32", Value: "AAAAAQ==-3"}, "CRC32", ChecksumComposite, composite, ErrBadDigest},
		{"full equal", FinalChecksum{Algo: "CRC32", Value: full, Type: ChecksumFullObject}, "CRC32", ChecksumFullObject, full, nil},
		{"full wrong", FinalChecksum{Algo: "CRC32", Value: "AAAAAQ=="}, "CRC32", ChecksumFullObject, full, ErrBadDigest},
		{"full with -N", FinalChecksum{Algo: "CRC32", Value: full + "-2"}, "CRC32", ChecksumFullObject, full, ErrBadDigest},
		{"other algorithm", FinalChecksum{Algo: "SHA256", Value: full}, "CRC32", ChecksumFullObject, full, ErrInvalidRequest},
		{"upload without algorithm", FinalChecksum{Algo: "CRC32", Value: full}, "", "", "", ErrInvalidRequest},
		{"other type", FinalChecksum{Type: ChecksumFullObject}, "CRC32", ChecksumComposite, composite, ErrInvalidRequest},
		{"type without algorithm", FinalChecksum{Type: ChecksumComposite}, "", "", "", ErrInvalidRequest},
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
		err       *APIError
	}{
		{"composite, listed", "CRC32", ChecksumComposite, map[string]string{"CRC32": "AAAAAQ=="}, nil},
		{"composite, left out", "CRC32", ChecksumComposite, nil, ErrInvalidRequest},
		{"full object, left out", "CRC32", ChecksumFullObject, nil, nil},
		{"wrong value", "CRC32", ChecksumFullObject, map[string]string{"CRC32": "AAAAAg=="}, ErrInvalidPart},
		{"other algorithm", "CRC32", ChecksumComposite, map[string]string{"SHA1": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}, ErrBadDigest},
		{"two checksums", "CRC32", ChecksumComposite, map[string]string{"CRC32": "AAAAAQ==", "CRC32C": "AAAAAQ=="}, ErrInvalidRequest},
		{"no algorithm, none listed", "", "", nil, nil},
		{"no algorithm, matching", "", "", map[string]string{"CRC32": "AAAAAQ=="}, nil},
		{"no algorithm, not matching", "", "", map[string]string{"SHA1": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}, ErrInvalidPart},
	} {
		err := CheckCompletePart(tc.algo, tc.typ, 1, tc.sent, stored)
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
		{"CRC32", ChecksumComposite, "CRC32", false, false},
		{"CRC32", ChecksumComposite, "SHA1", false, true},
		{"CRC32", ChecksumComposite, "", false, true},
		{"CRC32C", ChecksumFullObject, "", true, false},
		{"CRC32C", ChecksumFullObject, "CRC32", false, true},
	} {
		compute, err := partChecksumRule(tc.algo, tc.typ, tc.part)
		if compute != tc.compute || (err != nil) != tc.fail || err != nil && !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("upload %s %s, part %q: compute %v, %v", tc.algo, tc.typ, tc.part, compute, err)
		}
	}
}
