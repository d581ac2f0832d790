package s3compat

import "testing"

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
		layer.objects["bkt/src"] = memObject{info: ObjectInfo{Bucket: "bkt", Key: "src", ETag: "e"}}
		s, _ := newTestServer(layer, Config{})
		checkStatus(t, tc.method+" "+tc.target, do(s, tc), 404, "NoSuchBucket")
	}
	// An unknown upload in a bucket that exists is still NoSuchUpload.
	s, _ := newTestServer(newMemLayer("bkt"), Config{})
	checkStatus(t, "abort in an existing bucket", do(s, testRequest{method: "DELETE", target: "/bkt/k?uploadId=zzz"}), 404, "NoSuchUpload")
}
