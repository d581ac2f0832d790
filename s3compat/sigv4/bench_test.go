package sigv4

import (
	"bytes"
	"crypto/sha256"
	"hash"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

func BenchmarkVerifyHeader(b *testing.B) {
	req, _ := http.NewRequest("GET", "http://s3.test/bucket/some/key.txt?versionId=1", nil)
	req.Header.Set("X-Amz-Content-Sha256", emptyPayload)
	req = signer.SignV4(*req, testAK, testSK, "", testRegion)
	v := newTestVerifier()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamingSigned measures decoding a signed aws-chunked body in
// minio-go's 64 KiB chunks.
func BenchmarkStreamingSigned(b *testing.B) {
	data := payload(8 << 20)
	req, _ := http.NewRequest("PUT", "http://s3.test/bucket/k", bytes.NewReader(data))
	req = signer.StreamingSignV4(req, testAK, testSK, "", testRegion, int64(len(data)), time.Now().UTC(), stdHasher{newSHA()})
	body, err := io.ReadAll(req.Body)
	if err != nil {
		b.Fatal(err)
	}
	v := newTestVerifier()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		req.Body = io.NopCloser(bytes.NewReader(body))
		res, err := v.Verify(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			b.Fatal(err)
		}
	}
}

func newSHA() hash.Hash { return sha256.New() }
