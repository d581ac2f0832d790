package md5pool

import (
	"crypto/md5"
	"hash"
	"sync"
	"sync/atomic"

	md5simd "github.com/minio/md5-simd"
)

// stdUpTo: while at most this many hashes are in use (the new one
// included), a new hash is crypto/md5's, and each stream has a core of its
// own on a 2-core machine; beyond, it is a lane of the shared server
// (../shared/limits: md5-simd sums 2 streams no faster than crypto/md5
// sums one, 4 streams 1.6 times as fast as crypto/md5 on 2 cores).
const stdUpTo = 2

// Pool hands out MD5 hashes. Its zero value is not usable; a nil *Pool
// hands out crypto/md5 hashes only. Safe for concurrent use.
type Pool struct {
	active atomic.Int32 // hashes handed out and not yet closed

	mu     sync.Mutex
	server md5simd.Server // started on first use; nil after Close
	closed bool
}

// New returns a pool. Close stops its server.
func New() *Pool { return &Pool{} }

// Hash is an MD5 hash of one stream. Close returns it to the pool (a lane
// of the server is released); a Hash must not be used after Close.
type Hash interface {
	hash.Hash
	Close()
}

// SimdFrom is the smallest body a lane of the server hashes: on smaller
// ones a lane's set-up and the server's polling of its lanes cost more
// than they save (1 MiB PUTs lost 13% of their rate).
const SimdFrom = 8 << 20

// Get returns a hash for one stream of size bytes (-1: unknown):
// crypto/md5 when size is below SimdFrom, while at most stdUpTo hashes
// are in use with it, or when p is nil or closed; else a lane of the
// shared md5-simd server.
func (p *Pool) Get(size int64) Hash {
	if p == nil {
		return &stdHash{Hash: md5.New()}
	}
	if p.active.Add(1) <= stdUpTo || (size >= 0 && size < SimdFrom) {
		return &stdHash{Hash: md5.New(), p: p}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return &stdHash{Hash: md5.New(), p: p}
	}
	if p.server == nil {
		p.server = md5simd.NewServer()
	}
	return &simdHash{Hasher: p.server.NewHash(), p: p}
}

// Close stops the shared server, at once when no hash is in use, else
// when the last one is closed (a request cut at shutdown may still hold
// one). Hashes got afterwards are crypto/md5's.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.stopIdleLocked()
}

func (p *Pool) stopIdleLocked() {
	if p.closed && p.server != nil && p.active.Load() == 0 {
		p.server.Close()
		p.server = nil
	}
}

func (p *Pool) release() {
	if p == nil {
		return
	}
	if p.active.Add(-1) == 0 {
		p.mu.Lock()
		p.stopIdleLocked()
		p.mu.Unlock()
	}
}

// running reports whether the shared server runs (for tests).
func (p *Pool) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.server != nil
}

type stdHash struct {
	hash.Hash
	p      *Pool
	closed bool
}

func (h *stdHash) Close() {
	if !h.closed {
		h.closed = true
		h.p.release()
	}
}

type simdHash struct {
	md5simd.Hasher
	p    *Pool
	once sync.Once
}

func (h *simdHash) Close() {
	h.once.Do(func() {
		h.Hasher.Close()
		h.p.release()
	})
}
