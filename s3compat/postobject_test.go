package s3compat

import (
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

func TestPostPolicy(t *testing.T) {
	policy := func(doc string) string { return base64.StdEncoding.EncodeToString([]byte(doc)) }
	const conds = `{"expiration":"2030-01-01T00:00:00.000Z","conditions":[{"bucket":"b"},["starts-with","$key","up/"],` +
		`["eq","$Content-Type","text/plain"],["content-length-range",1,10],{"x-amz-meta-a":"1"}]}`
	fields := func(kv ...string) map[string]string {
		m := map[string]string{"key": "up/x", "content-type": "text/plain", "x-amz-meta-a": "1", "policy": "p", "x-amz-signature": "s"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	p, err := parsePostPolicy(policy(conds))
	if err != nil {
		t.Fatal(err)
	}
	if p.minSize != 1 || p.maxSize != 10 || p.expiration.Year() != 2030 {
		t.Fatalf("parsed %+v", p)
	}
	tests := []struct {
		name   string
		bucket string
		fields map[string]string
		want   string // "" = pass, else a substring of the error
	}{
		{"all conditions hold", "b", fields(), ""},
		{"x-ignore- fields need no condition", "b", fields("x-ignore-me", "1"), ""},
		{"wrong bucket", "c", fields(), "[eq, $bucket, b]"},
		{"key outside the prefix", "b", fields("key", "down/x"), "[starts-with, $key, up/]"},
		{"wrong content type", "b", fields("content-type", "text/html"), "[eq, $Content-Type, text/plain]"},
		{"missing field", "b", map[string]string{"key": "up/x", "content-type": "text/plain"}, "$x-amz-meta-a"},
		{"field no condition names", "b", fields("x-amz-meta-b", "2"), "Extra input fields: x-amz-meta-b"},
	}
	for _, tc := range tests {
		names := map[string]string{}
		for k := range tc.fields {
			names[k] = k
		}
		err := p.check(tc.bucket, tc.fields, names)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, s3api.ErrAccessDenied)):
			t.Errorf("%s: error %v, want AccessDenied with %q", tc.name, err, tc.want)
		}
	}
	for _, bad := range []string{
		"not base64!",
		policy(`{"conditions":[]}`),
		policy(`{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","key","x"]]}`),
		policy(`{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",10,1]]}`),
		policy(`{"expiration":"2030-01-01T00:00:00Z","conditions":[["matches","$key","x"]]}`),
		policy(`{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","$key"]]}`),
	} {
		if _, err := parsePostPolicy(bad); !errors.Is(err, s3api.ErrInvalidPolicyDocument) {
			t.Errorf("parsePostPolicy(%q) = %v, want InvalidPolicyDocument", bad, err)
		}
	}
}

func TestPostFileLimitsAndChecksum(t *testing.T) {
	p := &postPolicy{minSize: 2, maxSize: 5}
	read := func(data string, fields map[string]string) error {
		f, err := postBody(strings.NewReader(data), fields, p)
		if err != nil {
			return err
		}
		_, err = io.ReadAll(f)
		return err
	}
	if err := read("abc", nil); err != nil {
		t.Errorf("3 bytes within 2..5: %v", err)
	}
	if err := read("a", nil); !errors.Is(err, s3api.ErrEntityTooSmall) {
		t.Errorf("1 byte: %v, want EntityTooSmall", err)
	}
	if err := read("abcdef", nil); !errors.Is(err, s3api.ErrEntityTooLarge) {
		t.Errorf("6 bytes: %v, want EntityTooLarge", err)
	}
	// CRC32 of "abc" is 0x352441c2.
	if err := read("abc", map[string]string{"x-amz-checksum-crc32": "NSRBwg=="}); err != nil {
		t.Errorf("right CRC32: %v", err)
	}
	if err := read("abd", map[string]string{"x-amz-checksum-crc32": "NSRBwg=="}); !errors.Is(err, s3api.ErrBadDigest) {
		t.Errorf("wrong CRC32: %v, want BadDigest", err)
	}
	if err := read("abc", map[string]string{"x-amz-checksum-algorithm": "SHA256"}); !errors.Is(err, s3api.ErrInvalidRequest) {
		t.Errorf("algorithm without a value: %v, want InvalidRequest", err)
	}
}

// TestPostPolicyNeedsBucket: a policy with no condition on the bucket
// would be good for every bucket; it is refused.
func TestPostPolicyNeedsBucket(t *testing.T) {
	doc := `{"expiration":"2030-01-01T00:00:00Z","conditions":[["starts-with","$key",""]]}`
	p, err := parsePostPolicy(base64.StdEncoding.EncodeToString([]byte(doc)))
	if err != nil {
		t.Fatal(err)
	}
	err = p.check("any", map[string]string{"key": "k"}, map[string]string{"key": "key"})
	if !errors.Is(err, s3api.ErrAccessDenied) || !strings.Contains(err.Error(), "Invalid according to Policy") || !strings.Contains(err.Error(), "bucket") {
		t.Fatalf("policy without a bucket condition: %v, want AccessDenied naming the bucket", err)
	}
}
