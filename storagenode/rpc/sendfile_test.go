package rpc_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

// fileDrive counts the shard readers whose file the node's handler asked
// for (storagenode.FileReader); with short set, those readers' files end
// short bytes early, as a file cut under the node would.
type fileDrive struct {
	storagenode.Drive
	files atomic.Int64
	short int64
	hint  atomic.Int64 // the length of the last range hinted to a reader
}

func (d *fileDrive) OpenShard(ctx context.Context, ref storagenode.ShardRef) (storagenode.ShardReader, error) {
	sr, err := d.Drive.OpenShard(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &fileReader{ShardReader: sr, d: d}, nil
}

type fileReader struct {
	storagenode.ShardReader
	d *fileDrive
}

// HintRange records the hint and passes it on.
func (r *fileReader) HintRange(off, end int64) {
	r.d.hint.Store(end - off)
	storagenode.HintRange(r.ShardReader, off, end)
}

func (r *fileReader) ReaderFrom(off int64) (io.Reader, bool) {
	fr, ok := r.ShardReader.(storagenode.FileReader)
	if !ok {
		return nil, false
	}
	f, ok := fr.ReaderFrom(off)
	if !ok {
		return nil, false
	}
	r.d.files.Add(1)
	if r.d.short > 0 {
		// No longer a file: io.Copy copies it, and it ends early.
		return io.LimitReader(f, max(0, r.Size()-off-r.d.short)), true
	}
	return f, true
}

// fileShard writes size random bytes as a shard on a drive on disk served
// over plain HTTP through a fileDrive.
func fileShard(t *testing.T, size int, short int64) (*fileDrive, storagenode.ShardReader, []byte) {
	t.Helper()
	d := &fileDrive{Drive: openLocal(t), short: short}
	srv := serve(t, rpcOpts(nil), d)
	c := remote(t, srv.URL, d.ID(), rpcOpts(nil))
	if err := c.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(uint64(size), 7))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: storagenode.SinglePartName}
	putShard(t, c, ref, data)
	sr, err := c.OpenShard(bg, ref)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sr.Close() })
	return d, sr, data
}

// TestRemoteReadFromFile: over plain TCP a node answers shard reads that
// leave at least 1 MiB past their first 4 KiB from the file itself
// (sendfile), and the bytes are the file's at every offset, across the 4
// MiB chunks it sends in; smaller reads never ask for the file. The range
// hinted to the drive for such a read is its first 4 KiB only, the part
// read through the process: a drive that reads ahead with O_DIRECT (a
// node's default) read up to 1 MiB of it for nothing, sendfile reading the
// same bytes through the page cache.
func TestRemoteReadFromFile(t *testing.T) {
	const size = 9<<20 + 333
	d, sr, data := fileShard(t, size, 0)
	for _, c := range []struct{ off, n int }{
		{0, 4096},
		{100, 17},
		{0, size},
		{1, size - 1},
		{4<<20 - 5, 4<<20 + 10},
		{size - 4097, 4097},
		{7, 1<<20 + 4095},
		{7, 1<<20 + 4096},
	} {
		before := d.files.Load()
		storagenode.HintRange(sr, int64(c.off), int64(c.off+c.n))
		readAt(t, sr, data, c.off, c.n)
		got := d.files.Load() - before
		big := c.n-4096 >= 1<<20
		if big && got == 0 {
			t.Errorf("read of %d bytes at %d: the node did not answer it from the file", c.n, c.off)
		} else if !big && got != 0 {
			t.Errorf("read of %d bytes at %d: the node asked for the file %d times, want 0", c.n, c.off, got)
		}
		if h := d.hint.Load(); big && h != 4096 || !big && h != int64(c.n) {
			t.Errorf("read of %d bytes at %d: the node hinted a range of %d bytes to the drive", c.n, c.off, h)
		}
	}
}

// TestRemoteReadFromFileShort: a file that ends before the size the answer
// announced cuts the connection, and the gateway's read fails: it never
// sees fewer bytes or zeros in their place.
func TestRemoteReadFromFileShort(t *testing.T) {
	const size = 6<<20 + 5
	d, sr, data := fileShard(t, size, 1000)
	p := make([]byte, size)
	storagenode.HintRange(sr, 0, size)
	n, err := sr.ReadAt(p, 0)
	if err == nil {
		t.Fatalf("ReadAt of a file cut short returned %d bytes and no error (bytes equal %v)", n, bytes.Equal(p[:n], data[:n]))
	}
	if d.files.Load() == 0 {
		t.Fatal("the node never answered from the file")
	}
	if !bytes.Equal(p[:n], data[:n]) {
		t.Fatalf("the %d bytes read before the error differ from the file's", n)
	}
	t.Logf("read of a short file: %d bytes, then %v", n, err)
}
