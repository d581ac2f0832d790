package s3compat

import (
	"context"
	"encoding/base64"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ecstore/ecstore/s3api"
)

// S3's multipart limits.
const (
	MaxPartNumber = 10000
	maxListParts  = 1000
)

func (s *Server) createMultipartUpload(ctx context.Context, q *request) (*response, error) {
	if err := q.checkTarget(); err != nil {
		return nil, err
	}
	opts, err := putOptions(q.r.Header)
	if err != nil {
		return nil, err
	}
	if err := uploadChecksum(q.r.Header, &opts); err != nil {
		return nil, err
	}
	if opts.SSE, err = writeEncryption(q.r.Header, q.secure()); err != nil {
		return nil, err
	}
	id, err := s.layer.NewMultipartUpload(ctx, q.bucket, q.key, opts)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	if opts.SSE.Method != "" {
		h.Set(sseHeader, opts.SSE.Method)
	}
	addSSEHeaders(h, s3api.ObjectEncryption{Method: ssecIf(opts.SSE.CustomerKey)}, q.r.Header, ssecPrefix)
	if a := opts.Headers[s3api.UploadChecksumAlgorithmHeader]; a != "" {
		h.Set("x-amz-checksum-algorithm", a)
		h.Set("x-amz-checksum-type", opts.Headers[s3api.UploadChecksumTypeHeader])
	}
	return &response{header: h, xml: initiateMultipartUploadResult{Xmlns: s3NS, Bucket: q.bucket, Key: xmlText(q.key), UploadID: id}}, nil
}

// checkTarget validates the bucket and key of an object request.
func (q *request) checkTarget() error {
	if err := checkBucket(q.bucket); err != nil {
		return s3api.ErrNoSuchBucket
	}
	return checkKey(q.key)
}

// partTarget reads uploadId and partNumber of a part request.
func (q *request) partTarget() (id string, num int, err error) {
	if id, err = q.uploadID(); err != nil {
		return "", 0, err
	}
	num, err = strconv.Atoi(q.query.Get("partNumber"))
	if err != nil || num < 1 || num > MaxPartNumber {
		return "", 0, s3api.ErrTooManyParts
	}
	return id, num, nil
}

func (q *request) uploadID() (string, error) {
	id := q.query.Get("uploadId")
	if id == "" {
		return "", s3api.ErrNoSuchUpload
	}
	return id, nil
}

func (s *Server) uploadPart(ctx context.Context, q *request) (*response, error) {
	if err := q.checkTarget(); err != nil {
		return nil, err
	}
	id, num, err := q.partTarget()
	if err != nil {
		return nil, s.uploadError(ctx, q, err)
	}
	var opts s3api.PutOptions
	if v := q.r.Header.Get("Content-MD5"); v != "" {
		o, err := putOptions(http.Header{"Content-Md5": {v}})
		if err != nil {
			return nil, err
		}
		opts.ContentMD5 = o.ContentMD5
	}
	if opts.SSE.CustomerKey, err = customerKey(q.r.Header, q.secure(), ssecPrefix); err != nil {
		return nil, err
	}
	body, size := q.body()
	if size > MaxPutSize {
		return nil, s3api.ErrEntityTooLarge
	}
	opts.Checksum = q.auth.Checksum
	// The part's checksum must be of the upload's algorithm (checked
	// before the body is read).
	if uc, ok := s.layer.(s3api.UploadChecksumer); ok {
		algo, typ, err := uc.UploadChecksum(ctx, q.bucket, q.key, id)
		if err != nil {
			return nil, s.uploadError(ctx, q, err)
		}
		compute, err := partChecksumRule(algo, typ, q.auth.ChecksumAlgorithm)
		if err != nil {
			return nil, err
		}
		if compute {
			h, name, _ := checksums.NewChecksum(algo)
			body = io.TeeReader(body, h)
			opts.Checksum = func() (string, string, bool) {
				return name, base64.StdEncoding.EncodeToString(h.Sum(nil)), true
			}
		}
	}
	part, err := s.layer.PutObjectPart(ctx, q.bucket, q.key, id, num, body, size, opts)
	if err != nil {
		return nil, s.uploadError(ctx, q, err)
	}
	h := http.Header{"ETag": {`"` + part.ETag + `"`}}
	addChecksumHeaders(h, part.Checksums)
	addSSEHeaders(h, s3api.ObjectEncryption{Method: ssecIf(opts.SSE.CustomerKey)}, q.r.Header, ssecPrefix)
	return &response{header: h}, nil
}

func (s *Server) completeMultipartUpload(ctx context.Context, q *request) (*response, error) {
	if err := q.checkTarget(); err != nil {
		return nil, err
	}
	id, err := q.uploadID()
	if err != nil {
		return nil, s.uploadError(ctx, q, err)
	}
	var req completeMultipartUpload
	if err := readXML(q, &req); err != nil {
		return nil, err
	}
	if len(req.Parts) == 0 {
		return nil, s3api.ErrMalformedXML.WithMessage("You must specify at least one part.")
	}
	if len(req.Parts) > MaxPartNumber {
		return nil, s3api.ErrMalformedXML.WithMessage("Too many parts.")
	}
	parts := make([]s3api.CompletePart, len(req.Parts))
	for i, p := range req.Parts {
		parts[i] = s3api.CompletePart{Number: p.PartNumber, ETag: strings.Trim(strings.TrimSpace(p.ETag), `"`), Checksums: p.get()}
		if i > 0 && p.PartNumber <= req.Parts[i-1].PartNumber {
			return nil, s3api.ErrInvalidPartOrder
		}
	}
	var opts s3api.PutOptions
	if err := writeConditions(q.r.Header, &opts); err != nil {
		return nil, err
	}
	if opts.FinalChecksum, err = finalChecksum(q.r.Header); err != nil {
		return nil, err
	}
	opts.NewHash = checksums.NewChecksum
	if opts.ObjectSize, err = mpObjectSize(q.r.Header); err != nil {
		return nil, err
	}
	info, err := s.layer.CompleteMultipartUpload(ctx, q.bucket, q.key, id, parts, opts)
	if err != nil {
		return nil, s.uploadError(ctx, q, err)
	}
	out := completeMultipartUploadResult{Xmlns: s3NS, Location: objectURL(q, s.hostBucket(q.r) != "", q.key), Bucket: q.bucket, Key: xmlText(q.key), ETag: `"` + info.ETag + `"`}
	h := http.Header{}
	addVersionHeader(h, info.VersionID)
	addSSEHeaders(h, info.Encryption, q.r.Header, ssecPrefix)
	if len(info.Checksums) > 0 {
		out.set(info.Checksums)
		out.ChecksumType = checksumType(info.Checksums)
		addChecksumHeaders(h, info.Checksums)
	}
	return &response{header: h, xml: out}, nil
}

// mpObjectSize reads x-amz-mp-object-size, the size a Complete states
// for the object (nil when absent); the layer checks it against the parts.
func mpObjectSize(h http.Header) (*int64, error) {
	v := h.Get("x-amz-mp-object-size")
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return nil, s3api.ErrInvalidArgument.WithMessage("x-amz-mp-object-size must be a non-negative integer.")
	}
	return &n, nil
}

func (s *Server) abortMultipartUpload(ctx context.Context, q *request) (*response, error) {
	if err := checkBucket(q.bucket); err != nil {
		return nil, s3api.ErrNoSuchBucket
	}
	id, err := q.uploadID()
	if err != nil {
		return nil, s.uploadError(ctx, q, err)
	}
	if err := s.layer.AbortMultipartUpload(ctx, q.bucket, q.key, id); err != nil {
		return nil, s.uploadError(ctx, q, err)
	}
	return &response{status: http.StatusNoContent}, nil
}

func (s *Server) listParts(ctx context.Context, q *request) (*response, error) {
	if err := checkBucket(q.bucket); err != nil {
		return nil, s3api.ErrNoSuchBucket
	}
	id, err := q.uploadID()
	if err != nil {
		return nil, s.uploadError(ctx, q, err)
	}
	marker, maxParts := 0, maxListParts
	if v := q.query.Get("part-number-marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
			return nil, s3api.ErrInvalidArgument.WithMessage("part-number-marker must be a non-negative integer.")
		}
	}
	if v := q.query.Get("max-parts"); v != "" {
		if maxParts, err = strconv.Atoi(v); err != nil || maxParts < 0 {
			return nil, s3api.ErrInvalidArgument.WithMessage("max-parts must be a non-negative integer.")
		}
		maxParts = min(maxParts, maxListParts)
	}
	res, err := s.layer.ListParts(ctx, q.bucket, q.key, id, marker, maxParts)
	if err != nil {
		return nil, s.uploadError(ctx, q, err)
	}
	out := listPartsResult{
		Xmlns: s3NS, Bucket: q.bucket, Key: xmlText(q.key), UploadID: id, Initiator: rootOwner, Owner: rootOwner,
		StorageClass: "STANDARD", PartNumberMarker: marker, NextPartNumberMarker: res.NextPartNumberMarker,
		MaxParts: maxParts, IsTruncated: res.IsTruncated,
	}
	for _, p := range res.Parts {
		px := partXML{PartNumber: p.Number, LastModified: timeISO(p.ModTime), ETag: `"` + p.ETag + `"`, Size: p.Size}
		px.set(p.Checksums)
		out.Parts = append(out.Parts, px)
	}
	return &response{xml: out}, nil
}

// parseCopyRange parses x-amz-copy-source-range ("bytes=first-last", both
// required) against a source of size bytes.
func parseCopyRange(v string, size int64) (off, n int64, err error) {
	if v == "" {
		return 0, size, nil
	}
	bad := s3api.ErrInvalidArgument.WithMessage("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return 0, 0, bad
	}
	a, b, ok := strings.Cut(spec, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, bad
	}
	if last >= size {
		return 0, 0, s3api.ErrInvalidRange.WithMessage("Range specified is not valid for source object of size: %d", size)
	}
	return first, last - first + 1, nil
}

// uploadPartCopy stores a byte range of an existing object as a part,
// streaming it from the source: nothing is buffered.
func (s *Server) uploadPartCopy(ctx context.Context, q *request) (*response, error) {
	if err := q.checkTarget(); err != nil {
		return nil, err
	}
	id, num, err := q.partTarget()
	if err != nil {
		return nil, s.uploadError(ctx, q, err)
	}
	src, _, _, err := s.openCopySource(ctx, q)
	if err != nil {
		return nil, err
	}
	info := src.Info()
	off, n, err := parseCopyRange(q.r.Header.Get("x-amz-copy-source-range"), info.Size)
	if err != nil {
		return nil, err
	}
	if n > MaxPutSize {
		return nil, s3api.ErrInvalidRequest.WithMessage("The specified copy range is larger than the maximum part size: %d", int64(MaxPutSize))
	}
	// The part gets a checksum when asked for one (x-amz-checksum-algorithm)
	// or when the upload was created with one, so Complete can combine them.
	var opts s3api.PutOptions
	var h hash.Hash
	algo := q.r.Header.Get("x-amz-checksum-algorithm")
	if upAlgo := s.uploadChecksumAlgorithm(ctx, q.bucket, q.key, id); algo == "" {
		algo = upAlgo
	} else if _, name, ok := checksums.NewChecksum(algo); ok && upAlgo != "" && name != upAlgo {
		return nil, s3api.ChecksumTypeMismatch(upAlgo, name)
	}
	if algo != "" {
		var ok bool
		if h, algo, ok = checksums.NewChecksum(algo); !ok {
			return nil, s3api.ErrInvalidRequest.WithMessage("Checksum algorithm %q is not supported.", q.r.Header.Get("x-amz-checksum-algorithm"))
		}
		opts.Checksum = func() (string, string, bool) {
			return algo, base64.StdEncoding.EncodeToString(h.Sum(nil)), true
		}
	}
	if opts.SSE.CustomerKey, err = customerKey(q.r.Header, q.secure(), ssecPrefix); err != nil {
		return nil, err
	}
	var part s3api.PartInfo
	err = streamRange(ctx, src, off, n, h, func(r io.Reader) (err error) {
		part, err = s.layer.PutObjectPart(ctx, q.bucket, q.key, id, num, r, n, opts)
		return err
	})
	if err != nil {
		return nil, s.uploadError(ctx, q, err)
	}
	out := copyPartResult{Xmlns: s3NS, LastModified: timeISO(part.ModTime), ETag: `"` + part.ETag + `"`}
	out.set(part.Checksums)
	return &response{xml: out}, nil
}

// uploadError answers NoSuchBucket for a NoSuchUpload in a bucket that does
// not exist, as S3 does: an s3api.ObjectLayer need not look at the bucket for an
// upload id it cannot have issued. Only the error path pays the look-up.
func (s *Server) uploadError(ctx context.Context, q *request, err error) error {
	if errors.Is(err, s3api.ErrNoSuchUpload) {
		if _, berr := s.bucketExists(ctx, q.bucket); errors.Is(berr, s3api.ErrNoSuchBucket) {
			return berr
		}
	}
	return err
}

// uploadChecksumAlgorithm returns the checksum algorithm an upload was
// created with, if the s3api.ObjectLayer can tell (s3api.UploadChecksumer).
func (s *Server) uploadChecksumAlgorithm(ctx context.Context, bucket, key, uploadID string) string {
	if uc, ok := s.layer.(s3api.UploadChecksumer); ok {
		algo, _, err := uc.UploadChecksum(ctx, bucket, key, uploadID)
		if err == nil {
			return algo
		}
	}
	return ""
}
