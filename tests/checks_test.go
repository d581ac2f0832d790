package tests

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// A Signature Version 2 presigned URL valid for longer than
// --presign-v2-max-age (7 days by default, SigV4's limit) is refused with
// 403 AccessDenied; a shorter one works.
func TestPresignV2MaxAgeE2E(t *testing.T) {
	s := StartServer(t, NewDriveDirs(t, 6))
	ctx := testCtx(t, time.Minute)
	c := s.Minio(t)
	if err := c.MakeBucket(ctx, "presign", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := []byte("signed for a while")
	if _, err := c.PutObject(ctx, "presign", "k", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	get := func(s *Server, expires time.Duration) *rawResp {
		req := newRawRequest(ctx, t, s, http.MethodGet, "/presign/k", "", nil)
		return doRaw(t, signer.PreSignV2(*req, testAccessKey, testSecretKey, int64(expires/time.Second), false))
	}
	if r := get(s, time.Hour); r.Status != http.StatusOK || !bytes.Equal(r.Body, data) {
		t.Fatalf("V2 URL valid for 1h: HTTP %d %s", r.Status, r.Body)
	}
	get(s, 8*24*time.Hour).wantErr(t, "V2 URL valid for 8 days", http.StatusForbidden, "AccessDenied")
	get(s, 10*365*24*time.Hour).wantErr(t, "V2 URL valid for 10 years", http.StatusForbidden, "AccessDenied")

	// The flag sets the limit.
	s.Args = append(s.Args, "--presign-v2-max-age", "30m")
	s.Restart()
	if r := get(s, 20*time.Minute); r.Status != http.StatusOK {
		t.Fatalf("V2 URL valid for 20m under a 30m limit: HTTP %d %s", r.Status, r.Body)
	}
	get(s, time.Hour).wantErr(t, "V2 URL valid for 1h under a 30m limit", http.StatusForbidden, "AccessDenied")
}
