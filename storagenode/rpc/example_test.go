package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
	"github.com/ecstore/ecstore/storagenode/rpc"
)

// A storage node serves its drives with NewHandler; a gateway reaches each
// of them as a Client, which is a Drive like any other.
func ExampleNewClient() {
	opts := rpc.Options{Secret: []byte("the cluster secret, 16+ bytes")}
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	node := httptest.NewServer(rpc.NewHandler([]storagenode.Drive{local.NewMem("n1-d1")}, opts))
	defer node.Close()

	// In the gateway: one client for all the drives of the cluster.
	opts.Client = rpc.NewHTTPClient(opts)
	d := rpc.NewClient(node.URL, "n1-d1", opts)
	defer d.Close()

	ctx := context.Background()
	_ = d.MakeBucket(ctx, "photos", time.Now())
	w, _ := d.CreateShard(ctx, storagenode.ShardRef{Bucket: "photos", VersionDir: "v1", Name: "part.1"})
	_, _ = w.Write([]byte("shard bytes"))
	fmt.Println("commit:", w.Commit(ctx))
	_, err := d.GetMeta(ctx, "photos", "missing.jpg")
	fmt.Println(errors.Is(err, storagenode.ErrObjectNotFound))

	wrong := opts
	wrong.Secret = []byte("not the cluster secret")
	outsider := rpc.NewClient(node.URL, "n1-d1", wrong)
	defer outsider.Close()
	_, err = outsider.ListBuckets(ctx)
	fmt.Println(errors.Is(err, rpc.ErrUnauthorized), errors.Is(err, storagenode.ErrDriveOffline))
	// Output:
	// commit: <nil>
	// true
	// true true
}
