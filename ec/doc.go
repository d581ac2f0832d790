// Package ec erasure codes object streams for ecstore: Encode cuts a stream
// into stripes and writes k data and m parity shard streams, Decode serves
// any byte range of the object back from any k healthy shards, reading only
// the data shards (and only the stripes and blocks covering the range) while
// they are healthy, and reconstructing from parity when blocks are missing,
// unreadable or corrupt. VerifyShard checks a whole shard file for scrubbing.
//
// # Format
//
// An object of size bytes is cut into stripes of B bytes (BlockSize, default
// 1 MiB): stripe s holds object bytes [s*B, min((s+1)*B, size)). A stripe of
// n bytes is split into k data blocks of ceil(n/k) bytes, the last ones zero
// padded, and m parity blocks of the same size are computed with the
// systematic Reed-Solomon code of github.com/klauspost/reedsolomon (so the
// data blocks are the object bytes themselves). Shard i's file is the
// sequence of its frames, one per stripe:
//
//	frame = XXH3-64(block) as 8 bytes big-endian | block
//
// All stripes but the last hold B bytes, so stripe s's frame starts at byte
// s*(8+ceil(B/k)) of every shard file; the last frame may be shorter. An
// empty object has empty shard files. Any block can be verified alone, and a
// range read touches only its blocks. This is FormatVersion 2; version 1
// had a 4-byte CRC32C in front of each block and is not read any more.
//
// The checksum is XXH3-64 (github.com/zeebo/xxh3, seed 0), chosen by
// benchmark (BenchmarkChecksum): on the 2-core AMD EPYC (AVX2) development
// machine it hashes about three times as fast as CRC32C with the CPU's
// CRC32 instruction, and checksumming is, with the copy of the stream into
// the stripe buffers, most of what Encode does besides the parity itself.
// Its 64 bits detect bit rot and torn writes; it is not a cryptographic
// hash: it guards against media errors, not against an adversary who can
// write shard files.
//
// # Concurrency and memory
//
// A Coder is safe for concurrent use. Encode is a pipeline of three stages:
// the calling goroutine reads stripes straight into their data blocks, two
// coding goroutines each compute one stripe's parity and the checksums of
// its k+m blocks, and one goroutine per writer writes its frames in stripe
// order, so reading, coding and writing overlap and two stripes are coded
// at once. Decode reads a stripe's blocks in parallel (one goroutine per
// shard read) while the previous stripe is written out. Each holds a few
// stripe buffers (taken from a sync.Pool), whatever the object size, and
// every goroutine ends before the call returns.
//
// This package only codes bytes: it must never import networking or
// storage code, even transitively (TestImports and TestDeps enforce it). Where shard files live and how they are named is
// the business of the gateway and storagenode packages.
package ec
