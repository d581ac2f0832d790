package s3compat

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/ecstore/ecstore/s3api"
)

// listVersionsResult is ListObjectVersions' answer. Versions and delete
// markers appear in listing order, each under its own element name.
type listVersionsResult struct {
	XMLName             xml.Name       `xml:"ListVersionsResult"`
	Xmlns               string         `xml:"xmlns,attr"`
	Name                string         `xml:"Name"`
	Prefix              xmlText        `xml:"Prefix"`
	KeyMarker           xmlText        `xml:"KeyMarker"`
	VersionIDMarker     string         `xml:"VersionIdMarker"`
	NextKeyMarker       xmlText        `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string         `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int            `xml:"MaxKeys"`
	Delimiter           xmlText        `xml:"Delimiter,omitempty"`
	IsTruncated         bool           `xml:"IsTruncated"`
	EncodingType        string         `xml:"EncodingType,omitempty"`
	Entries             []versionXML   // <Version> or <DeleteMarker>
	CommonPrefixes      []commonPrefix `xml:"CommonPrefixes"`
}

// versionXML is a <Version> (ETag, Size and StorageClass set) or a
// <DeleteMarker> (XMLName says which).
type versionXML struct {
	XMLName      xml.Name
	Key          xmlText `xml:"Key"`
	VersionID    string  `xml:"VersionId"`
	IsLatest     bool    `xml:"IsLatest"`
	LastModified string  `xml:"LastModified"`
	ETag         string  `xml:"ETag,omitempty"`
	Size         *int64  `xml:"Size,omitempty"`
	StorageClass string  `xml:"StorageClass,omitempty"`
	Owner        owner   `xml:"Owner"`
}

// listObjectVersions answers GET /bucket?versions: every version and
// delete marker, in key order and newest first within a key. A bucket
// that never had versioning lists each object once, as its null version.
func (s *Server) listObjectVersions(ctx context.Context, q *request) (*response, error) {
	vl, ok := s.layer.(s3api.VersionLister)
	if !ok {
		return nil, s3api.ErrNotImplemented.WithMessage("ListObjectVersions is not implemented by this layer.")
	}
	lq, err := parseListQuery(q)
	if err != nil {
		return nil, err
	}
	keyMarker, vidMarker := q.query.Get("key-marker"), q.query.Get("version-id-marker")
	if vidMarker != "" && keyMarker == "" {
		return nil, s3api.ErrInvalidArgument.WithMessage("A version-id marker cannot be specified without a key marker.")
	}
	if _, err := s.bucketExists(ctx, q.bucket); err != nil {
		return nil, err
	}
	out := listVersionsResult{
		Xmlns: s3NS, Name: q.bucket, Prefix: lq.enc(lq.prefix), KeyMarker: lq.enc(keyMarker), VersionIDMarker: vidMarker,
		MaxKeys: lq.maxKeys, Delimiter: lq.enc(lq.delimiter), EncodingType: lq.encoding,
	}
	if lq.maxKeys == 0 {
		return &response{xml: out}, nil
	}
	res, err := vl.ListObjectVersions(ctx, q.bucket, s3api.ListVersionsParams{
		Prefix: lq.prefix, Delimiter: lq.delimiter, KeyMarker: keyMarker, VersionIDMarker: vidMarker, MaxKeys: lq.maxKeys,
	})
	if err != nil {
		return nil, err
	}
	out.IsTruncated = res.IsTruncated
	if res.IsTruncated {
		out.NextKeyMarker, out.NextVersionIDMarker = lq.enc(res.NextKeyMarker), res.NextVersionIDMarker
	}
	for _, v := range res.Versions {
		x := versionXML{Key: lq.enc(v.Key), VersionID: v.VersionID, IsLatest: v.IsLatest, LastModified: timeISO(v.ModTime), Owner: rootOwner}
		if v.DeleteMarker {
			x.XMLName.Local = "DeleteMarker"
		} else {
			size := v.Size
			x.XMLName.Local, x.ETag, x.Size, x.StorageClass = "Version", `"`+v.ETag+`"`, &size, storageClassOr(v.StorageClass)
		}
		out.Entries = append(out.Entries, x)
	}
	out.CommonPrefixes = lq.prefixes(res.Prefixes)
	return &response{xml: out}, nil
}

// addVersionHeader sets x-amz-version-id when the answer has one.
func addVersionHeader(h http.Header, versionID string) {
	if versionID != "" {
		h.Set("x-amz-version-id", versionID)
	}
}

// openVersion opens a version of bucket/key by its S3 id ("": the
// current one) through a layer that keeps versions; other layers have
// only the current version, whose id may be given as "null".
func (s *Server) openVersion(ctx context.Context, bucket, key, versionID string) (s3api.Object, error) {
	if vl, ok := s.layer.(s3api.VersionedLayer); ok {
		return vl.OpenObjectVersion(ctx, bucket, key, versionID)
	}
	if versionID != "" && versionID != "null" {
		return nil, s3api.ErrNotImplemented.WithMessage("Object versions are not supported.")
	}
	return s.layer.OpenObject(ctx, bucket, key)
}

// deleteVersion deletes as DELETE Object does, with or without a version
// id, conditional on ifMatch when it is set; see openVersion for layers
// without versions.
func (s *Server) deleteVersion(ctx context.Context, q *request, bucket, key, versionID, ifMatch string) (s3api.DeleteResult, error) {
	if vl, ok := s.layer.(s3api.VersionedLayer); ok {
		bypass := strings.EqualFold(q.r.Header.Get("x-amz-bypass-governance-retention"), "true")
		return vl.DeleteObjectVersion(ctx, bucket, key, versionID, s3api.DeleteOptions{BypassGovernance: bypass, IfMatch: ifMatch})
	}
	if versionID != "" && versionID != "null" {
		return s3api.DeleteResult{}, s3api.ErrNotImplemented.WithMessage("Object versions are not supported.")
	}
	if ifMatch != "" {
		return s3api.DeleteResult{}, s3api.ErrNotImplemented.WithMessage("Conditional deletes are not supported.")
	}
	return s3api.DeleteResult{}, s.layer.DeleteObject(ctx, bucket, key)
}

// currentVersion is the S3 version id of the request's key's current
// version, "" when it has none or none can be read.
func currentVersion(ctx context.Context, s *Server, q *request) string {
	o, err := s.openVersion(ctx, q.bucket, q.key, "")
	if err != nil {
		return ""
	}
	return o.Info().VersionID
}

// storageClassOr is sc, or STANDARD for "".
func storageClassOr(sc string) string {
	if sc == "" {
		return "STANDARD"
	}
	return sc
}
