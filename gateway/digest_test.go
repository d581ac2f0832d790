package gateway

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/ecstore/ecstore/internal/md5pool"
	"github.com/ecstore/ecstore/s3api"
)

// TestDigestReaderFills: digestReader fills each read's buffer from a body
// that trickles, hashes every byte once, and passes the body's errors on
// unchanged (a cut body must stay an error, never become an end).
func TestDigestReaderFills(t *testing.T) {
	pool := md5pool.New()
	defer pool.Close()
	l := &Layer{cfg: Config{MD5: pool}}
	data := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640,000 bytes
	dr := l.newDigestReader(iotest.OneByteReader(bytes.NewReader(data)), int64(len(data)))
	defer dr.close()
	buf := make([]byte, 256<<10)
	var got bytes.Buffer
	for {
		n, err := dr.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n != len(buf) {
			t.Fatalf("a read in the middle returned %d bytes of %d", n, len(buf))
		}
	}
	etag, _, err := dr.check(int64(len(data)), s3api.PutOptions{})
	sum := md5.Sum(data)
	if err != nil || !bytes.Equal(got.Bytes(), data) || etag != hex.EncodeToString(sum[:]) {
		t.Fatalf("check = %q, %v; bytes equal %v; want ETag %x", etag, err, bytes.Equal(got.Bytes(), data), sum)
	}

	cut := errors.New("connection reset")
	dr2 := l.newDigestReader(io.MultiReader(bytes.NewReader(data[:1000]), iotest.ErrReader(cut)), -1)
	defer dr2.close()
	n, err := dr2.Read(buf)
	if n != 1000 || err != cut {
		t.Fatalf("read of a cut body = %d, %v; want 1000, the body's error", n, err)
	}
	dr3 := l.newDigestReader(io.MultiReader(bytes.NewReader(data[:1000]), iotest.ErrReader(io.ErrUnexpectedEOF)), -1)
	defer dr3.close()
	if n, err := dr3.Read(buf); n != 1000 || err != io.ErrUnexpectedEOF {
		t.Fatalf("read of a truncated body = %d, %v; want 1000, ErrUnexpectedEOF", n, err)
	}
}
