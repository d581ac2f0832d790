package s3compat

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/ecstore/ecstore/s3api"
)

// parseTagHeader decodes x-amz-tagging ("k1=v1&k2=v2", URL-encoded) into
// a tag set in the order given, checked against S3's object tag rules.
func parseTagHeader(v string) ([]s3api.Tag, error) {
	var tags []s3api.Tag
	for part := range strings.SplitSeq(v, "&") {
		if part == "" {
			continue
		}
		k, val, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(val)
		if err1 != nil || err2 != nil {
			return nil, s3api.ErrInvalidTag.WithMessage("The x-amz-tagging header is not a valid URL-encoded query.")
		}
		tags = append(tags, s3api.Tag{Key: key, Value: value})
	}
	if err := s3api.CheckTags(tags, s3api.MaxObjectTags); err != nil {
		return nil, err
	}
	return tags, nil
}

// getObjectTags answers GetObjectTagging (with versionId) from the layer.
func (s *Server) getObjectTags(ctx context.Context, q *request) (*response, error) {
	tl := s.layer.(s3api.TaggingLayer)
	if err := q.checkTarget(); err != nil {
		return nil, err
	}
	tags, vid, err := tl.GetObjectTags(ctx, q.bucket, q.key, q.query.Get("versionId"))
	if err != nil {
		return nil, err
	}
	out := taggingXML{Xmlns: s3NS, TagSet: make([]tagXML, len(tags))}
	for i, t := range tags {
		out.TagSet[i] = tagXML{Key: xmlText(t.Key), Value: xmlText(t.Value)}
	}
	h := http.Header{}
	addVersionHeader(h, vid)
	return &response{xml: out, header: h}, nil
}

// putObjectTags answers PutObjectTagging: at most 10 tags, S3's rules.
func (s *Server) putObjectTags(ctx context.Context, q *request) (*response, error) {
	tl := s.layer.(s3api.TaggingLayer)
	if err := q.checkTarget(); err != nil {
		return nil, err
	}
	data, err := readXMLBody(q)
	if err != nil {
		return nil, err
	}
	tags, err := parseTagging(data, s3api.MaxObjectTags)
	if err != nil {
		return nil, err
	}
	vid, err := tl.PutObjectTags(ctx, q.bucket, q.key, q.query.Get("versionId"), tags)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	addVersionHeader(h, vid)
	return &response{header: h}, nil
}

// deleteObjectTags answers DeleteObjectTagging: the version keeps no tags.
func (s *Server) deleteObjectTags(ctx context.Context, q *request) (*response, error) {
	tl := s.layer.(s3api.TaggingLayer)
	if err := q.checkTarget(); err != nil {
		return nil, err
	}
	vid, err := tl.PutObjectTags(ctx, q.bucket, q.key, q.query.Get("versionId"), nil)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	addVersionHeader(h, vid)
	return &response{status: http.StatusNoContent, header: h}, nil
}
