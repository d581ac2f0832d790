package sigv4

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"slices"
	"strings"
)

// crc64NVMEPoly is the CRC-64/NVME polynomial in the reversed (LSB-first)
// form hash/crc64 takes. With crc64's built-in all-ones initial value and
// final XOR this is CRC-64/NVME (refin/refout, check value
// 0xae8b14860a799888 for "123456789"), the algorithm S3 calls CRC64NVME.
const crc64NVMEPoly = 0x9a6c9329ac4bc9b5

// checksumAlgo is one S3 additional-checksum algorithm.
type checksumAlgo struct {
	name   string // as S3 names it in responses: "CRC32", "CRC64NVME", ...
	header string // request header / trailer name, lower case
	size   int    // digest size in bytes
	newFn  func() hash.Hash
}

// The tables are built once and only read afterwards.
var (
	crc32cTable    = crc32.MakeTable(crc32.Castagnoli)
	crc64NVMETable = crc64.MakeTable(crc64NVMEPoly)
)

var checksumAlgos = []checksumAlgo{
	{"CRC32", "x-amz-checksum-crc32", 4, func() hash.Hash { return crc32.NewIEEE() }},
	{"CRC32C", "x-amz-checksum-crc32c", 4, func() hash.Hash { return crc32.New(crc32cTable) }},
	{"CRC64NVME", "x-amz-checksum-crc64nvme", 8, func() hash.Hash { return crc64.New(crc64NVMETable) }},
	{"SHA1", "x-amz-checksum-sha1", sha1.Size, sha1.New},
	{"SHA256", "x-amz-checksum-sha256", sha256.Size, sha256.New},
	{"MD5", "x-amz-checksum-md5", md5.Size, md5.New},
	{"SHA512", "x-amz-checksum-sha512", sha512.Size, sha512.New},
}

// ChecksumAlgorithm is an x-amz-checksum-* algorithm a Verifier accepts
// besides the built-in ones (CRC32, CRC32C, CRC64NVME, SHA1, SHA256, MD5,
// SHA512): for instance XXHASH64, whose implementation is not in the
// standard library.
type ChecksumAlgorithm struct {
	// Name as S3 writes it ("XXHASH64"); the header is
	// x-amz-checksum-<lower-case name>.
	Name string
	// Size of the digest in bytes.
	Size int
	// New returns a fresh hash; its Sum is the digest S3 sends in base64.
	New func() hash.Hash
}

// algos returns the built-in algorithms followed by v's extra ones.
func (v *Verifier) algos() []checksumAlgo {
	if len(v.Checksums) == 0 {
		return checksumAlgos
	}
	out := append([]checksumAlgo(nil), checksumAlgos...)
	for _, c := range v.Checksums {
		a := checksumAlgo{name: strings.ToUpper(c.Name), header: "x-amz-checksum-" + strings.ToLower(c.Name), size: c.Size, newFn: c.New}
		// An extra of a built-in's name replaces it (a faster
		// implementation of the same algorithm).
		if i := slices.IndexFunc(out, func(b checksumAlgo) bool { return b.name == a.name }); i >= 0 {
			out[i] = a
			continue
		}
		out = append(out, a)
	}
	return out
}

// NewChecksum returns a fresh hash for the checksum algorithm S3 calls
// name (case-insensitive), built-in or extra, and its canonical name.
func (v *Verifier) NewChecksum(name string) (h hash.Hash, canonical string, ok bool) {
	all := v.algos()
	if a := findAlgo(all, func(a *checksumAlgo) bool { return strings.EqualFold(a.name, name) }); a != nil {
		return a.newFn(), a.name, true
	}
	return nil, "", false
}

// ChecksumNames lists the algorithms v accepts, built-in first.
func (v *Verifier) ChecksumNames() []string {
	var out []string
	for _, a := range v.algos() {
		out = append(out, a.name)
	}
	return out
}

func findAlgo(all []checksumAlgo, match func(*checksumAlgo) bool) *checksumAlgo {
	for i := range all {
		if match(&all[i]) {
			return &all[i]
		}
	}
	return nil
}

// algoByHeader finds an algorithm by its lower-case header name.
func algoByHeader(name string) *checksumAlgo {
	for i := range checksumAlgos {
		if checksumAlgos[i].header == name {
			return &checksumAlgos[i]
		}
	}
	return nil
}

// decode checks that v is the standard base64 of a digest of the
// algorithm's size and returns the digest.
func (a *checksumAlgo) decode(v string) ([]byte, bool) {
	if len(v) != base64.StdEncoding.EncodedLen(a.size) {
		return nil, false
	}
	d, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(d) != a.size {
		return nil, false
	}
	return d, true
}
