package rpc

import (
	"io"
	"sync"
)

// bodyPipe is io.Pipe for a shard stream's request body, with one addition:
// its read end is an io.WriterTo, which the HTTP transport uses to copy the
// body, so each Write reaches the connection whole, as one chunk of the
// chunked body, with no copy. Through io.Pipe the transport reads the body
// into a 32 KiB buffer: every frame was copied once more and became 8 chunks
// of 32 KiB, each written (and flushed) with three system calls.
//
// Like io.Pipe, a Write blocks until the reader has taken all of it, Writes
// are serialized, and closing either end with an error makes the other
// end's calls return it (closing the write end with nil: io.EOF to reads).
type bodyPipe struct {
	wrMu sync.Mutex  // one Write at a time
	data chan []byte // a Write's bytes, to the reader
	took chan int    // how many bytes the reader took of them
	once sync.Once
	done chan struct{}

	mu   sync.Mutex
	rerr error // what reads get once done
	werr error // what writes get once done
}

func newBodyPipe() *bodyPipe {
	return &bodyPipe{data: make(chan []byte), took: make(chan int), done: make(chan struct{})}
}

// Write hands p to the reader and waits until it took all of it.
func (p *bodyPipe) Write(b []byte) (n int, err error) {
	select {
	case <-p.done:
		return 0, p.writeErr()
	default:
	}
	p.wrMu.Lock()
	defer p.wrMu.Unlock()
	for first := true; first || len(b) > 0; first = false {
		select {
		case p.data <- b:
			k := <-p.took
			b = b[k:]
			n += k
		case <-p.done:
			return n, p.writeErr()
		}
	}
	return n, nil
}

// Read copies what a Write offers into b.
func (p *bodyPipe) Read(b []byte) (int, error) {
	select {
	case <-p.done:
		return 0, p.readErr()
	default:
	}
	select {
	case d := <-p.data:
		k := copy(b, d)
		p.took <- k
		return k, nil
	case <-p.done:
		return 0, p.readErr()
	}
}

// WriteTo writes every Write's bytes to w as they come, each in one w.Write,
// until the write end is closed (then it returns nil, or the error given to
// CloseWithError). If w fails, the pipe is closed with w's error.
func (p *bodyPipe) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		select {
		case d := <-p.data:
			k, err := w.Write(d)
			total += int64(k)
			if err == nil && k < len(d) {
				err = io.ErrShortWrite
			}
			if err != nil {
				p.CloseRead(err)
			}
			p.took <- k
			if err != nil {
				return total, err
			}
		case <-p.done:
			err := p.readErr()
			if err == io.EOF {
				err = nil
			}
			return total, err
		}
	}
}

// Close closes the write end: reads get io.EOF once the Writes before it
// were taken.
func (p *bodyPipe) Close() error { return p.CloseWithError(nil) }

// CloseWithError closes the write end: reads get err (io.EOF if nil).
func (p *bodyPipe) CloseWithError(err error) error {
	if err == nil {
		err = io.EOF
	}
	p.close(err, io.ErrClosedPipe)
	return nil
}

// CloseRead closes the read end: writes get err (io.ErrClosedPipe if nil).
func (p *bodyPipe) CloseRead(err error) {
	if err == nil {
		err = io.ErrClosedPipe
	}
	p.close(io.ErrClosedPipe, err)
}

// close ends the pipe once: the first close decides what each end gets.
func (p *bodyPipe) close(rerr, werr error) {
	p.once.Do(func() {
		p.mu.Lock()
		p.rerr, p.werr = rerr, werr
		p.mu.Unlock()
		close(p.done)
	})
}

func (p *bodyPipe) readErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rerr
}

func (p *bodyPipe) writeErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.werr
}

// bodyReader is the read end of a bodyPipe, as a request body: closing it
// (the transport does, when done with the request) closes the read end.
type bodyReader struct{ p *bodyPipe }

func (r bodyReader) Read(b []byte) (int, error)         { return r.p.Read(b) }
func (r bodyReader) WriteTo(w io.Writer) (int64, error) { return r.p.WriteTo(w) }
func (r bodyReader) Close() error                       { r.p.CloseRead(nil); return nil }
