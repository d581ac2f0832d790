package s3compat

import (
	"hash"
	"net/http"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/minio/crc64nvme"
	"github.com/zeebo/xxh3"

	"github.com/ecstore/ecstore/s3api"
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

// uploadChecksum reads x-amz-checksum-algorithm and x-amz-checksum-type of
// a CreateMultipartUpload into opts.Headers.
func uploadChecksum(h http.Header, opts *s3api.PutOptions) error {
	algo := strings.TrimSpace(h.Get("x-amz-checksum-algorithm"))
	typ := strings.ToUpper(strings.TrimSpace(h.Get("x-amz-checksum-type")))
	if algo == "" {
		if typ != "" {
			return s3api.ErrInvalidRequest.WithMessage("x-amz-checksum-type requires x-amz-checksum-algorithm.")
		}
		return nil
	}
	_, name, ok := checksums.NewChecksum(algo)
	if !ok {
		return s3api.ErrInvalidRequest.WithMessage("Checksum algorithm %q is not supported.", algo)
	}
	isCRC := s3api.FullObjectAlgorithm(name)
	switch {
	case typ == "" && name == "CRC64NVME":
		typ = s3api.ChecksumFullObject
	case typ == "":
		typ = s3api.ChecksumComposite
	case typ == s3api.ChecksumFullObject && !isCRC:
		return s3api.ErrInvalidRequest.WithMessage("The FULL_OBJECT checksum type cannot be used with the %s checksum algorithm.", name)
	case typ == s3api.ChecksumComposite && name == "CRC64NVME":
		return s3api.ErrInvalidRequest.WithMessage("The COMPOSITE checksum type cannot be used with the CRC64NVME checksum algorithm.")
	case typ != s3api.ChecksumFullObject && typ != s3api.ChecksumComposite:
		return s3api.ErrInvalidRequest.WithMessage("Value for x-amz-checksum-type header is invalid.")
	}
	opts.Headers[s3api.UploadChecksumAlgorithmHeader] = name
	opts.Headers[s3api.UploadChecksumTypeHeader] = typ
	return nil
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
	if t := sums[s3api.ChecksumTypeKey]; t != "" {
		return t
	}
	return s3api.ChecksumFullObject
}

func addChecksumHeaders(h http.Header, sums map[string]string) {
	n := 0
	for algo, v := range sums {
		if algo == s3api.ChecksumTypeKey {
			continue
		}
		h.Set("x-amz-checksum-"+strings.ToLower(algo), v)
		n++
	}
	if n > 0 {
		h.Set("x-amz-checksum-type", checksumType(sums))
	}
}
