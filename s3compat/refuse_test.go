package s3compat

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// TestRefusedHeaders: what ecstore cannot honour (encryption, ACL grants,
// object lock) is refused, never accepted and dropped.
func TestRefusedHeaders(t *testing.T) {
	const (
		sseC    = "x-amz-server-side-encryption-customer-algorithm"
		srcSSEC = "x-amz-copy-source-server-side-encryption-customer-algorithm"
	)
	h := headerMap
	copySrc := func(kv ...string) map[string]string {
		return h(append([]string{"x-amz-copy-source", "/bkt/src"}, kv...)...)
	}
	tests := []struct {
		name   string
		req    testRequest
		https  bool
		status int
		code   string
	}{
		{"put plain", testRequest{method: "PUT", target: "/bkt/k"}, false, 200, ""},
		{"put acl private", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-acl", "private")}, false, 200, ""},
		{"put acl bucket-owner-full-control", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-acl", "bucket-owner-full-control")}, false, 200, ""},
		{"put acl public-read", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-acl", "public-read")}, false, 501, "NotImplemented"},
		{"put acl unknown", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-acl", "everyone")}, false, 400, "InvalidArgument"},
		{"put grant-read", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-grant-read", `uri="http://acs.amazonaws.com/groups/global/AllUsers"`)}, false, 501, "NotImplemented"},
		{"put grant-full-control", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-grant-full-control", `id="x"`)}, false, 501, "NotImplemented"},
		{"put sse AES256", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-server-side-encryption", "AES256")}, false, 501, "NotImplemented"},
		{"put sse aws:kms", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-server-side-encryption", "aws:kms")}, false, 501, "NotImplemented"},
		{"put sse unknown", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-server-side-encryption", "rot13")}, false, 400, "InvalidArgument"},
		{"put kms key id", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-server-side-encryption-aws-kms-key-id", "k1")}, false, 501, "NotImplemented"},
		{"put kms context", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-server-side-encryption-context", "e30=")}, false, 501, "NotImplemented"},
		{"put sse-c over http", testRequest{method: "PUT", target: "/bkt/k", header: h(sseC, "AES256",
			"x-amz-server-side-encryption-customer-key", "a2V5", "x-amz-server-side-encryption-customer-key-MD5", "bWQ1")}, false, 400, "InvalidRequest"},
		{"put sse-c key alone over http", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-server-side-encryption-customer-key", "a2V5")}, false, 400, "InvalidRequest"},
		{"put sse-c over https", testRequest{method: "PUT", target: "/bkt/k", header: h(sseC, "AES256")}, true, 501, "NotImplemented"},
		{"put object-lock mode", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-object-lock-mode", "COMPLIANCE",
			"x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z")}, false, 400, "InvalidRequest"},
		{"put write offset (append)", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-write-offset-bytes", "0")}, false, 501, "NotImplemented"},
		{"put object-lock legal hold", testRequest{method: "PUT", target: "/bkt/k", header: h("x-amz-object-lock-legal-hold", "ON")}, false, 400, "InvalidRequest"},

		{"copy plain", testRequest{method: "PUT", target: "/bkt/dst", header: copySrc()}, false, 200, ""},
		{"copy sse", testRequest{method: "PUT", target: "/bkt/dst", header: copySrc("x-amz-server-side-encryption", "AES256")}, false, 501, "NotImplemented"},
		{"copy acl", testRequest{method: "PUT", target: "/bkt/dst", header: copySrc("x-amz-acl", "public-read-write")}, false, 501, "NotImplemented"},
		{"copy sse-c", testRequest{method: "PUT", target: "/bkt/dst", header: copySrc(sseC, "AES256")}, false, 400, "InvalidRequest"},
		{"copy source sse-c", testRequest{method: "PUT", target: "/bkt/dst", header: copySrc(srcSSEC, "AES256")}, false, 400, "InvalidRequest"},
		{"copy source sse-c over https", testRequest{method: "PUT", target: "/bkt/dst", header: copySrc(srcSSEC, "AES256")}, true, 501, "NotImplemented"},
		{"copy object-lock", testRequest{method: "PUT", target: "/bkt/dst", header: copySrc("x-amz-object-lock-mode", "GOVERNANCE")}, false, 400, "InvalidRequest"},

		{"create upload plain", testRequest{method: "POST", target: "/bkt/k?uploads"}, false, 200, ""},
		{"create upload sse", testRequest{method: "POST", target: "/bkt/k?uploads", header: h("x-amz-server-side-encryption", "aws:kms")}, false, 501, "NotImplemented"},
		{"create upload acl", testRequest{method: "POST", target: "/bkt/k?uploads", header: h("x-amz-acl", "authenticated-read")}, false, 501, "NotImplemented"},
		{"create upload grant", testRequest{method: "POST", target: "/bkt/k?uploads", header: h("x-amz-grant-write-acp", `id="x"`)}, false, 501, "NotImplemented"},
		{"create upload sse-c", testRequest{method: "POST", target: "/bkt/k?uploads", header: h(sseC, "AES256")}, false, 400, "InvalidRequest"},
		{"create upload object-lock", testRequest{method: "POST", target: "/bkt/k?uploads", header: h("x-amz-object-lock-legal-hold", "ON")}, false, 400, "InvalidRequest"},

		{"upload part sse-c", testRequest{method: "PUT", target: "/bkt/k?partNumber=1&uploadId=upload-1", header: h(sseC, "AES256")}, false, 400, "InvalidRequest"},
		{"upload part sse-c over https", testRequest{method: "PUT", target: "/bkt/k?partNumber=1&uploadId=upload-1", header: h(sseC, "AES256")}, true, 501, "NotImplemented"},
		{"upload part copy source sse-c", testRequest{method: "PUT", target: "/bkt/k?partNumber=1&uploadId=upload-1", header: copySrc(srcSSEC, "AES256")}, false, 400, "InvalidRequest"},

		{"get sse-c over http", testRequest{method: "GET", target: "/bkt/src", header: h(sseC, "AES256")}, false, 400, "InvalidRequest"},
		{"get sse-c over https", testRequest{method: "GET", target: "/bkt/src", header: h(sseC, "AES256")}, true, 400, "InvalidRequest"},
		{"head sse-c key", testRequest{method: "HEAD", target: "/bkt/src", header: h("x-amz-server-side-encryption-customer-key", "a2V5")}, true, 400, ""},
		{"get attributes sse-c", testRequest{method: "GET", target: "/bkt/src?attributes", header: h(sseC, "AES256", "x-amz-object-attributes", "ETag")}, true, 400, "InvalidRequest"},
		{"get plain", testRequest{method: "GET", target: "/bkt/src"}, false, 200, ""},

		{"create bucket acl private", testRequest{method: "PUT", target: "/newb1", header: h("x-amz-acl", "private")}, false, 200, ""},
		{"create bucket acl public-read", testRequest{method: "PUT", target: "/newb2", header: h("x-amz-acl", "public-read")}, false, 501, "NotImplemented"},
		{"create bucket grant", testRequest{method: "PUT", target: "/newb3", header: h("x-amz-grant-full-control", `id="x"`)}, false, 501, "NotImplemented"},
		{"create bucket object lock", testRequest{method: "PUT", target: "/newb4", header: h("x-amz-bucket-object-lock-enabled", "true")}, false, 501, "NotImplemented"},
		{"put bucket acl", testRequest{method: "PUT", target: "/bkt?acl", header: h("x-amz-acl", "public-read")}, false, 501, "NotImplemented"},
		{"put object acl", testRequest{method: "PUT", target: "/bkt/src?acl", header: h("x-amz-acl", "private")}, false, 501, "NotImplemented"},
	}
	for _, tc := range tests {
		layer := newMemLayer("bkt")
		layer.objects["bkt/src"] = memObject{info: s3api.ObjectInfo{Bucket: "bkt", Key: "src", ETag: "e"}}
		layer.uploads["upload-1"] = "bkt/k"
		s, logs := newTestServer(layer, Config{})
		rec := doOver(s, tc.req, tc.https)
		checkStatus(t, tc.name, rec, tc.status, tc.code)
		if tc.status >= 300 {
			if _, ok := layer.objects["bkt/"+strings.TrimPrefix(strings.Split(tc.req.target, "?")[0], "/bkt/")]; ok && tc.req.target != "/bkt/src?acl" && tc.req.method != "GET" && tc.req.method != "HEAD" {
				t.Errorf("%s: refused, yet the object was stored", tc.name)
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("%s: a refusal of the client's request is logged at ERROR:\n%s", tc.name, logs)
			}
		}
	}
}

// postForm builds a POST Object form signed (Signature V2) with the test
// credentials: fields in order, then the file.
func postForm(t *testing.T, policy string, fields ...string) (body *bytes.Buffer, contentType string) {
	t.Helper()
	p := base64.StdEncoding.EncodeToString([]byte(policy))
	mac := hmac.New(sha1.New, []byte(testSecret))
	mac.Write([]byte(p))
	body = &bytes.Buffer{}
	w := multipart.NewWriter(body)
	all := append([]string{"AWSAccessKeyId", testAccess, "policy", p, "signature", base64.StdEncoding.EncodeToString(mac.Sum(nil))}, fields...)
	for i := 0; i < len(all); i += 2 {
		if err := w.WriteField(all[i], all[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	fw, _ := w.CreateFormFile("file", "f.txt")
	fw.Write([]byte("hello"))
	w.Close()
	return body, w.FormDataContentType()
}

// TestPostObjectRefusals: the POST form's acl and encryption fields are
// refused like the headers; a policy must name the bucket.
func TestPostObjectRefusals(t *testing.T) {
	const exp = `"expiration":"2100-01-01T00:00:00Z"`
	tests := []struct {
		name   string
		policy string
		fields []string
		status int
		code   string
	}{
		{"plain", `{` + exp + `,"conditions":[{"bucket":"bkt"},["starts-with","$key",""]]}`, []string{"key", "k"}, 204, ""},
		{"no bucket condition", `{` + exp + `,"conditions":[["starts-with","$key",""]]}`, []string{"key", "k"}, 403, "AccessDenied"},
		{"acl private", `{` + exp + `,"conditions":[{"bucket":"bkt"},{"acl":"private"},["starts-with","$key",""]]}`, []string{"key", "k", "acl", "private"}, 204, ""},
		{"acl public-read", `{` + exp + `,"conditions":[{"bucket":"bkt"},{"acl":"public-read"},["starts-with","$key",""]]}`, []string{"key", "k", "acl", "public-read"}, 501, "NotImplemented"},
		{"sse", `{` + exp + `,"conditions":[{"bucket":"bkt"},{"x-amz-server-side-encryption":"AES256"},["starts-with","$key",""]]}`,
			[]string{"key", "k", "x-amz-server-side-encryption", "AES256"}, 501, "NotImplemented"},
		{"sse-c", `{` + exp + `,"conditions":[{"bucket":"bkt"},{"x-amz-server-side-encryption-customer-algorithm":"AES256"},["starts-with","$key",""]]}`,
			[]string{"key", "k", "x-amz-server-side-encryption-customer-algorithm", "AES256"}, 400, "InvalidRequest"},
	}
	for _, tc := range tests {
		layer := newMemLayer("bkt")
		s, _ := newTestServer(layer, Config{})
		body, ct := postForm(t, tc.policy, tc.fields...)
		r := httptest.NewRequest("POST", "http://127.0.0.1:9000/bkt", body)
		r.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, r)
		checkStatus(t, tc.name, rec, tc.status, tc.code)
		if _, stored := layer.objects["bkt/k"]; stored != (tc.status < 300) {
			t.Errorf("%s: stored %v, want %v", tc.name, stored, tc.status < 300)
		}
		if tc.name == "no bucket condition" && !strings.Contains(rec.Body.String(), "Invalid according to Policy") {
			t.Errorf("%s: message does not say why: %s", tc.name, rec.Body)
		}
	}
}
