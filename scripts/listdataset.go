//go:build ignore

// listdataset builds the data sets of BENCHMARKS.md's
// "ListObjectVersions (issue 17)" section: n one-byte objects
// big/obj-00000000.. in bucket ecstore-bench over six drive folders d1..d6
// (the embedded server's drive1..drive6, 4+2), written through
// gateway.Layer directly (no HTTP), for `ecstore server` to serve
// afterwards:
//
//	go run scripts/listdataset.go -dir /dev/shm/lv/vers -versioned
//	go run scripts/listdataset.go -dir /dev/shm/lv/plain
//
// It is a benchmark recipe, not part of any package (build tag ignore).
//
// With -versioned the bucket has versioning Enabled, keys i%10 == 0 are
// overwritten 5 more times (5 noncurrent versions each) and keys
// i%20 == 5 end in a delete marker (a DELETE without a version id, over
// their one version).
//
// The bucket and its versioning setting are made through the real server
// first (in-process, so that the metadata store in the folders holds
// them), then the server stops and the objects are written by a Layer whose
// catalog answers that bucket.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/server"
	"github.com/ecstore/ecstore/storagenode/local"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const bucket = "ecstore-bench"

func main() {
	dir := flag.String("dir", "", "folder for d1..d6 (created)")
	n := flag.Int("n", 1_000_000, "keys")
	versioned := flag.Bool("versioned", false, "versioned bucket, 10% of keys with 5 noncurrent versions, 5% ending in a delete marker")
	workers := flag.Int("workers", 256, "goroutines")
	flag.Parse()
	if *dir == "" {
		log.Fatal("-dir is required")
	}
	var dirs []string
	for i := 1; i <= 6; i++ {
		d := filepath.Join(*dir, fmt.Sprintf("d%d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			log.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	quiet := slog.New(slog.DiscardHandler)
	makeBucket(dirs, *versioned, quiet)

	var drives []gateway.Drive
	var closers []*local.Drive
	for i, d := range dirs {
		ld, err := local.Open(d, local.Options{ID: fmt.Sprintf("drive%d", i+1), Logger: quiet})
		if err != nil {
			log.Fatal(err)
		}
		closers = append(closers, ld)
		drives = append(drives, gateway.Drive{Drive: ld, Node: ld.ID(), Weight: 1})
	}
	cat := &staticCatalog{info: s3api.BucketInfo{Name: bucket, Created: time.Now()}}
	if *versioned {
		cat.set.Docs[s3api.SettingVersioning] = []byte(`{"status":"Enabled"}`)
	}
	l, err := gateway.New(gateway.Config{Drives: drives, DataShards: 4, ParityShards: 2, Catalog: cat, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	var next, puts, dels atomic.Int64
	start := time.Now()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s := time.Since(start).Seconds()
				log.Printf("%d keys, %d PUTs (%.0f/s), %d delete markers, %.0fs", min(next.Load(), int64(*n)), puts.Load(), float64(puts.Load())/s, dels.Load(), s)
			}
		}
	}()
	var wg sync.WaitGroup
	for range *workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) {
					return
				}
				key := fmt.Sprintf("big/obj-%08d", i)
				versions := 1
				if *versioned && i%10 == 0 {
					versions = 6
				}
				for v := range versions {
					body := []byte{byte('a' + v)}
					if _, err := l.PutObject(ctx, bucket, key, bytes.NewReader(body), 1, s3api.PutOptions{}); err != nil {
						log.Fatalf("PUT %s: %v", key, err)
					}
					puts.Add(1)
				}
				if *versioned && i%20 == 5 {
					r, err := l.DeleteObjectVersion(ctx, bucket, key, "", s3api.DeleteOptions{})
					if err != nil || !r.DeleteMarker {
						log.Fatalf("DELETE %s: %+v, %v", key, r, err)
					}
					dels.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(done)
	log.Printf("done: %d keys, %d PUTs, %d delete markers in %s", *n, puts.Load(), dels.Load(), time.Since(start).Round(time.Second))
	for _, d := range closers {
		if err := d.Close(); err != nil {
			log.Printf("close %s: %v", d.ID(), err)
		}
	}
}

// makeBucket runs the embedded server on dirs until it has made the
// bucket (and turned its versioning on).
func makeBucket(dirs []string, versioned bool, logger *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- server.Run(ctx, server.Config{DriveDirs: dirs, Endpoint: server.Endpoint{Address: "127.0.0.1:0",
			AccessKey: server.DefaultAccessKey, SecretKey: server.DefaultSecretKey, Logger: logger}},
			func(a string) { addrc <- a })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		log.Fatalf("server: %v", err)
	}
	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(server.DefaultAccessKey, server.DefaultSecretKey, ""),
		Transport: http.DefaultTransport.(*http.Transport).Clone()})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		log.Fatalf("make bucket: %v", err)
	}
	if versioned {
		if err := c.EnableVersioning(ctx, bucket); err != nil {
			log.Fatalf("enable versioning: %v", err)
		}
	}
	cancel()
	if err := <-errc; err != nil {
		log.Fatalf("server: %v", err)
	}
}

// staticCatalog is a bucket table of one bucket that never changes.
type staticCatalog struct {
	info s3api.BucketInfo
	set  s3api.BucketSettings
}

func (c *staticCatalog) Bucket(name string) (s3api.BucketInfo, bool) {
	return c.info, name == c.info.Name
}
func (c *staticCatalog) Buckets() []s3api.BucketInfo { return []s3api.BucketInfo{c.info} }
func (c *staticCatalog) CreateBucket(context.Context, string) error {
	return gateway.ErrBucketExists
}
func (c *staticCatalog) DeleteBucket(context.Context, string) error { return gateway.ErrNotImplemented }
func (c *staticCatalog) Sync(context.Context) error                 { return nil }
func (c *staticCatalog) Settings(name string) (s3api.BucketSettings, bool) {
	return c.set, name == c.info.Name
}
func (c *staticCatalog) PutSetting(context.Context, string, s3api.Setting, []byte) error {
	return gateway.ErrNotImplemented
}
