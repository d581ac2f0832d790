package s3compat

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// TestRoutingHandler: what ecstore does not implement is answered 501
// NotImplemented before the layer is called, whatever the resource (the
// bucket settings reads answer "nothing set" instead: TestBucketSettings
// Handlers); virtual-hosted-style requests name the bucket in the Host.
func TestRoutingHandler(t *testing.T) {
	var cases []handlerCase
	// Implemented on buckets (TestBucketTaggingHandlers,
	// TestBucketLifecycleHandlers), not on objects.
	bucketLevel := map[string]bool{"tagging": true, "lifecycle": true}
	read := map[string]bool{"tagging": true, "lifecycle": true}
	for _, r := range nothingSetReads {
		read[r.sub] = true
	}
	for _, sub := range unsupportedSubresources {
		if sub == "versionId" {
			continue
		}
		if !read[sub] {
			cases = append(cases, handlerCase{name: "GET bucket ?" + sub, req: testRequest{method: "GET", target: "/bkt?" + sub}, status: 501, code: "NotImplemented", calls: []string{},
				body: []string{"is not implemented by ecstore"}})
		}
		if !bucketLevel[sub] {
			cases = append(cases,
				handlerCase{name: "PUT bucket ?" + sub, req: testRequest{method: "PUT", target: "/bkt?" + sub, body: "<x/>"}, status: 501, code: "NotImplemented", calls: []string{}},
				handlerCase{name: "DELETE bucket ?" + sub, req: testRequest{method: "DELETE", target: "/bkt?" + sub}, status: 501, code: "NotImplemented", calls: []string{}})
		}
		cases = append(cases,
			handlerCase{name: "PUT object ?" + sub, req: testRequest{method: "PUT", target: "/bkt/obj?" + sub, body: "<x/>"}, status: 501, code: "NotImplemented", calls: []string{}},
		)
	}
	cases = append(cases, []handlerCase{
		{name: "PutObjectTagging", req: testRequest{method: "PUT", target: "/bkt/obj?tagging", body: `<Tagging><TagSet/></Tagging>`}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "GetObjectTagging of a version", req: testRequest{method: "GET", target: "/bkt/obj?tagging&versionId=v1"}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "POST bucket ?tagging", req: testRequest{method: "POST", target: "/bkt?tagging", body: "<x/>"}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "GetObjectAcl of a version", req: testRequest{method: "GET", target: "/bkt/obj?acl&versionId=v1"}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "DELETE object ?acl", req: testRequest{method: "DELETE", target: "/bkt/obj?acl"}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "PUT with x-amz-tagging", req: testRequest{method: "PUT", target: "/bkt/tagged", header: hdrs("x-amz-tagging", "a=b"), body: "x"}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "CreateMultipartUpload with x-amz-tagging", req: testRequest{method: "POST", target: "/bkt/tagged?uploads", header: hdrs("x-amz-tagging", "a=b")}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "RenameObject", req: testRequest{method: "PUT", target: "/bkt/dst?renameObject", header: hdrs("x-amz-rename-source", "/bkt/obj")},
			status: 501, code: "NotImplemented", calls: []string{}},
		// A bucket subresource ecstore has not heard of never deletes,
		// creates or lists the bucket instead.
		{name: "DELETE bucket ?metadataConfiguration", req: testRequest{method: "DELETE", target: "/bkt?metadataConfiguration"}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "GET bucket ?metadataConfiguration", req: testRequest{method: "GET", target: "/bkt?metadataConfiguration"}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "PUT bucket ?abac", req: testRequest{method: "PUT", target: "/bkt?abac", body: "<x/>"}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "DELETE bucket ?unknownSubresource", req: testRequest{method: "DELETE", target: "/bkt?unknownSubresource"}, status: 501, code: "NotImplemented", calls: []string{},
			body: []string{"DELETE bucket ?unknownSubresource is not implemented by ecstore"}},
		{name: "PUT bucket ?unknownSubresource=1", req: testRequest{method: "PUT", target: "/newbkt?unknownSubresource=1"}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "DeleteBucket with x-id", req: testRequest{method: "DELETE", target: "/bkt?x-id=DeleteBucket"}, status: 204, calls: []string{"DeleteBucket"}},
		{name: "presigned DeleteBucket", req: testRequest{method: "DELETE", target: "/bkt", presign: 600}, status: 204, calls: []string{"DeleteBucket"}},
		{name: "presigned V2 DeleteBucket", build: func(*testing.T) *http.Request {
			return signer.PreSignV2(*v2Request("DELETE", "/bkt", ""), testAccess, testSecret, 600, false)
		}, status: 204, calls: []string{"DeleteBucket"}},
		{name: "presigned CreateBucket", req: testRequest{method: "PUT", target: "/newbkt", presign: 600}, status: 200, calls: []string{"MakeBucket"}},
		{name: "DELETE /", req: testRequest{method: "DELETE", target: "/"}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "PATCH object", req: testRequest{method: "PATCH", target: "/bkt/obj"}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "POST object without a subresource", req: testRequest{method: "POST", target: "/bkt/obj"}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "OPTIONS bucket", req: testRequest{method: "OPTIONS", target: "/bkt"}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "unsigned and not implemented: authentication first", req: testRequest{method: "GET", target: "/bkt?logging", anonymous: true}, status: 403, code: "AccessDenied", calls: []string{}},

		{name: "virtual host GET", host: "bkt.s3.example.test", req: testRequest{method: "GET", target: "/obj"}, status: 200, body: []string{stubData},
			calls: []string{"OpenObject", "Read"}},
		{name: "virtual host key with slashes", host: "bkt.s3.example.test:9000", req: testRequest{method: "PUT", target: "/a/b%20c", body: "x"}, status: 200,
			check: wantPut("bkt", "a/b c", "x", nil)},
		{name: "virtual host bucket listing", host: "bkt.s3.example.test", req: testRequest{method: "GET", target: "/?list-type=2"}, status: 200,
			body: []string{"<Name>bkt</Name>"}, calls: []string{"HeadBucket", "ListObjects"}},
		{name: "virtual host CreateBucket", host: "newbkt.s3.example.test", req: testRequest{method: "PUT", target: "/"}, status: 200,
			check: func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
				if c := l.call(t, "MakeBucket"); c.Bucket != "newbkt" {
					t.Errorf("MakeBucket(%q)", c.Bucket)
				}
			}},
		{name: "the domain itself is path-style", host: "s3.example.test", req: testRequest{method: "GET", target: "/bkt/obj"}, status: 200, body: []string{stubData}},
		{name: "another host is path-style", host: "10.0.0.1:9000", req: testRequest{method: "GET", target: "/bkt/obj"}, status: 200},
		{name: "virtual host Complete's Location", host: "bkt.s3.example.test", req: testRequest{method: "POST", target: "/dir/my%20key?uploadId=u",
			body: completeBody("1:e")}, status: 200, body: []string{"<Location>http://bkt.s3.example.test/dir/my%20key</Location>"}},
	}...)
	runHandlerCases(t, Config{Domain: "s3.example.test"}, cases)
}

// TestGetObjectAttributesHandler: the attributes named in
// x-amz-object-attributes, from the opened object.
func TestGetObjectAttributesHandler(t *testing.T) {
	attrs := func(target string, kv ...string) testRequest {
		return testRequest{method: "GET", target: target, header: hdrs(kv...)}
	}
	multipart := func(l *stubLayer) {
		o := l.addObject("bkt", "mp", stubData, func(i *s3api.ObjectInfo) {
			i.PartsCount = 3
			i.Checksums = map[string]string{"CRC32": "AAAAAA==-3", s3api.ChecksumTypeKey: s3api.ChecksumComposite}
			i.Headers = map[string]string{storageClassHeader: "STANDARD_IA"}
		})
		o.parts = []s3api.PartInfo{{Number: 1, Size: 6, Checksums: map[string]string{"CRC32": "AAAAAQ=="}}, {Number: 2, Size: 5}, {Number: 3, Size: 6}}
	}
	cases := []handlerCase{
		{name: "ETag and size", req: attrs("/bkt/obj?attributes", "x-amz-object-attributes", "ETag,ObjectSize"), status: 200, calls: []string{"OpenObject"},
			header: hdrs("Last-Modified", stubLastModified),
			body:   []string{"<GetObjectAttributesResponse", "<ETag>" + md5hex(stubData) + "</ETag>", "<ObjectSize>17</ObjectSize>", "!<StorageClass>", "!<ObjectParts>"}},
		{name: "storage class STANDARD", req: attrs("/bkt/obj?attributes", "x-amz-object-attributes", "StorageClass"), status: 200,
			body: []string{"<StorageClass>STANDARD</StorageClass>", "!<ETag>"}},
		{name: "recorded storage class", req: attrs("/bkt/mp?attributes", "x-amz-object-attributes", "StorageClass"), script: multipart, status: 200,
			body: []string{"<StorageClass>STANDARD_IA</StorageClass>"}},
		{name: "composite checksum without -N", req: attrs("/bkt/mp?attributes", "x-amz-object-attributes", "Checksum"), script: multipart, status: 200,
			body: []string{"<Checksum><ChecksumCRC32>AAAAAA==</ChecksumCRC32><ChecksumType>COMPOSITE</ChecksumType></Checksum>"}},
		{name: "no checksum recorded", req: attrs("/bkt/obj?attributes", "x-amz-object-attributes", "Checksum"), status: 200, body: []string{"!<Checksum>"}},
		{name: "parts", req: attrs("/bkt/mp?attributes", "x-amz-object-attributes", "ObjectParts"), script: multipart, status: 200,
			body: []string{"<ObjectParts><PartsCount>3</PartsCount><PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>3</NextPartNumberMarker>" +
				"<MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated><Part><ChecksumCRC32>AAAAAQ==</ChecksumCRC32><PartNumber>1</PartNumber><Size>6</Size></Part>"}},
		{name: "parts page", req: attrs("/bkt/mp?attributes", "x-amz-object-attributes", "ObjectParts", "x-amz-max-parts", "1", "x-amz-part-number-marker", "1"),
			script: multipart, status: 200,
			body: []string{"<PartNumberMarker>1</PartNumberMarker><NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>1</MaxParts><IsTruncated>true</IsTruncated>",
				"<PartNumber>2</PartNumber>", "!<PartNumber>3</PartNumber>"}},
		{name: "no parts of a single-part object", req: attrs("/bkt/obj?attributes", "x-amz-object-attributes", "ObjectParts"), status: 200, body: []string{"!<ObjectParts>"}},
		{name: "attribute list with spaces", req: attrs("/bkt/obj?attributes", "x-amz-object-attributes", " ETag , ObjectSize "), status: 200,
			body: []string{"<ETag>", "<ObjectSize>17</ObjectSize>"}},
		{name: "no attributes", req: attrs("/bkt/obj?attributes"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "unknown attribute", req: attrs("/bkt/obj?attributes", "x-amz-object-attributes", "ETag,Color"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "max parts not a number", req: attrs("/bkt/obj?attributes", "x-amz-object-attributes", "ETag", "x-amz-max-parts", "x"), status: 400, code: "InvalidArgument"},
		{name: "marker negative", req: attrs("/bkt/obj?attributes", "x-amz-object-attributes", "ETag", "x-amz-part-number-marker", "-1"), status: 400, code: "InvalidArgument"},
		{name: "missing key", req: attrs("/bkt/nope?attributes", "x-amz-object-attributes", "ETag"), status: 404, code: "NoSuchKey"},
		{name: "missing bucket", req: attrs("/nobkt/k?attributes", "x-amz-object-attributes", "ETag"), script: func(l *stubLayer) { l.errs["OpenObject"] = s3api.ErrNoSuchBucket },
			status: 404, code: "NoSuchBucket"},
	}
	runHandlerCases(t, Config{}, cases)
}

// postRequest is a POST Object form to /bkt, signed (Signature V2) with
// secret: the policy document, fields in order, then the file.
func postRequest(t *testing.T, secret, policy, file string, fields ...string) *http.Request {
	t.Helper()
	p := base64.StdEncoding.EncodeToString([]byte(policy))
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(p))
	body := &bytes.Buffer{}
	w := multipart.NewWriter(body)
	all := append([]string{"AWSAccessKeyId", testAccess, "policy", p, "signature", base64.StdEncoding.EncodeToString(mac.Sum(nil))}, fields...)
	for i := 0; i+1 < len(all); i += 2 {
		if err := w.WriteField(all[i], all[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if file != "\x00" { // "\x00": no file part
		fw, _ := w.CreateFormFile("file", "f.txt")
		fw.Write([]byte(file))
	}
	w.Close()
	r := httptest.NewRequest("POST", "http://127.0.0.1:9000/bkt", body)
	r.Header.Set("Content-Type", w.FormDataContentType())
	return r
}

// TestPostObjectHandler: the browser-form upload: signature, policy,
// fields, file limits and the success_action_* answers.
func TestPostObjectHandler(t *testing.T) {
	const exp = `"expiration":"2100-01-01T00:00:00Z"`
	policy := func(conds ...string) string {
		return `{` + exp + `,"conditions":[{"bucket":"bkt"},["starts-with","$key","up/"]` + strings.Join(append([]string{""}, conds...), ",") + `]}`
	}
	form := func(p, file string, fields ...string) func(*testing.T) *http.Request {
		return func(t *testing.T) *http.Request { return postRequest(t, testSecret, p, file, fields...) }
	}
	crc := b64sum(crc32.NewIEEE(), "hello")
	cases := []handlerCase{
		{name: "upload", build: form(policy(`{"Content-Type":"text/x-form"}`, `{"x-amz-meta-who":"form"}`), "hello", "key", "up/k", "Content-Type", "text/x-form", "x-amz-meta-who", "form"),
			status: 204, header: hdrs("ETag", `"`+md5hex("hello")+`"`, "Location", "http://127.0.0.1:9000/bkt/up/k"),
			check: wantPut("bkt", "up/k", "hello", func(t *testing.T, c stubCall) {
				if c.Size != -1 || c.Opts.ContentType != "text/x-form" || c.Opts.UserMeta["who"] != "form" || c.Checksum[0] != "CRC64NVME" {
					t.Errorf("PutObject size %d options %+v checksum %v", c.Size, c.Opts, c.Checksum)
				}
			})},
		{name: "${filename}", build: form(policy(), "hello", "key", "up/${filename}"), status: 204, check: wantPut("bkt", "up/f.txt", "hello", nil)},
		{name: "status 201", build: form(policy(`{"success_action_status":"201"}`), "hello", "key", "up/k", "success_action_status", "201"), status: 201,
			body: []string{"<PostResponse>", "<Location>http://127.0.0.1:9000/bkt/up/k</Location>", "<Bucket>bkt</Bucket>", "<Key>up/k</Key>"}},
		{name: "status 200", build: form(policy(`{"success_action_status":"200"}`), "hello", "key", "up/k", "success_action_status", "200"), status: 200},
		{name: "redirect", build: form(policy(`{"success_action_redirect":"https://example.test/done?x=1"}`), "hello", "key", "up/k",
			"success_action_redirect", "https://example.test/done?x=1"), status: 303,
			header: hdrs("Location", "https://example.test/done?bucket=bkt&etag=%22"+md5hex("hello")+"%22&key=up%2Fk&x=1")},
		{name: "checksum field right", build: form(policy(`{"x-amz-checksum-crc32":"`+crc+`"}`), "hello", "key", "up/k", "x-amz-checksum-crc32", crc), status: 204,
			header: hdrs("x-amz-checksum-crc32", crc), check: wantPut("bkt", "up/k", "hello", func(t *testing.T, c stubCall) {
				if c.Checksum != [2]string{"CRC32", crc} {
					t.Errorf("checksum %v", c.Checksum)
				}
			})},
		{name: "checksum field wrong", build: form(policy(`{"x-amz-checksum-crc32":"AAAAAA=="}`), "hello", "key", "up/k", "x-amz-checksum-crc32", "AAAAAA=="),
			status: 400, code: "BadDigest"},
		{name: "wrong signature", build: func(t *testing.T) *http.Request { return postRequest(t, "nope", policy(), "hello", "key", "up/k") },
			status: 403, code: "SignatureDoesNotMatch", calls: []string{}},
		{name: "no policy", build: func(t *testing.T) *http.Request {
			r := postRequest(t, testSecret, policy(), "hello", "key", "up/k")
			b, err := io.ReadAll(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			b = bytes.Replace(b, []byte(`name="policy"`), []byte(`name="not-policy"`), 1)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			return r
		}, status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "policy expired", build: form(`{"expiration":"2000-01-01T00:00:00Z","conditions":[{"bucket":"bkt"}]}`, "hello", "key", "k"),
			status: 403, code: "AccessDenied", body: []string{"Policy expired"}, calls: []string{}},
		{name: "policy expired by the server's clock", build: form(policy(), "hello", "key", "up/k"),
			cfg:    func(c *Config) { c.Now = func() time.Time { return time.Date(2100, 1, 1, 0, 0, 1, 0, time.UTC) } },
			status: 403, code: "AccessDenied", body: []string{"Policy expired"}, calls: []string{}},
		{name: "policy not JSON", build: form(`not json`, "hello", "key", "up/k"), status: 400, code: "InvalidPolicyDocument", calls: []string{}},
		{name: "key outside the policy", build: form(policy(), "hello", "key", "down/k"), status: 403, code: "AccessDenied",
			body: []string{"[starts-with, $key, up/]"}, calls: []string{}},
		{name: "field no condition names", build: form(policy(), "hello", "key", "up/k", "x-amz-meta-extra", "1"), status: 403, code: "AccessDenied",
			body: []string{"Extra input fields: x-amz-meta-extra"}},
		{name: "no key", build: form(`{`+exp+`,"conditions":[{"bucket":"bkt"}]}`, "hello"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "no file", build: form(policy(), "\x00", "key", "up/k"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "file over content-length-range", build: form(policy(`["content-length-range",1,3]`), "hello", "key", "up/k"), status: 400, code: "EntityTooLarge",
			check: func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
				if c := l.call(t, "PutObject"); c.BodyErr == nil {
					t.Error("the layer read an oversized file to a clean EOF")
				}
			}},
		{name: "file under content-length-range", build: form(policy(`["content-length-range",10,30]`), "hello", "key", "up/k"), status: 400, code: "EntityTooSmall"},
		{name: "tagging field, a layer without tags", build: form(policy(`{"tagging":"<Tagging/>"}`), "hello", "key", "up/k", "tagging", "<Tagging/>"), status: 501, code: "NotImplemented", calls: []string{}},
		{name: "key too long", build: form(policy(), "hello", "key", "up/"+strings.Repeat("k", 1024)), status: 400, code: "KeyTooLongError", calls: []string{}},
		{name: "missing bucket", build: form(policy(), "hello", "key", "up/k"), script: func(l *stubLayer) { l.errs["PutObject"] = s3api.ErrNoSuchBucket },
			status: 404, code: "NoSuchBucket"},
		{name: "no boundary", build: func(t *testing.T) *http.Request {
			r := postRequest(t, testSecret, policy(), "hello", "key", "up/k")
			r.Header.Set("Content-Type", "multipart/form-data")
			return r
		}, status: 400, code: "MalformedPOSTRequest", calls: []string{}},
		{name: "body not multipart", build: func(t *testing.T) *http.Request {
			r := httptest.NewRequest("POST", "http://127.0.0.1:9000/bkt", strings.NewReader("key=up/k"))
			r.Header.Set("Content-Type", "multipart/form-data; boundary=xyz")
			return r
		}, status: 400, code: "MalformedPOSTRequest", calls: []string{}},
	}
	runHandlerCases(t, Config{}, cases)
}
