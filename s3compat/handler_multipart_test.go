package s3compat

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// TestCreateMultipartUploadHandler: CreateMultipartUpload passes the
// object's metadata and checksum rule to the layer and answers its id.
func TestCreateMultipartUploadHandler(t *testing.T) {
	create := func(kv ...string) testRequest {
		return testRequest{method: "POST", target: "/bkt/dir/new%20key?uploads", header: hdrs(kv...)}
	}
	opts := func(f func(t *testing.T, o s3api.PutOptions)) func(*testing.T, *stubLayer, *httptest.ResponseRecorder) {
		return func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
			c := l.call(t, "NewMultipartUpload")
			if c.Bucket != "bkt" || c.Key != "dir/new key" {
				t.Errorf("NewMultipartUpload(%q, %q)", c.Bucket, c.Key)
			}
			f(t, c.Opts)
		}
	}
	rule := func(algo, typ string) func(*testing.T, *stubLayer, *httptest.ResponseRecorder) {
		return opts(func(t *testing.T, o s3api.PutOptions) {
			if o.Headers[s3api.UploadChecksumAlgorithmHeader] != algo || o.Headers[s3api.UploadChecksumTypeHeader] != typ {
				t.Errorf("checksum rule %v, want %s %s", o.Headers, algo, typ)
			}
		})
	}
	cases := []handlerCase{
		{name: "create", req: create("Content-Type", "text/x-mp", "x-amz-meta-origin", "test", "Content-Disposition", "inline"), status: 200,
			calls:  []string{"NewMultipartUpload"},
			body:   []string{"<InitiateMultipartUploadResult", "<Bucket>bkt</Bucket>", "<Key>dir/new key</Key>", "<UploadId>upload-1</UploadId>"},
			header: hdrs("x-amz-checksum-algorithm", ""),
			check: opts(func(t *testing.T, o s3api.PutOptions) {
				if o.ContentType != "text/x-mp" || o.UserMeta["origin"] != "test" || o.Headers["Content-Disposition"] != "inline" {
					t.Errorf("options %+v", o)
				}
			})},
		{name: "CRC32 is COMPOSITE by default", req: create("x-amz-checksum-algorithm", "crc32"), status: 200,
			header: hdrs("x-amz-checksum-algorithm", "CRC32", "x-amz-checksum-type", "COMPOSITE"), check: rule("CRC32", "COMPOSITE")},
		{name: "CRC64NVME is FULL_OBJECT by default", req: create("x-amz-checksum-algorithm", "CRC64NVME"), status: 200,
			header: hdrs("x-amz-checksum-type", "FULL_OBJECT"), check: rule("CRC64NVME", "FULL_OBJECT")},
		{name: "CRC32C FULL_OBJECT", req: create("x-amz-checksum-algorithm", "CRC32C", "x-amz-checksum-type", "full_object"), status: 200,
			check: rule("CRC32C", "FULL_OBJECT")},
		{name: "SHA1 FULL_OBJECT", req: create("x-amz-checksum-algorithm", "SHA1", "x-amz-checksum-type", "FULL_OBJECT"), status: 400, code: "InvalidRequest", calls: []string{}},
		{name: "CRC64NVME COMPOSITE", req: create("x-amz-checksum-algorithm", "CRC64NVME", "x-amz-checksum-type", "COMPOSITE"), status: 400, code: "InvalidRequest", calls: []string{}},
		{name: "unknown type", req: create("x-amz-checksum-algorithm", "CRC32", "x-amz-checksum-type", "PARTIAL"), status: 400, code: "InvalidRequest", calls: []string{}},
		{name: "type without algorithm", req: create("x-amz-checksum-type", "COMPOSITE"), status: 400, code: "InvalidRequest", calls: []string{}},
		{name: "unknown algorithm", req: create("x-amz-checksum-algorithm", "ROT13"), status: 400, code: "InvalidRequest", calls: []string{}},
		{name: "website redirect is kept for the object", req: create("x-amz-website-redirect-location", "/target"), status: 200,
			check: opts(func(t *testing.T, o s3api.PutOptions) {
				if o.Headers[redirectHeader] != "/target" {
					t.Errorf("headers %v", o.Headers)
				}
			})},
		{name: "website redirect not valid", req: create("x-amz-website-redirect-location", "target"), status: 400, code: "InvalidRedirectLocation", calls: []string{}},
		{name: "archive storage class", req: create("x-amz-storage-class", "DEEP_ARCHIVE"), status: 400, code: "InvalidStorageClass", calls: []string{}},
		{name: "missing bucket", req: create(), script: func(l *stubLayer) { l.errs["NewMultipartUpload"] = s3api.ErrNoSuchBucket }, status: 404, code: "NoSuchBucket"},
		{name: "key too long", req: testRequest{method: "POST", target: "/bkt/" + strings.Repeat("k", 1025) + "?uploads"}, status: 400, code: "KeyTooLongError", calls: []string{}},
		{name: "bucket name not valid", req: testRequest{method: "POST", target: "/B/k?uploads"}, status: 404, code: "NoSuchBucket", calls: []string{}},
	}
	runHandlerCases(t, Config{}, cases)
}

// TestUploadPartHandler: UploadPart checks the part number and the
// upload's checksum rule before the body, and passes the part on.
func TestUploadPartHandler(t *testing.T) {
	const data = "part data"
	part := func(query string, kv ...string) testRequest {
		return testRequest{method: "PUT", target: "/bkt/k?" + query, header: hdrs(kv...), body: data}
	}
	crc := b64sum(crc32.NewIEEE(), data)
	crcC := b64sum(crc32.New(crc32.MakeTable(crc32.Castagnoli)), data)
	sum := md5.Sum([]byte(data))
	upload := func(algo, typ string) func(*stubLayer) {
		return func(l *stubLayer) { l.uploadAlgo, l.uploadType = algo, typ }
	}
	wantPart := func(num int, f func(t *testing.T, c stubCall)) func(*testing.T, *stubLayer, *httptest.ResponseRecorder) {
		return func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
			c := l.call(t, "PutObjectPart")
			if c.Bucket != "bkt" || c.Key != "k" || c.UploadID != "up-9" || c.PartNumber != num || c.Body != data || c.Size != int64(len(data)) {
				t.Errorf("PutObjectPart %+v", c)
			}
			if f != nil {
				f(t, c)
			}
		}
	}
	cases := []handlerCase{
		{name: "part", req: part("partNumber=3&uploadId=up-9"), status: 200, header: hdrs("ETag", `"`+md5hex(data)+`"`),
			calls: []string{"UploadChecksum", "PutObjectPart"}, check: wantPart(3, nil)},
		{name: "part 10000", req: part("partNumber=10000&uploadId=up-9"), status: 200, check: wantPart(10000, nil)},
		{name: "part 0", req: part("partNumber=0&uploadId=up-9"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "part 10001", req: part("partNumber=10001&uploadId=up-9"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "part not a number", req: part("partNumber=x&uploadId=up-9"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "no upload id", req: part("partNumber=1"), status: 404, code: "NoSuchUpload", calls: []string{"HeadBucket"}},
		{name: "unknown upload", req: part("partNumber=1&uploadId=zzz"), script: func(l *stubLayer) { l.errs["UploadChecksum"] = s3api.ErrNoSuchUpload },
			status: 404, code: "NoSuchUpload", calls: []string{"UploadChecksum", "HeadBucket"}},
		{name: "unknown upload of a missing bucket", req: part("partNumber=1&uploadId=zzz"), script: func(l *stubLayer) {
			l.errs["UploadChecksum"] = s3api.ErrNoSuchUpload
			l.errs["HeadBucket"] = s3api.ErrNoSuchBucket
		}, status: 404, code: "NoSuchBucket"},
		{name: "layer's NoSuchUpload of a missing bucket", req: part("partNumber=1&uploadId=zzz"), script: func(l *stubLayer) {
			l.errs["PutObjectPart"] = s3api.ErrNoSuchUpload
			l.errs["HeadBucket"] = s3api.ErrNoSuchBucket
		}, status: 404, code: "NoSuchBucket"},
		{name: "Content-MD5 passed", req: part("partNumber=1&uploadId=up-9", "Content-MD5", base64.StdEncoding.EncodeToString(sum[:])), status: 200,
			check: wantPart(1, func(t *testing.T, c stubCall) {
				if string(c.Opts.ContentMD5) != string(sum[:]) {
					t.Errorf("ContentMD5 %x", c.Opts.ContentMD5)
				}
			})},
		{name: "Content-MD5 malformed", req: part("partNumber=1&uploadId=up-9", "Content-MD5", "zz"), status: 400, code: "InvalidDigest", calls: []string{}},
		{name: "layer finds the MD5 wrong", req: part("partNumber=1&uploadId=up-9"), script: func(l *stubLayer) { l.errs["PutObjectPart"] = s3api.ErrBadDigest },
			status: 400, code: "BadDigest"},
		{name: "checksum of the upload's algorithm", req: part("partNumber=1&uploadId=up-9", "x-amz-checksum-crc32", crc), script: upload("CRC32", "COMPOSITE"),
			status: 200, header: hdrs("x-amz-checksum-crc32", crc), check: wantPart(1, func(t *testing.T, c stubCall) {
				if c.Checksum != [2]string{"CRC32", crc} {
					t.Errorf("checksum %v", c.Checksum)
				}
			})},
		{name: "checksum of another algorithm", req: part("partNumber=1&uploadId=up-9", "x-amz-checksum-sha1", b64sum(sha1.New(), data)),
			script: upload("CRC32", "COMPOSITE"), status: 400, code: "InvalidRequest", calls: []string{"UploadChecksum"}},
		{name: "no checksum for a COMPOSITE upload", req: part("partNumber=1&uploadId=up-9"), script: upload("CRC32", "COMPOSITE"),
			status: 400, code: "InvalidRequest", calls: []string{"UploadChecksum"}},
		{name: "no checksum for a FULL_OBJECT upload is computed", req: part("partNumber=2&uploadId=up-9"), script: upload("CRC32C", "FULL_OBJECT"),
			status: 200, header: hdrs("x-amz-checksum-crc32c", crcC), check: wantPart(2, func(t *testing.T, c stubCall) {
				if c.Checksum != [2]string{"CRC32C", crcC} {
					t.Errorf("checksum %v", c.Checksum)
				}
			})},
		{name: "CRC32 part of a CRC32C FULL_OBJECT upload", req: part("partNumber=1&uploadId=up-9", "x-amz-checksum-crc32", crc),
			script: upload("CRC32C", "FULL_OBJECT"), status: 400, code: "InvalidRequest"},
		{name: "checksum of a part of an upload without one", req: part("partNumber=1&uploadId=up-9", "x-amz-checksum-crc32", crc), status: 200,
			check: wantPart(1, nil)},
		{name: "wrong checksum", req: part("partNumber=1&uploadId=up-9", "x-amz-checksum-crc32", "AAAAAA=="), status: 400, code: "BadDigest"},
		{name: "over 5 GiB", req: part("partNumber=1&uploadId=up-9"), mutate: func(r *http.Request) { r.ContentLength = MaxPutSize + 1 },
			status: 400, code: "EntityTooLarge", calls: []string{}},
		{name: "SSE-C", req: part("partNumber=1&uploadId=up-9", "x-amz-server-side-encryption-customer-algorithm", "AES256"), status: 400, code: "InvalidRequest", calls: []string{}},
		{name: "write quorum lost", req: part("partNumber=1&uploadId=up-9"), script: func(l *stubLayer) { l.errs["PutObjectPart"] = s3api.ErrInsufficientWriteQuorum },
			status: 503, code: "ServiceUnavailable"},
		{name: "key too long", req: testRequest{method: "PUT", target: "/bkt/" + strings.Repeat("k", 1025) + "?partNumber=1&uploadId=u"}, status: 400, code: "KeyTooLongError"},
	}
	runHandlerCases(t, Config{}, cases)
}

// completeBody is a CompleteMultipartUpload document; each part is
// "number:etag" or "number:etag:Element=value".
func completeBody(parts ...string) string {
	var b strings.Builder
	b.WriteString("<CompleteMultipartUpload>")
	for _, p := range parts {
		f := strings.SplitN(p, ":", 3)
		fmt.Fprintf(&b, "<Part><PartNumber>%s</PartNumber><ETag>%s</ETag>", f[0], f[1])
		if len(f) == 3 {
			name, v, _ := strings.Cut(f[2], "=")
			fmt.Fprintf(&b, "<%s>%s</%s>", name, v, name)
		}
		b.WriteString("</Part>")
	}
	b.WriteString("</CompleteMultipartUpload>")
	return b.String()
}

// TestCompleteMultipartUploadHandler: Complete parses the part list, its
// write conditions and the object's checksum, and answers the layer.
func TestCompleteMultipartUploadHandler(t *testing.T) {
	complete := func(body string, kv ...string) testRequest {
		return testRequest{method: "POST", target: "/bkt/dir/obj?uploadId=up-9", header: hdrs(kv...), body: body}
	}
	two := completeBody(`1:"e1":ChecksumCRC32=AAAAAQ==`, "2:e2")
	call := func(f func(t *testing.T, c stubCall)) func(*testing.T, *stubLayer, *httptest.ResponseRecorder) {
		return func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
			c := l.call(t, "CompleteMultipartUpload")
			if c.Bucket != "bkt" || c.Key != "dir/obj" || c.UploadID != "up-9" {
				t.Errorf("CompleteMultipartUpload(%q, %q, %q)", c.Bucket, c.Key, c.UploadID)
			}
			f(t, c)
		}
	}
	layerErr := func(err error) func(*stubLayer) {
		return func(l *stubLayer) { l.errs["CompleteMultipartUpload"] = err }
	}
	cases := []handlerCase{
		{name: "complete", req: complete(two), status: 200, calls: []string{"CompleteMultipartUpload"},
			body: []string{"<CompleteMultipartUploadResult", "<Location>http://127.0.0.1:9000/bkt/dir/obj</Location>", "<Bucket>bkt</Bucket>",
				"<Key>dir/obj</Key>", xmlETag("0123456789abcdef0123456789abcdef-1"), "!<ChecksumType>"},
			check: call(func(t *testing.T, c stubCall) {
				if len(c.Parts) != 2 || c.Parts[0].Number != 1 || c.Parts[0].ETag != "e1" || c.Parts[0].Checksums["CRC32"] != "AAAAAQ==" ||
					c.Parts[1].Number != 2 || c.Parts[1].ETag != "e2" || len(c.Parts[1].Checksums) != 0 {
					t.Errorf("parts %+v", c.Parts)
				}
				if c.Opts.IfMatch != "" || c.Opts.IfNoneMatch != "" || c.Opts.FinalChecksum != (s3api.FinalChecksum{}) || c.Opts.NewHash == nil || c.Opts.ObjectSize != nil {
					t.Errorf("options %+v", c.Opts)
				}
			})},
		{name: "result checksum", req: complete(two), script: func(l *stubLayer) {
			l.completed.Checksums = map[string]string{"CRC32": "AAAAAw==-2", s3api.ChecksumTypeKey: s3api.ChecksumComposite}
		}, status: 200, header: hdrs("x-amz-checksum-crc32", "AAAAAw==-2", "x-amz-checksum-type", "COMPOSITE"),
			body: []string{"<ChecksumCRC32>AAAAAw==-2</ChecksumCRC32>", "<ChecksumType>COMPOSITE</ChecksumType>"}},
		{name: "If-None-Match *", req: complete(two, "If-None-Match", "*"), script: layerErr(s3api.ErrPreconditionFailed), status: 412, code: "PreconditionFailed",
			check: call(func(t *testing.T, c stubCall) {
				if c.Opts.IfNoneMatch != "*" {
					t.Errorf("IfNoneMatch %q", c.Opts.IfNoneMatch)
				}
			})},
		{name: "If-Match", req: complete(two, "If-Match", `"0123"`), script: layerErr(s3api.ErrPreconditionFailed), status: 412, code: "PreconditionFailed",
			check: call(func(t *testing.T, c stubCall) {
				if c.Opts.IfMatch != "0123" {
					t.Errorf("IfMatch %q", c.Opts.IfMatch)
				}
			})},
		{name: "If-Match of a missing key", req: complete(two, "If-Match", `"0123"`), script: layerErr(s3api.ErrNoSuchKey), status: 404, code: "NoSuchKey"},
		{name: "If-None-Match an ETag", req: complete(two, "If-None-Match", `"0123"`), status: 501, code: "NotImplemented", calls: []string{}},
		{name: "object checksum", req: complete(two, "x-amz-checksum-crc32", "AAAAAw==-2", "x-amz-checksum-type", "composite"), status: 200,
			check: call(func(t *testing.T, c stubCall) {
				if want := (s3api.FinalChecksum{Algo: "CRC32", Value: "AAAAAw==-2", Type: "COMPOSITE"}); c.Opts.FinalChecksum != want {
					t.Errorf("FinalChecksum %+v, want %+v", c.Opts.FinalChecksum, want)
				}
			})},
		{name: "object checksum refused by the layer", req: complete(two, "x-amz-checksum-crc32", "AAAAAw==-2"), script: layerErr(s3api.ErrBadDigest),
			status: 400, code: "BadDigest"},
		{name: "x-amz-mp-object-size reaches the layer", req: complete(two, "x-amz-mp-object-size", "5243000"), status: 200,
			check: call(func(t *testing.T, c stubCall) {
				if c.Opts.ObjectSize == nil || *c.Opts.ObjectSize != 5243000 {
					t.Errorf("ObjectSize %v", c.Opts.ObjectSize)
				}
			})},
		{name: "x-amz-mp-object-size refused by the layer", req: complete(two, "x-amz-mp-object-size", "1"),
			script: layerErr(s3api.ErrInvalidRequest.WithMessage("size")), status: 400, code: "InvalidRequest"},
		{name: "x-amz-mp-object-size not a number", req: complete(two, "x-amz-mp-object-size", "big"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "x-amz-mp-object-size negative", req: complete(two, "x-amz-mp-object-size", "-1"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "Content-MD5 of another body", req: complete(two, "Content-MD5", b64sum(md5.New(), "other")), status: 400, code: "BadDigest", calls: []string{}},
		{name: "checksum type unknown", req: complete(two, "x-amz-checksum-type", "PARTIAL"), status: 400, code: "InvalidRequest", calls: []string{}},
		{name: "checksum not base64", req: complete(two, "x-amz-checksum-crc32c", "not base64"), status: 400, code: "InvalidRequest", calls: []string{}},
		{name: "two checksums", req: complete(two, "x-amz-checksum-crc32", "AAAAAA==", "x-amz-checksum-crc32c", "AAAAAA=="), status: 400, code: "InvalidRequest"},
		{name: "parts out of order", req: complete(completeBody("2:e2", "1:e1")), status: 400, code: "InvalidPartOrder", calls: []string{}},
		{name: "a part twice", req: complete(completeBody("1:e1", "1:e1")), status: 400, code: "InvalidPartOrder", calls: []string{}},
		{name: "no parts", req: complete("<CompleteMultipartUpload></CompleteMultipartUpload>"), status: 400, code: "MalformedXML", calls: []string{}},
		{name: "malformed XML", req: complete("<CompleteMultipartUpload><Part>"), status: 400, code: "MalformedXML", calls: []string{}},
		{name: "empty body", req: complete(""), status: 400, code: "MissingRequestBodyError", calls: []string{}},
		{name: "wrong part", req: complete(two), script: layerErr(s3api.ErrInvalidPart), status: 400, code: "InvalidPart"},
		{name: "part too small", req: complete(two), script: layerErr(s3api.ErrEntityTooSmall), status: 400, code: "EntityTooSmall"},
		{name: "unknown upload", req: complete(two), script: layerErr(s3api.ErrNoSuchUpload), status: 404, code: "NoSuchUpload",
			calls: []string{"CompleteMultipartUpload", "HeadBucket"}},
		{name: "unknown upload of a missing bucket", req: complete(two), script: func(l *stubLayer) {
			l.errs["CompleteMultipartUpload"] = s3api.ErrNoSuchUpload
			l.errs["HeadBucket"] = s3api.ErrNoSuchBucket
		}, status: 404, code: "NoSuchBucket"},
		{name: "internal error", req: complete(two), script: layerErr(errors.New("raft unavailable")), status: 500, code: "InternalError", body: []string{"!raft"}},
		{name: "no upload id", req: testRequest{method: "POST", target: "/bkt/k?uploadId=", body: two}, status: 404, code: "NoSuchUpload"},
	}
	runHandlerCases(t, Config{}, cases)
}

// TestMultipartListAbortHandlers: AbortMultipartUpload, ListParts and
// ListMultipartUploads.
func TestMultipartListAbortHandlers(t *testing.T) {
	req := func(method, target string) testRequest { return testRequest{method: method, target: target} }
	listParts := func(marker, max int) func(*testing.T, *stubLayer, *httptest.ResponseRecorder) {
		return func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
			if c := l.call(t, "ListParts"); c.Key != "k" || c.UploadID != "up-9" || c.Marker != marker || c.Max != max {
				t.Errorf("ListParts %+v, want marker %d max %d", c, marker, max)
			}
		}
	}
	listUploads := func(want s3api.ListUploadsParams) func(*testing.T, *stubLayer, *httptest.ResponseRecorder) {
		return func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
			if c := l.call(t, "ListMultipartUploads"); c.ListUp != want {
				t.Errorf("ListMultipartUploads %+v, want %+v", c.ListUp, want)
			}
		}
	}
	parts := func(l *stubLayer) {
		l.parts = s3api.ListPartsResult{Parts: []s3api.PartInfo{
			{Number: 2, Size: 5 << 20, ETag: "e2", ModTime: stubModTime, Checksums: map[string]string{"CRC32": "AAAAAg=="}},
			{Number: 3, Size: 7, ETag: "e3", ModTime: stubModTime}}, IsTruncated: true, NextPartNumberMarker: 3}
	}
	uploads := func(l *stubLayer) {
		l.uploads = s3api.ListUploadsResult{Uploads: []s3api.UploadInfo{{Key: "a b", UploadID: "u1", Initiated: stubModTime}},
			Prefixes: []string{"dir/"}, IsTruncated: true, NextKeyMarker: "a b", NextUploadIDMarker: "u1"}
	}
	cases := []handlerCase{
		{name: "abort if initiated at a time", req: testRequest{method: "DELETE", target: "/bkt/k?uploadId=up-9",
			header: hdrs("x-amz-if-match-initiated-time", "Wed, 04 Mar 2026 05:06:07 GMT")}, status: 501, code: "NotImplemented", calls: []string{},
			body: []string{"x-amz-if-match-initiated-time"}},
		{name: "abort", req: req("DELETE", "/bkt/k?uploadId=up-9"), status: 204, calls: []string{"AbortMultipartUpload"},
			check: func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
				if c := l.call(t, "AbortMultipartUpload"); c.Bucket != "bkt" || c.Key != "k" || c.UploadID != "up-9" {
					t.Errorf("AbortMultipartUpload %+v", c)
				}
			}},
		{name: "abort unknown upload", req: req("DELETE", "/bkt/k?uploadId=zzz"), script: func(l *stubLayer) { l.errs["AbortMultipartUpload"] = s3api.ErrNoSuchUpload },
			status: 404, code: "NoSuchUpload"},
		{name: "abort in a missing bucket", req: req("DELETE", "/nobkt/k?uploadId=zzz"), script: func(l *stubLayer) {
			l.errs["AbortMultipartUpload"] = s3api.ErrNoSuchUpload
			l.errs["HeadBucket"] = s3api.ErrNoSuchBucket
		}, status: 404, code: "NoSuchBucket"},
		{name: "abort without an id", req: req("DELETE", "/bkt/k?uploadId="), status: 404, code: "NoSuchUpload", calls: []string{"HeadBucket"}},
		{name: "abort bucket name not valid", req: req("DELETE", "/B/k?uploadId=u"), status: 404, code: "NoSuchBucket", calls: []string{}},

		{name: "list parts", req: req("GET", "/bkt/k?uploadId=up-9"), script: parts, status: 200, check: listParts(0, 1000),
			body: []string{"<ListPartsResult", "<UploadId>up-9</UploadId>", "<Key>k</Key>", "<MaxParts>1000</MaxParts>", "<IsTruncated>true</IsTruncated>",
				"<NextPartNumberMarker>3</NextPartNumberMarker>", "<Part><PartNumber>2</PartNumber><LastModified>2026-03-04T05:06:07.000Z</LastModified>" +
					"<ETag>&#34;e2&#34;</ETag><Size>5242880</Size><ChecksumCRC32>AAAAAg==</ChecksumCRC32></Part>", "<PartNumber>3</PartNumber>",
				"<StorageClass>STANDARD</StorageClass>", "<Initiator>"}},
		{name: "list parts marker and max", req: req("GET", "/bkt/k?uploadId=up-9&part-number-marker=1&max-parts=2"), status: 200, check: listParts(1, 2),
			body: []string{"<PartNumberMarker>1</PartNumberMarker>", "<MaxParts>2</MaxParts>", "!<Part>"}},
		{name: "list parts max over 1000", req: req("GET", "/bkt/k?uploadId=up-9&max-parts=5000"), status: 200, check: listParts(0, 1000)},
		{name: "list parts max negative", req: req("GET", "/bkt/k?uploadId=up-9&max-parts=-1"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "list parts marker not a number", req: req("GET", "/bkt/k?uploadId=up-9&part-number-marker=x"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "list parts unknown upload", req: req("GET", "/bkt/k?uploadId=zzz"), script: func(l *stubLayer) { l.errs["ListParts"] = s3api.ErrNoSuchUpload },
			status: 404, code: "NoSuchUpload"},
		{name: "list parts in a missing bucket", req: req("GET", "/nobkt/k?uploadId=zzz"), script: func(l *stubLayer) {
			l.errs["ListParts"] = s3api.ErrNoSuchUpload
			l.errs["HeadBucket"] = s3api.ErrNoSuchBucket
		}, status: 404, code: "NoSuchBucket"},

		{name: "list uploads", req: req("GET", "/bkt?uploads"), script: uploads, status: 200, calls: []string{"HeadBucket", "ListMultipartUploads"},
			check: listUploads(s3api.ListUploadsParams{MaxUploads: 1000}),
			body: []string{"<ListMultipartUploadsResult", "<Bucket>bkt</Bucket>", "<Upload><Key>a b</Key><UploadId>u1</UploadId><Initiated>2026-03-04T05:06:07.000Z</Initiated></Upload>",
				"<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>", "<IsTruncated>true</IsTruncated>", "<NextKeyMarker>a b</NextKeyMarker>",
				"<NextUploadIdMarker>u1</NextUploadIdMarker>", "<MaxUploads>1000</MaxUploads>"}},
		{name: "list uploads query", req: req("GET", "/bkt?uploads&prefix=p%2F&delimiter=%2F&key-marker=km&upload-id-marker=um&max-uploads=5"), status: 200,
			check: listUploads(s3api.ListUploadsParams{Prefix: "p/", Delimiter: "/", KeyMarker: "km", UploadIDMarker: "um", MaxUploads: 5}),
			body:  []string{"<Prefix>p/</Prefix>", "<Delimiter>/</Delimiter>", "<KeyMarker>km</KeyMarker>", "<UploadIdMarker>um</UploadIdMarker>", "<NextKeyMarker></NextKeyMarker>"}},
		{name: "list uploads encoding-type url", req: req("GET", "/bkt?uploads&encoding-type=url"), script: uploads, status: 200,
			body: []string{"<Key>a+b</Key>", "<NextKeyMarker>a+b</NextKeyMarker>", "<EncodingType>url</EncodingType>"}},
		{name: "list uploads encoding-type unknown", req: req("GET", "/bkt?uploads&encoding-type=hex"), status: 400, code: "InvalidArgument"},
		{name: "list uploads max not a number", req: req("GET", "/bkt?uploads&max-uploads=many"), status: 400, code: "InvalidArgument"},
		{name: "list uploads max over 1000", req: req("GET", "/bkt?uploads&max-uploads=2000"), status: 200,
			check: listUploads(s3api.ListUploadsParams{MaxUploads: 1000})},
		{name: "list uploads of a missing bucket", req: req("GET", "/nobkt?uploads"), script: func(l *stubLayer) { l.errs["HeadBucket"] = s3api.ErrNoSuchBucket },
			status: 404, code: "NoSuchBucket", calls: []string{"HeadBucket"}},
	}
	runHandlerCases(t, Config{}, cases)
}

// TestUploadPartCopyHandler: UploadPartCopy streams a byte range of the
// source into PutObjectPart, with the upload's checksum.
func TestUploadPartCopyHandler(t *testing.T) {
	cp := func(kv ...string) testRequest {
		return testRequest{method: "PUT", target: "/bkt/k?partNumber=2&uploadId=up-9", header: hdrs(append([]string{"x-amz-copy-source", "/bkt/obj"}, kv...)...)}
	}
	wantPart := func(body string, f func(t *testing.T, c stubCall)) func(*testing.T, *stubLayer, *httptest.ResponseRecorder) {
		return func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
			c := l.call(t, "PutObjectPart")
			if c.Key != "k" || c.UploadID != "up-9" || c.PartNumber != 2 || c.Body != body || c.Size != int64(len(body)) {
				t.Errorf("PutObjectPart %+v, want body %q", c, body)
			}
			if f != nil {
				f(t, c)
			}
		}
	}
	crc := b64sum(crc32.NewIEEE(), stubData[7:11])
	cases := []handlerCase{
		{name: "whole source", req: cp(), status: 200, body: []string{"<CopyPartResult", xmlETag(md5hex(stubData))},
			calls: []string{"OpenObject", "UploadChecksum", "Read", "PutObjectPart"}, check: wantPart(stubData, nil)},
		{name: "a range", req: cp("x-amz-copy-source-range", "bytes=7-10"), status: 200, check: wantPart("stub", nil)},
		{name: "range past the source", req: cp("x-amz-copy-source-range", "bytes=7-17"), status: 416, code: "InvalidRange"},
		{name: "open-ended range", req: cp("x-amz-copy-source-range", "bytes=7-"), status: 400, code: "InvalidArgument"},
		{name: "range not bytes", req: cp("x-amz-copy-source-range", "items=0-1"), status: 400, code: "InvalidArgument"},
		{name: "upload's checksum", req: cp("x-amz-copy-source-range", "bytes=7-10"), script: func(l *stubLayer) { l.uploadAlgo, l.uploadType = "CRC32", "COMPOSITE" },
			status: 200, body: []string{"<ChecksumCRC32>" + crc + "</ChecksumCRC32>"},
			check: wantPart("stub", func(t *testing.T, c stubCall) {
				if c.Checksum != [2]string{"CRC32", crc} {
					t.Errorf("checksum %v", c.Checksum)
				}
			})},
		{name: "asks another algorithm than the upload's", req: cp("x-amz-checksum-algorithm", "SHA1"),
			script: func(l *stubLayer) { l.uploadAlgo, l.uploadType = "CRC32", "COMPOSITE" }, status: 400, code: "InvalidRequest"},
		{name: "unknown checksum algorithm is named", req: cp("x-amz-checksum-algorithm", "ROT13"), status: 400, code: "InvalidRequest",
			body: []string{"Checksum algorithm &#34;ROT13&#34; is not supported."}, calls: []string{"OpenObject", "UploadChecksum"}},
		{name: "copy-source-if-match false", req: cp("x-amz-copy-source-if-match", `"0"`), status: 412, code: "PreconditionFailed"},
		{name: "missing source", req: testRequest{method: "PUT", target: "/bkt/k?partNumber=2&uploadId=up-9", header: hdrs("x-amz-copy-source", "/bkt/nope")},
			status: 404, code: "NoSuchKey"},
		{name: "part number not valid", req: testRequest{method: "PUT", target: "/bkt/k?partNumber=0&uploadId=up-9", header: hdrs("x-amz-copy-source", "/bkt/obj")},
			status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "unknown upload", req: cp(), script: func(l *stubLayer) { l.errs["PutObjectPart"] = s3api.ErrNoSuchUpload }, status: 404, code: "NoSuchUpload"},
	}
	runHandlerCases(t, Config{}, cases)
}
