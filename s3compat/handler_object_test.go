package s3compat

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
)

// hdrs builds a header map from name, value pairs.
func hdrs(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// b64sum is the base64 digest of data under h.
func b64sum(h hash.Hash, data string) string {
	h.Write([]byte(data))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// xmlETag is an ETag element as encoding/xml writes it (quotes escaped).
func xmlETag(etag string) string { return "<ETag>&#34;" + etag + "&#34;</ETag>" }

// stubETag is the quoted ETag of bkt/obj.
var stubETag = `"` + md5hex(stubData) + `"`

// stubLastModified is bkt/obj's Last-Modified.
var stubLastModified = stubModTime.Format(http.TimeFormat)

// wantPut checks the one PutObject call's bucket, key and body.
func wantPut(bucket, key, body string, more func(t *testing.T, c stubCall)) func(*testing.T, *stubLayer, *httptest.ResponseRecorder) {
	return func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
		t.Helper()
		c := l.call(t, "PutObject")
		if c.Bucket != bucket || c.Key != key || c.Body != body || c.BodyErr != nil {
			t.Errorf("PutObject(%q, %q) with body %q (err %v), want (%q, %q) with %q", c.Bucket, c.Key, c.Body, c.BodyErr, bucket, key, body)
		}
		if more != nil {
			more(t, c)
		}
	}
}

// TestPutObjectHandler: PUT turns headers into PutOptions, refuses what it
// must before calling the layer, and answers the layer's result or error.
func TestPutObjectHandler(t *testing.T) {
	const body = "new content"
	put := func(h map[string]string) testRequest {
		return testRequest{method: "PUT", target: "/bkt/new", header: h, body: body}
	}
	crc := b64sum(crc32.NewIEEE(), body)
	other := md5.Sum([]byte("other"))
	good := md5.Sum([]byte(body))
	cases := []handlerCase{
		{name: "plain", req: put(nil), status: 200, calls: []string{"PutObject"},
			header: hdrs("ETag", `"`+md5hex(body)+`"`, "x-amz-checksum-type", "FULL_OBJECT"),
			check: wantPut("bkt", "new", body, func(t *testing.T, c stubCall) {
				// S3 computes a CRC64NVME for an upload that sends no checksum.
				if c.Size != int64(len(body)) || c.Checksum[0] != "CRC64NVME" || c.Opts.ContentType != "" || len(c.Opts.UserMeta) != 0 {
					t.Errorf("call %+v", c)
				}
			})},
		{name: "metadata headers are stored", req: put(hdrs("Content-Type", "text/x-new", "X-Amz-Meta-Color", "red", "x-amz-meta-Two-Words", "a b",
			"Cache-Control", "no-cache", "Content-Disposition", "inline", "Content-Encoding", "gzip", "Content-Language", "fr",
			"Expires", "Thu, 01 Jan 2030 00:00:00 GMT", "X-Amz-Storage-Class", "STANDARD_IA", "X-Not-Stored", "x")),
			status: 200, check: wantPut("bkt", "new", body, func(t *testing.T, c stubCall) {
				o := c.Opts
				if o.ContentType != "text/x-new" || o.UserMeta["color"] != "red" || o.UserMeta["two-words"] != "a b" || len(o.UserMeta) != 2 {
					t.Errorf("content type %q, user meta %v", o.ContentType, o.UserMeta)
				}
				want := map[string]string{"Cache-Control": "no-cache", "Content-Disposition": "inline", "Content-Encoding": "gzip",
					"Content-Language": "fr", "Expires": "Thu, 01 Jan 2030 00:00:00 GMT", "X-Amz-Storage-Class": "STANDARD_IA"}
				if len(o.Headers) != len(want) {
					t.Errorf("stored headers %v, want %v", o.Headers, want)
				}
				for k, v := range want {
					if o.Headers[k] != v {
						t.Errorf("stored header %s = %q, want %q", k, o.Headers[k], v)
					}
				}
			})},
		{name: "storage class STANDARD is not recorded", req: put(hdrs("X-Amz-Storage-Class", "STANDARD")), status: 200,
			check: wantPut("bkt", "new", body, func(t *testing.T, c stubCall) {
				if _, ok := c.Opts.Headers[storageClassHeader]; ok {
					t.Errorf("headers %v", c.Opts.Headers)
				}
			})},
		{name: "archive storage class", req: put(hdrs("X-Amz-Storage-Class", "GLACIER")), status: 400, code: "InvalidStorageClass", calls: []string{}},
		{name: "user metadata over 2 KiB", req: put(hdrs("X-Amz-Meta-Big", strings.Repeat("x", 2100))), status: 400, code: "MetadataTooLarge", calls: []string{}},
		{name: "Content-MD5 is passed decoded", req: put(hdrs("Content-MD5", base64.StdEncoding.EncodeToString(good[:]))), status: 200,
			check: wantPut("bkt", "new", body, func(t *testing.T, c stubCall) {
				if !bytes.Equal(c.Opts.ContentMD5, good[:]) {
					t.Errorf("ContentMD5 %x, want %x", c.Opts.ContentMD5, good)
				}
			})},
		{name: "Content-MD5 not base64", req: put(hdrs("Content-MD5", "not base64 at all!")), status: 400, code: "InvalidDigest", calls: []string{}},
		{name: "Content-MD5 of the wrong length", req: put(hdrs("Content-MD5", "AAAA")), status: 400, code: "InvalidDigest", calls: []string{}},
		{name: "layer finds the MD5 wrong", req: put(hdrs("Content-MD5", base64.StdEncoding.EncodeToString(other[:]))),
			script: func(l *stubLayer) { l.errs["PutObject"] = s3api.ErrBadDigest }, status: 400, code: "BadDigest"},
		{name: "If-None-Match * is a create-only write", req: put(hdrs("If-None-Match", "*")), status: 200,
			check: wantPut("bkt", "new", body, func(t *testing.T, c stubCall) {
				if c.Opts.IfNoneMatch != "*" || c.Opts.IfMatch != "" {
					t.Errorf("conditions %q %q", c.Opts.IfNoneMatch, c.Opts.IfMatch)
				}
			})},
		{name: "If-None-Match * over an object", req: put(hdrs("If-None-Match", "*")),
			script: func(l *stubLayer) { l.errs["PutObject"] = s3api.ErrPreconditionFailed }, status: 412, code: "PreconditionFailed"},
		{name: "If-None-Match an ETag", req: put(hdrs("If-None-Match", stubETag)), status: 501, code: "NotImplemented", calls: []string{}},
		{name: "If-Match is passed unquoted", req: put(hdrs("If-Match", `"0123"`)),
			script: func(l *stubLayer) { l.errs["PutObject"] = s3api.ErrPreconditionFailed }, status: 412, code: "PreconditionFailed",
			check: func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
				if c := l.call(t, "PutObject"); c.Opts.IfMatch != "0123" {
					t.Errorf("IfMatch %q", c.Opts.IfMatch)
				}
			}},
		{name: "conditional write lost a race", req: put(hdrs("If-None-Match", "*")),
			script: func(l *stubLayer) { l.errs["PutObject"] = s3api.ErrConditionalRequestConflict }, status: 409, code: "ConditionalRequestConflict"},
		{name: "x-amz-checksum-crc32 right", req: put(hdrs("x-amz-checksum-crc32", crc)), status: 200,
			header: hdrs("x-amz-checksum-crc32", crc, "x-amz-checksum-type", "FULL_OBJECT"),
			check: wantPut("bkt", "new", body, func(t *testing.T, c stubCall) {
				if c.Checksum != [2]string{"CRC32", crc} {
					t.Errorf("checksum %v", c.Checksum)
				}
			})},
		{name: "x-amz-checksum-crc32 wrong", req: put(hdrs("x-amz-checksum-crc32", b64sum(crc32.NewIEEE(), "other"))), status: 400, code: "BadDigest",
			check: func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
				if c := l.call(t, "PutObject"); c.BodyErr == nil {
					t.Error("the layer read the body to a clean EOF")
				}
			}},
		{name: "x-amz-checksum-sha256 malformed", req: put(hdrs("x-amz-checksum-sha256", "short")), status: 400, code: "InvalidRequest", calls: []string{}},
		{name: "signed payload hash mismatch", req: put(hdrs("X-Amz-Content-Sha256", hex.EncodeToString(sha256.New().Sum(nil)))),
			status: 400, code: "XAmzContentSHA256Mismatch",
			check: func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
				if c := l.call(t, "PutObject"); c.BodyErr == nil {
					t.Error("the layer read the body to a clean EOF")
				}
			}},
		{name: "signed payload hash right", req: put(hdrs("X-Amz-Content-Sha256", func() string { s := sha256.Sum256([]byte(body)); return hex.EncodeToString(s[:]) }())),
			status: 200, check: wantPut("bkt", "new", body, nil)},
		{name: "x-amz-tagging", req: put(hdrs("X-Amz-Tagging", "a=b")), status: 501, code: "NotImplemented", calls: []string{}},
		{name: "website redirect is stored", req: put(hdrs("x-amz-website-redirect-location", "https://example.test/new")), status: 200,
			check: wantPut("bkt", "new", body, func(t *testing.T, c stubCall) {
				if c.Opts.Headers[redirectHeader] != "https://example.test/new" {
					t.Errorf("stored headers %v", c.Opts.Headers)
				}
			})},
		{name: "website redirect without a prefix", req: put(hdrs("x-amz-website-redirect-location", "example.test/new")), status: 400, code: "InvalidRedirectLocation", calls: []string{}},
		{name: "website redirect over 2 KiB", req: put(hdrs("x-amz-website-redirect-location", "/"+strings.Repeat("r", 2048))), status: 400, code: "InvalidRedirectLocation", calls: []string{}},
		{name: "append (x-amz-write-offset-bytes)", req: put(hdrs("x-amz-write-offset-bytes", "17")), status: 501, code: "NotImplemented", calls: []string{},
			body: []string{"<Message>Appending to objects (x-amz-write-offset-bytes) is not supported.</Message>"}},
		{name: "missing bucket", req: put(nil), script: func(l *stubLayer) { l.errs["PutObject"] = s3api.ErrNoSuchBucket }, status: 404, code: "NoSuchBucket",
			body: []string{"<BucketName>bkt</BucketName>", "<Key>new</Key>", "<Resource>/bkt/new</Resource>"}},
		{name: "bucket name not valid", req: testRequest{method: "PUT", target: "/Bad_Bucket/k", body: body}, status: 404, code: "NoSuchBucket", calls: []string{}},
		{name: "1024-byte key", req: testRequest{method: "PUT", target: "/bkt/" + strings.Repeat("k", 1024), body: body}, status: 200},
		{name: "1025-byte key", req: testRequest{method: "PUT", target: "/bkt/" + strings.Repeat("k", 1025), body: body}, status: 400, code: "KeyTooLongError", calls: []string{}},
		{name: "key with NUL", req: testRequest{method: "PUT", target: "/bkt/nul%00key", body: body}, status: 400, code: "InvalidObjectName", calls: []string{}},
		{name: "traversal key is a key", req: testRequest{method: "PUT", target: "/bkt/../../etc/passwd", body: body}, status: 200,
			check: wantPut("bkt", "../../etc/passwd", body, nil)},
		{name: "percent-encoded traversal key", req: testRequest{method: "PUT", target: "/bkt/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", body: body}, status: 200,
			check: wantPut("bkt", "../../etc/passwd", body, nil)},
		{name: "control character in a key", req: testRequest{method: "PUT", target: "/bkt/ctl%01key", body: body}, status: 200,
			check: wantPut("bkt", "ctl\x01key", body, nil)},
		{name: "double slashes are kept", req: testRequest{method: "PUT", target: "/bkt//a//b/", body: body}, status: 200,
			check: wantPut("bkt", "/a//b/", body, nil)},
		{name: "empty body", req: testRequest{method: "PUT", target: "/bkt/empty"}, status: 200, header: hdrs("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`),
			check: wantPut("bkt", "empty", "", nil)},
		{name: "over 5 GiB", req: put(nil), mutate: func(r *http.Request) { r.ContentLength = MaxPutSize + 1 }, status: 400, code: "EntityTooLarge", calls: []string{}},
		{name: "write quorum lost", req: put(nil), script: func(l *stubLayer) { l.errs["PutObject"] = s3api.ErrInsufficientWriteQuorum },
			status: 503, code: "ServiceUnavailable"},
		{name: "storage full", req: put(nil), script: func(l *stubLayer) { l.errs["PutObject"] = s3api.ErrStorageFull }, status: 507, code: "XMinioStorageFull"},
		{name: "plain error is InternalError, its text unsent", req: put(nil),
			script: func(l *stubLayer) { l.errs["PutObject"] = errors.New("drive /srv/d3 on fire") },
			status: 500, code: "InternalError", body: []string{"!/srv/d3", "!fire"}},
		{name: "layer message is sent", req: put(nil),
			script: func(l *stubLayer) {
				l.errs["PutObject"] = s3api.ErrEntityTooLarge.WithMessage("No more than %d bytes.", 5)
			}, status: 400, code: "EntityTooLarge", body: []string{"<Message>No more than 5 bytes.</Message>"}},
		{name: "request ids", req: put(nil), status: 200, check: func(t *testing.T, _ *stubLayer, rec *httptest.ResponseRecorder) {
			if id := rec.Header().Get("x-amz-request-id"); len(id) != 16 || rec.Header().Get("x-amz-id-2") != id || rec.Header().Get("Server") != "ecstore" {
				t.Errorf("headers %v", rec.Header())
			}
		}},
	}
	runHandlerCases(t, Config{}, cases)
}

// TestGetObjectHandler: GET and HEAD answer the opened object's headers,
// byte ranges, parts, checksums and response-* overrides; errors of the
// layer become S3 errors (without a body for HEAD).
func TestGetObjectHandler(t *testing.T) {
	get := func(target string, h map[string]string) testRequest {
		return testRequest{method: "GET", target: target, header: h}
	}
	head := func(target string, h map[string]string) testRequest {
		return testRequest{method: "HEAD", target: target, header: h}
	}
	objHeaders := hdrs("ETag", stubETag, "Last-Modified", stubLastModified, "Content-Type", "text/plain", "Accept-Ranges", "bytes",
		"Content-Length", "17", "X-Amz-Meta-Color", "blue", "Cache-Control", "max-age=60", "Content-Range", "")
	reads := func(off, n int64) func(*testing.T, *stubLayer, *httptest.ResponseRecorder) {
		return func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
			if c := l.call(t, "Read"); c.ReadOffset != off || c.ReadLength != n {
				t.Errorf("Read(%d, %d), want (%d, %d)", c.ReadOffset, c.ReadLength, off, n)
			}
		}
	}
	crcObj := b64sum(crc32.NewIEEE(), stubData)
	withChecksum := func(l *stubLayer) { l.objects["bkt/obj"].info.Checksums = map[string]string{"CRC32": crcObj} }
	// multipart: bkt/mp of parts 1 (6 bytes), 2 (5 bytes), 3 (6 bytes).
	multipart := func(l *stubLayer) {
		o := l.addObject("bkt", "mp", stubData, func(i *s3api.ObjectInfo) {
			i.ETag, i.PartsCount = "0123456789abcdef0123456789abcdef-3", 3
			i.Checksums = map[string]string{"CRC32": "AAAAAA==-3", s3api.ChecksumTypeKey: s3api.ChecksumComposite}
		})
		o.parts = []s3api.PartInfo{{Number: 1, Size: 6, ETag: "e1", Checksums: map[string]string{"CRC32": "AAAAAQ=="}},
			{Number: 2, Size: 5, ETag: "e2", Checksums: map[string]string{"CRC32": "AAAAAg=="}}, {Number: 3, Size: 6, ETag: "e3"}}
	}
	cases := []handlerCase{
		{name: "get", req: get("/bkt/obj", nil), status: 200, header: objHeaders, body: []string{stubData},
			calls: []string{"OpenObject", "Read"}, check: reads(0, 17)},
		{name: "head", req: head("/bkt/obj", nil), status: 200, header: objHeaders, calls: []string{"OpenObject"},
			check: func(t *testing.T, _ *stubLayer, rec *httptest.ResponseRecorder) {
				if rec.Body.Len() != 0 {
					t.Errorf("HEAD body %q", rec.Body)
				}
			}},
		{name: "website redirect returned", req: head("/bkt/obj", nil), script: func(l *stubLayer) { l.objects["bkt/obj"].info.Headers[redirectHeader] = "/elsewhere" },
			status: 200, header: hdrs("x-amz-website-redirect-location", "/elsewhere")},
		{name: "no content type stored", req: head("/bkt/bare", nil), script: func(l *stubLayer) { l.addObject("bkt", "bare", "x", nil) },
			status: 200, header: hdrs("Content-Type", "binary/octet-stream", "x-amz-mp-parts-count", "")},
		{name: "get missing key", req: get("/bkt/no/such%20key", nil), status: 404, code: "NoSuchKey",
			body:   []string{"<Key>no/such key</Key>", "<BucketName>bkt</BucketName>", "<RequestId>"},
			header: hdrs("Content-Type", "application/xml", "ETag", "", "Last-Modified", "")},
		{name: "head missing key", req: head("/bkt/nope", nil), status: 404, code: "",
			check: func(t *testing.T, _ *stubLayer, rec *httptest.ResponseRecorder) {
				if rec.Body.Len() != 0 {
					t.Errorf("HEAD 404 with a body %q", rec.Body)
				}
			}},
		{name: "control characters in an error's key", req: get("/bkt/ctl%01key-missing", nil), status: 404, code: "NoSuchKey",
			body: []string{"<Key>ctl&#x1;key-missing</Key>"}},
		{name: "get missing bucket", req: get("/nobkt/k", nil), script: func(l *stubLayer) { l.errs["OpenObject"] = s3api.ErrNoSuchBucket },
			status: 404, code: "NoSuchBucket"},
		{name: "bucket name not valid", req: get("/UPPER/k", nil), status: 404, code: "NoSuchBucket", calls: []string{}},
		{name: "key too long", req: get("/bkt/"+strings.Repeat("k", 1025), nil), status: 404, code: "NoSuchKey", calls: []string{}},
		{name: "read quorum lost", req: get("/bkt/obj", nil), script: func(l *stubLayer) { l.errs["OpenObject"] = s3api.ErrInsufficientReadQuorum },
			status: 503, code: "ServiceUnavailable"},
		{name: "read fails before the first byte", req: get("/bkt/obj", nil),
			script: func(l *stubLayer) { l.objects["bkt/obj"].readErr = s3api.ErrInsufficientReadQuorum },
			status: 503, code: "ServiceUnavailable", header: hdrs("ETag", "", "Content-Length", "")},
		{name: "read fails with a plain error", req: get("/bkt/obj", nil),
			script: func(l *stubLayer) { l.objects["bkt/obj"].readErr = errors.New("shard 3 unreadable") },
			status: 500, code: "InternalError", body: []string{"!shard"}},

		// Ranges.
		{name: "range", req: get("/bkt/obj", hdrs("Range", "bytes=2-5")), status: 206, body: []string{"llo,"},
			header: hdrs("Content-Range", "bytes 2-5/17", "Content-Length", "4", "ETag", stubETag), check: reads(2, 4)},
		{name: "range open-ended", req: get("/bkt/obj", hdrs("Range", "bytes=7-")), status: 206, body: []string{"stub world"},
			header: hdrs("Content-Range", "bytes 7-16/17", "Content-Length", "10"), check: reads(7, 10)},
		{name: "suffix range", req: get("/bkt/obj", hdrs("Range", "bytes=-5")), status: 206, body: []string{"world"},
			header: hdrs("Content-Range", "bytes 12-16/17"), check: reads(12, 5)},
		{name: "suffix longer than the object", req: get("/bkt/obj", hdrs("Range", "bytes=-100")), status: 206,
			header: hdrs("Content-Range", "bytes 0-16/17"), check: reads(0, 17)},
		{name: "end past the size", req: get("/bkt/obj", hdrs("Range", "bytes=16-200")), status: 206, body: []string{"d"},
			header: hdrs("Content-Range", "bytes 16-16/17", "Content-Length", "1")},
		{name: "head range", req: head("/bkt/obj", hdrs("Range", "bytes=0-0")), status: 206, header: hdrs("Content-Range", "bytes 0-0/17", "Content-Length", "1"),
			calls: []string{"OpenObject"}},
		{name: "range starting at the size", req: get("/bkt/obj", hdrs("Range", "bytes=17-")), status: 416, code: "InvalidRange", calls: []string{"OpenObject"}},
		{name: "range past the end", req: get("/bkt/obj", hdrs("Range", "bytes=100-200")), status: 416, code: "InvalidRange"},
		{name: "empty suffix", req: get("/bkt/obj", hdrs("Range", "bytes=-0")), status: 416, code: "InvalidRange"},
		{name: "range of an empty object", req: get("/bkt/empty", hdrs("Range", "bytes=0-0")),
			script: func(l *stubLayer) { l.addObject("bkt", "empty", "", nil) }, status: 416, code: "InvalidRange"},
		{name: "head range not satisfiable", req: head("/bkt/obj", hdrs("Range", "bytes=100-")), status: 416, code: ""},
		{name: "malformed range is ignored", req: get("/bkt/obj", hdrs("Range", "bytes=5-4")), status: 200, header: hdrs("Content-Range", "")},
		{name: "multiple ranges are ignored", req: get("/bkt/obj", hdrs("Range", "bytes=0-1,3-4")), status: 200, header: hdrs("Content-Length", "17")},

		// Parts.
		{name: "part 1 of a single-part object", req: get("/bkt/obj?partNumber=1", nil), status: 206,
			header: hdrs("Content-Range", "bytes 0-16/17", "x-amz-mp-parts-count", "")},
		{name: "part 2 of a multipart object", req: get("/bkt/mp?partNumber=2", nil), script: multipart, status: 206, body: []string{" stub"},
			header: hdrs("Content-Range", "bytes 6-10/17", "Content-Length", "5", "x-amz-mp-parts-count", "3"), check: reads(6, 5)},
		{name: "part beyond the last", req: get("/bkt/mp?partNumber=4", nil), script: multipart, status: 416, code: "InvalidPartNumber"},
		{name: "part 2 of a single-part object", req: get("/bkt/obj?partNumber=2", nil), status: 416, code: "InvalidPartNumber"},
		{name: "part number 0", req: get("/bkt/obj?partNumber=0", nil), status: 400, code: "InvalidArgument"},
		{name: "part number not a number", req: get("/bkt/obj?partNumber=one", nil), status: 400, code: "InvalidArgument"},
		{name: "part number and Range", req: get("/bkt/obj?partNumber=1", hdrs("Range", "bytes=0-1")), status: 400, code: "InvalidRequest"},
		{name: "whole multipart object", req: head("/bkt/mp", nil), script: multipart, status: 200, header: hdrs("x-amz-mp-parts-count", "3",
			"ETag", `"0123456789abcdef0123456789abcdef-3"`)},

		// Checksums.
		{name: "checksum mode", req: head("/bkt/obj", hdrs("x-amz-checksum-mode", "ENABLED")), script: withChecksum, status: 200,
			header: hdrs("x-amz-checksum-crc32", crcObj, "x-amz-checksum-type", "FULL_OBJECT")},
		{name: "no checksum without checksum mode", req: head("/bkt/obj", nil), script: withChecksum, status: 200,
			header: hdrs("x-amz-checksum-crc32", "", "x-amz-checksum-type", "")},
		{name: "no whole-object checksum for a range", req: get("/bkt/obj", hdrs("x-amz-checksum-mode", "ENABLED", "Range", "bytes=0-1")),
			script: withChecksum, status: 206, header: hdrs("x-amz-checksum-crc32", "")},
		{name: "whole-object checksum for part 1 of a single-part object", req: get("/bkt/obj?partNumber=1", hdrs("x-amz-checksum-mode", "ENABLED")),
			script: withChecksum, status: 206, header: hdrs("x-amz-checksum-crc32", crcObj)},
		{name: "composite checksum", req: head("/bkt/mp", hdrs("x-amz-checksum-mode", "enabled")), script: multipart, status: 200,
			header: hdrs("x-amz-checksum-crc32", "AAAAAA==-3", "x-amz-checksum-type", "COMPOSITE")},
		{name: "a part's own checksum", req: head("/bkt/mp?partNumber=2", hdrs("x-amz-checksum-mode", "ENABLED")), script: multipart, status: 206,
			header: hdrs("x-amz-checksum-crc32", "AAAAAg==", "x-amz-checksum-type", "FULL_OBJECT")},

		// response-* overrides.
		{name: "response overrides", req: get("/bkt/obj?response-content-type=text%2Fx-override&response-content-language=de&response-expires=never"+
			"&response-cache-control=no-store&response-content-disposition=attachment%3B%20filename%3Dx&response-content-encoding=identity", nil),
			status: 200, header: hdrs("Content-Type", "text/x-override", "Content-Language", "de", "Expires", "never", "Cache-Control", "no-store",
				"Content-Disposition", "attachment; filename=x", "Content-Encoding", "identity")},
		{name: "empty override is ignored", req: get("/bkt/obj?response-content-type=", nil), status: 200, header: hdrs("Content-Type", "text/plain")},

		// The only version there is.
		{name: "versionId=null", req: get("/bkt/obj?versionId=null", nil), status: 200},
		{name: "another versionId", req: get("/bkt/obj?versionId=3HL4kqtJlcpXroDTDmJ", nil), status: 501, code: "NotImplemented", calls: []string{}},

		// GetObjectTagging: objects carry no tags.
		{name: "tagging", req: get("/bkt/obj?tagging", nil), status: 200, body: []string{"<Tagging", "<TagSet></TagSet>"}, calls: []string{"OpenObject"}},
		{name: "tagging of a missing key", req: get("/bkt/nope?tagging", nil), status: 404, code: "NoSuchKey"},
	}
	runHandlerCases(t, Config{}, cases)
}

// TestConditionalHandler: If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since on GET and HEAD, with the RFC 7232 precedence S3
// documents: 304 with the validators and no body, 412 PreconditionFailed
// (no body for HEAD).
func TestConditionalHandler(t *testing.T) {
	date := func(t time.Time) string { return t.UTC().Format(http.TimeFormat) }
	lm := stubModTime
	before, after := date(lm.Add(-time.Hour)), date(lm.Add(time.Hour))
	etag := stubETag
	conds := []struct {
		name   string
		h      map[string]string
		status int
	}{
		{"If-Match the ETag", hdrs("If-Match", etag), 200},
		{"If-Match the ETag unquoted", hdrs("If-Match", md5hex(stubData)), 200},
		{"If-Match *", hdrs("If-Match", "*"), 200},
		{"If-Match in a list", hdrs("If-Match", `"0123", `+etag), 200},
		{"If-Match another ETag", hdrs("If-Match", `"0123456789abcdef0123456789abcdef"`), 412},
		{"If-None-Match the ETag", hdrs("If-None-Match", etag), 304},
		{"If-None-Match *", hdrs("If-None-Match", "*"), 304},
		{"If-None-Match another ETag", hdrs("If-None-Match", `"0123456789abcdef0123456789abcdef"`), 200},
		{"If-Modified-Since Last-Modified", hdrs("If-Modified-Since", date(lm)), 304},
		{"If-Modified-Since later", hdrs("If-Modified-Since", after), 304},
		{"If-Modified-Since earlier", hdrs("If-Modified-Since", before), 200},
		{"If-Unmodified-Since Last-Modified", hdrs("If-Unmodified-Since", date(lm)), 200},
		{"If-Unmodified-Since later", hdrs("If-Unmodified-Since", after), 200},
		{"If-Unmodified-Since earlier", hdrs("If-Unmodified-Since", before), 412},
		{"If-Modified-Since not a date (ignored)", hdrs("If-Modified-Since", "yesterday"), 200},
		{"If-Unmodified-Since not a date (ignored)", hdrs("If-Unmodified-Since", "yesterday"), 200},
		{"If-Match true wins over If-Unmodified-Since false", hdrs("If-Match", etag, "If-Unmodified-Since", before), 200},
		{"If-None-Match false wins over If-Modified-Since true", hdrs("If-None-Match", etag, "If-Modified-Since", before), 304},
		{"If-None-Match true ignores If-Modified-Since", hdrs("If-None-Match", `"0123"`, "If-Modified-Since", after), 200},
		{"If-Match false before If-None-Match", hdrs("If-Match", `"0123"`, "If-None-Match", etag), 412},
		{"If-Match and If-None-Match both true", hdrs("If-Match", etag, "If-None-Match", `"0123"`), 200},
	}
	var cases []handlerCase
	for _, c := range conds {
		for _, method := range []string{"GET", "HEAD"} {
			hc := handlerCase{name: method + " " + c.name, req: testRequest{method: method, target: "/bkt/obj", header: c.h}, status: c.status}
			switch {
			case c.status == 200 && method == "GET":
				hc.body = []string{stubData}
			case c.status == 304:
				hc.header = hdrs("ETag", etag, "Last-Modified", stubLastModified, "Content-Length", "")
				hc.check = func(t *testing.T, _ *stubLayer, rec *httptest.ResponseRecorder) {
					if rec.Body.Len() != 0 {
						t.Errorf("304 with a body %q", rec.Body)
					}
				}
				hc.calls = []string{"OpenObject"}
			case c.status == 412 && method == "GET":
				hc.code = "PreconditionFailed"
				hc.calls = []string{"OpenObject"}
			case c.status == 412:
				hc.check = func(t *testing.T, _ *stubLayer, rec *httptest.ResponseRecorder) {
					if rec.Body.Len() != 0 {
						t.Errorf("HEAD 412 with a body %q", rec.Body)
					}
				}
			}
			cases = append(cases, hc)
		}
	}
	cases = append(cases,
		handlerCase{name: "Range with a true If-Match", req: testRequest{method: "GET", target: "/bkt/obj", header: hdrs("Range", "bytes=2-5", "If-Match", etag)},
			status: 206, body: []string{"llo,"}},
		handlerCase{name: "Range with a false If-None-Match", req: testRequest{method: "GET", target: "/bkt/obj", header: hdrs("Range", "bytes=2-5", "If-None-Match", etag)},
			status: 304, header: hdrs("Content-Range", "")},
		handlerCase{name: "partNumber with a false If-Unmodified-Since", req: testRequest{method: "GET", target: "/bkt/obj?partNumber=1", header: hdrs("If-Unmodified-Since", before)},
			status: 412, code: "PreconditionFailed"},
		handlerCase{name: "GetObjectAttributes with a false If-Match", req: testRequest{method: "GET", target: "/bkt/obj?attributes",
			header: hdrs("x-amz-object-attributes", "ETag", "If-Match", `"0123"`)}, status: 412, code: "PreconditionFailed"},
	)
	for _, h := range []map[string]string{hdrs("If-None-Match", "*"), hdrs("If-Match", "*"), hdrs("If-Modified-Since", before)} {
		cases = append(cases, handlerCase{name: "missing key with " + strings.Join(func() []string {
			var s []string
			for k := range h {
				s = append(s, k)
			}
			return s
		}(), ","), req: testRequest{method: "GET", target: "/bkt/nope", header: h}, status: 404, code: "NoSuchKey"})
	}
	runHandlerCases(t, Config{}, cases)
}

// TestDeleteObjectHandler: DELETE answers 204 whether or not the key
// existed; the layer's errors are answered.
func TestDeleteObjectHandler(t *testing.T) {
	del := func(target string) testRequest { return testRequest{method: "DELETE", target: target} }
	cases := []handlerCase{
		{name: "delete", req: del("/bkt/obj"), status: 204, calls: []string{"DeleteObject"},
			check: func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
				if c := l.call(t, "DeleteObject"); c.Bucket != "bkt" || c.Key != "obj" {
					t.Errorf("DeleteObject(%q, %q)", c.Bucket, c.Key)
				}
			}},
		{name: "missing key is no error", req: del("/bkt/nope"), status: 204},
		{name: "missing bucket", req: del("/nobkt/k"), script: func(l *stubLayer) { l.errs["DeleteObject"] = s3api.ErrNoSuchBucket }, status: 404, code: "NoSuchBucket"},
		{name: "bucket name not valid", req: del("/a_b/k"), status: 404, code: "NoSuchBucket", calls: []string{}},
		{name: "key too long", req: del("/bkt/" + strings.Repeat("k", 1025)), status: 400, code: "KeyTooLongError", calls: []string{}},
		{name: "write quorum lost", req: del("/bkt/obj"), script: func(l *stubLayer) { l.errs["DeleteObject"] = s3api.ErrInsufficientWriteQuorum },
			status: 503, code: "ServiceUnavailable"},
		{name: "unsigned", req: testRequest{method: "DELETE", target: "/bkt/obj", anonymous: true}, status: 403, code: "AccessDenied", calls: []string{}},
	}
	runHandlerCases(t, Config{}, cases)
}

// TestCopyObjectHandler: CopyObject opens the source, applies the
// x-amz-copy-source-if-* conditions and the metadata directive, and
// streams the source into PutObject.
func TestCopyObjectHandler(t *testing.T) {
	cp := func(src string, kv ...string) testRequest {
		return testRequest{method: "PUT", target: "/bkt/dst", header: hdrs(append([]string{"x-amz-copy-source", src}, kv...)...)}
	}
	sha := b64sum(sha256.New(), stubData)
	cases := []handlerCase{
		{name: "copy keeps the metadata", req: cp("/bkt/obj"), status: 200, calls: []string{"OpenObject", "Read", "PutObject"},
			body: []string{"<CopyObjectResult", xmlETag(md5hex(stubData)), "<LastModified>2026-03-04T05:06:07.000Z</LastModified>"},
			check: wantPut("bkt", "dst", stubData, func(t *testing.T, c stubCall) {
				if c.Size != 17 || c.Opts.ContentType != "text/plain" || c.Opts.UserMeta["color"] != "blue" || c.Opts.Headers["Cache-Control"] != "max-age=60" {
					t.Errorf("copy options %+v size %d", c.Opts, c.Size)
				}
				if c.Checksum[0] != "CRC64NVME" {
					t.Errorf("copy checksum %v, want a CRC64NVME", c.Checksum)
				}
			})},
		{name: "source without a leading slash, URL-encoded", req: cp("bkt/dir%2Fa%20b"), status: 200,
			script: func(l *stubLayer) { l.addObject("bkt", "dir/a b", "spaced", nil) }, check: wantPut("bkt", "dst", "spaced", nil)},
		{name: "source versionId=null", req: cp("/bkt/obj?versionId=null"), status: 200},
		{name: "source of another version", req: cp("/bkt/obj?versionId=abc"), status: 501, code: "NotImplemented", calls: []string{}},
		{name: "metadata replaced", req: cp("/bkt/obj", "x-amz-metadata-directive", "REPLACE", "Content-Type", "text/x-new", "x-amz-meta-replaced", "yes",
			"Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="), status: 200,
			check: wantPut("bkt", "dst", stubData, func(t *testing.T, c stubCall) {
				o := c.Opts
				if o.ContentType != "text/x-new" || o.UserMeta["replaced"] != "yes" || o.UserMeta["color"] != "" || o.Headers["Cache-Control"] != "" || o.ContentMD5 != nil {
					t.Errorf("REPLACE options %+v", o)
				}
			})},
		{name: "unknown directive", req: cp("/bkt/obj", "x-amz-metadata-directive", "MERGE"), status: 400, code: "InvalidArgument"},
		{name: "onto itself", req: testRequest{method: "PUT", target: "/bkt/obj", header: hdrs("x-amz-copy-source", "/bkt/obj")},
			status: 400, code: "InvalidRequest", calls: []string{"OpenObject"}},
		{name: "onto itself changing the storage class", req: testRequest{method: "PUT", target: "/bkt/obj",
			header: hdrs("x-amz-copy-source", "/bkt/obj", "x-amz-storage-class", "STANDARD_IA")}, status: 200,
			check: wantPut("bkt", "obj", stubData, func(t *testing.T, c stubCall) {
				if c.Opts.Headers[storageClassHeader] != "STANDARD_IA" || c.Opts.Headers["Cache-Control"] != "max-age=60" {
					t.Errorf("headers %v", c.Opts.Headers)
				}
			})},
		{name: "onto itself replacing metadata", req: testRequest{method: "PUT", target: "/bkt/obj",
			header: hdrs("x-amz-copy-source", "/bkt/obj", "x-amz-metadata-directive", "REPLACE")}, status: 200},
		{name: "the source's website redirect is not copied", req: cp("/bkt/obj"), status: 200,
			script: func(l *stubLayer) { l.objects["bkt/obj"].info.Headers[redirectHeader] = "/src-target" },
			check: wantPut("bkt", "dst", stubData, func(t *testing.T, c stubCall) {
				if _, ok := c.Opts.Headers[redirectHeader]; ok || c.Opts.Headers["Cache-Control"] != "max-age=60" {
					t.Errorf("headers %v", c.Opts.Headers)
				}
			})},
		{name: "website redirect of the request, with COPY", req: cp("/bkt/obj", "x-amz-website-redirect-location", "/new-target"), status: 200,
			script: func(l *stubLayer) { l.objects["bkt/obj"].info.Headers[redirectHeader] = "/src-target" },
			check: wantPut("bkt", "dst", stubData, func(t *testing.T, c stubCall) {
				if c.Opts.Headers[redirectHeader] != "/new-target" || c.Opts.Headers["Cache-Control"] != "max-age=60" {
					t.Errorf("headers %v", c.Opts.Headers)
				}
			})},
		{name: "website redirect of the request, with REPLACE", req: cp("/bkt/obj", "x-amz-metadata-directive", "REPLACE", "x-amz-website-redirect-location", "/new-target"),
			status: 200, check: wantPut("bkt", "dst", stubData, func(t *testing.T, c stubCall) {
				if c.Opts.Headers[redirectHeader] != "/new-target" {
					t.Errorf("headers %v", c.Opts.Headers)
				}
			})},
		{name: "website redirect not valid on a copy", req: cp("/bkt/obj", "x-amz-website-redirect-location", "ftp://x"), status: 400, code: "InvalidRedirectLocation"},
		{name: "onto itself changing the website redirect", req: testRequest{method: "PUT", target: "/bkt/obj",
			header: hdrs("x-amz-copy-source", "/bkt/obj", "x-amz-website-redirect-location", "/moved")}, status: 200,
			check: wantPut("bkt", "obj", stubData, func(t *testing.T, c stubCall) {
				if c.Opts.Headers[redirectHeader] != "/moved" {
					t.Errorf("headers %v", c.Opts.Headers)
				}
			})},
		{name: "missing source key", req: cp("/bkt/nope"), status: 404, code: "NoSuchKey", calls: []string{"OpenObject"}},
		{name: "missing source bucket", req: cp("/nobkt/k"), script: func(l *stubLayer) { l.errs["OpenObject"] = s3api.ErrNoSuchBucket },
			status: 404, code: "NoSuchBucket"},
		{name: "source bucket name not valid", req: cp("/No_Bucket/k"), status: 404, code: "NoSuchBucket", calls: []string{}},
		{name: "source without a key", req: cp("/bkt"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "source not URL-encoded right", req: cp("/bkt/%zz"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "copy-source-if-match false", req: cp("/bkt/obj", "x-amz-copy-source-if-match", `"0123"`), status: 412, code: "PreconditionFailed",
			calls: []string{"OpenObject"}},
		{name: "copy-source-if-match true", req: cp("/bkt/obj", "x-amz-copy-source-if-match", stubETag), status: 200},
		{name: "copy-source-if-none-match true is 412, not 304", req: cp("/bkt/obj", "x-amz-copy-source-if-none-match", stubETag),
			status: 412, code: "PreconditionFailed"},
		{name: "copy-source-if-unmodified-since false", req: cp("/bkt/obj", "x-amz-copy-source-if-unmodified-since",
			stubModTime.Add(-time.Hour).Format(http.TimeFormat)), status: 412, code: "PreconditionFailed"},
		{name: "copy-source-if-modified-since false", req: cp("/bkt/obj", "x-amz-copy-source-if-modified-since",
			stubModTime.Add(time.Hour).Format(http.TimeFormat)), status: 412, code: "PreconditionFailed"},
		// If-Match / If-None-Match are on the destination: they reach the
		// write, where the layer checks them (not the source's ETag).
		{name: "If-None-Match * reaches the write", req: cp("/bkt/obj", "If-None-Match", "*"), status: 200,
			check: wantPut("bkt", "dst", stubData, func(t *testing.T, c stubCall) {
				if c.Opts.IfNoneMatch != "*" || c.Opts.IfMatch != "" {
					t.Errorf("conditions %q %q", c.Opts.IfNoneMatch, c.Opts.IfMatch)
				}
			})},
		{name: "If-None-Match * over the destination", req: cp("/bkt/obj", "If-None-Match", "*"),
			script: func(l *stubLayer) { l.errs["PutObject"] = s3api.ErrPreconditionFailed }, status: 412, code: "PreconditionFailed"},
		{name: "If-Match reaches the write unquoted", req: cp("/bkt/obj", "If-Match", `"0123"`),
			script: func(l *stubLayer) { l.errs["PutObject"] = s3api.ErrPreconditionFailed }, status: 412, code: "PreconditionFailed",
			check: func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
				if c := l.call(t, "PutObject"); c.Opts.IfMatch != "0123" {
					t.Errorf("IfMatch %q", c.Opts.IfMatch)
				}
			}},
		{name: "If-Match with REPLACE reaches the write", req: cp("/bkt/obj", "x-amz-metadata-directive", "REPLACE", "If-Match", `"0123"`), status: 200,
			check: wantPut("bkt", "dst", stubData, func(t *testing.T, c stubCall) {
				if c.Opts.IfMatch != "0123" {
					t.Errorf("IfMatch %q", c.Opts.IfMatch)
				}
			})},
		{name: "If-None-Match an ETag", req: cp("/bkt/obj", "If-None-Match", stubETag), status: 501, code: "NotImplemented", calls: []string{"OpenObject"}},
		{name: "checksum asked for", req: cp("/bkt/obj", "x-amz-checksum-algorithm", "SHA256"), status: 200,
			body: []string{"<ChecksumSHA256>" + sha + "</ChecksumSHA256>", "<ChecksumType>FULL_OBJECT</ChecksumType>"},
			check: wantPut("bkt", "dst", stubData, func(t *testing.T, c stubCall) {
				if c.Checksum != [2]string{"SHA256", sha} {
					t.Errorf("checksum %v", c.Checksum)
				}
			})},
		{name: "source's checksum algorithm is kept", req: cp("/bkt/obj"), status: 200,
			script: func(l *stubLayer) { l.objects["bkt/obj"].info.Checksums = map[string]string{"SHA256": "x"} },
			check: wantPut("bkt", "dst", stubData, func(t *testing.T, c stubCall) {
				if c.Checksum != [2]string{"SHA256", sha} {
					t.Errorf("checksum %v", c.Checksum)
				}
			})},
		{name: "unknown checksum algorithm", req: cp("/bkt/obj", "x-amz-checksum-algorithm", "ROT13"), status: 400, code: "InvalidRequest"},
		{name: "destination write fails", req: cp("/bkt/obj"), script: func(l *stubLayer) { l.errs["PutObject"] = s3api.ErrInsufficientWriteQuorum },
			status: 503, code: "ServiceUnavailable"},
		{name: "source read fails", req: cp("/bkt/obj"), script: func(l *stubLayer) { l.objects["bkt/obj"].readErr = s3api.ErrInsufficientReadQuorum },
			status: 503, code: "ServiceUnavailable"},
		{name: "destination key too long", req: testRequest{method: "PUT", target: "/bkt/" + strings.Repeat("k", 1025),
			header: hdrs("x-amz-copy-source", "/bkt/obj")}, status: 400, code: "KeyTooLongError", calls: []string{}},
	}
	runHandlerCases(t, Config{}, cases)
}
