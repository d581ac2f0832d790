package ec

import (
	"bytes"
	"context"
	"hash/crc32"
	"io"
	"testing"

	"github.com/klauspost/reedsolomon"
)

const (
	benchK, benchM = 4, 2
	benchStream    = 64 << 20
)

// BenchmarkEncode streams 64 MiB through a 4+2 Coder with 1 MiB stripes
// into io.Discard writers: read, split, parity, CRC32C and writes.
func BenchmarkEncode(b *testing.B) {
	c := mustNew(b, config{benchK, benchM, DefaultBlockSize})
	data := randData(benchStream, 1)
	ws := make([]io.Writer, benchK+benchM)
	for i := range ws {
		ws[i] = io.Discard
	}
	b.SetBytes(benchStream)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := c.Encode(context.Background(), bytes.NewReader(data), ws, len(ws)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReedsolomonEncode is the raw parity computation of the same
// stream: 64 reedsolomon Encode calls on 4+2 shards of 256 KiB.
func BenchmarkReedsolomonEncode(b *testing.B) {
	enc, err := reedsolomon.New(benchK, benchM)
	if err != nil {
		b.Fatal(err)
	}
	per := DefaultBlockSize / benchK
	shards := make([][]byte, benchK+benchM)
	for i := range shards {
		shards[i] = randData(per, uint64(i))
	}
	b.SetBytes(benchStream)
	b.ResetTimer()
	for b.Loop() {
		for range benchStream / DefaultBlockSize {
			if err := enc.Encode(shards); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkCRC32C checksums the same stream's k+m blocks per stripe, on one
// goroutine (Encode spreads it over the shard goroutines).
func BenchmarkCRC32C(b *testing.B) {
	per := DefaultBlockSize / benchK
	blocks := make([][]byte, benchK+benchM)
	for i := range blocks {
		blocks[i] = randData(per, uint64(i))
	}
	b.SetBytes(benchStream)
	b.ResetTimer()
	var sum uint32
	for b.Loop() {
		for range benchStream / DefaultBlockSize {
			for _, blk := range blocks {
				sum ^= crc32.Checksum(blk, castagnoli)
			}
		}
	}
	_ = sum
}

// BenchmarkStreamCopy is the floor under Encode: reading the same stream
// into stripe buffers (the one copy Encode cannot avoid), nothing else.
func BenchmarkStreamCopy(b *testing.B) {
	data := randData(benchStream, 1)
	bufs := make([][]byte, encodeDepth)
	for i := range bufs {
		bufs[i] = make([]byte, DefaultBlockSize)
	}
	b.SetBytes(benchStream)
	b.ResetTimer()
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
	b.ResetTimer()
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

// BenchmarkDecode reads a healthy 64 MiB object (data shards only).
func BenchmarkDecode(b *testing.B) { benchDecode(b) }

// BenchmarkReconstruct reads the object with two data shards missing.
func BenchmarkReconstruct(b *testing.B) { benchDecode(b, 0, 2) }
