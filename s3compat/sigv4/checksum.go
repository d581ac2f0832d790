package sigv4

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"hash/crc32"
	"hash/crc64"
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

// algoByName finds an algorithm by its S3 name (case-insensitive), as sent
// in x-amz-sdk-checksum-algorithm.
func algoByName(name string) *checksumAlgo {
	for i := range checksumAlgos {
		if strings.EqualFold(checksumAlgos[i].name, name) {
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
