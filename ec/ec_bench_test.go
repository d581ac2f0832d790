package ec

import (
	"bytes"
	"context"
	"hash/crc32"
	"io"
	"testing"

	"github.com/klauspost/reedsolomon"
	"github.com/zeebo/xxh3"
)

// The benchmarks stream a 64 MiB object through a 4+2 code with the default
// 1 MiB stripes (256 KiB shard blocks) and report object bytes per second,
// so BenchmarkEncode compares with BenchmarkReedsolomonEncode, and
// BenchmarkDecodeReconstruct with BenchmarkReedsolomonReconstruct, line for
// line.
const (
	benchK, benchM = 4, 2
	benchStream    = 64 << 20
	benchStripes   = benchStream / DefaultBlockSize
	benchPer       = DefaultBlockSize / benchK // shard block bytes
)

// discardWriters returns k+m writers that drop what they get.
func discardWriters() []io.Writer {
	ws := make([]io.Writer, benchK+benchM)
	for i := range ws {
		ws[i] = io.Discard
	}
	return ws
}

// BenchmarkEncode is the whole encode path: Encode reads the object from a
// bytes.Reader into stripe buffers, computes parity and checksums and hands
// every frame to an io.Discard writer.
func BenchmarkEncode(b *testing.B) {
	c := mustNew(b, config{benchK, benchM, DefaultBlockSize})
	data := randData(benchStream, 1)
	ws := discardWriters()
	b.SetBytes(benchStream)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Encode(context.Background(), bytes.NewReader(data), ws, len(ws)); err != nil {
			b.Fatal(err)
		}
	}
}

// rsShards returns k+m shard blocks of benchPer bytes, data filled in.
func rsShards() [][]byte {
	shards := make([][]byte, benchK+benchM)
	for i := range shards {
		shards[i] = randData(benchPer, uint64(i))
	}
	return shards
}

// BenchmarkReedsolomonEncode is the raw parity computation of the same
// object with reedsolomon's defaults: 64 Encode calls on the same 4+2
// shards of 256 KiB (so the shards stay in the CPU cache).
func BenchmarkReedsolomonEncode(b *testing.B) {
	enc, err := reedsolomon.New(benchK, benchM)
	if err != nil {
		b.Fatal(err)
	}
	shards := rsShards()
	b.SetBytes(benchStream)
	for b.Loop() {
		for range benchStripes {
			if err := enc.Encode(shards); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReedsolomonEncodeStream is BenchmarkReedsolomonEncode over the
// 64 different stripes of a 64 MiB object, read in place: the raw parity
// computation with the memory traffic Encode also has, and no copy.
func BenchmarkReedsolomonEncodeStream(b *testing.B) {
	enc, err := reedsolomon.New(benchK, benchM)
	if err != nil {
		b.Fatal(err)
	}
	data := randData(benchStream, 1)
	shards := rsShards()
	b.SetBytes(benchStream)
	for b.Loop() {
		for s := range benchStripes {
			for i := range benchK {
				o := s*DefaultBlockSize + i*benchPer
				shards[i] = data[o : o+benchPer]
			}
			if err := enc.Encode(shards); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkRawPipeline is the least any streaming encoder that checksums
// its blocks does, written with the libraries alone on one goroutine: read
// each stripe of the object from a bytes.Reader into k shard blocks,
// reedsolomon.Encode them (one goroutine, as Encode's workers), XXH3 each
// of the k+m blocks. Encode does the same work plus framing and its
// goroutines; the ratio of the two is what the ec package itself costs or
// saves.
func BenchmarkRawPipeline(b *testing.B) {
	enc, err := reedsolomon.New(benchK, benchM, reedsolomon.WithMaxGoroutines(1))
	if err != nil {
		b.Fatal(err)
	}
	data := randData(benchStream, 1)
	shards := rsShards()
	b.SetBytes(benchStream)
	var sum uint64
	for b.Loop() {
		r := bytes.NewReader(data)
		for range benchStripes {
			for i := range benchK {
				if _, err := io.ReadFull(r, shards[i]); err != nil {
					b.Fatal(err)
				}
			}
			if err := enc.Encode(shards); err != nil {
				b.Fatal(err)
			}
			for _, blk := range shards {
				sum ^= xxh3.Hash(blk)
			}
		}
	}
	_ = sum
}

// BenchmarkChecksum hashes the k+m blocks of every stripe of the object on
// one goroutine, with the block checksum of each format version: the data
// behind "pick by benchmark" in the design.
func BenchmarkChecksum(b *testing.B) {
	blocks := rsShards()
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	for _, h := range []struct {
		name string
		sum  func([]byte) uint64
	}{
		{"crc32c", func(p []byte) uint64 { return uint64(crc32.Checksum(p, castagnoli)) }},
		{"xxh3", xxh3.Hash},
	} {
		b.Run(h.name, func(b *testing.B) {
			b.SetBytes(benchStream)
			var sum uint64
			for b.Loop() {
				for range benchStripes {
					for _, blk := range blocks {
						sum ^= h.sum(blk)
					}
				}
			}
			_ = sum
		})
	}
}

// BenchmarkStreamCopy is the floor under Encode: reading the same stream
// into stripe buffers (the one copy Encode cannot avoid with an io.Reader),
// nothing else.
func BenchmarkStreamCopy(b *testing.B) {
	data := randData(benchStream, 1)
	bufs := make([][]byte, encodeDepth)
	for i := range bufs {
		bufs[i] = make([]byte, DefaultBlockSize)
	}
	b.SetBytes(benchStream)
	for b.Loop() {
		r := bytes.NewReader(data)
		for i := 0; ; i++ {
			if _, err := io.ReadFull(r, bufs[i%len(bufs)]); err != nil {
				break
			}
		}
	}
}

func benchDecode(b *testing.B, missing ...int) {
	c := mustNew(b, config{benchK, benchM, DefaultBlockSize})
	data := randData(benchStream, 2)
	files := encodeFiles(b, c, data)
	rs := readersOf(files, missing...)
	b.SetBytes(benchStream)
	b.ReportAllocs()
	for b.Loop() {
		rep, err := c.Decode(context.Background(), io.Discard, rs, benchStream, 0, benchStream)
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Missing) != len(missing) {
			b.Fatal(rep)
		}
	}
}

// BenchmarkDecode reads a healthy 64 MiB object (data shards only, each
// block checked against its checksum) into io.Discard.
func BenchmarkDecode(b *testing.B) { benchDecode(b) }

// BenchmarkDecodeReconstruct reads the object with m = 2 data shards
// missing: every stripe is rebuilt from the two other data shards and the
// two parity shards.
func BenchmarkDecodeReconstruct(b *testing.B) { benchDecode(b, 0, 2) }

// BenchmarkReedsolomonReconstruct is the raw rebuild of the same two data
// shards: 64 Reconstruct calls on 4+2 shards of 256 KiB.
func BenchmarkReedsolomonReconstruct(b *testing.B) {
	enc, err := reedsolomon.New(benchK, benchM)
	if err != nil {
		b.Fatal(err)
	}
	shards := rsShards()
	if err := enc.Encode(shards); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchStream)
	for b.Loop() {
		for range benchStripes {
			shards[0], shards[2] = shards[0][:0], shards[2][:0]
			if err := enc.Reconstruct(shards); err != nil {
				b.Fatal(err)
			}
		}
	}
}
