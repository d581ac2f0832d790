package s3api

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckTags: S3's rules for a tag set, each broken once.
func TestCheckTags(t *testing.T) {
	many := func(n int) []Tag {
		out := make([]Tag, n)
		for i := range out {
			out[i] = Tag{Key: "k" + strings.Repeat("x", i), Value: "v"}
		}
		return out
	}
	cases := []struct {
		name string
		tags []Tag
		max  int
		ok   bool
	}{
		{"none", nil, MaxBucketTags, true},
		{"one", []Tag{{"a", "b"}}, MaxBucketTags, true},
		{"empty value", []Tag{{"a", ""}}, MaxBucketTags, true},
		{"50 bucket tags", many(50), MaxBucketTags, true},
		{"51 bucket tags", many(51), MaxBucketTags, false},
		{"11 object tags", many(11), MaxObjectTags, false},
		{"empty key", []Tag{{"", "v"}}, MaxBucketTags, false},
		{"key of 128 characters", []Tag{{strings.Repeat("é", 128), "v"}}, MaxBucketTags, true},
		{"key of 129 characters", []Tag{{strings.Repeat("a", 129), "v"}}, MaxBucketTags, false},
		{"value of 256 characters", []Tag{{"k", strings.Repeat("日", 256)}}, MaxBucketTags, true},
		{"value of 257 characters", []Tag{{"k", strings.Repeat("a", 257)}}, MaxBucketTags, false},
		{"duplicate key", []Tag{{"a", "1"}, {"b", "2"}, {"a", "3"}}, MaxBucketTags, false},
		{"keys differ in case", []Tag{{"a", "1"}, {"A", "2"}}, MaxBucketTags, true},
		{"aws: prefix", []Tag{{"aws:cloudformation", "x"}}, MaxBucketTags, false},
		{"AWS: prefix", []Tag{{"AwS:x", "x"}}, MaxBucketTags, false},
		{"aws without colon", []Tag{{"awsome", "x"}}, MaxBucketTags, true},
		{"aws: in a value", []Tag{{"k", "aws:x"}}, MaxBucketTags, true},
		{"invalid UTF-8", []Tag{{"k\xff", "v"}}, MaxBucketTags, false},
	}
	for _, tc := range cases {
		err := CheckTags(tc.tags, tc.max)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case !tc.ok && !errors.Is(err, ErrInvalidTag):
			t.Errorf("%s: %v, want InvalidTag", tc.name, err)
		}
	}
}

// TestSettings: every Setting has a distinct name; outside the enum Get
// answers nothing.
func TestSettings(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings() {
		if !s.Valid() || seen[s.String()] || strings.HasPrefix(s.String(), "Setting(") {
			t.Errorf("setting %d: %q", int(s), s)
		}
		seen[s.String()] = true
	}
	var b BucketSettings
	if !b.Empty() {
		t.Error("zero BucketSettings not Empty")
	}
	b.Docs[SettingTags] = []byte(`[]`)
	if b.Empty() {
		t.Error("BucketSettings with tags Empty")
	}
	if string(b.Get(SettingTags)) != "[]" || b.Get(Setting(-1)) != nil || b.Get(numSettings) != nil || Setting(99).Valid() {
		t.Error("Get/Valid outside the enum")
	}
}
