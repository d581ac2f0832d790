package s3api

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
)

// The checksum rules of a multipart upload created with a checksum
// algorithm (x-amz-checksum-algorithm, and x-amz-checksum-type COMPOSITE or
// FULL_OBJECT), as S3 enforces them:
//
//   - UploadPart must carry a checksum of that algorithm. A part with
//     another algorithm is refused (InvalidRequest), and so is a part with
//     none for a COMPOSITE upload; for a FULL_OBJECT upload the server
//     computes the part's CRC itself.
//   - CompleteMultipartUpload's part list must give each part's checksum
//     for a COMPOSITE upload (it may leave them out for FULL_OBJECT); a
//     checksum given must equal the part's.
//   - A checksum Complete states for the whole object (x-amz-checksum-crc32
//     and the others) must be of the upload's algorithm and equal the one
//     computed from the parts (BadDigest otherwise), and an
//     x-amz-checksum-type must be the upload's.
//
// The front end applies the UploadPart rule; the ObjectLayer applies the
// Complete rules before it commits, with CheckCompletePart and
// FinalChecksum.Check.

// The checksum types S3 reports in x-amz-checksum-type.
const (
	ChecksumFullObject = "FULL_OBJECT"
	ChecksumComposite  = "COMPOSITE"
	// ChecksumTypeKey is the key of ObjectInfo.Checksums (and of the stored
	// checksum map) that holds the checksum type when it is not FULL_OBJECT.
	ChecksumTypeKey = "TYPE"
)

// Upload headers recording the checksum a multipart upload asked for. They
// travel in PutOptions.Headers from CreateMultipartUpload to Complete,
// which removes them (StripUploadChecksumHeaders) before storing headers.
const (
	UploadChecksumAlgorithmHeader = "X-Ecstore-Upload-Checksum-Algorithm"
	UploadChecksumTypeHeader      = "X-Ecstore-Upload-Checksum-Type"
)

// crcAlgorithm returns the reflected polynomial and width of the
// algorithms whose checksums can be combined into a full-object checksum of
// a multipart upload.
func crcAlgorithm(algo string) (poly uint64, width uint, ok bool) {
	switch algo {
	case "CRC32":
		return 0xedb88320, 32, true
	case "CRC32C":
		return 0x82f63b78, 32, true
	case "CRC64NVME":
		return 0x9a6c9329ac4bc9b5, 64, true
	}
	return 0, 0, false
}

// FullObjectAlgorithm reports whether the checksums of algo (a canonical
// name, "CRC32") can be combined into a FULL_OBJECT checksum: the CRCs can.
func FullObjectAlgorithm(algo string) bool {
	_, _, ok := crcAlgorithm(algo)
	return ok
}

// FinalChecksum is the checksum a CompleteMultipartUpload request states
// for the assembled object.
type FinalChecksum struct {
	// Algo is the algorithm of the x-amz-checksum-<algo> header ("CRC32",
	// ...); "" when the request sent none.
	Algo string
	// Value is that header's value: base64, followed by "-N" for a
	// COMPOSITE checksum of N parts.
	Value string
	// Type is the x-amz-checksum-type header, upper case; "" when not sent.
	Type string
}

// checksumName is how S3 names an algorithm in its mismatch messages: "null"
// for none.
func checksumName(algo string) string {
	if algo == "" {
		return "null"
	}
	return algo
}

// ChecksumTypeMismatch is S3's answer to a checksum of algorithm got where
// one of want was expected ("" for none).
func ChecksumTypeMismatch(want, got string) *APIError {
	return ErrInvalidRequest.WithMessage("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s", checksumName(want), checksumName(got))
}

// Check checks the stated checksum against an upload created with
// algorithm algo ("" for none) and type typ, whose parts combine into
// computed (CombineChecksums; "" when algo is ""). A COMPOSITE value may
// leave out its "-N".
func (fc FinalChecksum) Check(algo, typ, computed string) error {
	if fc.Type != "" && fc.Type != typ {
		return ErrInvalidRequest.WithMessage("The upload was created using the %s checksum mode. The complete request must use the same checksum mode.", checksumName(typ))
	}
	if fc.Algo == "" {
		return nil
	}
	if fc.Algo != algo {
		return ChecksumTypeMismatch(algo, fc.Algo)
	}
	got, want := fc.Value, computed
	if typ == ChecksumComposite && !strings.Contains(got, "-") {
		want, _, _ = strings.Cut(want, "-")
	}
	if got != want {
		return ErrBadDigest.WithMessage("The %s you specified did not match the calculated checksum.", algo)
	}
	return nil
}

// CheckCompletePart checks the checksums a CompleteMultipartUpload lists
// for part num (sent, algorithm -> base64) against those recorded when the
// part was uploaded (stored), for an upload created with algorithm algo
// ("" for none) and type typ.
func CheckCompletePart(algo, typ string, num int, sent, stored map[string]string) error {
	if len(sent) > 1 {
		return ErrInvalidRequest.WithMessage("Part %d lists %d checksums; give at most one, of the upload's algorithm.", num, len(sent))
	}
	if algo != "" && typ == ChecksumComposite && len(sent) == 0 {
		return ErrInvalidRequest.WithMessage("The upload was created using a %s checksum. The complete request must include the checksum for each part. It was missing for part %d in the request.", strings.ToLower(algo), num)
	}
	for a, v := range sent {
		if stored[a] == v {
			continue
		}
		if algo == "" || a == algo {
			return ErrInvalidPart.WithMessage("Part %d: the %s checksum does not match the uploaded part's.", num, a)
		}
		return ErrBadDigest.WithMessage("The %s you specified for part %d did not match what we received.", strings.ToLower(a), num)
	}
	return nil
}

// StripUploadChecksumHeaders removes the upload's checksum request from
// headers and returns it (algorithm "" when none was asked for).
func StripUploadChecksumHeaders(headers map[string]string) (out map[string]string, algo, typ string) {
	algo, typ = headers[UploadChecksumAlgorithmHeader], headers[UploadChecksumTypeHeader]
	if algo == "" && typ == "" {
		return headers, "", ""
	}
	out = make(map[string]string, len(headers))
	for k, v := range headers {
		if k != UploadChecksumAlgorithmHeader && k != UploadChecksumTypeHeader {
			out[k] = v
		}
	}
	return out, algo, typ
}

// PartChecksum is one part's checksum (base64) and size, for
// CombineChecksums.
type PartChecksum struct {
	Value string
	Size  int64
}

// CombineChecksums computes a multipart object's checksum from its parts':
// the checksum of the concatenated part digests followed by "-N" for
// COMPOSITE, or, for FULL_OBJECT (CRC algorithms only), the CRC of the
// whole object computed from the part CRCs and sizes. newHash knows the
// algorithms, as PutOptions.NewHash.
func CombineChecksums(newHash func(algo string) (h hash.Hash, name string, ok bool), algo, typ string, parts []PartChecksum) (string, error) {
	var h hash.Hash
	ok := false
	if newHash != nil {
		h, algo, ok = newHash(algo)
	}
	if !ok {
		return "", fmt.Errorf("s3api: unknown checksum algorithm %q", algo)
	}
	raw := make([][]byte, len(parts))
	for i, p := range parts {
		d, err := base64.StdEncoding.DecodeString(p.Value)
		if err != nil || len(d) != h.Size() {
			return "", ErrInvalidPart.WithMessage("Part %d has no valid %s checksum.", i+1, algo)
		}
		raw[i] = d
	}
	if typ == ChecksumFullObject {
		poly, width, ok := crcAlgorithm(algo)
		if !ok {
			return "", ErrInvalidRequest.WithMessage("The FULL_OBJECT checksum type cannot be used with %s.", algo)
		}
		var acc uint64
		for i, p := range parts {
			v := beUint(raw[i])
			if i == 0 {
				acc = v
				continue
			}
			acc = crcCombine(poly, width, acc, v, p.Size)
		}
		out := make([]byte, width/8)
		if width == 32 {
			binary.BigEndian.PutUint32(out, uint32(acc))
		} else {
			binary.BigEndian.PutUint64(out, acc)
		}
		return base64.StdEncoding.EncodeToString(out), nil
	}
	for _, d := range raw {
		h.Write(d)
	}
	return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(parts)), nil
}

func beUint(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// crcCombine returns the CRC of A||B from crc(A), crc(B) and len(B), for a
// reflected CRC of the given width whose init and final XOR are all ones
// (CRC32, CRC32C, CRC64/NVME): zlib's crc32_combine, generalised.
func crcCombine(poly uint64, width uint, crc1, crc2 uint64, len2 int64) uint64 {
	if len2 <= 0 {
		return crc1
	}
	times := func(mat []uint64, vec uint64) uint64 {
		var sum uint64
		for i := 0; vec != 0; i, vec = i+1, vec>>1 {
			if vec&1 != 0 {
				sum ^= mat[i]
			}
		}
		return sum
	}
	square := func(dst, mat []uint64) {
		for n := range mat {
			dst[n] = times(mat, mat[n])
		}
	}
	odd := make([]uint64, width)
	even := make([]uint64, width)
	odd[0] = poly // the operator for one zero bit
	row := uint64(1)
	for n := uint(1); n < width; n++ {
		odd[n] = row
		row <<= 1
	}
	square(even, odd) // two zero bits
	square(odd, even) // four zero bits
	for {
		square(even, odd)
		if len2&1 != 0 {
			crc1 = times(even, crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
		square(odd, even)
		if len2&1 != 0 {
			crc1 = times(odd, crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
	}
	return crc1 ^ crc2
}
