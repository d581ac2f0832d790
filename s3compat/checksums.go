package s3compat

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"net/http"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/minio/crc64nvme"
	"github.com/zeebo/xxh3"

	"github.com/ecstore/ecstore/s3compat/sigv4"
)

// extraChecksums are the x-amz-checksum-* algorithms whose implementations
// live outside the standard library (sigv4 has the others built in), and
// faster implementations of built-in ones.
var extraChecksums = []sigv4.ChecksumAlgorithm{
	// The same CRC-64/NVME sigv4 has built in, with carry-less multiply
	// (PCLMULQDQ) instead of tables: S3 computes it for every object
	// uploaded without a checksum, so it is on every PUT's path.
	{Name: "CRC64NVME", Size: 8, New: func() hash.Hash { return crc64nvme.New() }},
	{Name: "XXHASH64", Size: 8, New: func() hash.Hash { return xxhash.New() }},
	{Name: "XXHASH3", Size: 8, New: func() hash.Hash { return xxh3.New() }},
	{Name: "XXHASH128", Size: 16, New: func() hash.Hash { return xxh3.New128() }},
}

// checksums knows every algorithm (it verifies nothing; it is only asked
// for hashes by name).
var checksums = &sigv4.Verifier{Checksums: extraChecksums}

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

// crcAlgorithms are the algorithms whose checksums can be combined into a
// full-object checksum of a multipart upload: reflected polynomial, width.
var crcAlgorithms = map[string]struct {
	poly  uint64
	width uint
}{
	"CRC32":     {0xedb88320, 32},
	"CRC32C":    {0x82f63b78, 32},
	"CRC64NVME": {0x9a6c9329ac4bc9b5, 64},
}

// uploadChecksum reads x-amz-checksum-algorithm and x-amz-checksum-type of
// a CreateMultipartUpload into opts.Headers.
func uploadChecksum(h http.Header, opts *PutOptions) error {
	algo := strings.TrimSpace(h.Get("x-amz-checksum-algorithm"))
	typ := strings.ToUpper(strings.TrimSpace(h.Get("x-amz-checksum-type")))
	if algo == "" {
		if typ != "" {
			return ErrInvalidRequest.WithMessage("x-amz-checksum-type requires x-amz-checksum-algorithm.")
		}
		return nil
	}
	_, name, ok := checksums.NewChecksum(algo)
	if !ok {
		return ErrInvalidRequest.WithMessage("Checksum algorithm %q is not supported.", algo)
	}
	_, isCRC := crcAlgorithms[name]
	switch {
	case typ == "" && name == "CRC64NVME":
		typ = ChecksumFullObject
	case typ == "":
		typ = ChecksumComposite
	case typ == ChecksumFullObject && !isCRC:
		return ErrInvalidRequest.WithMessage("The FULL_OBJECT checksum type cannot be used with the %s checksum algorithm.", name)
	case typ == ChecksumComposite && name == "CRC64NVME":
		return ErrInvalidRequest.WithMessage("The COMPOSITE checksum type cannot be used with the CRC64NVME checksum algorithm.")
	case typ != ChecksumFullObject && typ != ChecksumComposite:
		return ErrInvalidRequest.WithMessage("Value for x-amz-checksum-type header is invalid.")
	}
	opts.Headers[UploadChecksumAlgorithmHeader] = name
	opts.Headers[UploadChecksumTypeHeader] = typ
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
// whole object computed from the part CRCs and sizes.
func CombineChecksums(algo, typ string, parts []PartChecksum) (string, error) {
	h, name, ok := checksums.NewChecksum(algo)
	if !ok {
		return "", fmt.Errorf("s3compat: unknown checksum algorithm %q", algo)
	}
	raw := make([][]byte, len(parts))
	for i, p := range parts {
		d, err := base64.StdEncoding.DecodeString(p.Value)
		if err != nil || len(d) != h.Size() {
			return "", ErrInvalidPart.WithMessage("Part %d has no valid %s checksum.", i+1, name)
		}
		raw[i] = d
	}
	if typ == ChecksumFullObject {
		crc, ok := crcAlgorithms[name]
		if !ok {
			return "", ErrInvalidRequest.WithMessage("The FULL_OBJECT checksum type cannot be used with %s.", name)
		}
		var acc uint64
		for i, p := range parts {
			v := beUint(raw[i])
			if i == 0 {
				acc = v
				continue
			}
			acc = crcCombine(crc.poly, crc.width, acc, v, p.Size)
		}
		out := make([]byte, crc.width/8)
		if crc.width == 32 {
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

// checksumXML holds the Checksum* elements S3 puts in part lists,
// CompleteMultipartUpload bodies and results, and GetObjectAttributes.
type checksumXML struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
	ChecksumMD5       string `xml:"ChecksumMD5,omitempty"`
	ChecksumSHA512    string `xml:"ChecksumSHA512,omitempty"`
	ChecksumXXHASH64  string `xml:"ChecksumXXHASH64,omitempty"`
	ChecksumXXHASH3   string `xml:"ChecksumXXHASH3,omitempty"`
	ChecksumXXHASH128 string `xml:"ChecksumXXHASH128,omitempty"`
}

func (c *checksumXML) field(algo string) *string {
	switch strings.ToUpper(algo) {
	case "CRC32":
		return &c.ChecksumCRC32
	case "CRC32C":
		return &c.ChecksumCRC32C
	case "CRC64NVME":
		return &c.ChecksumCRC64NVME
	case "SHA1":
		return &c.ChecksumSHA1
	case "SHA256":
		return &c.ChecksumSHA256
	case "MD5":
		return &c.ChecksumMD5
	case "SHA512":
		return &c.ChecksumSHA512
	case "XXHASH64":
		return &c.ChecksumXXHASH64
	case "XXHASH3":
		return &c.ChecksumXXHASH3
	case "XXHASH128":
		return &c.ChecksumXXHASH128
	}
	return nil
}

// set fills the fields from a checksum map (algorithm -> value).
func (c *checksumXML) set(sums map[string]string) {
	for algo, v := range sums {
		if f := c.field(algo); f != nil {
			*f = v
		}
	}
}

// get returns the non-empty fields as a map.
func (c *checksumXML) get() map[string]string {
	out := map[string]string{}
	for _, name := range checksums.ChecksumNames() {
		if f := c.field(name); f != nil && *f != "" {
			out[name] = *f
		}
	}
	return out
}

// checksumType is the x-amz-checksum-type of a stored checksum map.
func checksumType(sums map[string]string) string {
	if t := sums[ChecksumTypeKey]; t != "" {
		return t
	}
	return ChecksumFullObject
}

func addChecksumHeaders(h http.Header, sums map[string]string) {
	n := 0
	for algo, v := range sums {
		if algo == ChecksumTypeKey {
			continue
		}
		h.Set("x-amz-checksum-"+strings.ToLower(algo), v)
		n++
	}
	if n > 0 {
		h.Set("x-amz-checksum-type", checksumType(sums))
	}
}
