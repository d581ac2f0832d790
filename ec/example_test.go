package ec_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/ecstore/ecstore/ec"
)

func ExampleCoder() {
	// 4 data + 2 parity shards, 16 object bytes per stripe.
	c, err := ec.New(4, 2, ec.WithBlockSize(16))
	if err != nil {
		log.Fatal(err)
	}
	object := []byte("The quick brown fox jumps over the lazy dog.")

	// Encode into six shard files.
	files := make([]*bytes.Buffer, 6)
	writers := make([]io.Writer, 6)
	for i := range files {
		files[i] = new(bytes.Buffer)
		writers[i] = files[i]
	}
	n, _, err := c.Encode(context.Background(), bytes.NewReader(object), writers, 6)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("encoded", n, "bytes into shard files of", c.ShardFileSize(n), "bytes")

	// Lose a drive, corrupt a block of another, and read a range back.
	shards := make([]io.ReaderAt, 6)
	for i, f := range files {
		shards[i] = bytes.NewReader(f.Bytes())
	}
	shards[3] = nil
	files[1].Bytes()[9] ^= 0xff // shard 1, stripe 0, block byte 1
	var out bytes.Buffer
	report, err := c.Decode(context.Background(), &out, shards, n, 4, 15)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", out.String())
	fmt.Println("missing", report.Missing, "corrupt", report.Corrupt, "heal:", report.Degraded())

	// A third bad shard is one too many for the first stripe.
	shards[4] = nil
	_, err = c.Decode(context.Background(), io.Discard, shards, n, 0, n)
	fmt.Println(err != nil, errors.Is(err, ec.ErrTooFewShards))
	// Output:
	// encoded 44 bytes into shard files of 35 bytes
	// "quick brown fox"
	// missing [3] corrupt [1] heal: true
	// true true
}
