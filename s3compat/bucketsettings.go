package s3compat

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"

	"github.com/ecstore/ecstore/lifecycle"
	"github.com/ecstore/ecstore/s3api"
)

// A bucket's settings: tagging, which ecstore keeps (in the metadata
// store, through the layer's s3api.SettingsLayer), and the reads of
// features ecstore does not have yet, which answer what S3 answers when
// nothing is configured: never NotImplemented for a read, since tools
// take that for "unknown" (mc shows a private bucket as public when GET
// ?policy fails so). Their writes stay NotImplemented (routes.go).

// routeSettings picks the handler of a bucket settings call, or nil.
func (s *Server) routeSettings(q *request) (handler, string) {
	has := func(k string) bool { _, ok := q.query[k]; return ok }
	m := q.r.Method
	if q.key != "" {
		if m == http.MethodGet && has("acl") {
			if v := q.query.Get("versionId"); v == "" || v == "null" {
				return s.getObjectACL, "GetObjectAcl"
			}
		}
		return nil, ""
	}
	if q.bucket == "" {
		return nil, ""
	}
	if has("tagging") {
		return getPutDelete{
			{s.getBucketTagging, "GetBucketTagging"}, {s.putBucketTagging, "PutBucketTagging"}, {s.deleteBucketTagging, "DeleteBucketTagging"},
		}.pick(m)
	}
	if has("lifecycle") {
		return getPutDelete{
			{s.getBucketLifecycle, "GetBucketLifecycleConfiguration"}, {s.putBucketLifecycle, "PutBucketLifecycleConfiguration"}, {s.deleteBucketLifecycle, "DeleteBucketLifecycle"},
		}.pick(m)
	}
	if has("encryption") && s.encrypts() {
		return getPutDelete{
			{s.getBucketEncryption, "GetBucketEncryption"}, {s.putBucketEncryption, "PutBucketEncryption"}, {s.deleteBucketEncryption, "DeleteBucketEncryption"},
		}.pick(m)
	}
	if m != http.MethodGet {
		return nil, ""
	}
	for _, r := range nothingSetReads {
		if has(r.sub) {
			return s.nothingSet(r), r.api
		}
	}
	return nil, ""
}

// getPutDelete are the handlers (and API names) of a subresource's GET,
// PUT and DELETE.
type getPutDelete [3]struct {
	h   handler
	api string
}

// pick returns the handler of method, or nil for another method.
func (g getPutDelete) pick(method string) (handler, string) {
	for i, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		if m == method {
			return g[i].h, g[i].api
		}
	}
	return nil, ""
}

// nothingSetRead is a read of a feature ecstore has not built: what S3
// answers for a bucket where nothing is set.
type nothingSetRead struct {
	sub, api string
	// setting, when it is one of the metadata store's documents, is
	// checked: a document set there (by a later version) is not answered
	// as unset.
	setting s3api.Setting
	stored  bool
	// err is the 404 S3 answers, or nil for a 200 with body.
	err  s3api.ErrorCode
	body func() any
}

var nothingSetReads = []nothingSetRead{
	{sub: "policyStatus", api: "GetBucketPolicyStatus", setting: s3api.SettingPolicy, stored: true,
		body: func() any { return policyStatus{Xmlns: s3NS, IsPublic: false} }},
	{sub: "policy", api: "GetBucketPolicy", setting: s3api.SettingPolicy, stored: true, err: s3api.ErrNoSuchBucketPolicy},
	{sub: "cors", api: "GetBucketCors", setting: s3api.SettingCORS, stored: true, err: s3api.ErrNoSuchCORSConfiguration},
	{sub: "encryption", api: "GetBucketEncryption", setting: s3api.SettingEncryption, stored: true, err: s3api.ErrNoSuchEncryptionConfiguration},
	{sub: "website", api: "GetBucketWebsite", err: s3api.ErrNoSuchWebsiteConfiguration},
	{sub: "replication", api: "GetBucketReplication", err: s3api.ErrNoSuchReplicationConfiguration},
	{sub: "publicAccessBlock", api: "GetPublicAccessBlock", err: s3api.ErrNoSuchPublicAccessBlockConfiguration},
	{sub: "notification", api: "GetBucketNotificationConfiguration",
		body: func() any { return notificationConfiguration{Xmlns: s3NS} }},
	{sub: "acl", api: "GetBucketAcl", body: func() any { return ownerFullControl() }},
}

// nothingSet answers r for an existing bucket.
func (s *Server) nothingSet(r nothingSetRead) handler {
	return func(ctx context.Context, q *request) (*response, error) {
		set, err := s.bucketSettings(ctx, q.bucket)
		if err != nil {
			return nil, err
		}
		if r.stored && set.Get(r.setting) != nil {
			return nil, s3api.ErrNotImplemented.WithMessage("This bucket's %v setting was stored by a later version of ecstore; this one cannot show it.", r.setting)
		}
		if r.body == nil {
			return nil, r.err
		}
		return &response{xml: r.body()}, nil
	}
}

// bucketSettings returns the bucket's settings, or none when the layer
// keeps none (NoSuchBucket either way for a missing bucket).
func (s *Server) bucketSettings(ctx context.Context, bucket string) (s3api.BucketSettings, error) {
	if !s3api.ValidBucketName(bucket) {
		return s3api.BucketSettings{}, s3api.ErrNoSuchBucket
	}
	if sl, ok := s.layer.(s3api.SettingsLayer); ok {
		return sl.GetBucketSettings(ctx, bucket)
	}
	_, err := s.layer.HeadBucket(ctx, bucket)
	return s3api.BucketSettings{}, err
}

// putBucketSetting changes one settings document (nil removes it).
func (s *Server) putBucketSetting(ctx context.Context, bucket string, set s3api.Setting, doc []byte) error {
	if !s3api.ValidBucketName(bucket) {
		return s3api.ErrNoSuchBucket
	}
	sl, ok := s.layer.(s3api.SettingsLayer)
	if !ok {
		if _, err := s.layer.HeadBucket(ctx, bucket); err != nil {
			return err
		}
		return s3api.ErrNotImplemented.WithMessage("This storage keeps no bucket settings.")
	}
	return sl.PutBucketSetting(ctx, bucket, set, doc)
}

func (s *Server) getBucketTagging(ctx context.Context, q *request) (*response, error) {
	set, err := s.bucketSettings(ctx, q.bucket)
	if err != nil {
		return nil, err
	}
	doc := set.Get(s3api.SettingTags)
	if doc == nil {
		return nil, s3api.ErrNoSuchTagSet
	}
	var tags []s3api.Tag
	if err := json.Unmarshal(doc, &tags); err != nil {
		return nil, fmt.Errorf("s3compat: the tag set of bucket %q does not decode: %w", q.bucket, err)
	}
	if len(tags) == 0 {
		return nil, s3api.ErrNoSuchTagSet
	}
	out := taggingXML{Xmlns: s3NS, TagSet: make([]tagXML, len(tags))}
	for i, t := range tags {
		out.TagSet[i] = tagXML{Key: xmlText(t.Key), Value: xmlText(t.Value)}
	}
	return &response{xml: out}, nil
}

func (s *Server) putBucketTagging(ctx context.Context, q *request) (*response, error) {
	if !s3api.ValidBucketName(q.bucket) {
		return nil, s3api.ErrNoSuchBucket
	}
	data, err := readXMLBody(q)
	if err != nil {
		return nil, err
	}
	tags, err := parseTagging(data, s3api.MaxBucketTags)
	if err != nil {
		return nil, err
	}
	var doc []byte // an empty set is no set
	if len(tags) > 0 {
		if doc, err = json.Marshal(tags); err != nil {
			return nil, err
		}
	}
	if err := s.putBucketSetting(ctx, q.bucket, s3api.SettingTags, doc); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

func (s *Server) deleteBucketTagging(ctx context.Context, q *request) (*response, error) {
	if err := s.putBucketSetting(ctx, q.bucket, s3api.SettingTags, nil); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

// The lifecycle configuration is kept as package lifecycle's JSON; the
// background worker (gateway) applies it.

func (s *Server) getBucketLifecycle(ctx context.Context, q *request) (*response, error) {
	set, err := s.bucketSettings(ctx, q.bucket)
	if err != nil {
		return nil, err
	}
	doc := set.Get(s3api.SettingLifecycle)
	if doc == nil {
		return nil, s3api.ErrNoSuchLifecycleConfiguration
	}
	var c lifecycle.Configuration
	if err := json.Unmarshal(doc, &c); err != nil {
		return nil, fmt.Errorf("s3compat: the lifecycle configuration of bucket %q does not decode: %w", q.bucket, err)
	}
	c.Xmlns = s3NS
	return &response{xml: &c}, nil
}

func (s *Server) putBucketLifecycle(ctx context.Context, q *request) (*response, error) {
	if !s3api.ValidBucketName(q.bucket) {
		return nil, s3api.ErrNoSuchBucket
	}
	data, err := readXMLBody(q)
	if err != nil {
		return nil, err
	}
	c, err := lifecycle.Parse(data)
	if le := (*lifecycle.Error)(nil); errors.As(err, &le) {
		switch le.Kind {
		case lifecycle.ErrMalformed:
			return nil, s3api.ErrMalformedXML.WithMessage("%s", le.Msg)
		case lifecycle.ErrNotImplemented:
			return nil, s3api.ErrNotImplemented.WithMessage("Lifecycle %s are not implemented.", le.Msg)
		}
		return nil, s3api.ErrInvalidArgument.WithMessage("%s", le.Msg)
	}
	if err != nil {
		return nil, err
	}
	doc, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	if err := s.putBucketSetting(ctx, q.bucket, s3api.SettingLifecycle, doc); err != nil {
		return nil, err
	}
	return &response{}, nil
}

func (s *Server) deleteBucketLifecycle(ctx context.Context, q *request) (*response, error) {
	if err := s.putBucketSetting(ctx, q.bucket, s3api.SettingLifecycle, nil); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

// getObjectACL answers the one ACL every object has: its owner's full
// control (canned ACLs other than private are refused on writes).
func (s *Server) getObjectACL(ctx context.Context, q *request) (*response, error) {
	if _, err := s.openObject(ctx, q); err != nil {
		return nil, err
	}
	return &response{xml: ownerFullControl()}, nil
}

// parseTagging decodes a Tagging document (PutBucketTagging's body) and
// checks its tags against S3's rules with at most max tags: a document
// that is not a Tagging with a TagSet whose every Tag has a Key and a
// Value is MalformedXML; a broken rule is InvalidTag.
func parseTagging(data []byte, max int) ([]s3api.Tag, error) {
	var in taggingRequest
	if err := xml.Unmarshal(data, &in); err != nil || in.TagSet == nil {
		return nil, s3api.ErrMalformedXML
	}
	tags := make([]s3api.Tag, 0, len(in.TagSet.Tags))
	for _, t := range in.TagSet.Tags {
		if t.Key == nil || t.Value == nil {
			return nil, s3api.ErrMalformedXML.WithMessage("Every Tag needs a Key and a Value.")
		}
		tags = append(tags, s3api.Tag{Key: *t.Key, Value: *t.Value})
	}
	if err := s3api.CheckTags(tags, max); err != nil {
		return nil, err
	}
	return tags, nil
}

// taggingRequest is a Tagging request body; pointers tell a missing
// element from an empty one.
type taggingRequest struct {
	XMLName xml.Name `xml:"Tagging"`
	TagSet  *struct {
		Tags []struct {
			Key   *string `xml:"Key"`
			Value *string `xml:"Value"`
		} `xml:"Tag"`
	} `xml:"TagSet"`
}

type taggingXML struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr"`
	TagSet  []tagXML `xml:"TagSet>Tag"`
}

type tagXML struct {
	Key   xmlText `xml:"Key"`
	Value xmlText `xml:"Value"`
}

type policyStatus struct {
	XMLName  xml.Name `xml:"PolicyStatus"`
	Xmlns    string   `xml:"xmlns,attr"`
	IsPublic bool     `xml:"IsPublic"`
}

type notificationConfiguration struct {
	XMLName xml.Name `xml:"NotificationConfiguration"`
	Xmlns   string   `xml:"xmlns,attr"`
}

type accessControlPolicy struct {
	XMLName xml.Name   `xml:"AccessControlPolicy"`
	Xmlns   string     `xml:"xmlns,attr"`
	Owner   owner      `xml:"Owner"`
	Grants  []grantXML `xml:"AccessControlList>Grant"`
}

type grantXML struct {
	Grantee    granteeXML `xml:"Grantee"`
	Permission string     `xml:"Permission"`
}

type granteeXML struct {
	XmlnsXsi    string `xml:"xmlns:xsi,attr"`
	Type        string `xml:"xsi:type,attr"`
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

// ownerFullControl is the ACL of every bucket and object: the owner (the
// root user) has FULL_CONTROL, nobody else anything.
func ownerFullControl() accessControlPolicy {
	return accessControlPolicy{Xmlns: s3NS, Owner: rootOwner, Grants: []grantXML{{
		Grantee: granteeXML{XmlnsXsi: "http://www.w3.org/2001/XMLSchema-instance", Type: "CanonicalUser",
			ID: rootOwner.ID, DisplayName: rootOwner.DisplayName},
		Permission: "FULL_CONTROL",
	}}}
}
