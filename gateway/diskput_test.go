package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/ecstore/ecstore/internal/md5pool"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode/local"
)

// TestLargePutsOnDisk writes large objects at once through a layer over
// drive folders on the operating system's file system (shard files past
// 1 MiB written with O_DIRECT where it takes it) with a shared MD5 pool
// (most bodies hashed by md5-simd lanes), some of unknown size, and checks
// every ETag and every byte read back.
func TestLargePutsOnDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: writes 100 MiB to disk")
	}
	ctx := context.Background()
	var drives []Drive
	for i := range 6 {
		d, err := local.Open(t.TempDir(), local.Options{ID: fmt.Sprintf("d%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		drives = append(drives, Drive{Drive: d, Node: d.ID()})
	}
	md5s := md5pool.New()
	defer md5s.Close()
	l, err := New(Config{Drives: drives, DataShards: 4, ParityShards: 2, MD5: md5s,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.MakeBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	sizes := []int{md5pool.SimdFrom + 12345, 9<<20 + 1, 17 << 20, 5<<20 + 4097, 12<<20 - 3, 3 << 20, 10 << 20, 16<<20 + 65536}
	var wg sync.WaitGroup
	for i, size := range sizes {
		wg.Go(func() {
			data := randBytes(uint64(100+i), size)
			declared := int64(size)
			if i%3 == 1 {
				declared = -1 // streamed without a length
			}
			key := fmt.Sprintf("big-%d", i)
			info, err := l.PutObject(ctx, "bkt", key, bytes.NewReader(data), declared, s3api.PutOptions{})
			if err != nil {
				t.Errorf("put %s (%d bytes): %v", key, size, err)
				return
			}
			if info.ETag != md5hex(data) || info.Size != int64(size) {
				t.Errorf("put %s: ETag %s size %d, want %s %d", key, info.ETag, info.Size, md5hex(data), size)
			}
			obj, err := l.OpenObject(ctx, "bkt", key)
			if err != nil {
				t.Errorf("open %s: %v", key, err)
				return
			}
			var got bytes.Buffer
			if err := obj.Read(ctx, &got, 0, int64(size)); err != nil || !bytes.Equal(got.Bytes(), data) {
				t.Errorf("read %s back: %v, %d bytes, equal %v", key, err, got.Len(), bytes.Equal(got.Bytes(), data))
			}
		})
	}
	wg.Wait()
}
