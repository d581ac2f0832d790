package s3compat

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"hash"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ecstore/ecstore/s3api"
)

const (
	// MaxPutSize is S3's limit for a single PUT (and for each part).
	MaxPutSize = 5 << 30
	// maxUserMetaSize is S3's limit on user metadata (names plus values).
	maxUserMetaSize = 2 << 10
)

// storedHeaders are the request headers kept with an object and returned on
// GET/HEAD.
var storedHeaders = []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires", redirectHeader}

// redirectHeader is where a website endpoint would redirect requests for
// the object. ecstore serves no website endpoint; like S3 for a bucket
// without a website configuration, it keeps and returns the value.
const redirectHeader = "X-Amz-Website-Redirect-Location"

// maxRedirectLength is S3's limit on redirectHeader's value.
const maxRedirectLength = 2048

// checkRedirect validates a redirectHeader value as S3 does.
func checkRedirect(v string) error {
	if !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		return s3api.ErrInvalidRedirectLocation
	}
	if len(v) > maxRedirectLength {
		return s3api.ErrInvalidRedirectLocation.WithMessage("The length of the website redirect location cannot exceed %d characters.", maxRedirectLength)
	}
	return nil
}

// putOptions reads the metadata headers of a PUT, CreateMultipartUpload or
// CopyObject (REPLACE).
func putOptions(h http.Header) (s3api.PutOptions, error) {
	opts := s3api.PutOptions{ContentType: h.Get("Content-Type"), UserMeta: map[string]string{}, Headers: map[string]string{}}
	metaSize := 0
	for name, vals := range h {
		lower := strings.ToLower(name)
		if m, ok := strings.CutPrefix(lower, "x-amz-meta-"); ok {
			v := strings.Join(vals, ",")
			opts.UserMeta[m] = v
			metaSize += len(m) + len(v)
		}
	}
	if metaSize > maxUserMetaSize {
		return opts, s3api.ErrMetadataTooLarge
	}
	for _, name := range storedHeaders {
		v := h.Get(name)
		if name == "Content-Encoding" {
			v = stripAWSChunked(v)
		}
		if v != "" {
			opts.Headers[name] = v
		}
	}
	if v, ok := opts.Headers[redirectHeader]; ok {
		if err := checkRedirect(v); err != nil {
			return opts, err
		}
	}
	if v := h.Get("Content-MD5"); v != "" {
		sum, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(sum) != md5.Size {
			return opts, s3api.ErrInvalidDigest
		}
		opts.ContentMD5 = sum
	}
	if sc := h.Get("x-amz-storage-class"); sc != "" && sc != "STANDARD" {
		if !storageClasses[sc] {
			return opts, s3api.ErrInvalidStorageClass
		}
		// Recorded and returned as S3 does for a non-STANDARD class; every
		// class is stored the same way (erasure-coded, readable at once).
		opts.Headers[storageClassHeader] = sc
	}
	if v := h.Get("x-amz-tagging"); v != "" {
		tags, err := parseTagHeader(v)
		if err != nil {
			return opts, err
		}
		opts.Tags = tags
	}
	lock, err := parseLockHeaders(h)
	if err != nil {
		return opts, err
	}
	opts.Lock = lock
	return opts, nil
}

const storageClassHeader = s3api.StorageClassHeader

// storageClasses are the S3 storage classes a PUT may name: those whose
// objects stay readable at once. Archive classes (GLACIER, DEEP_ARCHIVE)
// would need RestoreObject and are refused with InvalidStorageClass.
var storageClasses = map[string]bool{
	"STANDARD": true, "REDUCED_REDUNDANCY": true, "STANDARD_IA": true,
	"ONEZONE_IA": true, "INTELLIGENT_TIERING": true, "GLACIER_IR": true,
}

// writeConditions reads the conditional-write headers of a PutObject,
// CopyObject (on the destination) or CompleteMultipartUpload: If-None-Match
// "*" (create only) and If-Match <etag>.
func writeConditions(h http.Header, opts *s3api.PutOptions) error {
	opts.IfNoneMatch = strings.TrimSpace(h.Get("If-None-Match"))
	opts.IfMatch = strings.Trim(strings.TrimSpace(h.Get("If-Match")), `"`)
	if opts.IfNoneMatch != "" && opts.IfNoneMatch != "*" {
		return s3api.ErrNotImplemented.WithMessage("If-None-Match on a write only supports \"*\".")
	}
	return nil
}

// stripAWSChunked removes the aws-chunked transfer coding from a
// Content-Encoding value; what remains is the object's own encoding.
func stripAWSChunked(v string) string {
	var keep []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p != "" && !strings.EqualFold(p, "aws-chunked") {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ",")
}

// sizedReader fails with IncompleteBody when the body ends before size
// bytes, so a truncated upload can never be stored as a short object.
type sizedReader struct {
	r    io.Reader
	left int64
}

func (s *sizedReader) Read(p []byte) (int, error) {
	if s.left <= 0 {
		// Read on to EOF so verifiers behind r (signatures, checksums) see
		// the end of the body; a longer body than declared is refused.
		var one [1]byte
		for range 100 {
			n, err := s.r.Read(one[:])
			switch {
			case n > 0:
				return 0, s3api.ErrInvalidRequest.WithMessage("The request body is longer than its declared length.")
			case err == io.EOF:
				return 0, io.EOF
			case err != nil:
				return 0, bodyError(err)
			}
		}
		return 0, io.ErrNoProgress
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.r.Read(p)
	s.left -= int64(n)
	if err == io.EOF {
		if s.left > 0 {
			return n, s3api.ErrIncompleteBody
		}
		return n, io.EOF
	}
	return n, bodyError(err)
}

// body returns the request payload reader sized to its declared length.
func (q *request) body() (io.Reader, int64) {
	size := q.auth.ContentLength
	if size < 0 {
		return &errMapReader{q.auth.Body}, -1
	}
	return &sizedReader{r: q.auth.Body, left: size}, size
}

type errMapReader struct{ r io.Reader }

func (e *errMapReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		err = bodyError(err)
	}
	return n, err
}

func (s *Server) putObject(ctx context.Context, q *request) (*response, error) {
	if err := q.checkTarget(); err != nil {
		return nil, err
	}
	opts, err := putOptions(q.r.Header)
	if err != nil {
		return nil, err
	}
	if err := writeConditions(q.r.Header, &opts); err != nil {
		return nil, err
	}
	if opts.SSE, err = writeEncryption(q.r.Header, q.secure()); err != nil {
		return nil, err
	}
	body, size := q.body()
	if size > MaxPutSize {
		return nil, s3api.ErrEntityTooLarge
	}
	body, opts.Checksum = withDefaultChecksum(body, q.auth.Checksum)
	info, err := s.layer.PutObject(ctx, q.bucket, q.key, body, size, opts)
	if err != nil {
		return nil, err
	}
	h := http.Header{"ETag": {`"` + info.ETag + `"`}}
	addChecksumHeaders(h, info.Checksums)
	addVersionHeader(h, info.VersionID)
	addSSEHeaders(h, info.Encryption, q.r.Header, ssecPrefix)
	return &response{header: h}, nil
}

// secure reports whether the request came over TLS.
func (q *request) secure() bool { return q.r.TLS != nil }

// objectHeaders are the headers describing an object on GET and HEAD.
func objectHeaders(info s3api.ObjectInfo, withChecksums bool) http.Header {
	h := http.Header{}
	addVersionHeader(h, info.VersionID)
	if len(info.Tags) > 0 {
		h.Set("x-amz-tagging-count", strconv.Itoa(len(info.Tags)))
	}
	h.Set("ETag", `"`+info.ETag+`"`)
	h.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	ct := info.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	h.Set("Content-Type", ct)
	for k, v := range info.Headers {
		h.Set(k, v)
	}
	for k, v := range info.UserMeta {
		h["X-Amz-Meta-"+k] = []string{v}
	}
	if info.PartsCount > 0 {
		h.Set("x-amz-mp-parts-count", strconv.Itoa(info.PartsCount))
	}
	if withChecksums {
		addChecksumHeaders(h, info.Checksums)
	}
	return h
}

// responseOverrides are the GET query parameters that replace a header.
var responseOverrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-language":    "Content-Language",
	"response-expires":             "Expires",
	"response-cache-control":       "Cache-Control",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
}

// checkPreconditions applies If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since as S3 does (RFC 7232 precedence). prefix is "" for
// GET/HEAD and "x-amz-copy-source-" for copies.
func checkPreconditions(h http.Header, prefix string, info s3api.ObjectInfo) error {
	etagMatches := func(list string) bool {
		for _, t := range strings.Split(list, ",") {
			t = strings.Trim(strings.TrimSpace(t), `"`)
			if t == "*" || t == info.ETag {
				return true
			}
		}
		return false
	}
	parseTime := func(v string) (time.Time, bool) {
		t, err := http.ParseTime(v)
		return t, err == nil
	}
	mod := info.ModTime.Truncate(time.Second)
	im, inm := h.Get(prefix+"If-Match"), h.Get(prefix+"If-None-Match")
	if im != "" {
		if !etagMatches(im) {
			return s3api.ErrPreconditionFailed
		}
	} else if v := h.Get(prefix + "If-Unmodified-Since"); v != "" {
		if t, ok := parseTime(v); ok && mod.After(t) {
			return s3api.ErrPreconditionFailed
		}
	}
	notModified := s3api.ErrNotModified
	if prefix != "" {
		notModified = s3api.ErrPreconditionFailed
	}
	if inm != "" {
		if etagMatches(inm) {
			return notModified
		}
	} else if v := h.Get(prefix + "If-Modified-Since"); v != "" {
		if t, ok := parseTime(v); ok && !mod.After(t) {
			return notModified
		}
	}
	return nil
}

// openObject opens the request's object and applies the GET/HEAD
// preconditions. On s3api.ErrNotModified it returns the object too, for the 304's
// headers.
func (s *Server) openObject(ctx context.Context, q *request) (s3api.Object, error) {
	if err := checkBucket(q.bucket); err != nil {
		return nil, s3api.ErrNoSuchBucket
	}
	if err := checkKey(q.key); err != nil {
		return nil, s3api.ErrNoSuchKey
	}
	obj, err := s.openVersion(ctx, q.bucket, q.key, q.query.Get("versionId"))
	if err != nil {
		return nil, err
	}
	if err := checkPreconditions(q.r.Header, "", obj.Info()); err != nil {
		if errors.Is(err, s3api.ErrNotModified) {
			return obj, err
		}
		return nil, err
	}
	return obj, nil
}

func (s *Server) getObject(ctx context.Context, q *request) (*response, error) {
	return s.serveObject(ctx, q, true)
}

func (s *Server) headObject(ctx context.Context, q *request) (*response, error) {
	return s.serveObject(ctx, q, false)
}

func (s *Server) serveObject(ctx context.Context, q *request, withBody bool) (*response, error) {
	obj, err := s.openObject(ctx, q)
	if errors.Is(err, s3api.ErrNotModified) {
		// A 304 carries the validators, as S3 (and RFC 7232) sends them.
		info := obj.Info()
		h := http.Header{}
		h.Set("ETag", `"`+info.ETag+`"`)
		h.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
		return &response{status: http.StatusNotModified, header: h}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := useReadKey(q.r.Header, q.secure(), obj, ssecPrefix); err != nil {
		return nil, err
	}
	info := obj.Info()
	var rng *byteRange
	var part s3api.PartInfo
	partsCount := 0
	if v := q.query.Get("partNumber"); v != "" {
		if q.r.Header.Get("Range") != "" {
			return nil, s3api.ErrInvalidRequest.WithMessage("Cannot specify both Range header and partNumber query parameter.")
		}
		if rng, part, partsCount, err = partRange(obj, v); err != nil {
			return nil, err
		}
		if rng.Length == 0 {
			// An empty part (that of an empty object) has no byte range
			// to name: "bytes 0--1/0" is not one. It is answered as the
			// whole object is, 200 without Content-Range.
			rng = nil
		}
	} else if rng, err = parseRange(q.r.Header.Get("Range"), info.Size); err != nil {
		return nil, err
	}
	// The object's checksums describe the whole object: sent for a full
	// read (or part 1 of a single-part object), never for a range. One part
	// of a multipart object is answered with that part's own checksums,
	// when they were recorded.
	checksumMode := strings.EqualFold(q.r.Header.Get("x-amz-checksum-mode"), "ENABLED")
	whole := rng == nil || (partsCount == 1 && info.PartsCount == 0)
	h := objectHeaders(info, checksumMode && whole)
	addSSEHeaders(h, info.Encryption, q.r.Header, ssecPrefix)
	if partsCount > 0 && info.PartsCount > 0 {
		h.Set("x-amz-mp-parts-count", strconv.Itoa(partsCount))
		if checksumMode {
			// A part's checksums have no type key: FULL_OBJECT, of its bytes.
			addChecksumHeaders(h, part.Checksums)
		}
	}
	for param, header := range responseOverrides {
		if v := q.query.Get(param); v != "" {
			h.Set(header, v)
		}
	}
	start, length, status := int64(0), info.Size, http.StatusOK
	if rng != nil {
		start, length, status = rng.Start, rng.Length, http.StatusPartialContent
		h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+length-1, 10)+"/"+strconv.FormatInt(info.Size, 10))
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	resp := &response{status: status, header: h}
	if withBody && length > 0 {
		resp.stream = func(w io.Writer) error { return obj.Read(ctx, w, start, length) }
	}
	return resp, nil
}

func (s *Server) deleteObject(ctx context.Context, q *request) (*response, error) {
	if err := q.checkTarget(); err != nil {
		return nil, err
	}
	// If-Match is S3's conditional delete (S3 Express's other conditions
	// are refused: refusedHeaders).
	res, err := s.deleteVersion(ctx, q, q.bucket, q.key, q.query.Get("versionId"), strings.TrimSpace(q.r.Header.Get("If-Match")))
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	addVersionHeader(h, res.VersionID)
	if res.DeleteMarker {
		h.Set("x-amz-delete-marker", "true")
	}
	return &response{status: http.StatusNoContent, header: h}, nil
}

// parseCopySource splits x-amz-copy-source ("/bucket/key" or "bucket/key",
// URL-encoded, optionally with ?versionId=).
func parseCopySource(v string) (bucket, key, versionID string, err error) {
	src, query, _ := strings.Cut(v, "?")
	if query != "" {
		vals, _ := url.ParseQuery(query)
		versionID = vals.Get("versionId")
	}
	src, err = url.PathUnescape(src)
	if err != nil {
		return "", "", "", s3api.ErrInvalidCopySource
	}
	bucket, key = splitPath("/" + strings.TrimPrefix(src, "/"))
	if bucket == "" || key == "" {
		return "", "", "", s3api.ErrInvalidCopySource
	}
	return bucket, key, versionID, nil
}

func (s *Server) copyObject(ctx context.Context, q *request) (*response, error) {
	if err := q.checkTarget(); err != nil {
		return nil, err
	}
	src, srcBucket, srcKey, err := s.openCopySource(ctx, q)
	if err != nil {
		return nil, err
	}
	info := src.Info()
	if info.Size > MaxPutSize {
		return nil, s3api.ErrInvalidRequest.WithMessage("The specified copy source is larger than the maximum allowable size for a copy source: %d", int64(MaxPutSize))
	}
	var opts s3api.PutOptions
	switch d := q.r.Header.Get("x-amz-metadata-directive"); d {
	case "", "COPY":
		sc := q.r.Header.Get("x-amz-storage-class")
		// (Copying an older version onto its key restores it: allowed.)
		redirect := q.r.Header.Get(redirectHeader)
		if srcBucket == q.bucket && srcKey == q.key && sc == "" && redirect == "" && !asksEncryption(q.r.Header) && (info.VersionID == "" || info.VersionID == currentVersion(ctx, s, q)) {
			return nil, s3api.ErrInvalidCopyDest
		}
		opts = s3api.PutOptions{ContentType: info.ContentType, UserMeta: info.UserMeta, Headers: maps.Clone(info.Headers)}
		// The redirect is the request's, never the source's, whatever the
		// directive (as in S3).
		if opts.Headers == nil {
			opts.Headers = map[string]string{}
		}
		delete(opts.Headers, redirectHeader)
		if redirect != "" {
			if err := checkRedirect(redirect); err != nil {
				return nil, err
			}
			opts.Headers[redirectHeader] = redirect
		}
		if sc != "" {
			// A copy may change the storage class alone.
			o, err := putOptions(http.Header{"X-Amz-Storage-Class": {sc}})
			if err != nil {
				return nil, err
			}
			delete(opts.Headers, storageClassHeader)
			maps.Copy(opts.Headers, o.Headers)
		}
	case "REPLACE":
		if opts, err = putOptions(q.r.Header); err != nil {
			return nil, err
		}
		opts.ContentMD5 = nil
	default:
		return nil, s3api.ErrInvalidArgument.WithMessage("Unknown metadata directive %q.", d)
	}
	// If-Match / If-None-Match are conditions on the destination key, as
	// on PutObject: the layer checks them where the copy commits.
	if err := writeConditions(q.r.Header, &opts); err != nil {
		return nil, err
	}
	// The encryption is the request's (or the bucket's default), never the
	// source's, as in S3.
	if opts.SSE, err = writeEncryption(q.r.Header, q.secure()); err != nil {
		return nil, err
	}
	// The lock headers are the copy's, whatever the metadata directive
	// (the source's lock is not copied, as in S3).
	if opts.Lock, err = parseLockHeaders(q.r.Header); err != nil {
		return nil, err
	}
	// The tags: the source's (COPY, the default) or the request's.
	switch d := q.r.Header.Get("x-amz-tagging-directive"); d {
	case "", "COPY":
		opts.Tags = info.Tags
	case "REPLACE":
		opts.Tags = nil
		if v := q.r.Header.Get("x-amz-tagging"); v != "" {
			if opts.Tags, err = parseTagHeader(v); err != nil {
				return nil, err
			}
		}
	default:
		return nil, s3api.ErrInvalidArgument.WithMessage("Unknown tagging directive %q.", d)
	}
	// The copy gets a full-object checksum of the algorithm asked for, else
	// of the source's algorithm (a composite source checksum cannot be
	// carried over: the copy is one part).
	algo := q.r.Header.Get("x-amz-checksum-algorithm")
	if algo == "" {
		algo = defaultChecksum
		for a := range info.Checksums {
			if a != s3api.ChecksumTypeKey {
				algo = a
			}
		}
	}
	var h hash.Hash
	if algo != "" {
		var ok bool
		if h, algo, ok = checksums.NewChecksum(algo); !ok {
			return nil, s3api.ErrInvalidRequest.WithMessage("Checksum algorithm %q is not supported.", q.r.Header.Get("x-amz-checksum-algorithm"))
		}
		opts.Checksum = func() (string, string, bool) {
			return algo, base64.StdEncoding.EncodeToString(h.Sum(nil)), true
		}
	}
	var out s3api.ObjectInfo
	err = streamRange(ctx, src, 0, info.Size, h, func(r io.Reader) (err error) {
		out, err = s.layer.PutObject(ctx, q.bucket, q.key, r, info.Size, opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	res := copyObjectResult{Xmlns: s3NS, LastModified: timeISO(out.ModTime), ETag: `"` + out.ETag + `"`}
	if len(out.Checksums) > 0 {
		res.set(out.Checksums)
		res.ChecksumType = checksumType(out.Checksums)
	}
	hdr := http.Header{}
	addVersionHeader(hdr, out.VersionID)
	addSSEHeaders(hdr, out.Encryption, q.r.Header, ssecPrefix)
	if info.VersionID != "" {
		hdr.Set("x-amz-copy-source-version-id", info.VersionID)
	}
	return &response{xml: res, header: hdr}, nil
}

// defaultChecksum is the algorithm of the checksum S3 computes for an
// object uploaded without one.
const defaultChecksum = "CRC64NVME"

// withDefaultChecksum returns body and the checksum to store for it: the
// one the request carried (verified by sigv4), else a CRC64NVME computed
// as body is read, as S3 does.
func withDefaultChecksum(body io.Reader, sent func() (string, string, bool)) (io.Reader, func() (string, string, bool)) {
	h, algo, _ := checksums.NewChecksum(defaultChecksum)
	return io.TeeReader(body, h), func() (string, string, bool) {
		if a, v, ok := sent(); ok {
			return a, v, true
		}
		return algo, base64.StdEncoding.EncodeToString(h.Sum(nil)), true
	}
}

// streamRange pipes bytes [off, off+n) of src into put, through h when h
// is not nil: a copy never buffers the object, whatever its size. It
// returns once put has returned and the reading goroutine has ended.
func streamRange(ctx context.Context, src s3api.Object, off, n int64, h hash.Hash, put func(r io.Reader) error) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := src.Read(ctx, pw, off, n)
		pw.CloseWithError(err)
		done <- err
	}()
	var r io.Reader = pr
	if h != nil {
		r = io.TeeReader(pr, h)
	}
	err := put(r)
	pr.CloseWithError(io.ErrClosedPipe) // unblock the reader if put stopped early
	if rerr := <-done; err == nil && rerr != nil && rerr != io.ErrClosedPipe {
		err = rerr
	}
	return err
}

// openCopySource opens the object named by x-amz-copy-source and applies the
// x-amz-copy-source-if-* conditions (CopyObject, UploadPartCopy).
func (s *Server) openCopySource(ctx context.Context, q *request) (src s3api.Object, bucket, key string, err error) {
	bucket, key, vid, err := parseCopySource(q.r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return nil, "", "", err
	}
	if !s3api.ValidBucketName(bucket) {
		return nil, "", "", s3api.ErrNoSuchBucket
	}
	if checkKey(key) != nil {
		return nil, "", "", s3api.ErrNoSuchKey
	}
	if src, err = s.openVersion(ctx, bucket, key, vid); err != nil {
		return nil, "", "", err
	}
	if err := useReadKey(q.r.Header, q.secure(), src, copySSECPrefix); err != nil {
		return nil, "", "", err
	}
	if err := checkPreconditions(q.r.Header, "x-amz-copy-source-", src.Info()); err != nil {
		return nil, "", "", err
	}
	return src, bucket, key, nil
}
