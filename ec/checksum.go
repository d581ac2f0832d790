package ec

import (
	"encoding/binary"

	"github.com/zeebo/xxh3"
)

// FormatVersion is the version of the shard file format that Encode writes
// and Decode and VerifyShard read (see the package documentation). Version 1
// put a 4-byte CRC32C in front of each block; version 2 puts an 8-byte
// XXH3-64 there. Files of another version are not readable: their blocks
// fail the checksum.
const FormatVersion = 2

// ChecksumSize is the number of checksum bytes in front of each shard block.
const ChecksumSize = 8

// sealFrame writes the checksum of frame f's block into its first
// ChecksumSize bytes.
func sealFrame(f []byte) {
	binary.BigEndian.PutUint64(f, xxh3.Hash(f[ChecksumSize:]))
}

// frameOK reports whether frame f's checksum matches its block.
func frameOK(f []byte) bool {
	return binary.BigEndian.Uint64(f) == xxh3.Hash(f[ChecksumSize:])
}
