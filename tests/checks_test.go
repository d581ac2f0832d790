package tests

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"hash"
	"hash/crc32"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// A Signature Version 2 presigned URL valid for longer than
// --presign-v2-max-age (7 days by default, SigV4's limit) is refused with
// 403 AccessDenied; a shorter one works.
func TestPresignV2MaxAgeE2E(t *testing.T) {
	parallelLight(t)
	s := StartServer(t, NewDriveDirs(t, 6))
	ctx := testCtx(t, time.Minute)
	c := s.Minio(t)
	if err := c.MakeBucket(ctx, "presign", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := []byte("signed for a while")
	if _, err := c.PutObject(ctx, "presign", "k", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	get := func(s *Server, expires time.Duration) *rawResp {
		req := newRawRequest(ctx, t, s, http.MethodGet, "/presign/k", "", nil)
		return doRaw(t, signer.PreSignV2(*req, testAccessKey, testSecretKey, int64(expires/time.Second), false))
	}
	if r := get(s, time.Hour); r.Status != http.StatusOK || !bytes.Equal(r.Body, data) {
		t.Fatalf("V2 URL valid for 1h: HTTP %d %s", r.Status, r.Body)
	}
	get(s, 8*24*time.Hour).wantErr(t, "V2 URL valid for 8 days", http.StatusForbidden, "AccessDenied")
	get(s, 10*365*24*time.Hour).wantErr(t, "V2 URL valid for 10 years", http.StatusForbidden, "AccessDenied")

	// The flag sets the limit.
	s.Args = append(s.Args, "--presign-v2-max-age", "30m")
	s.Restart()
	if r := get(s, 20*time.Minute); r.Status != http.StatusOK {
		t.Fatalf("V2 URL valid for 20m under a 30m limit: HTTP %d %s", r.Status, r.Body)
	}
	get(s, time.Hour).wantErr(t, "V2 URL valid for 1h under a 30m limit", http.StatusForbidden, "AccessDenied")
}

// checksumUpload drives one multipart upload over raw signed requests.
type checksumUpload struct {
	t      *testing.T
	s      *Server
	ctx    context.Context
	bucket string
	key    string
	id     string
}

func newChecksumUpload(ctx context.Context, t *testing.T, s *Server, bucket, key string, hdr http.Header) *checksumUpload {
	t.Helper()
	r := signedDo(ctx, t, s, http.MethodPost, objectPath(bucket, key), "uploads=", nil, hdr)
	var res struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.Unmarshal(r.Body, &res); r.Status != http.StatusOK || err != nil || res.UploadID == "" {
		t.Fatalf("CreateMultipartUpload %v: HTTP %d %s", hdr, r.Status, r.Body)
	}
	return &checksumUpload{t: t, s: s, ctx: ctx, bucket: bucket, key: key, id: res.UploadID}
}

func (u *checksumUpload) part(num int, data []byte, hdr http.Header) *rawResp {
	u.t.Helper()
	q := fmt.Sprintf("partNumber=%d&uploadId=%s", num, url.QueryEscape(u.id))
	return signedDo(u.ctx, u.t, u.s, http.MethodPut, objectPath(u.bucket, u.key), q, data, hdr)
}

// completePart is one <Part> of a Complete body; Checksum is the element
// name (ChecksumCRC32, ...) and its value, or empty.
type completePart struct {
	Num                 int
	ETag                string
	Checksum, ChecksumV string
}

func (u *checksumUpload) complete(parts []completePart, hdr http.Header) *rawResp {
	u.t.Helper()
	var b strings.Builder
	b.WriteString("<CompleteMultipartUpload>")
	for _, p := range parts {
		fmt.Fprintf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag>", p.Num, p.ETag)
		if p.Checksum != "" {
			fmt.Fprintf(&b, "<%s>%s</%s>", p.Checksum, p.ChecksumV, p.Checksum)
		}
		b.WriteString("</Part>")
	}
	b.WriteString("</CompleteMultipartUpload>")
	return signedDo(u.ctx, u.t, u.s, http.MethodPost, objectPath(u.bucket, u.key), "uploadId="+url.QueryEscape(u.id), []byte(b.String()), hdr)
}

func b64sum(h hash.Hash, data ...[]byte) string {
	for _, d := range data {
		h.Write(d)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func crc32cOf(data ...[]byte) string {
	return b64sum(crc32.New(crc32.MakeTable(crc32.Castagnoli)), data...)
}
func crc32Of(data ...[]byte) string { return b64sum(crc32.NewIEEE(), data...) }

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// CompleteMultipartUpload verifies the checksum the client states for the
// whole object (COMPOSITE "-N" and FULL_OBJECT) before it commits, and
// the checksum type; UploadPart refuses a part of another algorithm than
// the upload's, or (COMPOSITE) without one; Complete's part list must name
// each part's checksum for a COMPOSITE upload.
func TestMultipartChecksumsChecked(t *testing.T) {
	parallelLight(t)
	s := StartServer(t, NewDriveDirs(t, 6))
	ctx := testCtx(t, 2*time.Minute)
	c := s.Minio(t)
	const bucket = "sums"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	p1, p2 := randData(1, 5<<20), randData(2, 1000)
	if _, err := c.PutObject(ctx, bucket, "src", bytes.NewReader(p2), int64(len(p2)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	etag := func(t *testing.T, r *rawResp) string {
		t.Helper()
		if r.Status != http.StatusOK {
			t.Fatalf("UploadPart: HTTP %d %s", r.Status, r.Body)
		}
		return r.Header.Get("ETag")
	}
	absent := func(t *testing.T, key string) {
		t.Helper()
		if r := signedDo(ctx, t, s, http.MethodHead, objectPath(bucket, key), "", nil, nil); r.Status != http.StatusNotFound {
			t.Fatalf("%s after a refused Complete: HEAD %d, want 404", key, r.Status)
		}
	}

	t.Run("composite", func(t *testing.T) {
		u := newChecksumUpload(ctx, t, s, bucket, "composite", hdr("x-amz-checksum-algorithm", "CRC32"))
		// Parts of another algorithm, or without one, are refused.
		u.part(1, p1, hdr("x-amz-checksum-sha1", b64sum(sha1.New(), p1))).wantErr(t, "SHA1 part of a CRC32 upload", 400, "InvalidRequest")
		u.part(1, p1, nil).wantErr(t, "part without checksum of a COMPOSITE upload", 400, "InvalidRequest")
		copyHdr := hdr("x-amz-copy-source", "/"+bucket+"/src", "x-amz-checksum-algorithm", "SHA1")
		u.part(3, nil, copyHdr).wantErr(t, "UploadPartCopy asking SHA1 for a CRC32 upload", 400, "InvalidRequest")
		c1, c2 := crc32Of(p1), crc32Of(p2)
		e1 := etag(t, u.part(1, p1, hdr("x-amz-checksum-crc32", c1)))
		e2 := etag(t, u.part(2, p2, hdr("x-amz-checksum-crc32", c2)))
		raw1, _ := base64.StdEncoding.DecodeString(c1)
		raw2, _ := base64.StdEncoding.DecodeString(c2)
		want := crc32Of(raw1, raw2) + "-2"
		parts := []completePart{{1, e1, "ChecksumCRC32", c1}, {2, e2, "ChecksumCRC32", c2}}

		u.complete(parts, hdr("x-amz-checksum-crc32", crc32Of([]byte("not it"))+"-2")).wantErr(t, "wrong COMPOSITE checksum", 400, "BadDigest")
		u.complete(parts, hdr("x-amz-checksum-sha256", b64sum(sha256.New(), p1)+"-2")).wantErr(t, "SHA256 checksum for a CRC32 upload", 400, "InvalidRequest")
		u.complete(parts, hdr("x-amz-checksum-type", "FULL_OBJECT")).wantErr(t, "FULL_OBJECT for a COMPOSITE upload", 400, "InvalidRequest")
		u.complete([]completePart{{1, e1, "ChecksumCRC32", c1}, {2, e2, "", ""}}, nil).wantErr(t, "part checksum left out", 400, "InvalidRequest")
		u.complete([]completePart{{1, e1, "ChecksumCRC32", c2}, {2, e2, "ChecksumCRC32", c2}}, nil).wantErr(t, "wrong part checksum", 400, "InvalidPart")
		u.complete([]completePart{{1, e1, "ChecksumSHA256", b64sum(sha256.New(), p2)}, {2, e2, "ChecksumCRC32", c2}}, nil).wantErr(t, "part checksum of another algorithm", 400, "BadDigest")
		absent(t, "composite")

		r := u.complete(parts, hdr("x-amz-checksum-crc32", want, "x-amz-checksum-type", "COMPOSITE"))
		if r.Status != http.StatusOK || r.Header.Get("x-amz-checksum-crc32") != want {
			t.Fatalf("right COMPOSITE checksum %s: HTTP %d %v %s", want, r.Status, r.Header, r.Body)
		}
	})

	t.Run("full object", func(t *testing.T) {
		u := newChecksumUpload(ctx, t, s, bucket, "full", hdr("x-amz-checksum-algorithm", "CRC32C", "x-amz-checksum-type", "FULL_OBJECT"))
		u.part(1, p1, hdr("x-amz-checksum-crc32", crc32Of(p1))).wantErr(t, "CRC32 part of a CRC32C upload", 400, "InvalidRequest")
		e1 := etag(t, u.part(1, p1, hdr("x-amz-checksum-crc32c", crc32cOf(p1))))
		// A FULL_OBJECT part sent without a checksum gets one computed.
		r := u.part(2, p2, nil)
		e2 := etag(t, r)
		if got := r.Header.Get("x-amz-checksum-crc32c"); got != crc32cOf(p2) {
			t.Fatalf("part without checksum of a FULL_OBJECT upload: x-amz-checksum-crc32c %q, want %q", got, crc32cOf(p2))
		}
		parts := []completePart{{1, e1, "", ""}, {2, e2, "", ""}}
		u.complete(parts, hdr("x-amz-checksum-crc32c", crc32cOf(p2, p1))).wantErr(t, "wrong FULL_OBJECT checksum", 400, "BadDigest")
		u.complete(parts, hdr("x-amz-checksum-type", "COMPOSITE")).wantErr(t, "COMPOSITE for a FULL_OBJECT upload", 400, "InvalidRequest")
		u.complete(parts, hdr("x-amz-checksum-crc32c", "not base64")).wantErr(t, "malformed checksum", 400, "InvalidRequest")
		absent(t, "full")
		want := crc32cOf(p1, p2)
		if r := u.complete(parts, hdr("x-amz-checksum-crc32c", want)); r.Status != http.StatusOK || r.Header.Get("x-amz-checksum-crc32c") != want {
			t.Fatalf("right FULL_OBJECT checksum %s: HTTP %d %v %s", want, r.Status, r.Header, r.Body)
		}
	})

	t.Run("no algorithm", func(t *testing.T) {
		u := newChecksumUpload(ctx, t, s, bucket, "plain", nil)
		e1 := etag(t, u.part(1, p2, nil))
		parts := []completePart{{1, e1, "", ""}}
		u.complete(parts, hdr("x-amz-checksum-crc32", crc32Of(p2))).wantErr(t, "checksum for an upload without algorithm", 400, "InvalidRequest")
		u.complete(parts, hdr("x-amz-checksum-type", "FULL_OBJECT")).wantErr(t, "checksum type for an upload without algorithm", 400, "InvalidRequest")
		absent(t, "plain")
		if r := u.complete(parts, nil); r.Status != http.StatusOK {
			t.Fatalf("Complete: HTTP %d %s", r.Status, r.Body)
		}
	})
}
