package s3compat

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// TestMultipartMissingBucket: multipart calls naming a missing bucket
// answer NoSuchBucket, as S3 does, whatever the upload id.
func TestMultipartMissingBucket(t *testing.T) {
	const body = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"e"</ETag></Part></CompleteMultipartUpload>`
	for _, tc := range []testRequest{
		{method: "PUT", target: "/nobkt/k?partNumber=1&uploadId=upload-1", body: "data"},
		{method: "PUT", target: "/nobkt/k?partNumber=1&uploadId=upload-1", header: map[string]string{"x-amz-copy-source": "/bkt/src"}},
		{method: "GET", target: "/nobkt/k?uploadId=upload-1"},
		{method: "POST", target: "/nobkt/k?uploadId=upload-1", body: body},
		{method: "DELETE", target: "/nobkt/k?uploadId=upload-1"},
		{method: "DELETE", target: "/nobkt/k?uploadId=not-a-uuid"},
	} {
		layer := newMemLayer("bkt")
		layer.objects["bkt/src"] = memObject{info: s3api.ObjectInfo{Bucket: "bkt", Key: "src", ETag: "e"}}
		s, _ := newTestServer(layer, Config{})
		checkStatus(t, tc.method+" "+tc.target, do(s, tc), 404, "NoSuchBucket")
	}
	// An unknown upload in a bucket that exists is still NoSuchUpload.
	s, _ := newTestServer(newMemLayer("bkt"), Config{})
	checkStatus(t, "abort in an existing bucket", do(s, testRequest{method: "DELETE", target: "/bkt/k?uploadId=zzz"}), 404, "NoSuchUpload")
}

// TestCompleteLocation: Complete's Location is an absolute URL of the
// object, path-style or virtual-hosted as the request was.
func TestCompleteLocation(t *testing.T) {
	const body = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"e"</ETag></Part></CompleteMultipartUpload>`
	tests := []struct {
		host, target string
		https        bool
		want         string
	}{
		{"127.0.0.1:9000", "/bkt/dir/my%20key?uploadId=upload-1", false, "http://127.0.0.1:9000/bkt/dir/my%20key"},
		{"s3.example.test", "/bkt/dir/my%20key?uploadId=upload-1", true, "https://s3.example.test/bkt/dir/my%20key"},
		{"bkt.s3.example.test", "/dir/my%20key?uploadId=upload-1", false, "http://bkt.s3.example.test/dir/my%20key"},
	}
	for _, tc := range tests {
		layer := newMemLayer("bkt")
		layer.uploads["upload-1"] = "bkt/dir/my key"
		s, _ := newTestServer(layer, Config{Domain: "s3.example.test"})
		r := testRequest{method: "POST", target: tc.target, body: body}.build(tc.host)
		if tc.https {
			r.TLS = httptest.NewRequest("GET", "https://x/", nil).TLS
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, r)
		if want := "<Location>" + tc.want + "</Location>"; rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s%s: %d %s; want %s", tc.host, tc.target, rec.Code, rec.Body, want)
		}
	}
}
