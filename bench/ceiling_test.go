package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zeebo/xxh3"
)

// BenchmarkTwoHopCeiling measures what a cluster GET of a 64 MiB object can
// reach on this machine when a gateway does nothing but relay: 4 "nodes"
// send 16 MiB ranges of a file in the page cache with sendfile, a
// "gateway" reads the 4 streams in 1 MiB blocks (hashing each with XXH3
// when verify is on, as ecstore's gateway checks its frames) and writes
// them to the client in order, and 8 clients GET in parallel. Every byte
// crosses loopback twice, as in ecstore's process cluster (issue 18,
// target 3), so the figure is the kernel's share of that target: no disk,
// no framing, no S3. It is a property of the machine, not of ecstore:
//
//	go test -run '^$' -bench BenchmarkTwoHopCeiling -benchtime 100x ./bench/
func BenchmarkTwoHopCeiling(b *testing.B) {
	const (
		k     = 4
		size  = 64 << 20
		shard = size / k
		block = 1 << 20
	)
	path := filepath.Join(b.TempDir(), "shards")
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	// node serves ?off=&len= of the file; http's ReadFrom sends an
	// *io.LimitedReader over an *os.File with sendfile.
	node := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		off, err1 := strconv.ParseInt(r.URL.Query().Get("off"), 10, 64)
		n, err2 := strconv.ParseInt(r.URL.Query().Get("len"), 10, 64)
		f, err3 := os.Open(path)
		if err1 != nil || err2 != nil || err3 != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		defer f.Close()
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		_, _ = io.Copy(w, io.LimitReader(f, n))
	})
	nodes := make([]*httptest.Server, k)
	for i := range nodes {
		nodes[i] = httptest.NewServer(node)
		defer nodes[i].Close()
	}
	internode := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer internode.CloseIdleConnections()

	for _, verify := range []bool{false, true} {
		b.Run(fmt.Sprintf("verify=%t", verify), func(b *testing.B) {
			gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				relay(w, r, internode, nodes, shard, block, verify)
			}))
			defer gateway.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			b.SetBytes(size)
			b.SetParallelism(4) // 8 clients on 2 CPUs: issue 18's c8
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, block)
				for pb.Next() {
					resp, err := client.Get(gateway.URL)
					if err != nil {
						b.Error(err)
						return
					}
					n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{resp.Body}, buf)
					resp.Body.Close()
					if err != nil || n != size {
						b.Errorf("GET: %d bytes, %v", n, err)
						return
					}
				}
			})
		})
	}
}

// relay answers one GET: it opens a range of each node, reads the ranges
// in blocks on one goroutine each, and writes the blocks to w in stripe
// order (block 0 of each node, then block 1, ...).
func relay(w http.ResponseWriter, r *http.Request, c *http.Client, nodes []*httptest.Server, shard, block int64, verify bool) {
	bodies := make([]io.ReadCloser, len(nodes))
	defer func() {
		for _, b := range bodies {
			if b != nil {
				b.Close()
			}
		}
	}()
	for i, n := range nodes {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, fmt.Sprintf("%s/?off=%d&len=%d", n.URL, int64(i)*shard, shard), nil)
		resp, err := c.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		bodies[i] = resp.Body
	}
	w.Header().Set("Content-Length", strconv.FormatInt(shard*int64(len(nodes)), 10))
	pool := sync.Pool{New: func() any { b := make([]byte, block); return &b }}
	blocks := make([]chan []byte, len(nodes))
	ctx, cancel := context.WithCancel(r.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	sums := make([]uint64, len(nodes)) // the hashes' sink
	for i := range nodes {
		blocks[i] = make(chan []byte, 2)
		wg.Go(func() {
			defer close(blocks[i])
			for left := shard; left > 0; left -= block {
				p := (*pool.Get().(*[]byte))[:min(block, left)]
				if _, err := io.ReadFull(bodies[i], p); err != nil {
					return
				}
				if verify {
					sums[i] ^= xxh3.Hash(p)
				}
				select {
				case blocks[i] <- p:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	for left := shard; left > 0; left -= block {
		for i := range blocks {
			p, ok := <-blocks[i]
			if !ok {
				panic(http.ErrAbortHandler) // a node's stream ended early: cut the response
			}
			_, err := w.Write(p)
			p = p[:cap(p)]
			pool.Put(&p)
			if err != nil {
				panic(http.ErrAbortHandler)
			}
		}
	}
	wg.Wait()
	for _, s := range sums {
		hashSink.Add(s)
	}
}

// hashSink keeps the relay's hashing from being optimised away.
var hashSink atomic.Uint64
