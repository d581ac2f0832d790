package s3compat

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// versionsLayer is the stub layer with a scripted ListObjectVersions.
type versionsLayer struct {
	*stubLayer
	res s3api.ListVersionsResult
	err error
	got []s3api.ListVersionsParams
}

func (l *versionsLayer) ListObjectVersions(_ context.Context, _ string, p s3api.ListVersionsParams) (s3api.ListVersionsResult, error) {
	l.got = append(l.got, p)
	return l.res, l.err
}

// TestListObjectVersionsHandler: the query becomes ListVersionsParams;
// versions and delete markers are written in the layer's order, each
// under its own element; markers, encoding and bad parameters.
func TestListObjectVersionsHandler(t *testing.T) {
	page := s3api.ListVersionsResult{
		Versions: []s3api.VersionInfo{
			{Key: "a b", VersionID: "null", IsLatest: true, Size: 3, ETag: "e1", ModTime: stubModTime},
			{Key: "k", VersionID: "v2", IsLatest: true, DeleteMarker: true, ModTime: stubModTime},
			{Key: "k", VersionID: "v1", Size: 5, ETag: "e2", ModTime: stubModTime},
		},
		Prefixes: []string{"p/"}, IsTruncated: true, NextKeyMarker: "k", NextVersionIDMarker: "v1",
	}
	cases := []struct {
		name, target string
		status       int
		code         string
		want         []string
		params       *s3api.ListVersionsParams
	}{
		{name: "page", target: "/bkt?versions&prefix=&delimiter=/&key-marker=a&version-id-marker=null&max-keys=3", status: 200,
			params: &s3api.ListVersionsParams{Delimiter: "/", KeyMarker: "a", VersionIDMarker: "null", MaxKeys: 3},
			want: []string{"<ListVersionsResult xmlns=", "<KeyMarker>a</KeyMarker><VersionIdMarker>null</VersionIdMarker>",
				"<NextKeyMarker>k</NextKeyMarker><NextVersionIdMarker>v1</NextVersionIdMarker>", "<IsTruncated>true</IsTruncated>",
				"<Version><Key>a b</Key><VersionId>null</VersionId><IsLatest>true</IsLatest><LastModified>2026-03-04T05:06:07.000Z</LastModified><ETag>&#34;e1&#34;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass><Owner>",
				"</Version><DeleteMarker><Key>k</Key><VersionId>v2</VersionId><IsLatest>true</IsLatest>",
				"</DeleteMarker><Version><Key>k</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest>",
				"<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>"}},
		{name: "url encoding", target: "/bkt?versions&encoding-type=url", status: 200,
			params: &s3api.ListVersionsParams{MaxKeys: 1000},
			want:   []string{"<Key>a+b</Key>", "<EncodingType>url</EncodingType>"}},
		{name: "version marker without key marker", target: "/bkt?versions&version-id-marker=v1", status: 400, code: "InvalidArgument"},
		{name: "bad max-keys", target: "/bkt?versions&max-keys=-1", status: 400, code: "InvalidArgument"},
		{name: "bad encoding", target: "/bkt?versions&encoding-type=zip", status: 400, code: "InvalidArgument"},
		{name: "unsorted", target: "/bkt?versions&unsorted=true", status: 400, code: "InvalidArgument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := &versionsLayer{stubLayer: newStubLayer(), res: page}
			s, _ := newTestServer(l, Config{})
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, testRequest{method: "GET", target: tc.target}.build("127.0.0.1:9000"))
			if code := s3ErrorCode(rec.Body.Bytes()); rec.Code != tc.status || code != tc.code {
				t.Fatalf("got %d %q, want %d %q; body %s", rec.Code, code, tc.status, tc.code, rec.Body)
			}
			for _, w := range tc.want {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("body lacks %q:\n%s", w, rec.Body)
				}
			}
			if tc.params != nil && (len(l.got) != 1 || l.got[0] != *tc.params) {
				t.Errorf("params %+v, want %+v", l.got, *tc.params)
			}
			if tc.params == nil && len(l.got) != 0 {
				t.Errorf("the layer was asked: %+v", l.got)
			}
		})
	}
	// A layer that cannot list versions says so.
	s, _ := newTestServer(newStubLayer(), Config{})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, testRequest{method: "GET", target: "/bkt?versions"}.build("127.0.0.1:9000"))
	if rec.Code != 501 {
		t.Fatalf("versions from a layer without them: %d %s", rec.Code, rec.Body)
	}
}
