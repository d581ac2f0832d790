package s3compat

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/ecstore/ecstore/s3api"
)

var rootOwner = owner{ID: "02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4", DisplayName: "ecstore"}

func (s *Server) listBuckets(ctx context.Context, q *request) (*response, error) {
	bs, err := s.layer.ListBuckets(ctx)
	if err != nil {
		return nil, err
	}
	out := listAllMyBucketsResult{Xmlns: s3NS, Owner: rootOwner, Buckets: []bucketXML{}}
	for _, b := range bs {
		out.Buckets = append(out.Buckets, bucketXML{Name: b.Name, CreationDate: timeISO(b.Created)})
	}
	return &response{xml: out}, nil
}

func (s *Server) createBucket(ctx context.Context, q *request) (*response, error) {
	if err := checkBucket(q.bucket); err != nil {
		return nil, err
	}
	withLock := strings.EqualFold(q.r.Header.Get("x-amz-bucket-object-lock-enabled"), "true")
	if _, ok := s.layer.(s3api.LockLayer); withLock && !ok {
		return nil, s3api.ErrNotImplemented.WithMessage("Object lock is not supported by this layer.")
	}
	if q.auth.Body != nil {
		var cfg createBucketConfiguration
		if err := readXML(q, &cfg); err != nil && err != s3api.ErrMissingRequestBodyError {
			return nil, err
		}
		if err := s.checkBucketConfiguration(cfg); err != nil {
			return nil, err
		}
	}
	if err := s.layer.MakeBucket(ctx, q.bucket); err != nil {
		return nil, err
	}
	if withLock {
		// Object lock turns versioning on for good. Without either (the
		// layer refuses versioning), the bucket goes again: never a bucket
		// that says it is locked and is not.
		lockDoc, _ := json.Marshal(s3api.ObjectLockDoc{Enabled: true})
		verDoc, _ := json.Marshal(s3api.VersioningDoc{Status: "Enabled"})
		err := s.putBucketSetting(ctx, q.bucket, s3api.SettingVersioning, verDoc)
		if err == nil {
			err = s.putBucketSetting(ctx, q.bucket, s3api.SettingObjectLock, lockDoc)
		}
		if err != nil {
			if derr := s.layer.DeleteBucket(ctx, q.bucket); derr != nil {
				s.log.Error("a bucket created with object lock could not be locked nor removed", "bucket", q.bucket, "err", err, "remove_err", derr)
			}
			return nil, err
		}
	}
	return &response{header: http.Header{"Location": {"/" + q.bucket}}}, nil
}

// createBucketConfiguration is CreateBucket's optional body.
type createBucketConfiguration struct {
	LocationConstraint string `xml:"LocationConstraint"`
	// Location and Bucket describe a directory bucket (S3 Express).
	Location *struct{} `xml:"Location"`
	Bucket   *struct{} `xml:"Bucket"`
	Tags     struct {
		Tag []struct{} `xml:"Tag"`
	} `xml:"Tags"`
}

// checkBucketConfiguration refuses what a CreateBucketConfiguration asks
// and ecstore cannot do, before the bucket is made: a bucket created
// elsewhere than asked, or without the tags asked for, would be a lie.
func (s *Server) checkBucketConfiguration(cfg createBucketConfiguration) error {
	switch {
	case cfg.Location != nil || cfg.Bucket != nil:
		return s3api.ErrNotImplemented.WithMessage("Directory buckets (CreateBucketConfiguration's Location and Bucket) are not supported.")
	case len(cfg.Tags.Tag) > 0:
		return s3api.ErrNotImplemented.WithMessage("Tags in CreateBucketConfiguration are not supported; set them with PutBucketTagging once the bucket exists.")
	}
	return s.checkLocation(cfg.LocationConstraint)
}

// checkLocation accepts a LocationConstraint naming the server's region
// (or none, the client's default): ecstore has one region. "EU" is S3's
// old name of eu-west-1.
func (s *Server) checkLocation(c string) error {
	if c == "" || c == s.cfg.Region || (c == "EU" && s.cfg.Region == "eu-west-1") {
		return nil
	}
	return s3api.ErrIllegalLocationConstraint.WithMessage("The %s location constraint is incompatible for the region specific endpoint this request was sent to.", c)
}

func (s *Server) headBucket(ctx context.Context, q *request) (*response, error) {
	if err := checkBucket(q.bucket); err != nil {
		return nil, s3api.ErrNoSuchBucket
	}
	if _, err := s.layer.HeadBucket(ctx, q.bucket); err != nil {
		return nil, err
	}
	return &response{header: http.Header{"x-amz-bucket-region": {s.cfg.Region}}}, nil
}

func (s *Server) deleteBucket(ctx context.Context, q *request) (*response, error) {
	if err := checkBucket(q.bucket); err != nil {
		return nil, s3api.ErrNoSuchBucket
	}
	if err := s.layer.DeleteBucket(ctx, q.bucket); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

func (s *Server) getBucketLocation(ctx context.Context, q *request) (*response, error) {
	if _, err := s.bucketExists(ctx, q.bucket); err != nil {
		return nil, err
	}
	region := s.cfg.Region
	if region == "us-east-1" {
		region = "" // S3 answers an empty constraint for us-east-1
	}
	return &response{xml: locationConstraint{Xmlns: s3NS, Region: region}}, nil
}

// getBucketVersioning answers the bucket's versioning state: no Status
// when it was never set.
func (s *Server) getBucketVersioning(ctx context.Context, q *request) (*response, error) {
	set, err := s.bucketSettings(ctx, q.bucket)
	if err != nil {
		return nil, err
	}
	out := versioningConfiguration{Xmlns: s3NS}
	if doc := set.Get(s3api.SettingVersioning); doc != nil {
		var d s3api.VersioningDoc
		if err := json.Unmarshal(doc, &d); err != nil {
			return nil, fmt.Errorf("bucket %s: versioning document: %w", q.bucket, err)
		}
		out.Status = d.Status
	}
	return &response{xml: out}, nil
}

// putBucketVersioning sets the bucket's versioning to Enabled or
// Suspended (a bucket cannot go back to never versioned, as in S3). MFA
// delete is not implemented.
func (s *Server) putBucketVersioning(ctx context.Context, q *request) (*response, error) {
	if !s3api.ValidBucketName(q.bucket) {
		return nil, s3api.ErrNoSuchBucket
	}
	var cfg versioningConfiguration
	if err := readXML(q, &cfg); err != nil {
		return nil, err
	}
	if cfg.MfaDelete == "Enabled" {
		return nil, s3api.ErrNotImplemented.WithMessage("MFA delete is not implemented.")
	}
	if cfg.MfaDelete != "" && cfg.MfaDelete != "Disabled" {
		return nil, s3api.ErrMalformedXML
	}
	if cfg.Status != "Enabled" && cfg.Status != "Suspended" {
		return nil, s3api.ErrIllegalVersioningConfiguration
	}
	if cfg.Status == "Suspended" {
		if d, err := s.lockDoc(ctx, q.bucket); err == nil && d.Enabled {
			return nil, s3api.ErrInvalidBucketState.WithMessage("An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
		}
	}
	doc, err := json.Marshal(s3api.VersioningDoc{Status: cfg.Status})
	if err != nil {
		return nil, err
	}
	if err := s.putBucketSetting(ctx, q.bucket, s3api.SettingVersioning, doc); err != nil {
		return nil, err
	}
	return &response{}, nil
}

func (s *Server) bucketExists(ctx context.Context, bucket string) (s3api.BucketInfo, error) {
	if !s3api.ValidBucketName(bucket) {
		return s3api.BucketInfo{}, s3api.ErrNoSuchBucket
	}
	return s.layer.HeadBucket(ctx, bucket)
}

// listQuery holds the parameters common to both ListObjects versions.
type listQuery struct {
	prefix, delimiter, encoding string
	maxKeys                     int
}

func parseListQuery(q *request) (listQuery, error) {
	lq := listQuery{
		prefix:    q.query.Get("prefix"),
		delimiter: q.query.Get("delimiter"),
		encoding:  q.query.Get("encoding-type"),
		maxKeys:   1000,
	}
	if lq.encoding != "" && lq.encoding != "url" {
		return lq, s3api.ErrInvalidEncodingMethod
	}
	if v := q.query.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return lq, s3api.ErrMaxKeysInvalid
		}
		lq.maxKeys = min(n, 1000)
	}
	return lq, nil
}

// enc applies encoding-type=url to a key or prefix.
func (lq listQuery) enc(s string) xmlText {
	if lq.encoding == "url" {
		return xmlText(url.QueryEscape(s))
	}
	return xmlText(s)
}

func (lq listQuery) contents(objs []s3api.ObjectInfo, withOwner bool) []objectXML {
	out := make([]objectXML, 0, len(objs))
	for _, o := range objs {
		x := objectXML{Key: lq.enc(o.Key), LastModified: timeISO(o.ModTime), ETag: `"` + o.ETag + `"`, Size: o.Size, StorageClass: storageClassOr(o.Headers[storageClassHeader])}
		if withOwner {
			ow := rootOwner
			x.Owner = &ow
		}
		out = append(out, x)
	}
	return out
}

func (lq listQuery) prefixes(ps []string) []commonPrefix {
	out := make([]commonPrefix, 0, len(ps))
	for _, p := range ps {
		out = append(out, commonPrefix{Prefix: lq.enc(p)})
	}
	return out
}

func (s *Server) list(ctx context.Context, q *request, lq listQuery, after string) (s3api.ListResult, error) {
	if _, err := s.bucketExists(ctx, q.bucket); err != nil {
		return s3api.ListResult{}, err
	}
	if lq.maxKeys == 0 {
		return s3api.ListResult{}, nil
	}
	return s.layer.ListObjects(ctx, q.bucket, s3api.ListParams{Prefix: lq.prefix, Delimiter: lq.delimiter, After: after, MaxKeys: lq.maxKeys})
}

// listMetadata is the <UserMetadata> of a listing entry (metadata=true).
func listMetadata(o s3api.ObjectInfo) *metadataXML {
	m := &metadataXML{}
	for k, v := range o.UserMeta {
		m.Items = append(m.Items, metadataItem{XMLName: xml.Name{Local: textproto.CanonicalMIMEHeaderKey("X-Amz-Meta-" + k)}, Value: v})
	}
	if o.ContentType != "" {
		m.Items = append(m.Items, metadataItem{XMLName: xml.Name{Local: "content-type"}, Value: o.ContentType})
	}
	return m
}

func (s *Server) listObjectsV1(ctx context.Context, q *request) (*response, error) {
	if q.query.Get("unsorted") == "true" {
		return nil, s3api.ErrInvalidArgument.WithMessage("Unsorted listings need ListObjectsV2.")
	}
	lq, err := parseListQuery(q)
	if err != nil {
		return nil, err
	}
	marker := q.query.Get("marker")
	res, err := s.list(ctx, q, lq, marker)
	if err != nil {
		return nil, err
	}
	out := listBucketResultV1{
		Xmlns: s3NS, Name: q.bucket, Prefix: lq.enc(lq.prefix), Marker: lq.enc(marker), MaxKeys: lq.maxKeys,
		Delimiter: lq.enc(lq.delimiter), IsTruncated: res.IsTruncated, EncodingType: lq.encoding,
		CommonPrefixes: lq.prefixes(res.Prefixes),
	}
	out.Contents = lq.contents(res.Objects, true)
	if res.IsTruncated && lq.delimiter != "" {
		out.NextMarker = lq.enc(res.NextAfter)
	}
	return &response{xml: out}, nil
}

func (s *Server) listObjectsV2(ctx context.Context, q *request) (*response, error) {
	lq, err := parseListQuery(q)
	if err != nil {
		return nil, err
	}
	token := q.query.Get("continuation-token")
	startAfter := q.query.Get("start-after")
	// unsorted=true (a MinIO extension) asks for any order; a sorted
	// listing is one. It has no order to start after.
	if q.query.Get("unsorted") == "true" && startAfter != "" {
		return nil, s3api.ErrInvalidArgument.WithMessage("start-after is not supported with unsorted listings.")
	}
	after := startAfter
	if _, ok := q.query["continuation-token"]; ok {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || token == "" {
			return nil, s3api.ErrInvalidContinuationToken
		}
		after = string(raw)
	}
	res, err := s.list(ctx, q, lq, after)
	if err != nil {
		return nil, err
	}
	out := listBucketResultV2{
		Xmlns: s3NS, Name: q.bucket, Prefix: lq.enc(lq.prefix), StartAfter: lq.enc(startAfter),
		ContinuationToken: token, MaxKeys: lq.maxKeys, Delimiter: lq.enc(lq.delimiter),
		IsTruncated: res.IsTruncated, EncodingType: lq.encoding, KeyCount: len(res.Objects) + len(res.Prefixes),
		CommonPrefixes: lq.prefixes(res.Prefixes),
	}
	out.Contents = lq.contents(res.Objects, q.query.Get("fetch-owner") == "true")
	if q.query.Get("metadata") == "true" {
		// MinIO's extension: each entry's user metadata and content type.
		for i, o := range res.Objects {
			out.Contents[i].UserMetadata = listMetadata(o)
		}
	}
	if res.IsTruncated {
		out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(res.NextAfter))
	}
	return &response{xml: out}, nil
}

// maxDeleteObjects is S3's limit on keys per DeleteObjects request.
const maxDeleteObjects = 1000

func (s *Server) deleteObjects(ctx context.Context, q *request) (*response, error) {
	if _, err := s.bucketExists(ctx, q.bucket); err != nil {
		return nil, err
	}
	var req deleteRequest
	if err := readXML(q, &req); err != nil {
		return nil, err
	}
	if len(req.Objects) == 0 || len(req.Objects) > maxDeleteObjects {
		return nil, s3api.ErrMalformedXML.WithMessage("DeleteObjects takes 1 to %d keys.", maxDeleteObjects)
	}
	out := deleteResult{Xmlns: s3NS}
	for _, o := range req.Objects {
		err := checkKey(o.Key)
		if err == nil && (o.LastModifiedTime != "" || o.Size != "") {
			err = s3api.ErrNotImplemented.WithMessage("LastModifiedTime and Size conditions are not supported.")
		}
		var res s3api.DeleteResult
		if err == nil {
			res, err = s.deleteVersion(ctx, q, q.bucket, o.Key, o.VersionID, strings.TrimSpace(o.ETag))
		}
		if err != nil {
			ae, known := toAPIError(err)
			if !known {
				s.log.Error("multi-delete", "id", q.id, "key", o.Key, "err", err)
			}
			out.Errors = append(out.Errors, deleteErrorXML{Key: xmlText(o.Key), VersionID: o.VersionID, Code: ae.Code(), Message: ae.Message()})
			continue
		}
		if !req.Quiet {
			d := deletedXML{Key: xmlText(o.Key), VersionID: o.VersionID, DeleteMarker: res.DeleteMarker}
			if res.DeleteMarker && o.VersionID == "" {
				d.DeleteMarkerVersionID = res.VersionID // the marker it wrote
			}
			out.Deleted = append(out.Deleted, d)
		}
	}
	return &response{xml: out}, nil
}

func (s *Server) listMultipartUploads(ctx context.Context, q *request) (*response, error) {
	if _, err := s.bucketExists(ctx, q.bucket); err != nil {
		return nil, err
	}
	lq := listQuery{encoding: q.query.Get("encoding-type")}
	if lq.encoding != "" && lq.encoding != "url" {
		return nil, s3api.ErrInvalidEncodingMethod
	}
	p := s3api.ListUploadsParams{
		Prefix: q.query.Get("prefix"), Delimiter: q.query.Get("delimiter"),
		KeyMarker: q.query.Get("key-marker"), UploadIDMarker: q.query.Get("upload-id-marker"), MaxUploads: 1000,
	}
	if v := q.query.Get("max-uploads"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, s3api.ErrInvalidArgument.WithMessage("max-uploads must be a non-negative integer.")
		}
		p.MaxUploads = min(n, 1000)
	}
	res, err := s.layer.ListMultipartUploads(ctx, q.bucket, p)
	if err != nil {
		return nil, err
	}
	// Prefix and Delimiter are echoed as sent (minio-go decodes only keys
	// and markers); the Next markers are only sent when there is a next page.
	out := listMultipartUploadsResult{
		Xmlns: s3NS, Bucket: q.bucket, KeyMarker: lq.enc(p.KeyMarker), UploadIDMarker: p.UploadIDMarker,
		Delimiter: xmlText(p.Delimiter), Prefix: xmlText(p.Prefix), MaxUploads: p.MaxUploads,
		IsTruncated: res.IsTruncated, EncodingType: lq.encoding, CommonPrefixes: lq.prefixes(res.Prefixes),
	}
	if res.IsTruncated {
		out.NextKeyMarker, out.NextUploadIDMarker = lq.enc(res.NextKeyMarker), res.NextUploadIDMarker
	}
	for _, u := range res.Uploads {
		out.Uploads = append(out.Uploads, uploadXML{Key: lq.enc(u.Key), UploadID: u.UploadID, Initiated: timeISO(u.Initiated)})
	}
	return &response{xml: out}, nil
}
