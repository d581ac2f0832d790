package sse

import (
	"errors"
	"io"

	"github.com/minio/sio"
)

// Package geometry of DARE 2.0.
const (
	// PackagePlain is the plaintext of one package (the last may be less).
	PackagePlain = 64 << 10
	// PackageOverhead is each package's header and tag.
	PackageOverhead = 32
	// PackageSize is one whole package as stored.
	PackageSize = PackagePlain + PackageOverhead
)

// ErrAuth: stored bytes that fail their package's tag (altered, or of
// another object): the read stops before any of them reaches the client.
var ErrAuth = errors.New("sse: encrypted data failed authentication")

func config(key []byte, seq uint32) sio.Config {
	return sio.Config{MinVersion: sio.Version20, MaxVersion: sio.Version20, CipherSuites: []byte{sio.AES_256_GCM}, Key: key, SequenceNumber: seq}
}

// EncryptReader returns the DARE stream of src under key.
func EncryptReader(src io.Reader, key []byte) (io.Reader, error) {
	return sio.EncryptReader(src, config(key, 0))
}

// EncryptedSize is the stored size of n bytes of plaintext.
func EncryptedSize(n int64) int64 {
	s := (n / PackagePlain) * PackageSize
	if r := n % PackagePlain; r > 0 {
		s += r + PackageOverhead
	}
	return s
}

// DecryptedSize is the plaintext size of a stream of stored size n; false
// when no stream has that size.
func DecryptedSize(n int64) (int64, bool) {
	p := (n / PackageSize) * PackagePlain
	if r := n % PackageSize; r > 0 {
		if r <= PackageOverhead {
			return 0, false
		}
		p += r - PackageOverhead
	}
	return p, true
}

// Window maps the plaintext range [off, off+length) of a stream whose
// plaintext is size bytes to the stored range that holds it: whole
// packages from the one holding off, the first package's sequence number,
// and how many plaintext bytes of that package precede off.
type Window struct {
	Offset, Length int64 // the stored range
	Seq            uint32
	Skip           int64
}

// WindowOf returns the Window of [off, off+length) in a stream of size
// plaintext bytes; off+length must not pass size.
func WindowOf(off, length, size int64) Window {
	first := off / PackagePlain
	last := (off + length + PackagePlain - 1) / PackagePlain // one past
	end := min(last*PackageSize, EncryptedSize(size))
	if length == 0 {
		end = first * PackageSize
	}
	return Window{Offset: first * PackageSize, Length: end - first*PackageSize, Seq: uint32(first), Skip: off - first*PackagePlain}
}

// DecryptWriter decrypts the stored bytes of w's window written to it and
// writes the plaintext range [Skip, Skip+length) of them to dst. Close
// flushes the last package; a package that fails authentication fails
// Write or Close with ErrAuth and nothing of it reaches dst.
func DecryptWriter(dst io.Writer, key []byte, w Window, length int64) (io.WriteCloser, error) {
	out := &rangeWriter{dst: dst, skip: w.Skip, left: length}
	d, err := sio.DecryptWriter(out, config(key, w.Seq))
	if err != nil {
		return nil, err
	}
	return &authWriter{d}, nil
}

// authWriter turns sio's errors into ErrAuth.
type authWriter struct{ w io.WriteCloser }

func (a *authWriter) Write(p []byte) (int, error) {
	n, err := a.w.Write(p)
	return n, authErr(err)
}

func (a *authWriter) Close() error { return authErr(a.w.Close()) }

func authErr(err error) error {
	var se sio.Error
	if errors.As(err, &se) {
		return errors.Join(ErrAuth, err)
	}
	return err
}

// rangeWriter drops the first skip bytes and passes the next left ones; it
// is no io.Closer, so sio does not close dst.
type rangeWriter struct {
	dst  io.Writer
	skip int64
	left int64
}

func (r *rangeWriter) Write(p []byte) (int, error) {
	n := len(p)
	if r.skip > 0 {
		d := min(r.skip, int64(len(p)))
		p, r.skip = p[d:], r.skip-d
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	if len(p) > 0 {
		if _, err := r.dst.Write(p); err != nil {
			return 0, err
		}
		r.left -= int64(len(p))
	}
	return n, nil
}
