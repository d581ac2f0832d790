package tests

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestSlowGetRacingOverwrite: a GET that started on a version finishes
// with that version's bytes, all of them, even when the key is overwritten
// or deleted while the client reads slowly: the replaced version's shard
// files outlive the reads that started on them (the drives' trash).
func TestSlowGetRacingOverwrite(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 3*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6))
	mc := s.Minio(t)
	const bucket = "race"
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, then := range []string{"overwrite", "delete"} {
		data := randData(40, 40<<20)
		if _, err := mc.PutObject(ctx, bucket, "big", bytes.NewReader(data), int64(len(data)),
			minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
			t.Fatal(err)
		}
		req := signV4(newRawRequest(ctx, t, s, http.MethodGet, objectPath(bucket, "big"), "", nil), nil, testAccessKey, testSecretKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ContentLength != int64(len(data)) {
			t.Fatalf("Content-Length %d, want %d", resp.ContentLength, len(data))
		}
		head := make([]byte, 1<<20)
		if _, err := io.ReadFull(resp.Body, head); err != nil {
			t.Fatal(err)
		}
		// The reader stalls; meanwhile the key changes.
		switch then {
		case "overwrite":
			next := randData(41, 7<<20)
			if _, err := mc.PutObject(ctx, bucket, "big", bytes.NewReader(next), int64(len(next)),
				minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
				t.Fatal(err)
			}
		case "delete":
			if err := mc.RemoveObject(ctx, bucket, "big", minio.RemoveObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		rest, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := append(head, rest...)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GET racing a%s %s: %d of %d bytes, equal %v, err %v", map[bool]string{true: "n", false: ""}[then == "overwrite"], then, len(got), len(data), bytes.Equal(got, data), err)
		}
	}
}

// TestGetsDuringOverwrites: GETs of a key that several writers overwrite
// at once each return one whole version written, never a 503 because the
// version they started on was replaced meanwhile.
func TestGetsDuringOverwrites(t *testing.T) {
	parallelHeavy(t, 10*time.Second)
	ctx := testCtx(t, 2*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6))
	mc := s.Minio(t)
	const bucket = "hot"
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	versions := map[string]bool{}
	var mu sync.Mutex
	write := func(seed uint64) error {
		// Multipart (5 MiB parts): a GET opens each part's shards when it
		// gets there.
		data := randData(seed, 6<<20+int(seed%4)<<20)
		mu.Lock()
		versions[sha256Hex(data)] = true
		mu.Unlock()
		_, err := mc.PutObject(ctx, bucket, "k", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: 5 << 20})
		return err
	}
	if err := write(1); err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(6 * time.Second)
	var wg sync.WaitGroup
	var gets, failed, wrong atomic.Int64
	for w := range 3 {
		wg.Go(func() {
			for n := uint64(0); time.Now().Before(end); n++ {
				if err := write(uint64(w+2)*1000 + n); err != nil {
					t.Errorf("overwrite: %v", err)
					return
				}
			}
		})
	}
	reader := minioWith(t, s, testAccessKey, testSecretKey, 1) // no retries: every 503 counts
	for range 3 {
		wg.Go(func() {
			for time.Now().Before(end) {
				got, err := getAll(ctx, reader, bucket, "k", minio.GetObjectOptions{})
				gets.Add(1)
				mu.Lock()
				ok := versions[sha256Hex(got)]
				mu.Unlock()
				switch {
				case err != nil:
					failed.Add(1)
					t.Logf("GET during overwrites: %v", err)
				case !ok:
					wrong.Add(1)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d GETs during overwrites: %d failed, %d wrong", gets.Load(), failed.Load(), wrong.Load())
	if failed.Load() != 0 || wrong.Load() != 0 {
		t.Fatalf("%d of %d GETs failed and %d returned no whole version while the key was overwritten", failed.Load(), gets.Load(), wrong.Load())
	}
}
