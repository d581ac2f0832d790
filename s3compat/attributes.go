package s3compat

import (
	"context"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"github.com/ecstore/ecstore/s3api"
)

// objectParts returns obj's parts: its recorded parts, or one part that is
// the whole object.
func objectParts(obj s3api.Object) []s3api.PartInfo {
	if po, ok := obj.(s3api.PartedObject); ok {
		if ps := po.Parts(); len(ps) > 0 {
			return ps
		}
	}
	info := obj.Info()
	return []s3api.PartInfo{{Number: 1, Size: info.Size, ETag: info.ETag}}
}

// partRange resolves ?partNumber=N to the part's byte range; it also
// returns the part and the object's part count.
func partRange(obj s3api.Object, v string) (*byteRange, s3api.PartInfo, int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxPartNumber {
		return nil, s3api.PartInfo{}, 0, s3api.ErrInvalidArgument.WithMessage("Part number must be an integer between 1 and 10000, inclusive.")
	}
	parts := objectParts(obj)
	var off int64
	for _, p := range parts {
		if p.Number == n {
			return &byteRange{Start: off, Length: p.Size}, p, len(parts), nil
		}
		off += p.Size
	}
	return nil, s3api.PartInfo{}, 0, s3api.ErrInvalidPartNumber
}

type getObjectAttributesResponse struct {
	XMLName      xml.Name               `xml:"GetObjectAttributesResponse"`
	Xmlns        string                 `xml:"xmlns,attr"`
	ETag         string                 `xml:"ETag,omitempty"`
	Checksum     *attributesChecksumXML `xml:"Checksum,omitempty"`
	ObjectParts  *objectPartsXML        `xml:"ObjectParts,omitempty"`
	StorageClass string                 `xml:"StorageClass,omitempty"`
	ObjectSize   *int64                 `xml:"ObjectSize,omitempty"`
}

type attributesChecksumXML struct {
	checksumXML
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

type objectPartsXML struct {
	PartsCount           int                `xml:"PartsCount"`
	PartNumberMarker     int                `xml:"PartNumberMarker"`
	NextPartNumberMarker int                `xml:"NextPartNumberMarker"`
	MaxParts             int                `xml:"MaxParts"`
	IsTruncated          bool               `xml:"IsTruncated"`
	Parts                []attributePartXML `xml:"Part"`
}

type attributePartXML struct {
	checksumXML
	PartNumber int   `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
}

// getObjectAttributes answers GetObjectAttributes: the attributes named in
// x-amz-object-attributes (ETag, Checksum, ObjectParts, StorageClass,
// ObjectSize), without the body.
func (s *Server) getObjectAttributes(ctx context.Context, q *request) (*response, error) {
	want := map[string]bool{}
	for _, v := range q.r.Header.Values("x-amz-object-attributes") {
		for a := range strings.SplitSeq(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				want[a] = true
			}
		}
	}
	if len(want) == 0 {
		return nil, s3api.ErrInvalidArgument.WithMessage("The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty.")
	}
	for a := range want {
		switch a {
		case "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize":
		default:
			return nil, s3api.ErrInvalidArgument.WithMessage("Invalid attribute name specified: %q.", a)
		}
	}
	maxParts, marker := 1000, 0
	if v := q.r.Header.Get("x-amz-max-parts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, s3api.ErrInvalidArgument.WithMessage("x-amz-max-parts must be a non-negative integer.")
		}
		maxParts = min(n, 1000)
	}
	if v := q.r.Header.Get("x-amz-part-number-marker"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, s3api.ErrInvalidArgument.WithMessage("x-amz-part-number-marker must be a non-negative integer.")
		}
		marker = n
	}
	obj, err := s.openObject(ctx, q)
	if err != nil {
		return nil, err
	}
	if err := useReadKey(q.r.Header, q.secure(), obj, ssecPrefix); err != nil {
		return nil, err
	}
	info := obj.Info()
	out := getObjectAttributesResponse{Xmlns: s3NS}
	if want["ETag"] {
		out.ETag = info.ETag
	}
	if want["StorageClass"] {
		out.StorageClass = "STANDARD"
		if sc := info.Headers[storageClassHeader]; sc != "" {
			out.StorageClass = sc
		}
	}
	if want["ObjectSize"] {
		out.ObjectSize = &info.Size
	}
	if want["Checksum"] && len(info.Checksums) > 0 {
		c := &attributesChecksumXML{ChecksumType: checksumType(info.Checksums)}
		sums := map[string]string{}
		for a, v := range info.Checksums {
			if a != s3api.ChecksumTypeKey {
				// GetObjectAttributes gives a composite checksum without "-N".
				v, _, _ = strings.Cut(v, "-")
				sums[a] = v
			}
		}
		c.set(sums)
		out.Checksum = c
	}
	if want["ObjectParts"] && info.PartsCount > 0 {
		parts := objectParts(obj)
		op := &objectPartsXML{PartsCount: len(parts), PartNumberMarker: marker, MaxParts: maxParts}
		for _, p := range parts {
			if p.Number <= marker {
				continue
			}
			if len(op.Parts) == maxParts {
				op.IsTruncated = true
				break
			}
			px := attributePartXML{PartNumber: p.Number, Size: p.Size}
			px.set(p.Checksums)
			op.Parts = append(op.Parts, px)
			op.NextPartNumberMarker = p.Number
		}
		out.ObjectParts = op
	}
	h := http.Header{}
	h.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	addVersionHeader(h, info.VersionID)
	return &response{header: h, xml: out}, nil
}

type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr"`
	TagSet  struct{} `xml:"TagSet"`
}

// getObjectTagging answers an empty tag set: ecstore stores no object tags
// (a write carrying x-amz-tagging is refused, PutObjectTagging is not
// implemented), so the answer is true. The aws CLI v2 asks for it on every
// multipart copy (s3 cp/mv between buckets or keys).
func (s *Server) getObjectTagging(ctx context.Context, q *request) (*response, error) {
	if _, err := s.openObject(ctx, q); err != nil {
		return nil, err
	}
	return &response{xml: tagging{Xmlns: s3NS}}, nil
}
