package s3compat

import (
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// TestEmptyObjectPartNumber: part 1 of an empty object is the whole (empty)
// object: no Content-Range, since no byte range of it exists.
func TestEmptyObjectPartNumber(t *testing.T) {
	layer := newMemLayer("bkt")
	layer.objects["bkt/empty"] = memObject{info: s3api.ObjectInfo{Bucket: "bkt", Key: "empty", ETag: "d41d8cd98f00b204e9800998ecf8427e"}}
	s, _ := newTestServer(layer, Config{})
	for _, m := range []string{"GET", "HEAD"} {
		rec := do(s, testRequest{method: m, target: "/bkt/empty?partNumber=1"})
		if rec.Code != 200 || rec.Header().Get("Content-Range") != "" || rec.Header().Get("Content-Length") != "0" {
			t.Errorf("%s ?partNumber=1 of an empty object: %d, Content-Range %q, Content-Length %q; want 200, none, 0",
				m, rec.Code, rec.Header().Get("Content-Range"), rec.Header().Get("Content-Length"))
		}
		checkStatus(t, m+" ?partNumber=2", do(s, testRequest{method: m, target: "/bkt/empty?partNumber=2"}), 416, map[string]string{"GET": "InvalidPartNumber", "HEAD": ""}[m])
	}
}
