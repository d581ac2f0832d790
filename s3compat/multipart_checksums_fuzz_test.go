package s3compat

import (
	"net/http"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// FuzzFinalChecksum feeds CompleteMultipartUpload's checksum headers to
// finalChecksum and the result to Check: no input may panic, and a value
// finalChecksum accepts is a well-formed digest of its algorithm.
func FuzzFinalChecksum(f *testing.F) {
	f.Add("crc32", "AAAAAA==-2", "COMPOSITE", "AAAAAA==-2")
	f.Add("sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "FULL_OBJECT", "")
	f.Add("crc64nvme", "-", "", "x")
	f.Add("crc32c", "AAAAAA==-99999999999999999999", "composite", "AAAAAA==")
	f.Fuzz(func(t *testing.T, algo, value, typ, computed string) {
		h := http.Header{}
		h.Set("x-amz-checksum-"+algo, value)
		if typ != "" {
			h.Set("x-amz-checksum-type", typ)
		}
		fc, err := finalChecksum(h)
		if err != nil {
			return
		}
		if fc.Algo != "" && !validChecksumValue(fc.Algo, fc.Value) {
			t.Fatalf("accepted %s value %q", fc.Algo, fc.Value)
		}
		for _, ut := range []string{s3api.ChecksumComposite, s3api.ChecksumFullObject, ""} {
			_ = fc.Check(fc.Algo, ut, computed)
			_ = fc.Check("CRC32", ut, computed)
		}
	})
}
