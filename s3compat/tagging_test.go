package s3compat

import (
	"errors"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// TestParseTagHeader: x-amz-tagging's URL-encoded tag set, in order, with
// S3's object tag rules.
func TestParseTagHeader(t *testing.T) {
	rows := []struct {
		in   string
		want []s3api.Tag
		err  error
	}{
		{in: "a=1&b=2", want: []s3api.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}},
		{in: "k%20x=v%2Bw&empty=", want: []s3api.Tag{{Key: "k x", Value: "v+w"}, {Key: "empty", Value: ""}}},
		{in: "only", want: []s3api.Tag{{Key: "only", Value: ""}}},
		{in: "a=1&a=2", err: s3api.ErrInvalidTag},
		{in: "aws:x=1", err: s3api.ErrInvalidTag},
		{in: "=v", err: s3api.ErrInvalidTag},
		{in: "a=%zz", err: s3api.ErrInvalidTag},
		{in: "a=1&b=1&c=1&d=1&e=1&f=1&g=1&h=1&i=1&j=1&k=1", err: s3api.ErrInvalidTag},
	}
	for _, r := range rows {
		got, err := parseTagHeader(r.in)
		if !errors.Is(err, r.err) || (r.err == nil) != (err == nil) {
			t.Fatalf("%q: error %v, want %v", r.in, err, r.err)
		}
		if r.err == nil && (len(got) != len(r.want) || func() bool {
			for i := range got {
				if got[i] != r.want[i] {
					return true
				}
			}
			return false
		}()) {
			t.Fatalf("%q: %+v, want %+v", r.in, got, r.want)
		}
	}
}

// FuzzParseTagHeader: any header value parses to a valid tag set or an
// InvalidTag error, never a panic.
func FuzzParseTagHeader(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "k%20x=v", "a=1&a=2", "=", "%", "&&&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := parseTagHeader(s)
		if err != nil {
			if !errors.Is(err, s3api.ErrInvalidTag) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if err := s3api.CheckTags(tags, s3api.MaxObjectTags); err != nil {
			t.Fatalf("%q parsed to tags that break the rules: %v", s, err)
		}
	})
}
