package s3compat

import (
	"context"
	"net/http"
	"strconv"
	"strings"
)

// S3's multipart limits.
const (
	MaxPartNumber = 10000
	maxListParts  = 1000
)

func (s *Server) createMultipartUpload(ctx context.Context, q *request) (*response, error) {
	if err := checkBucket(q.bucket); err != nil {
		return nil, ErrNoSuchBucket
	}
	if err := checkKey(q.key); err != nil {
		return nil, err
	}
	opts, err := putOptions(q.r.Header)
	if err != nil {
		return nil, err
	}
	id, err := s.layer.NewMultipartUpload(ctx, q.bucket, q.key, opts)
	if err != nil {
		return nil, err
	}
	return &response{xml: initiateMultipartUploadResult{Xmlns: s3NS, Bucket: q.bucket, Key: q.key, UploadID: id}}, nil
}

func (q *request) uploadID() (string, error) {
	id := q.query.Get("uploadId")
	if id == "" {
		return "", ErrNoSuchUpload
	}
	return id, nil
}

func (s *Server) uploadPart(ctx context.Context, q *request) (*response, error) {
	if err := checkBucket(q.bucket); err != nil {
		return nil, ErrNoSuchBucket
	}
	if err := checkKey(q.key); err != nil {
		return nil, err
	}
	id, err := q.uploadID()
	if err != nil {
		return nil, err
	}
	num, err := strconv.Atoi(q.query.Get("partNumber"))
	if err != nil || num < 1 || num > MaxPartNumber {
		return nil, ErrTooManyParts
	}
	var opts PutOptions
	if v := q.r.Header.Get("Content-MD5"); v != "" {
		o, err := putOptions(http.Header{"Content-Md5": {v}})
		if err != nil {
			return nil, err
		}
		opts.ContentMD5 = o.ContentMD5
	}
	body, size := q.body()
	if size > MaxPutSize {
		return nil, ErrEntityTooLarge
	}
	opts.Checksum = q.auth.Checksum
	part, err := s.layer.PutObjectPart(ctx, q.bucket, q.key, id, num, body, size, opts)
	if err != nil {
		return nil, err
	}
	h := http.Header{"ETag": {`"` + part.ETag + `"`}}
	addChecksumHeaders(h, part.Checksums)
	return &response{header: h}, nil
}

func (s *Server) completeMultipartUpload(ctx context.Context, q *request) (*response, error) {
	if err := checkBucket(q.bucket); err != nil {
		return nil, ErrNoSuchBucket
	}
	if err := checkKey(q.key); err != nil {
		return nil, err
	}
	id, err := q.uploadID()
	if err != nil {
		return nil, err
	}
	var req completeMultipartUpload
	if err := readXML(q, &req); err != nil {
		return nil, err
	}
	if len(req.Parts) == 0 {
		return nil, ErrMalformedXML.WithMessage("You must specify at least one part.")
	}
	if len(req.Parts) > MaxPartNumber {
		return nil, ErrMalformedXML.WithMessage("Too many parts.")
	}
	parts := make([]CompletePart, len(req.Parts))
	for i, p := range req.Parts {
		parts[i] = CompletePart{Number: p.PartNumber, ETag: strings.Trim(strings.TrimSpace(p.ETag), `"`)}
		if i > 0 && p.PartNumber <= req.Parts[i-1].PartNumber {
			return nil, ErrInvalidPartOrder
		}
	}
	info, err := s.layer.CompleteMultipartUpload(ctx, q.bucket, q.key, id, parts)
	if err != nil {
		return nil, err
	}
	loc := "/" + q.bucket + "/" + q.key
	return &response{xml: completeMultipartUploadResult{Xmlns: s3NS, Location: loc, Bucket: q.bucket, Key: q.key, ETag: `"` + info.ETag + `"`}}, nil
}

func (s *Server) abortMultipartUpload(ctx context.Context, q *request) (*response, error) {
	if err := checkBucket(q.bucket); err != nil {
		return nil, ErrNoSuchBucket
	}
	id, err := q.uploadID()
	if err != nil {
		return nil, err
	}
	if err := s.layer.AbortMultipartUpload(ctx, q.bucket, q.key, id); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

func (s *Server) listParts(ctx context.Context, q *request) (*response, error) {
	if err := checkBucket(q.bucket); err != nil {
		return nil, ErrNoSuchBucket
	}
	id, err := q.uploadID()
	if err != nil {
		return nil, err
	}
	marker, maxParts := 0, maxListParts
	if v := q.query.Get("part-number-marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
			return nil, ErrInvalidArgument.WithMessage("part-number-marker must be a non-negative integer.")
		}
	}
	if v := q.query.Get("max-parts"); v != "" {
		if maxParts, err = strconv.Atoi(v); err != nil || maxParts < 0 {
			return nil, ErrInvalidArgument.WithMessage("max-parts must be a non-negative integer.")
		}
		maxParts = min(maxParts, maxListParts)
	}
	res, err := s.layer.ListParts(ctx, q.bucket, q.key, id, marker, maxParts)
	if err != nil {
		return nil, err
	}
	out := listPartsResult{
		Xmlns: s3NS, Bucket: q.bucket, Key: q.key, UploadID: id, Initiator: rootOwner, Owner: rootOwner,
		StorageClass: "STANDARD", PartNumberMarker: marker, NextPartNumberMarker: res.NextPartNumberMarker,
		MaxParts: maxParts, IsTruncated: res.IsTruncated,
	}
	for _, p := range res.Parts {
		out.Parts = append(out.Parts, partXML{PartNumber: p.Number, LastModified: timeISO(p.ModTime), ETag: `"` + p.ETag + `"`, Size: p.Size})
	}
	return &response{xml: out}, nil
}
