package sigv4

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestMinioClient drives minio-go's real client, which picks its own
// signing mode, against the verifier: over HTTP signed aws-chunked
// streaming (with a signed CRC32C trailer when a checksum is asked for),
// over HTTPS UNSIGNED-PAYLOAD (STREAMING-UNSIGNED-PAYLOAD-TRAILER with a
// checksum).
func TestMinioClient(t *testing.T) {
	v := newTestVerifier()
	var mu sync.Mutex
	var last outcome
	var lastHash string
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := verifyAndRead(v, r)
		mu.Lock()
		last, lastHash = o, r.Header.Get("X-Amz-Content-Sha256")
		mu.Unlock()
		if o.Code != "" {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "<Error><Code>%s</Code><Message>%s</Message></Error>", o.Code, o.Message)
			return
		}
		w.Header().Set("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`)
	})
	plain := httptest.NewServer(handler)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(handler)
	defer tlsSrv.Close()

	for _, srv := range []*httptest.Server{plain, tlsSrv} {
		secure := srv == tlsSrv
		client, err := minio.New(strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://"), &minio.Options{
			Creds:  credentials.NewStaticV4(testAK, testSK, ""),
			Secure: secure,
			Region: testRegion,
			// Lets the client send checksums as trailers.
			TrailingHeaders: true,
			Transport:       srv.Client().Transport,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, 64<<10 + 1, 5 << 20} {
			for _, key := range []string{"plain", "dir/a b+c%ü//x/"} {
				data := payload(n)
				opts := minio.PutObjectOptions{}
				if key == "plain" {
					opts.Checksum = minio.ChecksumCRC32C
				}
				_, err := client.PutObject(context.Background(), "bucket", key, bytes.NewReader(data), int64(n), opts)
				mu.Lock()
				o, hash := last, lastHash
				mu.Unlock()
				if err != nil {
					t.Fatalf("secure=%v size %d key %q: %v (x-amz-content-sha256 %s)", secure, n, key, err, hash)
				}
				wantCode(t, o, "")
				if wantCRC := opts.Checksum.IsSet() && n > 0; wantCRC != (o.HasChecksum && o.Algo == "CRC32C") {
					t.Fatalf("secure=%v size %d: checksum %v %s (x-amz-content-sha256 %s)", secure, n, o.HasChecksum, o.Algo, hash)
				}
				if !bytes.Equal(o.Body, data) {
					t.Fatalf("secure=%v size %d: body differs (x-amz-content-sha256 %s)", secure, n, hash)
				}
			}
		}
		// A presigned GET made by the client.
		u, err := client.PresignedGetObject(context.Background(), "bucket", "dir/a b+c%ü//x/", time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		mu.Lock()
		o := last
		mu.Unlock()
		wantCode(t, o, "")
		if o.AccessKey != testAK {
			t.Fatalf("presigned: %+v", o)
		}
	}
}
