package tests

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// slowReader hands out its bytes at about rate bytes per second.
type slowReader struct {
	r    *bytes.Reader
	rate int
}

func (s *slowReader) Read(p []byte) (int, error) {
	chunk := s.rate / 20 // 20 reads a second
	if len(p) > chunk {
		p = p[:chunk]
	}
	time.Sleep(50 * time.Millisecond)
	return s.r.Read(p)
}

// TestSIGTERMDuringUploads sends SIGTERM while 20 uploads are in flight.
// The server stops taking connections, lets the uploads that can finish
// within --shutdown-timeout finish (each gets 200), and cuts the others.
// After a restart every upload that got 200 reads back byte-identical, and
// every other one is absent or whole: never half-visible.
//
// Serial: uploads paced to end within the 4 s shutdown deadline must end
// within it, and the server must stop within 10 s.
func TestSIGTERMDuringUploads(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	dirs := NewDriveDirs(t, 6)
	s := StartServer(t, dirs, "--shutdown-timeout", "4s")
	c := s.Minio(t)
	const bucket = "sigterm"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}

	// 12 quick uploads (2 MiB in about 1 s) that fit in the shutdown
	// deadline; 8 slow ones (2 MiB in about 20 s) that cannot.
	const n, quick, size = 20, 12, 2 << 20
	type result struct {
		data []byte
		err  error
	}
	results := make([]result, n)
	var started, wg sync.WaitGroup
	started.Add(n)
	for i := range n {
		results[i].data = randData(uint64(1000+i), size)
		rate := 2 << 20
		if i >= quick {
			rate = 100 << 10
		}
		wg.Go(func() {
			body := &slowReader{r: bytes.NewReader(results[i].data), rate: rate}
			started.Done()
			// A plain io.Reader: minio-go cannot rewind it, so it sends the
			// upload once and reports what the server answered.
			_, results[i].err = c.PutObject(ctx, bucket, fmt.Sprintf("up%02d", i), io.Reader(body), size, minio.PutObjectOptions{})
		})
	}
	started.Wait()
	time.Sleep(400 * time.Millisecond) // every upload is sending its body
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	termAt := time.Now()
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("server still running 30s after SIGTERM:\n%s", s.Log())
	}
	stopTook := time.Since(termAt)
	wg.Wait()
	if stopTook > 10*time.Second {
		t.Errorf("the server took %v to stop with --shutdown-timeout 4s", stopTook)
	}
	log := s.Log()
	for _, want := range []string{"shutting down: finishing in-flight requests", "shutdown deadline passed"} {
		if !bytes.Contains([]byte(log), []byte(want)) {
			t.Errorf("server log lacks %q", want)
		}
	}

	ok := 0
	for i, r := range results {
		switch {
		case i < quick && r.err != nil:
			t.Errorf("quick upload up%02d failed though it fit in the shutdown deadline: %v", i, r.err)
		case i >= quick && r.err == nil:
			t.Errorf("slow upload up%02d got 200 though it could not finish before the deadline", i)
		}
		if r.err == nil {
			ok++
		}
	}
	t.Logf("%d of %d uploads got 200 before the server stopped (in %v)", ok, n, stopTook.Round(time.Millisecond))

	s.Restart()
	c = s.Minio(t)
	visible := map[string]bool{}
	keys, _ := listKeys(ctx, t, c, bucket, minio.ListObjectsOptions{})
	for _, k := range keys {
		visible[k] = true
	}
	for i, r := range results {
		key := fmt.Sprintf("up%02d", i)
		got, err := getAll(ctx, c, bucket, key, minio.GetObjectOptions{})
		switch {
		case r.err == nil && (err != nil || !bytes.Equal(got, r.data)):
			t.Errorf("%s got 200 before SIGTERM but reads back %d bytes, err %v", key, len(got), err)
		case err != nil && minio.ToErrorResponse(err).Code != "NoSuchKey":
			t.Errorf("%s after restart: %v, want the object or NoSuchKey", key, err)
		case err == nil && !bytes.Equal(got, r.data):
			t.Errorf("%s is half-visible: %d bytes that are not what was uploaded", key, len(got))
		}
		if (err == nil) != visible[key] {
			t.Errorf("%s: readable %v but listed %v", key, err == nil, visible[key])
		}
	}
	// No temporary shard file survives the restart.
	for _, d := range dirs {
		entries, _ := os.ReadDir(filepath.Join(d, "tmp"))
		if len(entries) > 0 {
			t.Errorf("%s/tmp holds %d files after the restart", d, len(entries))
		}
	}
}
