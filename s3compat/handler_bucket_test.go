package s3compat

import (
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// TestBucketHandlers: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
// GetBucketLocation and GetBucketVersioning.
func TestBucketHandlers(t *testing.T) {
	req := func(method, target string) testRequest { return testRequest{method: method, target: target} }
	bucketArg := func(method, bucket string) func(*testing.T, *stubLayer, *httptest.ResponseRecorder) {
		return func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
			if c := l.call(t, method); c.Bucket != bucket {
				t.Errorf("%s(%q), want %q", method, c.Bucket, bucket)
			}
		}
	}
	cases := []handlerCase{
		{name: "list buckets", req: req("GET", "/"), script: func(l *stubLayer) {
			l.buckets = []s3api.BucketInfo{{Name: "b1", Created: stubModTime}, {Name: "b2", Created: stubModTime}}
		}, status: 200, calls: []string{"ListBuckets"}, header: hdrs("Content-Type", "application/xml"),
			body: []string{"<ListAllMyBucketsResult", "<Owner><ID>", "<Bucket><Name>b1</Name><CreationDate>2026-03-04T05:06:07.000Z</CreationDate></Bucket>", "<Name>b2</Name>"}},
		{name: "list no buckets", req: req("GET", "/"), status: 200, body: []string{"<Buckets></Buckets>"}},
		{name: "list buckets fails", req: req("GET", "/"), script: func(l *stubLayer) { l.errs["ListBuckets"] = s3api.ErrServiceUnavailable },
			status: 503, code: "ServiceUnavailable"},
		{name: "POST /", req: req("POST", "/"), status: 501, code: "NotImplemented", calls: []string{}},

		{name: "create", req: req("PUT", "/newbkt"), status: 200, header: hdrs("Location", "/newbkt"), calls: []string{"MakeBucket"},
			check: bucketArg("MakeBucket", "newbkt")},
		{name: "create with a location", req: testRequest{method: "PUT", target: "/newbkt",
			body: `<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`}, status: 200},
		{name: "create in another region", req: testRequest{method: "PUT", target: "/newbkt",
			body: `<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`},
			status: 400, code: "IllegalLocationConstraintException", calls: []string{}, body: []string{"The eu-west-1 location constraint is incompatible"}},
		{name: "create in the server's region", cfg: func(c *Config) { c.Region = "eu-west-1" }, req: testRequest{method: "PUT", target: "/newbkt",
			body: `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`},
			status: 200, calls: []string{"MakeBucket"}},
		{name: "create in EU, the server's eu-west-1", cfg: func(c *Config) { c.Region = "eu-west-1" }, req: testRequest{method: "PUT", target: "/newbkt",
			body: `<CreateBucketConfiguration><LocationConstraint>EU</LocationConstraint></CreateBucketConfiguration>`}, status: 200},
		{name: "create in us-east-1 on an eu-west-1 server", cfg: func(c *Config) { c.Region = "eu-west-1" }, req: testRequest{method: "PUT", target: "/newbkt",
			body: `<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`},
			status: 400, code: "IllegalLocationConstraintException", calls: []string{}},
		{name: "create with no constraint", req: testRequest{method: "PUT", target: "/newbkt", body: `<CreateBucketConfiguration/>`}, status: 200},
		{name: "create with tags", req: testRequest{method: "PUT", target: "/newbkt",
			body: `<CreateBucketConfiguration><Tags><Tag><Key>a</Key><Value>b</Value></Tag></Tags></CreateBucketConfiguration>`},
			status: 501, code: "NotImplemented", calls: []string{}},
		{name: "create a directory bucket", req: testRequest{method: "PUT", target: "/newbkt",
			body: `<CreateBucketConfiguration><Location><Name>usw2-az1</Name><Type>AvailabilityZone</Type></Location>` +
				`<Bucket><DataRedundancy>SingleAvailabilityZone</DataRedundancy><Type>Directory</Type></Bucket></CreateBucketConfiguration>`},
			status: 501, code: "NotImplemented", calls: []string{}},
		{name: "create with malformed XML", req: testRequest{method: "PUT", target: "/newbkt", body: `<CreateBucketConfiguration>`},
			status: 400, code: "MalformedXML", calls: []string{}},
		{name: "create twice", req: req("PUT", "/bkt"), script: func(l *stubLayer) { l.errs["MakeBucket"] = s3api.ErrBucketAlreadyOwnedByYou },
			status: 409, code: "BucketAlreadyOwnedByYou"},
		{name: "create with object lock", req: testRequest{method: "PUT", target: "/newbkt", header: hdrs("x-amz-bucket-object-lock-enabled", "true")},
			status: 501, code: "NotImplemented", calls: []string{}},
		{name: "create with object lock false", req: testRequest{method: "PUT", target: "/newbkt", header: hdrs("x-amz-bucket-object-lock-enabled", "false")},
			status: 200},
		{name: "put bucket versioning", req: testRequest{method: "PUT", target: "/bkt?versioning",
			body: `<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`}, status: 200, calls: []string{"PutBucketSetting"},
			check: func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
				if c := l.call(t, "PutBucketSetting"); c.Setting != s3api.SettingVersioning || string(c.Doc) != `{"status":"Enabled"}` {
					t.Errorf("PutBucketSetting(%v, %s)", c.Setting, c.Doc)
				}
			}},
		{name: "suspend bucket versioning", req: testRequest{method: "PUT", target: "/bkt?versioning",
			body: `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Suspended</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>`},
			status: 200, calls: []string{"GetBucketSettings", "PutBucketSetting"}},
		{name: "versioning refused by the layer", req: testRequest{method: "PUT", target: "/bkt?versioning",
			body: `<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`},
			script: func(l *stubLayer) { l.errs["PutBucketSetting"] = s3api.ErrNotImplemented }, status: 501, code: "NotImplemented"},
		{name: "versioning status not valid", req: testRequest{method: "PUT", target: "/bkt?versioning",
			body: `<VersioningConfiguration><Status>Off</Status></VersioningConfiguration>`}, status: 400, code: "IllegalVersioningConfigurationException", calls: []string{}},
		{name: "versioning with MFA delete", req: testRequest{method: "PUT", target: "/bkt?versioning",
			body: `<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>`}, status: 501, code: "NotImplemented", calls: []string{}},
		{name: "versioning malformed", req: testRequest{method: "PUT", target: "/bkt?versioning", body: `<VersioningConfiguration>`},
			status: 400, code: "MalformedXML", calls: []string{}},
		{name: "versioning enabled", req: req("GET", "/bkt?versioning"), script: func(l *stubLayer) {
			l.settings.Docs[s3api.SettingVersioning] = []byte(`{"status":"Enabled"}`)
		}, status: 200, body: []string{"<Status>Enabled</Status>"}},

		{name: "head", req: req("HEAD", "/bkt"), status: 200, header: hdrs("x-amz-bucket-region", "us-east-1"), calls: []string{"HeadBucket"}},
		{name: "head missing", req: req("HEAD", "/nobkt"), script: func(l *stubLayer) { l.errs["HeadBucket"] = s3api.ErrNoSuchBucket }, status: 404, code: ""},
		{name: "head name not valid", req: req("HEAD", "/no_such"), status: 404, code: "", calls: []string{}},

		{name: "delete", req: req("DELETE", "/bkt"), status: 204, calls: []string{"DeleteBucket"}, check: bucketArg("DeleteBucket", "bkt")},
		{name: "delete not empty", req: req("DELETE", "/bkt"), script: func(l *stubLayer) { l.errs["DeleteBucket"] = s3api.ErrBucketNotEmpty },
			status: 409, code: "BucketNotEmpty"},
		{name: "delete missing", req: req("DELETE", "/nobkt"), script: func(l *stubLayer) { l.errs["DeleteBucket"] = s3api.ErrNoSuchBucket },
			status: 404, code: "NoSuchBucket"},
		{name: "delete name not valid", req: req("DELETE", "/x"), status: 404, code: "NoSuchBucket", calls: []string{}},

		{name: "location us-east-1 is empty", req: req("GET", "/bkt?location"), status: 200, calls: []string{"HeadBucket"},
			body: []string{`<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>`}},
		{name: "location of another region", req: req("GET", "/bkt?location"), cfg: func(c *Config) { c.Region = "eu-west-1" }, status: 200,
			body: []string{">eu-west-1</LocationConstraint>"}},
		{name: "location of a missing bucket", req: req("GET", "/nobkt?location"), script: func(l *stubLayer) { l.errs["HeadBucket"] = s3api.ErrNoSuchBucket },
			status: 404, code: "NoSuchBucket"},
		{name: "versioning never enabled", req: req("GET", "/bkt?versioning"), status: 200,
			body: []string{"<VersioningConfiguration", "!<Status>"}},
		{name: "versioning of a missing bucket", req: req("GET", "/nobkt?versioning"), script: func(l *stubLayer) { l.errs["GetBucketSettings"] = s3api.ErrNoSuchBucket },
			status: 404, code: "NoSuchBucket"},
	}
	for _, name := range []string{"ab", "UpperCase", "under_score", "-leading-dash", "trailing-dash-", "double..dot", "192.168.1.1",
		strings.Repeat("a", 64), "dot.-dash"} {
		cases = append(cases, handlerCase{name: "create " + name, req: req("PUT", "/"+name), status: 400, code: "InvalidBucketName", calls: []string{}})
	}
	runHandlerCases(t, Config{}, cases)
}

// TestListObjectsHandler: ListObjects (v1) and ListObjectsV2 turn their
// query into ListParams and the layer's page into S3's XML.
func TestListObjectsHandler(t *testing.T) {
	list := func(target string) testRequest { return testRequest{method: "GET", target: target} }
	params := func(want s3api.ListParams) func(*testing.T, *stubLayer, *httptest.ResponseRecorder) {
		return func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
			if c := l.call(t, "ListObjects"); c.Bucket != "bkt" || c.List != want {
				t.Errorf("ListObjects(%q, %+v), want %+v", c.Bucket, c.List, want)
			}
		}
	}
	page := func(l *stubLayer) {
		l.list = s3api.ListResult{
			Objects: []s3api.ObjectInfo{
				{Key: "dir/a", Size: 3, ETag: "e1", ModTime: stubModTime, ContentType: "text/a", UserMeta: map[string]string{"color": "red"}},
				{Key: "dir/b c", Size: 5, ETag: "e2", ModTime: stubModTime},
			},
			Prefixes: []string{"dir/sub/"}, IsTruncated: true, NextAfter: "dir/sub/",
		}
	}
	token := base64.RawURLEncoding.EncodeToString([]byte("dir/sub/"))
	cases := []handlerCase{
		{name: "v1 defaults", req: list("/bkt"), status: 200, calls: []string{"HeadBucket", "ListObjects"},
			check: params(s3api.ListParams{MaxKeys: 1000}), body: []string{"<ListBucketResult", "<Name>bkt</Name>", "<MaxKeys>1000</MaxKeys>", "<IsTruncated>false</IsTruncated>"}},
		{name: "v1 query", req: list("/bkt?prefix=dir%2F&delimiter=%2F&marker=dir%2Fa&max-keys=2"), script: page, status: 200,
			check: params(s3api.ListParams{Prefix: "dir/", Delimiter: "/", After: "dir/a", MaxKeys: 2}),
			body: []string{"<Prefix>dir/</Prefix>", "<Marker>dir/a</Marker>", "<Delimiter>/</Delimiter>", "<MaxKeys>2</MaxKeys>",
				"<IsTruncated>true</IsTruncated>", "<NextMarker>dir/sub/</NextMarker>",
				"<Key>dir/a</Key>", "<Size>3</Size>", "<StorageClass>STANDARD</StorageClass>", "<Owner><ID>", xmlETag("e1"),
				"<LastModified>2026-03-04T05:06:07.000Z</LastModified>", "<Key>dir/b c</Key>", "<CommonPrefixes><Prefix>dir/sub/</Prefix></CommonPrefixes>"}},
		{name: "v1 truncated without a delimiter has no NextMarker", req: list("/bkt?max-keys=2"), script: page, status: 200,
			body: []string{"<IsTruncated>true</IsTruncated>", "!<NextMarker>"}},
		{name: "v1 max-keys over 1000", req: list("/bkt?max-keys=5000"), status: 200, check: params(s3api.ListParams{MaxKeys: 1000})},
		{name: "v1 max-keys 0 asks nothing", req: list("/bkt?max-keys=0"), status: 200, calls: []string{"HeadBucket"},
			body: []string{"<MaxKeys>0</MaxKeys>", "<IsTruncated>false</IsTruncated>"}},
		{name: "v1 max-keys negative", req: list("/bkt?max-keys=-1"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "v1 max-keys not a number", req: list("/bkt?max-keys=ten"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "v1 encoding-type url", req: list("/bkt?encoding-type=url&prefix=dir%2F"), script: page, status: 200,
			body: []string{"<EncodingType>url</EncodingType>", "<Key>dir%2Fb+c</Key>", "<Prefix>dir%2F</Prefix>"}},
		{name: "v1 encoding-type unknown", req: list("/bkt?encoding-type=base64"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "v1 unsorted", req: list("/bkt?unsorted=true"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "v1 missing bucket", req: list("/nobkt"), script: func(l *stubLayer) { l.errs["HeadBucket"] = s3api.ErrNoSuchBucket },
			status: 404, code: "NoSuchBucket", calls: []string{"HeadBucket"}},
		{name: "v1 bucket name not valid", req: list("/No"), status: 404, code: "NoSuchBucket", calls: []string{}},
		{name: "v1 layer fails", req: list("/bkt"), script: func(l *stubLayer) { l.errs["ListObjects"] = errors.New("index corrupt") },
			status: 500, code: "InternalError", body: []string{"!corrupt"}},
		{name: "control characters in keys", req: list("/bkt?prefix=ctl"), script: func(l *stubLayer) {
			l.list.Objects = []s3api.ObjectInfo{{Key: "ctl\x01key", ModTime: stubModTime}}
		}, status: 200, body: []string{"<Key>ctl&#x1;key</Key>"}},

		{name: "v2 defaults", req: list("/bkt?list-type=2"), status: 200, check: params(s3api.ListParams{MaxKeys: 1000}),
			body: []string{"<ListBucketResult", "<KeyCount>0</KeyCount>", "!<ContinuationToken>", "!<StartAfter>"}},
		{name: "v2 page", req: list("/bkt?list-type=2&prefix=dir%2F&delimiter=%2F&max-keys=3"), script: page, status: 200,
			check: params(s3api.ListParams{Prefix: "dir/", Delimiter: "/", MaxKeys: 3}),
			body: []string{"<KeyCount>3</KeyCount>", "<NextContinuationToken>" + token + "</NextContinuationToken>", "<IsTruncated>true</IsTruncated>",
				"<Key>dir/a</Key>", "!<Owner>", "!<UserMetadata>"}},
		{name: "v2 continuation token", req: list("/bkt?list-type=2&continuation-token=" + token + "&start-after=dir%2Fa"), status: 200,
			check: params(s3api.ListParams{After: "dir/sub/", MaxKeys: 1000}),
			body:  []string{"<ContinuationToken>" + token + "</ContinuationToken>", "<StartAfter>dir/a</StartAfter>"}},
		{name: "v2 start-after", req: list("/bkt?list-type=2&start-after=sum%2FCRC32"), status: 200,
			check: params(s3api.ListParams{After: "sum/CRC32", MaxKeys: 1000})},
		{name: "v2 continuation token not base64", req: list("/bkt?list-type=2&continuation-token=%25%25"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "v2 continuation token empty", req: list("/bkt?list-type=2&continuation-token="), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "v2 fetch-owner", req: list("/bkt?list-type=2&fetch-owner=true"), script: page, status: 200, body: []string{"<Owner><ID>"}},
		{name: "v2 metadata=true", req: list("/bkt?list-type=2&metadata=true"), script: page, status: 200,
			body: []string{"<UserMetadata><X-Amz-Meta-Color>red</X-Amz-Meta-Color><content-type>text/a</content-type></UserMetadata>"}},
		{name: "v2 unsorted", req: list("/bkt?list-type=2&unsorted=true"), status: 200},
		{name: "v2 unsorted with start-after", req: list("/bkt?list-type=2&unsorted=true&start-after=a"), status: 400, code: "InvalidArgument", calls: []string{}},
		{name: "v2 missing bucket", req: list("/nobkt?list-type=2"), script: func(l *stubLayer) { l.errs["HeadBucket"] = s3api.ErrNoSuchBucket },
			status: 404, code: "NoSuchBucket"},
		{name: "v2 control characters in keys", req: list("/bkt?list-type=2&prefix=ctl"), script: func(l *stubLayer) {
			l.list.Objects = []s3api.ObjectInfo{{Key: "ctl\x01key", ModTime: stubModTime}}
		}, status: 200, body: []string{"<Key>ctl&#x1;key</Key>"}},

		{name: "object versions", req: list("/bkt?versions"), status: 501, code: "NotImplemented", calls: []string{}},
		{name: "unsorted versions", req: list("/bkt?versions&unsorted=true"), status: 400, code: "InvalidArgument", calls: []string{}},
	}
	runHandlerCases(t, Config{}, cases)
}

// withHeader returns tr with one more header.
func withHeader(tr testRequest, name, value string) testRequest {
	h := map[string]string{name: value}
	for k, v := range tr.header {
		h[k] = v
	}
	tr.header = h
	return tr
}

// TestDeleteObjectsHandler: DeleteObjects reads a bounded XML list and
// answers each key's outcome; a failure of one key is an <Error> entry of
// a 200, never the whole request's error. A Content-MD5 sent is checked
// before any key is deleted.
func TestDeleteObjectsHandler(t *testing.T) {
	del := func(body string) testRequest {
		return testRequest{method: "POST", target: "/bkt?delete", body: body}
	}
	keys := func(ks ...string) string {
		var b strings.Builder
		b.WriteString("<Delete>")
		for _, k := range ks {
			fmt.Fprintf(&b, "<Object><Key>%s</Key></Object>", k)
		}
		b.WriteString("</Delete>")
		return b.String()
	}
	deleted := func(want ...string) func(*testing.T, *stubLayer, *httptest.ResponseRecorder) {
		return func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
			var got []string
			for _, c := range l.calls {
				if c.Method == "DeleteObject" {
					got = append(got, c.Bucket+"/"+c.Key)
				}
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("deleted %v, want %v", got, want)
			}
		}
	}
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf("k%d", i)
	}
	cases := []handlerCase{
		{name: "two keys", req: del(keys("a", "b c")), status: 200, calls: []string{"HeadBucket", "DeleteObject", "DeleteObject"},
			check: deleted("bkt/a", "bkt/b c"), body: []string{"<DeleteResult", "<Deleted><Key>a</Key></Deleted>", "<Deleted><Key>b c</Key></Deleted>", "!<Error>"}},
		{name: "missing key is deleted", req: del(keys("never-existed")), status: 200, body: []string{"<Deleted><Key>never-existed</Key></Deleted>"}},
		{name: "quiet", req: del(`<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object></Delete>`), status: 200, check: deleted("bkt/a"),
			body: []string{"!<Deleted>"}},
		{name: "one key fails", req: del(keys("a", "locked", "b")), script: func(l *stubLayer) {
			l.deleteErrOf = map[string]error{"locked": s3api.ErrAccessDenied}
		}, status: 200, check: deleted("bkt/a", "bkt/locked", "bkt/b"),
			body: []string{"<Deleted><Key>a</Key></Deleted>", "<Error><Key>locked</Key><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>", "<Deleted><Key>b</Key></Deleted>"}},
		{name: "one key fails inside", req: del(keys("a", "bad")), script: func(l *stubLayer) {
			l.deleteErrOf = map[string]error{"bad": errors.New("drive gone")}
		}, status: 200, errLog: true, body: []string{"<Error><Key>bad</Key><Code>InternalError</Code>", "!drive gone"}},
		{name: "a version", req: del(`<Delete><Object><Key>a</Key><VersionId>v1</VersionId></Object><Object><Key>b</Key><VersionId>null</VersionId></Object></Delete>`),
			status: 200, check: deleted("bkt/b"), body: []string{"<Error><Key>a</Key><VersionId>v1</VersionId><Code>NotImplemented</Code>", "<Deleted><Key>b</Key><VersionId>null</VersionId></Deleted>"}},
		{name: "an empty key", req: del(keys("")), status: 200, check: deleted(), body: []string{"<Code>InvalidObjectName</Code>"}},
		{name: "a key too long", req: del(keys(strings.Repeat("k", 1025))), status: 200, check: deleted(), body: []string{"<Code>KeyTooLongError</Code>"}},
		{name: "Content-MD5 of another body", req: withHeader(del(keys("a", "b")), "Content-MD5", b64sum(md5.New(), keys("a"))),
			status: 400, code: "BadDigest", check: deleted()},
		{name: "Content-MD5 not an MD5", req: withHeader(del(keys("a")), "Content-MD5", "AAAA"), status: 400, code: "InvalidDigest", check: deleted()},
		{name: "Content-MD5 of the body", req: withHeader(del(keys("a")), "Content-MD5", b64sum(md5.New(), keys("a"))), status: 200, check: deleted("bkt/a")},
		{name: "malformed XML", req: del(`<Delete><Object><Key>a</Key></Delete>`), status: 400, code: "MalformedXML", calls: []string{"HeadBucket"}},
		{name: "not XML", req: del(`{"keys": ["a"]}`), status: 400, code: "MalformedXML"},
		{name: "no body", req: del(""), status: 400, code: "MissingRequestBodyError"},
		{name: "no keys", req: del(`<Delete></Delete>`), status: 400, code: "MalformedXML"},
		{name: "1001 keys", req: del(keys(many...)), status: 400, code: "MalformedXML", check: deleted()},
		{name: "1000 keys", req: del(keys(many[:1000]...)), status: 200, check: func(t *testing.T, l *stubLayer, _ *httptest.ResponseRecorder) {
			if n := len(l.methods()); n != 1001 {
				t.Errorf("%d layer calls, want HeadBucket and 1000 deletes", n)
			}
		}},
		{name: "body over 4 MiB", req: del(strings.Repeat(" ", maxXMLBody+1)), status: 400, code: "MalformedXML"},
		{name: "missing bucket", req: del(keys("a")), script: func(l *stubLayer) { l.errs["HeadBucket"] = s3api.ErrNoSuchBucket },
			status: 404, code: "NoSuchBucket", calls: []string{"HeadBucket"}},
		{name: "POST to a bucket without ?delete", req: testRequest{method: "POST", target: "/bkt", body: keys("a")}, status: 501, code: "NotImplemented", calls: []string{}},
	}
	runHandlerCases(t, Config{}, cases)
}
