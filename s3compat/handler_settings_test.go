package s3compat

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// taggingBody is a PutBucketTagging body of the given key/value pairs.
func taggingBody(kv ...string) string {
	var b strings.Builder
	b.WriteString(`<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>`)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "<Tag><Key>%s</Key><Value>%s</Value></Tag>", kv[i], kv[i+1])
	}
	b.WriteString("</TagSet></Tagging>")
	return b.String()
}

func md5b64(s string) string {
	sum := md5.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestBucketTaggingHandlers: Put/Get/DeleteBucketTagging through the
// layer's SettingsLayer, with S3's rules for the tag set.
func TestBucketTaggingHandlers(t *testing.T) {
	put := func(body string, kv ...string) testRequest {
		return testRequest{method: "PUT", target: "/bkt?tagging", body: body, header: hdrs(kv...)}
	}
	stored := func(want string) func(*testing.T, *stubLayer, *httptest.ResponseRecorder) {
		return func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
			c := l.call(t, "PutBucketSetting")
			if c.Bucket != "bkt" || c.Setting != s3api.SettingTags || string(c.Doc) != want {
				t.Errorf("PutBucketSetting(%q, %v, %q), want (bkt, tags, %q)", c.Bucket, c.Setting, c.Doc, want)
			}
		}
	}
	withTags := func(doc string) func(*stubLayer) {
		return func(l *stubLayer) { l.settings.Docs[s3api.SettingTags] = []byte(doc) }
	}
	var fifty, fiftyOne []string
	for i := range 51 {
		kv := []string{fmt.Sprint("k", i), "v"}
		if i < 50 {
			fifty = append(fifty, kv...)
		}
		fiftyOne = append(fiftyOne, kv...)
	}
	body := taggingBody("team", "storage", "env", "")
	cases := []handlerCase{
		{name: "put", req: put(body), status: 204, calls: []string{"PutBucketSetting"},
			check: stored(`[{"key":"team","value":"storage"},{"key":"env","value":""}]`)},
		{name: "put with its Content-MD5", req: put(body, "Content-MD5", md5b64(body)), status: 204, calls: []string{"PutBucketSetting"}},
		{name: "put with another body's Content-MD5", req: put(body, "Content-MD5", md5b64("other")), status: 400, code: "BadDigest", calls: []string{}},
		{name: "put with a Content-MD5 not base64", req: put(body, "Content-MD5", "not-md5"), status: 400, code: "InvalidDigest", calls: []string{}},
		{name: "put 50 tags", req: put(taggingBody(fifty...)), status: 204},
		{name: "put 51 tags", req: put(taggingBody(fiftyOne...)), status: 400, code: "InvalidTag", calls: []string{}},
		{name: "put an empty set removes it", req: put(taggingBody()), status: 204, check: stored("")},
		{name: "put a duplicate key", req: put(taggingBody("a", "1", "a", "2")), status: 400, code: "InvalidTag", calls: []string{}},
		{name: "put an aws: key", req: put(taggingBody("aws:createdBy", "x")), status: 400, code: "InvalidTag", calls: []string{}},
		{name: "put an empty key", req: put(taggingBody("", "x")), status: 400, code: "InvalidTag", calls: []string{}},
		{name: "put a key of 129 characters", req: put(taggingBody(strings.Repeat("k", 129), "x")), status: 400, code: "InvalidTag", calls: []string{}},
		{name: "put a key of 128 characters", req: put(taggingBody(strings.Repeat("ключ", 32), "x")), status: 204},
		{name: "put a value of 257 characters", req: put(taggingBody("k", strings.Repeat("v", 257))), status: 400, code: "InvalidTag", calls: []string{}},
		{name: "put malformed XML", req: put(`<Tagging><TagSet><Tag>`), status: 400, code: "MalformedXML", calls: []string{}},
		{name: "put another document", req: put(`<VersioningConfiguration/>`), status: 400, code: "MalformedXML", calls: []string{}},
		{name: "put without a TagSet", req: put(`<Tagging/>`), status: 400, code: "MalformedXML", calls: []string{}},
		{name: "put a Tag without a Value", req: put(`<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>`), status: 400, code: "MalformedXML", calls: []string{}},
		{name: "put without a body", req: put(""), status: 400, code: "MissingRequestBodyError", calls: []string{}},
		{name: "put to a missing bucket", req: put(body), script: func(l *stubLayer) { l.errs["PutBucketSetting"] = s3api.ErrNoSuchBucket },
			status: 404, code: "NoSuchBucket"},
		{name: "put without the metadata store's majority", req: put(body), script: func(l *stubLayer) { l.errs["PutBucketSetting"] = s3api.ErrServiceUnavailable },
			status: 503, code: "ServiceUnavailable"},
		{name: "put to a layer without settings", req: put(body), plain: true, status: 501, code: "NotImplemented", calls: []string{"HeadBucket"}},
		{name: "put to a missing bucket of a layer without settings", req: put(body), plain: true,
			script: func(l *stubLayer) { l.errs["HeadBucket"] = s3api.ErrNoSuchBucket }, status: 404, code: "NoSuchBucket"},
		{name: "put to a bucket name not valid", req: testRequest{method: "PUT", target: "/x?tagging", body: body}, status: 404, code: "NoSuchBucket", calls: []string{}},

		{name: "get", req: testRequest{method: "GET", target: "/bkt?tagging"}, script: withTags(`[{"key":"a<b","value":"1"},{"key":"c","value":""}]`),
			status: 200, calls: []string{"GetBucketSettings"},
			body: []string{`<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>a&lt;b</Key><Value>1</Value></Tag><Tag><Key>c</Key><Value></Value></Tag></TagSet></Tagging>`}},
		{name: "get none", req: testRequest{method: "GET", target: "/bkt?tagging"}, status: 404, code: "NoSuchTagSet"},
		{name: "get an empty set", req: testRequest{method: "GET", target: "/bkt?tagging"}, script: withTags(`[]`), status: 404, code: "NoSuchTagSet"},
		{name: "get of a missing bucket", req: testRequest{method: "GET", target: "/bkt?tagging"},
			script: func(l *stubLayer) { l.errs["GetBucketSettings"] = s3api.ErrNoSuchBucket }, status: 404, code: "NoSuchBucket"},
		{name: "get from a layer without settings", req: testRequest{method: "GET", target: "/bkt?tagging"}, plain: true,
			status: 404, code: "NoSuchTagSet", calls: []string{"HeadBucket"}},
		{name: "get a stored set that does not decode", req: testRequest{method: "GET", target: "/bkt?tagging"}, script: withTags(`{`),
			status: 500, code: "InternalError", errLog: true},

		{name: "delete", req: testRequest{method: "DELETE", target: "/bkt?tagging"}, status: 204, check: stored("")},
		{name: "delete of a missing bucket", req: testRequest{method: "DELETE", target: "/bkt?tagging"},
			script: func(l *stubLayer) { l.errs["PutBucketSetting"] = s3api.ErrNoSuchBucket }, status: 404, code: "NoSuchBucket"},
		{name: "delete from a layer without settings", req: testRequest{method: "DELETE", target: "/bkt?tagging"}, plain: true, status: 501, code: "NotImplemented"},
	}
	runHandlerCases(t, Config{}, cases)
}

// TestBucketSettingsHandlers: the reads of features ecstore has not built
// answer what S3 answers when nothing is set; their writes stay
// NotImplemented; a missing bucket is NoSuchBucket.
func TestBucketSettingsHandlers(t *testing.T) {
	get := func(target string) testRequest { return testRequest{method: "GET", target: target} }
	missing := func(l *stubLayer) { l.errs["GetBucketSettings"] = s3api.ErrNoSuchBucket }
	cases := []handlerCase{
		{name: "policy", req: get("/bkt?policy"), status: 404, code: "NoSuchBucketPolicy", calls: []string{"GetBucketSettings"}},
		{name: "policy status", req: get("/bkt?policyStatus"), status: 200,
			body: []string{`<PolicyStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsPublic>false</IsPublic></PolicyStatus>`}},
		{name: "cors", req: get("/bkt?cors"), status: 404, code: "NoSuchCORSConfiguration"},
		{name: "encryption", req: get("/bkt?encryption"), status: 404, code: "ServerSideEncryptionConfigurationNotFoundError"},
		{name: "website", req: get("/bkt?website"), status: 404, code: "NoSuchWebsiteConfiguration"},
		{name: "replication", req: get("/bkt?replication"), status: 404, code: "ReplicationConfigurationNotFoundError"},
		{name: "public access block", req: get("/bkt?publicAccessBlock"), status: 404, code: "NoSuchPublicAccessBlockConfiguration"},
		{name: "notification", req: get("/bkt?notification"), status: 200,
			body: []string{`<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></NotificationConfiguration>`}},
		{name: "bucket acl", req: get("/bkt?acl"), status: 200, body: []string{
			`<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>` + rootOwner.ID + `</ID>`,
			`<AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>` + rootOwner.ID + `</ID>`,
			`<Permission>FULL_CONTROL</Permission></Grant></AccessControlList>`}},
		{name: "object acl", req: get("/bkt/obj?acl"), status: 200, calls: []string{"OpenObject"},
			body: []string{"<AccessControlPolicy", "<Permission>FULL_CONTROL</Permission>"}},
		{name: "object acl of the null version", req: get("/bkt/obj?acl&versionId=null"), status: 200},
		{name: "object acl of a missing key", req: get("/bkt/nokey?acl"), status: 404, code: "NoSuchKey"},
		{name: "object acl in a missing bucket", req: get("/bkt/obj?acl"), script: func(l *stubLayer) { l.errs["OpenObject"] = s3api.ErrNoSuchBucket },
			status: 404, code: "NoSuchBucket"},
		{name: "a policy stored by a later version is not answered as none", req: get("/bkt?policy"),
			script: func(l *stubLayer) { l.settings.Docs[s3api.SettingPolicy] = []byte(`{}`) }, status: 501, code: "NotImplemented"},
		{name: "policy from a layer without settings", req: get("/bkt?policy"), plain: true, status: 404, code: "NoSuchBucketPolicy", calls: []string{"HeadBucket"}},
		{name: "settings unconfirmed", req: get("/bkt?cors"), script: func(l *stubLayer) { l.errs["GetBucketSettings"] = s3api.ErrServiceUnavailable },
			status: 503, code: "ServiceUnavailable"},
	}
	for _, r := range nothingSetReads {
		cases = append(cases,
			handlerCase{name: r.api + " of a missing bucket", req: get("/bkt?" + r.sub), script: missing, status: 404, code: "NoSuchBucket"},
			handlerCase{name: r.api + " of a bucket name not valid", req: get("/x?" + r.sub), status: 404, code: "NoSuchBucket", calls: []string{}},
			handlerCase{name: "PUT ?" + r.sub, req: testRequest{method: "PUT", target: "/bkt?" + r.sub, body: "<x/>"}, status: 501, code: "NotImplemented", calls: []string{}},
			handlerCase{name: "DELETE ?" + r.sub, req: testRequest{method: "DELETE", target: "/bkt?" + r.sub}, status: 501, code: "NotImplemented", calls: []string{}},
		)
	}
	runHandlerCases(t, Config{}, cases)
}

// TestBucketLifecycleHandlers: Put/Get/DeleteBucketLifecycleConfiguration
// keep package lifecycle's JSON through the SettingsLayer; S3's checks
// answer MalformedXML or InvalidArgument, transitions NotImplemented.
func TestBucketLifecycleHandlers(t *testing.T) {
	const ns = `<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`
	put := func(rules string) testRequest {
		return testRequest{method: "PUT", target: "/bkt?lifecycle", body: ns + rules + `</LifecycleConfiguration>`}
	}
	stored := func(want string) func(*testing.T, *stubLayer, *httptest.ResponseRecorder) {
		return func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
			c := l.call(t, "PutBucketSetting")
			if c.Bucket != "bkt" || c.Setting != s3api.SettingLifecycle || string(c.Doc) != want {
				t.Errorf("PutBucketSetting(%q, %v, %s), want (bkt, lifecycle, %s)", c.Bucket, c.Setting, c.Doc, want)
			}
		}
	}
	withRules := func(doc string) func(*stubLayer) {
		return func(l *stubLayer) { l.settings.Docs[s3api.SettingLifecycle] = []byte(doc) }
	}
	expire := `<Rule><ID>r1</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>`
	cases := []handlerCase{
		{name: "put", req: put(expire), status: 200, calls: []string{"PutBucketSetting"},
			check: stored(`{"rules":[{"id":"r1","status":"Enabled","filter":{"prefix":"logs/"},"expiration":{"days":3}}]}`)},
		{name: "put malformed", req: put(`<Rule><Status>Sometimes</Status><Expiration><Days>3</Days></Expiration></Rule>`), status: 400, code: "MalformedXML", calls: []string{}},
		{name: "put invalid", req: put(`<Rule><Status>Enabled</Status><Expiration><Days>-1</Days></Expiration></Rule>`), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "put a transition", req: put(`<Rule><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>`),
			status: 501, code: "NotImplemented", calls: []string{}},
		{name: "put to a missing bucket", req: put(expire), script: func(l *stubLayer) { l.errs["PutBucketSetting"] = s3api.ErrNoSuchBucket }, status: 404, code: "NoSuchBucket"},
		{name: "put to a layer without settings", req: put(expire), plain: true, status: 501, code: "NotImplemented"},
		{name: "get", req: testRequest{method: "GET", target: "/bkt?lifecycle"},
			script: withRules(`{"rules":[{"id":"r1","status":"Enabled","filter":{"prefix":"logs/"},"expiration":{"days":3}}]}`), status: 200,
			body: []string{ns + `<Rule><ID>r1</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter><Expiration><Days>3</Days></Expiration></Rule></LifecycleConfiguration>`}},
		{name: "get none", req: testRequest{method: "GET", target: "/bkt?lifecycle"}, status: 404, code: "NoSuchLifecycleConfiguration"},
		{name: "get of a missing bucket", req: testRequest{method: "GET", target: "/bkt?lifecycle"},
			script: func(l *stubLayer) { l.errs["GetBucketSettings"] = s3api.ErrNoSuchBucket }, status: 404, code: "NoSuchBucket"},
		{name: "delete", req: testRequest{method: "DELETE", target: "/bkt?lifecycle"}, status: 204, check: stored("")},
	}
	runHandlerCases(t, Config{}, cases)
}
