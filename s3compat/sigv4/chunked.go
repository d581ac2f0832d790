package sigv4

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strconv"
	"strings"
)

// Bounds of the aws-chunked decoder.
const (
	// maxChunkLine bounds one chunk header line ("<hex size>;chunk-
	// signature=<64 hex>" is 86 bytes for a 16 MiB chunk).
	maxChunkLine = 4 << 10
	// MaxSignedChunkSize is the largest chunk accepted in a signed
	// aws-chunked body. A signed chunk is held in memory until its
	// signature is verified; the buffer grows only as the chunk's bytes
	// arrive. minio-go sends 64 KiB chunks and the AWS SDKs 64 KiB to
	// 1 MiB. Unsigned chunks are streamed through and have no size bound
	// beyond x-amz-decoded-content-length.
	MaxSignedChunkSize = 16 << 20
	// maxTrailerBytes bounds everything after the final zero-size chunk.
	maxTrailerBytes = 16 << 10
	// minChunkBuf is the first allocation for a signed chunk.
	minChunkBuf = 64 << 10
)

type chunkedConfig struct {
	sc            *signingCtx   // chunk signatures chain from sc.seed
	signed        bool          // chunks carry and must match chunk-signature
	signedTrailer bool          // the trailer carries x-amz-trailer-signature
	trailer       *checksumAlgo // the one trailer announced, or nil
	decodedLen    int64         // x-amz-decoded-content-length, -1 unknown
}

// chunkedReader decodes an aws-chunked body:
//
//	<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n[<trailer lines>]\r\n
//
// In signed mode each chunk is read whole and released only once its
// signature, chained from the previous one, matches. In unsigned mode data
// is streamed through.
type chunkedReader struct {
	src *bufio.Reader
	cfg chunkedConfig

	prevSig  string // signature of the previous chunk (seed at first)
	buf      []byte // signed mode: the current chunk
	pending  []byte // verified bytes not yet returned
	left     int64  // unsigned mode: bytes left in the current chunk
	needCRLF bool   // unsigned mode: a CRLF follows the chunk just read
	total    int64  // decoded bytes so far
	done     bool   // final chunk and trailer were read and verified
	err      error  // sticky

	trailerVal string // value of the announced trailer
	trailerOK  bool
}

func newChunkedReader(body io.Reader, cfg chunkedConfig) *chunkedReader {
	c := &chunkedReader{src: bufio.NewReaderSize(body, maxChunkLine), cfg: cfg}
	if cfg.sc != nil {
		c.prevSig = cfg.sc.seed
	}
	return c
}

// trailerValue returns the value of the announced trailer, once the body
// was read to EOF.
func (c *chunkedReader) trailerValue() (string, bool) { return c.trailerVal, c.trailerOK }

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if len(c.pending) > 0 {
			n := copy(p, c.pending)
			c.pending = c.pending[n:]
			return n, nil
		}
		if c.left > 0 {
			if int64(len(p)) > c.left {
				p = p[:c.left]
			}
			n, err := c.src.Read(p)
			c.left -= int64(n)
			if c.left == 0 {
				c.needCRLF = true
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				if c.left > 0 {
					c.err = errIncomplete()
					return n, c.err
				}
				err = nil
			}
			if err != nil {
				c.err = err
			}
			return n, err
		}
		if c.done {
			c.err = io.EOF
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			c.err = err
			return 0, err
		}
	}
}

// ioErr maps an error of the underlying body met inside the framing: an
// early end is a truncated body.
func ioErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errIncomplete()
	}
	return err
}

// readCRLF consumes the CRLF that ends a chunk's data.
func (c *chunkedReader) readCRLF() error {
	var b [2]byte
	if _, err := io.ReadFull(c.src, b[:]); err != nil {
		return ioErr(err)
	}
	if b != [2]byte{'\r', '\n'} {
		return errMalformedChunked("chunk data is not followed by CRLF")
	}
	return nil
}

// readLine reads one line of at most maxChunkLine bytes, without its LF
// and an optional CR before it.
func (c *chunkedReader) readLine() (string, error) {
	line, err := c.src.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return "", errMalformedChunked("chunk header line too long")
	case err != nil:
		return "", ioErr(err)
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return string(line), nil
}

// next reads the next chunk header and, in signed mode, the chunk itself;
// after the final chunk it reads and checks the trailer.
func (c *chunkedReader) next() error {
	if c.needCRLF {
		if err := c.readCRLF(); err != nil {
			return err
		}
		c.needCRLF = false
	}
	line, err := c.readLine()
	if err != nil {
		return err
	}
	sizeStr, ext, _ := strings.Cut(line, ";")
	sizeStr = strings.TrimRight(sizeStr, " \t")
	if sizeStr == "" || len(sizeStr) > 15 {
		return errMalformedChunked("invalid chunk size")
	}
	size, err := strconv.ParseInt(sizeStr, 16, 64)
	if err != nil || size < 0 {
		return errMalformedChunked("invalid chunk size")
	}
	if c.cfg.decodedLen >= 0 && size > c.cfg.decodedLen-c.total {
		return newErr(CodeIncompleteBody, "The aws-chunked body is longer than x-amz-decoded-content-length.")
	}
	if !c.cfg.signed {
		if size == 0 {
			return c.finish()
		}
		c.left = size
		c.total += size
		return nil
	}

	sig, ok := chunkSignatureExt(ext)
	if !ok {
		return newErr(CodeSignatureDoesNotMatch, "A chunk of a signed aws-chunked body has no chunk-signature.")
	}
	if size > MaxSignedChunkSize {
		return newErr(CodeInvalidRequest, "Chunk size "+strconv.FormatInt(size, 10)+" exceeds the largest signed chunk accepted (16 MiB).")
	}
	if err := c.readChunk(int(size)); err != nil {
		return err
	}
	sum := sha256.Sum256(c.buf)
	want := c.cfg.sc.chunkSignature(c.prevSig, hex.EncodeToString(sum[:]))
	if !sigEqual(want, sig) {
		return errChunkSignature()
	}
	c.prevSig = hex.EncodeToString(want)
	if size == 0 {
		return c.finish()
	}
	if err := c.readCRLF(); err != nil {
		return err
	}
	c.pending = c.buf
	c.total += size
	return nil
}

// chunkSignatureExt finds chunk-signature among ';'-separated extensions.
func chunkSignatureExt(ext string) (string, bool) {
	for ext != "" {
		var e string
		e, ext, _ = strings.Cut(ext, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(e), "=")
		if ok && k == "chunk-signature" {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// readChunk reads size bytes into c.buf, growing it as the bytes arrive so
// that a declared size alone costs no memory.
func (c *chunkedReader) readChunk(size int) error {
	buf := c.buf[:0]
	for len(buf) < size {
		if len(buf) == cap(buf) {
			newCap := max(2*cap(buf), minChunkBuf)
			if newCap > size {
				newCap = size
			}
			nb := make([]byte, len(buf), newCap)
			copy(nb, buf)
			buf = nb
		}
		n, err := c.src.Read(buf[len(buf):min(cap(buf), size)])
		buf = buf[:len(buf)+n]
		if err != nil && len(buf) < size {
			c.buf = buf[:0]
			return ioErr(err)
		}
	}
	c.buf = buf
	return nil
}

// finish reads what follows the final chunk — the trailer, if any, and
// blank lines — up to EOF, and checks it.
func (c *chunkedReader) finish() error {
	rest, err := io.ReadAll(io.LimitReader(c.src, maxTrailerBytes+1))
	if err != nil {
		return ioErr(err)
	}
	if len(rest) > maxTrailerBytes {
		return errMalformedTrailer("trailer too long")
	}
	var canonical strings.Builder
	var trailerSig string
	haveSig := false
	for raw := range strings.SplitSeq(string(rest), "\n") {
		line := strings.TrimSuffix(raw, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if haveSig {
			return errMalformedTrailer("data after x-amz-trailer-signature")
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return errMalformedTrailer("a trailer line has no ':'")
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		switch {
		case name == "x-amz-trailer-signature":
			if !c.cfg.signedTrailer {
				return errMalformedTrailer("unexpected x-amz-trailer-signature")
			}
			trailerSig, haveSig = value, true
		case c.cfg.trailer != nil && name == c.cfg.trailer.header:
			if c.trailerOK {
				return errMalformedTrailer(name + " appears twice")
			}
			c.trailerVal, c.trailerOK = value, true
			canonical.WriteString(name)
			canonical.WriteByte(':')
			canonical.WriteString(value)
			canonical.WriteByte('\n')
		default:
			return errMalformedTrailer("undeclared trailer " + truncate(name, 64))
		}
	}
	if c.cfg.trailer != nil && !c.trailerOK {
		return errMalformedTrailer("missing " + c.cfg.trailer.header)
	}
	if c.cfg.signedTrailer {
		if !haveSig {
			return errMalformedTrailer("missing x-amz-trailer-signature")
		}
		if !sigEqual(c.cfg.sc.trailerSignature(c.prevSig, canonical.String()), trailerSig) {
			return newErr(CodeSignatureDoesNotMatch, msgTrailerSignature)
		}
	}
	if c.cfg.decodedLen >= 0 && c.total != c.cfg.decodedLen {
		return errIncomplete()
	}
	c.done = true
	return nil
}
