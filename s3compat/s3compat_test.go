package s3compat

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		h           string
		size        int64
		start, n    int64
		none, unsat bool
	}{
		{h: "", size: 10, none: true},
		{h: "bytes=0-0", size: 10, start: 0, n: 1},
		{h: "bytes=0-9", size: 10, start: 0, n: 10},
		{h: "bytes=0-100", size: 10, start: 0, n: 10},
		{h: "bytes=5-", size: 10, start: 5, n: 5},
		{h: "bytes=-3", size: 10, start: 7, n: 3},
		{h: "bytes=-30", size: 10, start: 0, n: 10},
		{h: "bytes=9-9", size: 10, start: 9, n: 1},
		{h: "bytes=10-", size: 10, unsat: true},
		{h: "bytes=10-20", size: 10, unsat: true},
		{h: "bytes=-0", size: 10, unsat: true},
		{h: "bytes=0-", size: 0, unsat: true},
		{h: "bytes=5-4", size: 10, none: true},
		{h: "bytes=a-b", size: 10, none: true},
		{h: "bytes=0-1,3-4", size: 10, none: true},
		{h: "items=0-1", size: 10, none: true},
		{h: "bytes=-", size: 10, none: true},
	}
	for _, tt := range tests {
		r, err := parseRange(tt.h, tt.size)
		switch {
		case tt.unsat:
			if !errors.Is(err, s3api.ErrInvalidRange) {
				t.Errorf("%q/%d: got %+v %v, want InvalidRange", tt.h, tt.size, r, err)
			}
		case tt.none:
			if r != nil || err != nil {
				t.Errorf("%q/%d: got %+v %v, want whole object", tt.h, tt.size, r, err)
			}
		default:
			if err != nil || r == nil || r.Start != tt.start || r.Length != tt.n {
				t.Errorf("%q/%d: got %+v %v, want %d+%d", tt.h, tt.size, r, err, tt.start, tt.n)
			}
		}
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=-5", "bytes=7-", "bytes=1-2,3-4", "bytes=99999999999999999999-"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		r, err := parseRange(h, size)
		if err != nil || r == nil {
			return
		}
		if r.Start < 0 || r.Length <= 0 || r.Start+r.Length > size {
			t.Fatalf("range %q on %d bytes resolved to %+v", h, size, r)
		}
	})
}

func TestValidBucketName(t *testing.T) {
	good := []string{"abc", "my-bucket", "my.bucket.1", "a23456789012345678901234567890123456789012345678901234567890123"}
	bad := []string{"", "ab", "ABC", "my_bucket", "-abc", "abc-", ".abc", "a..b", "a.-b", "192.168.1.1", "../x", "a/b",
		"a234567890123456789012345678901234567890123456789012345678901234"}
	for _, b := range good {
		if !s3api.ValidBucketName(b) {
			t.Errorf("%q refused", b)
		}
	}
	for _, b := range bad {
		if s3api.ValidBucketName(b) {
			t.Errorf("%q accepted", b)
		}
	}
}

func TestCheckKey(t *testing.T) {
	long := make([]byte, 1025)
	for i := range long {
		long[i] = 'a'
	}
	if checkKey(string(long[:1024])) != nil || !errors.Is(checkKey(string(long)), s3api.ErrKeyTooLong) {
		t.Error("key length limit is not 1024 bytes")
	}
	for _, k := range []string{"../x", "a//b/", " spaced + %41", "日本語/キー"} {
		if err := checkKey(k); err != nil {
			t.Errorf("%q refused: %v", k, err)
		}
	}
	for _, k := range []string{"", "bad\xff", "nul\x00"} {
		if checkKey(k) == nil {
			t.Errorf("%q accepted", k)
		}
	}
}

func TestPreconditions(t *testing.T) {
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	info := s3api.ObjectInfo{ETag: "abc", ModTime: mod}
	before, after := mod.Add(-time.Hour).Format(http.TimeFormat), mod.Add(time.Hour).Format(http.TimeFormat)
	tests := []struct {
		h    map[string]string
		want error
	}{
		{map[string]string{}, nil},
		{map[string]string{"If-Match": `"abc"`}, nil},
		{map[string]string{"If-Match": `"xyz"`}, s3api.ErrPreconditionFailed},
		{map[string]string{"If-None-Match": `"abc"`}, s3api.ErrNotModified},
		{map[string]string{"If-None-Match": `"xyz"`}, nil},
		{map[string]string{"If-Modified-Since": after}, s3api.ErrNotModified},
		{map[string]string{"If-Modified-Since": before}, nil},
		{map[string]string{"If-Unmodified-Since": before}, s3api.ErrPreconditionFailed},
		{map[string]string{"If-Unmodified-Since": after}, nil},
		// If-Match wins over If-Unmodified-Since, as S3 does.
		{map[string]string{"If-Match": `"abc"`, "If-Unmodified-Since": before}, nil},
		// If-None-Match wins over If-Modified-Since.
		{map[string]string{"If-None-Match": `"xyz"`, "If-Modified-Since": after}, nil},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.h {
			h.Set(k, v)
		}
		got := checkPreconditions(h, "", info)
		if got != tt.want && !errors.Is(got, tt.want) {
			t.Errorf("%v: got %v, want %v", tt.h, got, tt.want)
		}
	}
	// Copy-source conditions answer 412 where GET would answer 304.
	h := http.Header{"X-Amz-Copy-Source-If-None-Match": {`"abc"`}}
	if err := checkPreconditions(h, "x-amz-copy-source-", info); !errors.Is(err, s3api.ErrPreconditionFailed) {
		t.Errorf("copy-source if-none-match: %v", err)
	}
}

func TestErrorTable(t *testing.T) {
	for code, status := range map[string]int{"NoSuchKey": 404, "NoSuchBucket": 404, "InvalidRange": 416, "SignatureDoesNotMatch": 403,
		"InvalidAccessKeyId": 403, "AccessDenied": 403, "BucketAlreadyOwnedByYou": 409, "BucketNotEmpty": 409,
		"InvalidBucketName": 400, "EntityTooLarge": 400, "BadDigest": 400, "NotImplemented": 501, "InvalidArgument": 400} {
		if c, ok := s3api.ErrorCodeOf(code); !ok || c.HTTPStatus() != status {
			t.Errorf("%s: %v %v, want status %d", code, c, ok, status)
		}
	}
}

func TestSplitPath(t *testing.T) {
	for p, want := range map[string][2]string{
		"/":              {"", ""},
		"/b":             {"b", ""},
		"/b/":            {"b", ""},
		"/b/k":           {"b", "k"},
		"/b//k/":         {"b", "/k/"},
		"/b/a/../../etc": {"b", "a/../../etc"},
	} {
		b, k := splitPath(p)
		if b != want[0] || k != want[1] {
			t.Errorf("%q: got %q %q, want %q", p, b, k, want)
		}
	}
}
