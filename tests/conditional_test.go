package tests

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestConditionalRequests sends raw signed requests with conditional
// headers and checks the answers against S3's: GET and HEAD with If-Match,
// If-None-Match, If-Modified-Since, If-Unmodified-Since (200/304/412, with
// the RFC 7232 precedence S3 documents), conditional
// CompleteMultipartUpload, and the object-tagging answers.
func TestConditionalRequests(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 2*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6))
	const bucket = "cond"
	if r := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, ""), "", nil, nil); r.Status != http.StatusOK {
		t.Fatalf("CreateBucket: HTTP %d\n%s", r.Status, r.Body)
	}
	data := []byte("conditional content")
	if r := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "obj"), "", data, nil); r.Status != http.StatusOK {
		t.Fatalf("PUT: HTTP %d\n%s", r.Status, r.Body)
	}
	head := signedDo(ctx, t, s, http.MethodHead, objectPath(bucket, "obj"), "", nil, nil)
	etag := head.Header.Get("ETag")
	lm, err := http.ParseTime(head.Header.Get("Last-Modified"))
	if err != nil || etag != `"`+md5Hex(data)+`"` {
		t.Fatalf("HEAD: ETag %s, Last-Modified %q (%v)", etag, head.Header.Get("Last-Modified"), err)
	}
	date := func(t time.Time) string { return t.UTC().Format(http.TimeFormat) }
	before, after := date(lm.Add(-time.Hour)), date(lm.Add(time.Hour))

	type hdr = map[string]string
	cases := []struct {
		name   string
		h      hdr
		status int // for GET and HEAD alike
	}{
		{"If-Match the ETag", hdr{"If-Match": etag}, 200},
		{"If-Match the ETag unquoted", hdr{"If-Match": md5Hex(data)}, 200},
		{"If-Match *", hdr{"If-Match": "*"}, 200},
		{"If-Match in a list", hdr{"If-Match": `"0123", ` + etag}, 200},
		{"If-Match another ETag", hdr{"If-Match": `"0123456789abcdef0123456789abcdef"`}, 412},
		{"If-None-Match the ETag", hdr{"If-None-Match": etag}, 304},
		{"If-None-Match *", hdr{"If-None-Match": "*"}, 304},
		{"If-None-Match another ETag", hdr{"If-None-Match": `"0123456789abcdef0123456789abcdef"`}, 200},
		{"If-Modified-Since Last-Modified", hdr{"If-Modified-Since": date(lm)}, 304},
		{"If-Modified-Since later", hdr{"If-Modified-Since": after}, 304},
		{"If-Modified-Since earlier", hdr{"If-Modified-Since": before}, 200},
		{"If-Unmodified-Since Last-Modified", hdr{"If-Unmodified-Since": date(lm)}, 200},
		{"If-Unmodified-Since later", hdr{"If-Unmodified-Since": after}, 200},
		{"If-Unmodified-Since earlier", hdr{"If-Unmodified-Since": before}, 412},
		{"If-Modified-Since not a date (ignored)", hdr{"If-Modified-Since": "yesterday"}, 200},
		{"If-Unmodified-Since not a date (ignored)", hdr{"If-Unmodified-Since": "yesterday"}, 200},
		// S3: If-Match true and If-Unmodified-Since false -> 200.
		{"If-Match true wins over If-Unmodified-Since false", hdr{"If-Match": etag, "If-Unmodified-Since": before}, 200},
		// S3: If-None-Match false and If-Modified-Since true -> 304.
		{"If-None-Match false wins over If-Modified-Since true", hdr{"If-None-Match": etag, "If-Modified-Since": before}, 304},
		{"If-None-Match true ignores If-Modified-Since", hdr{"If-None-Match": `"0123"`, "If-Modified-Since": after}, 200},
		{"If-Match false before If-None-Match", hdr{"If-Match": `"0123"`, "If-None-Match": etag}, 412},
		{"If-Match and If-None-Match both true", hdr{"If-Match": etag, "If-None-Match": `"0123"`}, 200},
	}
	for _, c := range cases {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			h := http.Header{}
			for k, v := range c.h {
				h.Set(k, v)
			}
			r := signedDo(ctx, t, s, method, objectPath(bucket, "obj"), "", nil, h)
			what := fmt.Sprintf("%s %s", method, c.name)
			if r.Status != c.status {
				t.Errorf("%s: HTTP %d, want %d\n%s", what, r.Status, c.status, r.Body)
				continue
			}
			switch {
			case c.status == 200 && method == http.MethodGet && string(r.Body) != string(data):
				t.Errorf("%s: body %q, want the object", what, r.Body)
			case c.status == 304 && len(r.Body) != 0:
				t.Errorf("%s: 304 with a body: %q", what, r.Body)
			case c.status == 304 && (r.Header.Get("ETag") != etag || r.Header.Get("Last-Modified") == ""):
				t.Errorf("%s: 304 without the object's ETag and Last-Modified: %v", what, r.Header)
			case c.status == 412 && method == http.MethodGet && r.Err().Code != "PreconditionFailed":
				t.Errorf("%s: 412 body is not PreconditionFailed:\n%s", what, r.Body)
			case c.status == 412 && method == http.MethodHead && len(r.Body) != 0:
				t.Errorf("%s: HEAD 412 with a body", what)
			}
		}
	}

	t.Run("ranged and partNumber GET", func(t *testing.T) {
		h := http.Header{"Range": {"bytes=2-5"}, "If-Match": {etag}}
		r := signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "obj"), "", nil, h)
		if r.Status != http.StatusPartialContent || string(r.Body) != string(data[2:6]) {
			t.Errorf("Range with a true If-Match: HTTP %d %q", r.Status, r.Body)
		}
		h = http.Header{"Range": {"bytes=2-5"}, "If-None-Match": {etag}}
		if r := signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "obj"), "", nil, h); r.Status != http.StatusNotModified {
			t.Errorf("Range with a false If-None-Match: HTTP %d, want 304", r.Status)
		}
		h = http.Header{"If-Unmodified-Since": {before}}
		signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "obj"), "partNumber=1", nil, h).
			wantErr(t, "partNumber with a false If-Unmodified-Since", http.StatusPreconditionFailed, "PreconditionFailed")
	})

	t.Run("missing key", func(t *testing.T) {
		for _, h := range []http.Header{{"If-None-Match": {"*"}}, {"If-Match": {"*"}}, {"If-Modified-Since": {before}}} {
			signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "nope"), "", nil, h).
				wantErr(t, fmt.Sprintf("GET a missing key with %v", h), http.StatusNotFound, "NoSuchKey")
		}
	})

	t.Run("conditional PUT", func(t *testing.T) {
		create := http.Header{"If-None-Match": {"*"}}
		signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "obj"), "", []byte("x"), create).
			wantErr(t, "PUT If-None-Match * over an object", http.StatusPreconditionFailed, "PreconditionFailed")
		signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "obj"), "", []byte("x"), http.Header{"If-None-Match": {etag}}).
			wantErr(t, "PUT If-None-Match <etag>", http.StatusNotImplemented, "NotImplemented")
		signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "obj"), "", []byte("x"), http.Header{"If-Match": {`"0123"`}}).
			wantErr(t, "PUT If-Match another ETag", http.StatusPreconditionFailed, "PreconditionFailed")
		if r := signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "obj"), "", nil, nil); string(r.Body) != string(data) {
			t.Errorf("failed conditional PUTs changed the object: %q", r.Body)
		}
	})

	t.Run("conditional CompleteMultipartUpload", func(t *testing.T) {
		part := randData(70, 1000)
		upload := func(key string) (string, []byte) {
			r := signedDo(ctx, t, s, http.MethodPost, objectPath(bucket, key), "uploads=", nil, nil)
			var init struct{ UploadId string }
			if err := xml.Unmarshal(r.Body, &init); err != nil || init.UploadId == "" {
				t.Fatalf("CreateMultipartUpload: HTTP %d %v\n%s", r.Status, err, r.Body)
			}
			r = signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, key), "partNumber=1&uploadId="+init.UploadId, part, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("UploadPart: HTTP %d\n%s", r.Status, r.Body)
			}
			body := fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>`, r.Header.Get("ETag"))
			return init.UploadId, []byte(body)
		}
		complete := func(key, id string, body []byte, h http.Header) *rawResp {
			return signedDo(ctx, t, s, http.MethodPost, objectPath(bucket, key), "uploadId="+id, body, h)
		}
		id, body := upload("obj")
		complete("obj", id, body, http.Header{"If-None-Match": {"*"}}).
			wantErr(t, "Complete If-None-Match * over an object", http.StatusPreconditionFailed, "PreconditionFailed")
		complete("obj", id, body, http.Header{"If-Match": {`"0123"`}}).
			wantErr(t, "Complete If-Match another ETag", http.StatusPreconditionFailed, "PreconditionFailed")
		complete("obj", id, body, http.Header{"If-None-Match": {etag}}).
			wantErr(t, "Complete If-None-Match <etag>", http.StatusNotImplemented, "NotImplemented")
		// The upload survives failed preconditions.
		if r := signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "obj"), "uploadId="+id, nil, nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "<PartNumber>1</PartNumber>") {
			t.Errorf("ListParts after failed conditional completes: HTTP %d\n%s", r.Status, r.Body)
		}
		if r := complete("obj", id, body, http.Header{"If-Match": {etag}}); r.Status != http.StatusOK {
			t.Errorf("Complete If-Match the current ETag: HTTP %d\n%s", r.Status, r.Body)
		}
		if r := signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "obj"), "", nil, nil); string(r.Body) != string(part) {
			t.Errorf("after Complete If-Match the object is not the upload's part")
		}
		id, body = upload("fresh")
		if r := complete("fresh", id, body, http.Header{"If-None-Match": {"*"}}); r.Status != http.StatusOK {
			t.Errorf("Complete If-None-Match * of a new key: HTTP %d\n%s", r.Status, r.Body)
		}
		id, body = upload("never")
		complete("never", id, body, http.Header{"If-Match": {etag}}).
			wantErr(t, "Complete If-Match of a missing key", http.StatusNotFound, "NoSuchKey")
		signedDo(ctx, t, s, http.MethodDelete, objectPath(bucket, "never"), "uploadId="+id, nil, nil)
	})

	t.Run("object tagging", func(t *testing.T) {
		r := signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "fresh"), "tagging=", nil, nil)
		var tg struct {
			XMLName xml.Name `xml:"Tagging"`
			TagSet  struct {
				Tags []struct{ Key, Value string } `xml:"Tag"`
			}
		}
		if err := xml.Unmarshal(r.Body, &tg); r.Status != http.StatusOK || err != nil || len(tg.TagSet.Tags) != 0 {
			t.Errorf("GetObjectTagging: HTTP %d %v\n%s", r.Status, err, r.Body)
		}
		signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "nope"), "tagging=", nil, nil).
			wantErr(t, "GetObjectTagging of a missing key", http.StatusNotFound, "NoSuchKey")
		signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "tagged"), "", []byte("x"), http.Header{"X-Amz-Tagging": {"a=b"}}).
			wantErr(t, "PUT with x-amz-tagging", http.StatusNotImplemented, "NotImplemented")
		signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "fresh"), "tagging=", []byte(`<Tagging><TagSet/></Tagging>`), nil).
			wantErr(t, "PutObjectTagging", http.StatusNotImplemented, "NotImplemented")
		signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, ""), "tagging=", nil, nil).
			wantErr(t, "GetBucketTagging", http.StatusNotImplemented, "NotImplemented")
	})
}
