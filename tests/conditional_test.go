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
// CompleteMultipartUpload and CopyObject, and the object-tagging answers.
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
	before := date(lm.Add(-time.Hour))

	// The conditions themselves, every combination on GET and HEAD, are
	// the front end's: s3compat's TestConditionalHandler checks them at the
	// handler. Here, one of each answer through the real stack.
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		r := signedDo(ctx, t, s, method, objectPath(bucket, "obj"), "", nil, http.Header{"If-None-Match": {etag}})
		if r.Status != http.StatusNotModified || len(r.Body) != 0 || r.Header.Get("ETag") != etag || r.Header.Get("Last-Modified") == "" {
			t.Errorf("%s If-None-Match the ETag: HTTP %d %q %v, want 304 with ETag and Last-Modified", method, r.Status, r.Body, r.Header)
		}
		r = signedDo(ctx, t, s, method, objectPath(bucket, "obj"), "", nil, http.Header{"If-Unmodified-Since": {before}})
		if r.Status != http.StatusPreconditionFailed || (method == http.MethodGet && r.Err().Code != "PreconditionFailed") {
			t.Errorf("%s If-Unmodified-Since earlier: HTTP %d\n%s, want 412 PreconditionFailed", method, r.Status, r.Body)
		}
		r = signedDo(ctx, t, s, method, objectPath(bucket, "obj"), "", nil, http.Header{"If-Match": {etag}})
		if r.Status != http.StatusOK || (method == http.MethodGet && string(r.Body) != string(data)) {
			t.Errorf("%s If-Match the ETag: HTTP %d %q, want 200 and the object", method, r.Status, r.Body)
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

	t.Run("conditional PUT over a delete marker", func(t *testing.T) {
		// A versioned key whose current version is a delete marker holds
		// no object: If-Match finds none, If-None-Match: * creates it.
		const vb = "condv"
		if r := signedDo(ctx, t, s, http.MethodPut, objectPath(vb, ""), "", nil, nil); r.Status != http.StatusOK {
			t.Fatalf("CreateBucket: HTTP %d\n%s", r.Status, r.Body)
		}
		on := []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`)
		if r := signedDo(ctx, t, s, http.MethodPut, objectPath(vb, ""), "versioning=", on, nil); r.Status != http.StatusOK {
			t.Fatalf("PutBucketVersioning: HTTP %d\n%s", r.Status, r.Body)
		}
		signedDo(ctx, t, s, http.MethodPut, objectPath(vb, "k"), "", []byte("one"), nil)
		if r := signedDo(ctx, t, s, http.MethodDelete, objectPath(vb, "k"), "", nil, nil); r.Header.Get("x-amz-delete-marker") != "true" {
			t.Fatalf("DELETE: HTTP %d, no delete marker", r.Status)
		}
		signedDo(ctx, t, s, http.MethodPut, objectPath(vb, "k"), "", []byte("x"), http.Header{"If-Match": {"*"}}).
			wantErr(t, "PUT If-Match * over a delete marker", http.StatusNotFound, "NoSuchKey")
		if r := signedDo(ctx, t, s, http.MethodPut, objectPath(vb, "k"), "", []byte("two"), http.Header{"If-None-Match": {"*"}}); r.Status != http.StatusOK {
			t.Fatalf("PUT If-None-Match * over a delete marker: HTTP %d\n%s", r.Status, r.Body)
		}
		if r := signedDo(ctx, t, s, http.MethodGet, objectPath(vb, "k"), "", nil, nil); string(r.Body) != "two" {
			t.Errorf("GET after If-None-Match * over a delete marker: HTTP %d %q", r.Status, r.Body)
		}
	})

	t.Run("conditional CopyObject", func(t *testing.T) {
		// If-Match / If-None-Match on a copy are conditions on the
		// destination key, as on PutObject (they were ignored).
		src, old := []byte("copy source"), []byte("copy destination")
		signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "cpsrc"), "", src, nil)
		dstETag := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "cpdst"), "", old, nil).Header.Get("ETag")
		cp := func(key string, cond ...string) *rawResp {
			h := http.Header{"X-Amz-Copy-Source": {"/" + bucket + "/cpsrc"}}
			for i := 0; i+1 < len(cond); i += 2 {
				h.Set(cond[i], cond[i+1])
			}
			return signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, key), "", nil, h)
		}
		cp("cpdst", "If-None-Match", "*").wantErr(t, "copy If-None-Match * over an object", http.StatusPreconditionFailed, "PreconditionFailed")
		cp("cpdst", "If-Match", `"0123"`).wantErr(t, "copy If-Match another ETag", http.StatusPreconditionFailed, "PreconditionFailed")
		cp("cpdst", "If-None-Match", dstETag).wantErr(t, "copy If-None-Match <etag>", http.StatusNotImplemented, "NotImplemented")
		cp("cpnone", "If-Match", "*").wantErr(t, "copy If-Match * onto a missing key", http.StatusNotFound, "NoSuchKey")
		if r := signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "cpdst"), "", nil, nil); string(r.Body) != string(old) {
			t.Errorf("failed conditional copies changed the destination: %q", r.Body)
		}
		if r := cp("cpdst", "If-Match", dstETag); r.Status != http.StatusOK {
			t.Errorf("copy If-Match the destination's ETag: HTTP %d\n%s", r.Status, r.Body)
		}
		if r := signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "cpdst"), "", nil, nil); string(r.Body) != string(src) {
			t.Errorf("after copy If-Match the destination is %q, want the source's %q", r.Body, src)
		}
		if r := cp("cpnew", "If-None-Match", "*"); r.Status != http.StatusOK {
			t.Errorf("copy If-None-Match * to a new key: HTTP %d\n%s", r.Status, r.Body)
		}
		if r := signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "cpnew"), "", nil, nil); string(r.Body) != string(src) {
			t.Errorf("copy If-None-Match * to a new key: GET %q", r.Body)
		}
	})

	t.Run("conditional DELETE", func(t *testing.T) {
		body := []byte("delete me if unchanged")
		r := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "del"), "", body, nil)
		detag := r.Header.Get("ETag")
		signedDo(ctx, t, s, http.MethodDelete, objectPath(bucket, "del"), "", nil, http.Header{"If-Match": {`"0123"`}}).
			wantErr(t, "DELETE If-Match another ETag", http.StatusPreconditionFailed, "PreconditionFailed")
		signedDo(ctx, t, s, http.MethodDelete, objectPath(bucket, "del"), "", nil, http.Header{"x-amz-if-match-size": {"22"}}).
			wantErr(t, "DELETE x-amz-if-match-size", http.StatusNotImplemented, "NotImplemented")
		signedDo(ctx, t, s, http.MethodDelete, objectPath(bucket, "del"), "versionId=null", nil, http.Header{"If-Match": {detag}}).
			wantErr(t, "DELETE ?versionId If-Match", http.StatusNotImplemented, "NotImplemented")
		signedDo(ctx, t, s, http.MethodDelete, objectPath(bucket, "nope"), "", nil, http.Header{"If-Match": {"*"}}).
			wantErr(t, "DELETE If-Match * of a missing key", http.StatusNotFound, "NoSuchKey")
		multi := `<Delete><Object><Key>del</Key><ETag>"0123"</ETag></Object></Delete>`
		if r := signedDo(ctx, t, s, http.MethodPost, objectPath(bucket, ""), "delete=", []byte(multi), nil); !strings.Contains(string(r.Body), "<Code>PreconditionFailed</Code>") {
			t.Errorf("DeleteObjects with another ETag: HTTP %d\n%s", r.Status, r.Body)
		}
		if r := signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "del"), "", nil, nil); string(r.Body) != string(body) {
			t.Fatalf("failed conditional deletes changed the object: HTTP %d %q", r.Status, r.Body)
		}
		if r := signedDo(ctx, t, s, http.MethodDelete, objectPath(bucket, "del"), "", nil, http.Header{"If-Match": {detag}}); r.Status != http.StatusNoContent {
			t.Fatalf("DELETE If-Match the ETag: HTTP %d\n%s", r.Status, r.Body)
		}
		signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "del"), "", nil, nil).
			wantErr(t, "GET after the conditional DELETE", http.StatusNotFound, "NoSuchKey")
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
		// x-amz-mp-object-size: checked against the parts before commit.
		id, body = upload("sized")
		complete("sized", id, body, http.Header{"X-Amz-Mp-Object-Size": {fmt.Sprint(len(part) + 1)}}).
			wantErr(t, "Complete with a wrong x-amz-mp-object-size", http.StatusBadRequest, "InvalidRequest")
		if r := complete("sized", id, body, http.Header{"X-Amz-Mp-Object-Size": {fmt.Sprint(len(part))}}); r.Status != http.StatusOK {
			t.Errorf("Complete with the right x-amz-mp-object-size: HTTP %d\n%s", r.Status, r.Body)
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
		// Tags are kept (issue 17): a PUT's, then PutObjectTagging's.
		if r := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "tagged"), "", []byte("x"), http.Header{"X-Amz-Tagging": {"a=b"}}); r.Status != http.StatusOK {
			t.Errorf("PUT with x-amz-tagging: HTTP %d\n%s", r.Status, r.Body)
		}
		r = signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, "tagged"), "tagging=", nil, nil)
		tg.TagSet.Tags = nil
		if err := xml.Unmarshal(r.Body, &tg); err != nil || len(tg.TagSet.Tags) != 1 || tg.TagSet.Tags[0].Key != "a" || tg.TagSet.Tags[0].Value != "b" {
			t.Errorf("GetObjectTagging after a PUT with x-amz-tagging: HTTP %d %v\n%s", r.Status, err, r.Body)
		}
		if r := signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "fresh"), "tagging=", []byte(`<Tagging><TagSet/></Tagging>`), nil); r.Status != http.StatusOK {
			t.Errorf("PutObjectTagging of an empty set: HTTP %d\n%s", r.Status, r.Body)
		}
		signedDo(ctx, t, s, http.MethodPut, objectPath(bucket, "fresh"), "tagging=",
			[]byte(`<Tagging><TagSet><Tag><Key>aws:no</Key><Value>x</Value></Tag></TagSet></Tagging>`), nil).
			wantErr(t, "PutObjectTagging with an aws: key", http.StatusBadRequest, "InvalidTag")
		signedDo(ctx, t, s, http.MethodGet, objectPath(bucket, ""), "tagging=", nil, nil).
			wantErr(t, "GetBucketTagging of a bucket without tags", http.StatusNotFound, "NoSuchTagSet")
	})
}
