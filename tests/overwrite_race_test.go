package tests

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestSlowGetRacingOverwrite: a GET that started on a version finishes
// with that version's bytes, all of them, even when the key is overwritten
// or deleted while the client reads slowly: the replaced version's shard
// files outlive the reads that started on them (the drives' trash).
func TestSlowGetRacingOverwrite(t *testing.T) {
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
