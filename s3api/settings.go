package s3api

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// SettingsLayer is an optional ObjectLayer capability: a bucket's settings
// (versioning, object lock, lifecycle, policy, CORS, tags, encryption), one
// document per Setting, as the metadata store keeps them. The front end
// finds it by type assertion; a layer without it has no settings, so every
// Get answers "nothing set" and every Put is NotImplemented.
//
// A document is JSON whose shape the Setting's constant documents; the
// front end encodes and decodes it, the layer stores it as given. One
// issue after another adds its document (versioning, object lock,
// lifecycle, encryption) through these same two methods.
type SettingsLayer interface {
	// GetBucketSettings returns the bucket's settings as they are now:
	// a change acknowledged before the call, through any gateway, is in
	// them. ErrNoSuchBucket when the bucket does not exist;
	// ErrServiceUnavailable when that cannot be confirmed now.
	GetBucketSettings(ctx context.Context, bucket string) (BucketSettings, error)
	// PutBucketSetting replaces the bucket's document of one Setting (nil
	// removes it) and leaves the others; it returns once the change is
	// committed and visible to the caller's later reads. ErrNoSuchBucket,
	// ErrServiceUnavailable (the store cannot commit now), or
	// ErrNotImplemented (this layer keeps no settings).
	PutBucketSetting(ctx context.Context, bucket string, s Setting, doc []byte) error
}

// Setting names one of a bucket's settings documents.
type Setting int

// The settings documents. Each comment says the document's JSON.
const (
	// SettingVersioning: the versioning state (issue 17's versioning).
	SettingVersioning Setting = iota
	// SettingObjectLock: the object lock configuration.
	SettingObjectLock
	// SettingLifecycle: the lifecycle rules.
	SettingLifecycle
	// SettingPolicy: the bucket policy.
	SettingPolicy
	// SettingCORS: the CORS rules.
	SettingCORS
	// SettingTags: the bucket's tag set, a JSON array of Tag
	// ([{"key":"k","value":"v"}]); an empty set is stored as no document.
	SettingTags
	// SettingEncryption: the default encryption configuration, an
	// EncryptionDoc ({"sseAlgorithm":"AES256"}).
	SettingEncryption

	numSettings // the number of Settings; not a Setting
)

var settingNames = [numSettings]string{"versioning", "objectLock", "lifecycle", "policy", "cors", "tags", "encryption"}

// Settings lists every Setting, in order.
func Settings() []Setting {
	out := make([]Setting, numSettings)
	for i := range out {
		out[i] = Setting(i)
	}
	return out
}

// String is the setting's name, as the metadata store's field.
func (s Setting) String() string {
	if s < 0 || s >= numSettings {
		return fmt.Sprintf("Setting(%d)", int(s))
	}
	return settingNames[s]
}

// Valid reports whether s is one of the Settings.
func (s Setting) Valid() bool { return s >= 0 && s < numSettings }

// BucketSettings are a bucket's settings documents; a nil document is
// unset.
type BucketSettings struct {
	Docs [numSettings][]byte
}

// Get returns the document of s (nil when unset, or s is not a Setting).
func (b BucketSettings) Get(s Setting) []byte {
	if !s.Valid() {
		return nil
	}
	return b.Docs[s]
}

// Empty reports whether no document is set.
func (b BucketSettings) Empty() bool {
	for _, d := range b.Docs {
		if d != nil {
			return false
		}
	}
	return true
}

// Tag is one tag of a tag set.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// S3's limits on tags.
const (
	MaxBucketTags   = 50  // tags in a bucket's tag set
	MaxObjectTags   = 10  // tags in an object's tag set
	MaxTagKeyLen    = 128 // Unicode characters of a key (at least 1)
	MaxTagValueLen  = 256 // Unicode characters of a value (may be empty)
	reservedTagPref = "aws:"
)

// CheckTags checks a tag set against S3's rules: at most max tags, keys of
// 1 to 128 and values of 0 to 256 Unicode characters (valid UTF-8), no key
// twice, no key starting with "aws:" in any case (reserved). A broken rule
// answers ErrInvalidTag, with a message naming it.
func CheckTags(tags []Tag, max int) error {
	if len(tags) > max {
		return ErrInvalidTag.WithMessage("A tag set holds at most %d tags; this one has %d.", max, len(tags))
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if !utf8.ValidString(t.Key) || !utf8.ValidString(t.Value) {
			return ErrInvalidTag.WithMessage("Tag keys and values must be valid UTF-8.")
		}
		if n := utf8.RuneCountInString(t.Key); n < 1 || n > MaxTagKeyLen {
			return ErrInvalidTag.WithMessage("The TagKey you have provided is too long or empty: keys have 1 to %d characters.", MaxTagKeyLen)
		}
		if utf8.RuneCountInString(t.Value) > MaxTagValueLen {
			return ErrInvalidTag.WithMessage("The TagValue you have provided is too long: values have at most %d characters.", MaxTagValueLen)
		}
		if strings.HasPrefix(strings.ToLower(t.Key), reservedTagPref) {
			return ErrInvalidTag.WithMessage("Your TagKey cannot be prefixed with aws:.")
		}
		if seen[t.Key] {
			return ErrInvalidTag.WithMessage("Cannot provide multiple Tags with the same key.")
		}
		seen[t.Key] = true
	}
	return nil
}
