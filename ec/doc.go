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
//	frame = CRC32C(block) as 4 bytes big-endian | block
//
// All stripes but the last hold B bytes, so stripe s's frame starts at byte
// s*(4+ceil(B/k)) of every shard file; the last frame may be shorter. An
// empty object has empty shard files. Any block can be verified alone, and a
// range read touches only the frames of its stripes.
//
// The checksum is CRC32C (Castagnoli): it detects bit rot, the standard
// library computes it with the CPU's CRC32 instructions (hash/crc32), and it
// adds no dependency. It is not free: on the 2-core AMD EPYC (AVX-512, GFNI)
// development machine, BenchmarkCRC32C checksums the 1.5x bytes of a 4+2
// stripe at 13-16 GB/s of object data on one core, while reedsolomon
// (BenchmarkReedsolomonEncode) computes the parity at 40-50 GB/s using both
// cores. So the checksum costs about three times the parity there, and about
// as much as copying the stream in (BenchmarkStreamCopy). Encode therefore
// checksums in the per-shard writer goroutines, in parallel, and Decode in
// its parallel reads. It is not a cryptographic hash: it guards against
// media errors, not against an adversary who can write shard files.
//
// # Concurrency and memory
//
// A Coder is safe for concurrent use. Encode is a pipeline of three stages:
// the calling goroutine reads stripes, a coding goroutine computes parity,
// and one goroutine per writer checksums and writes its frames, so reading,
// coding and writing overlap. Decode reads a stripe's blocks in parallel
// (one goroutine per shard read) while the previous stripe is written out.
// Each holds a few stripe buffers (taken from a sync.Pool), whatever the
// object size, and every goroutine ends before the call returns.
//
// This package only codes bytes: it imports no networking or storage code
// (a test enforces it). Where shard files live and how they are named is
// the business of the gateway and storagenode packages.
package ec
