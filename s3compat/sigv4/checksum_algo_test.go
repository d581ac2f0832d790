package sigv4

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// Result.ChecksumAlgorithm names the checksum a request carries before its
// body is read: from an x-amz-checksum-* header or the x-amz-trailer.
func TestResultChecksumAlgorithm(t *testing.T) {
	v := newTestVerifier()
	for _, tc := range []struct {
		hdr  map[string]string
		want string
	}{
		{nil, ""},
		{map[string]string{"X-Amz-Checksum-Sha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="}, "SHA256"},
		{map[string]string{"X-Amz-Checksum-Crc32c": "yZRlqg==", "X-Amz-Sdk-Checksum-Algorithm": "CRC32C"}, "CRC32C"},
		{map[string]string{"X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "X-Amz-Trailer": "x-amz-checksum-crc32", "Content-Encoding": "aws-chunked"}, "CRC32"},
	} {
		r := httptest.NewRequest("PUT", "http://127.0.0.1:9000/b/k?partNumber=1&uploadId=u", strings.NewReader("x"))
		for k, val := range tc.hdr {
			r.Header.Set(k, val)
		}
		res, err := v.Verify(r)
		if err != nil {
			t.Fatalf("%v: %v", tc.hdr, err)
		}
		if res.ChecksumAlgorithm != tc.want {
			t.Errorf("%v: ChecksumAlgorithm %q, want %q", tc.hdr, res.ChecksumAlgorithm, tc.want)
		}
	}
}
