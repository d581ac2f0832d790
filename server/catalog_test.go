package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode/local"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestEmbeddedImportsDriveBuckets: a store whose buckets live only in the
// drives' bucket records (as every version before the metadata store wrote
// them; the gateway without a Catalog still writes them so) is served by
// the embedded server with its buckets and objects, imported at the first
// start; a bucket made after that survives the next restart, and losing
// two of the five metadata folders loses no bucket.
func TestEmbeddedImportsDriveBuckets(t *testing.T) {
	root := t.TempDir()
	var dirs, ids []string
	for i := range 6 {
		dirs = append(dirs, filepath.Join(root, fmt.Sprintf("drive%d", i+1)))
		ids = append(ids, fmt.Sprintf("drive%d", i+1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The old layout: drive records only.
	set, err := openSet(driveSet{Dirs: dirs, IDs: ids, Quorum: startQuorum(6, 4, 2), Log: slog.New(slog.DiscardHandler),
		Open: func(dir, id string) (*local.Drive, error) { return local.Open(dir, local.Options{ID: id}) }})
	if err != nil {
		t.Fatal(err)
	}
	var gd []gateway.Drive
	for _, d := range set {
		gd = append(gd, gateway.Drive{Drive: d, Node: d.ID()})
	}
	old, err := gateway.New(gateway.Config{Drives: gd})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"legacy-a", "legacy-b"} {
		if err := old.MakeBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	body := "written before the metadata store"
	if _, err := old.PutObject(ctx, "legacy-a", "k", strings.NewReader(body), int64(len(body)), s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	closeDrives(set, slog.New(slog.DiscardHandler))

	run := func(check func(c *minio.Client)) {
		t.Helper()
		rctx, stop := context.WithCancel(ctx)
		addr := make(chan string, 1)
		done := make(chan error, 1)
		cfg := DefaultConfig()
		cfg.Address, cfg.DriveDirs = "127.0.0.1:0", dirs
		cfg.Logger = slog.New(slog.DiscardHandler)
		go func() { done <- Run(rctx, cfg, func(a string) { addr <- a }) }()
		var a string
		select {
		case a = <-addr:
		case err := <-done:
			t.Fatalf("server ended at start: %v", err)
		}
		c, err := minio.New(a, &minio.Options{Creds: credentials.NewStaticV4(DefaultAccessKey, DefaultSecretKey, ""), Transport: http.DefaultTransport.(*http.Transport).Clone()})
		if err != nil {
			t.Fatal(err)
		}
		check(c)
		stop()
		if err := <-done; err != nil {
			t.Fatalf("server: %v", err)
		}
	}
	names := func(c *minio.Client) []string {
		t.Helper()
		bs, err := c.ListBuckets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, b := range bs {
			out = append(out, b.Name)
		}
		return out
	}
	run(func(c *minio.Client) {
		if got := names(c); !slices.Equal(got, []string{"legacy-a", "legacy-b"}) {
			t.Fatalf("buckets after the upgrade: %v", got)
		}
		o, err := c.GetObject(ctx, "legacy-a", "k", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(o)
		if err != nil || string(got) != body {
			t.Fatalf("object after the upgrade: %q, %v", got, err)
		}
		if err := c.MakeBucket(ctx, "after", minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.RemoveBucket(ctx, "legacy-b"); err != nil {
			t.Fatal(err)
		}
	})
	// Two metadata folders lost (replaced drives: the metadata goes with
	// the folder; the drives themselves stay, here, so nothing needs a heal).
	for _, i := range []int{0, 2} {
		if err := os.RemoveAll(filepath.Join(dirs[i], metaDir)); err != nil {
			t.Fatal(err)
		}
	}
	run(func(c *minio.Client) {
		if got := names(c); !slices.Equal(got, []string{"after", "legacy-a"}) {
			t.Fatalf("buckets after a restart with two metadata folders lost: %v (a deleted bucket came back, or the import ran again?)", got)
		}
		if _, err := c.StatObject(ctx, "legacy-a", "k", minio.StatObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}
