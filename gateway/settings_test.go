package gateway

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// TestCatalogSettings: a bucket's settings go through the catalog, one
// document at a time, and are read after a Sync (a change made through
// another gateway is answered at once); a missing bucket is NoSuchBucket,
// a store that cannot commit or confirm is a 503.
func TestCatalogSettings(t *testing.T) {
	ctx := context.Background()
	cat := newMemCatalog()
	l, _, _ := catalogLayer(t, 6, cat)
	if err := l.MakeBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	set, err := l.GetBucketSettings(ctx, "bkt")
	if err != nil || !set.Empty() {
		t.Fatalf("settings of a new bucket: %+v, %v", set, err)
	}
	tags := []byte(`[{"key":"a","value":"b"}]`)
	if err := l.PutBucketSetting(ctx, "bkt", s3api.SettingTags, tags); err != nil {
		t.Fatal(err)
	}
	if err := l.PutBucketSetting(ctx, "bkt", s3api.SettingPolicy, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	set, err = l.GetBucketSettings(ctx, "bkt")
	if err != nil || string(set.Get(s3api.SettingTags)) != string(tags) || string(set.Get(s3api.SettingPolicy)) != "{}" || set.Get(s3api.SettingCORS) != nil {
		t.Fatalf("settings: %q, %v", set.Docs, err)
	}
	if err := l.PutBucketSetting(ctx, "bkt", s3api.SettingTags, nil); err != nil {
		t.Fatal(err)
	}
	if set, _ := l.GetBucketSettings(ctx, "bkt"); set.Get(s3api.SettingTags) != nil || set.Get(s3api.SettingPolicy) == nil {
		t.Fatalf("removing the tags: %q", set.Docs)
	}

	// Another gateway changed the settings: the read Syncs first.
	var other s3api.BucketSettings
	other.Docs[s3api.SettingTags] = []byte(`[{"key":"x","value":"y"}]`)
	cat.mu.Lock()
	cat.pendingSet["bkt"] = other
	cat.mu.Unlock()
	if set, err := l.GetBucketSettings(ctx, "bkt"); err != nil || string(set.Get(s3api.SettingTags)) != `[{"key":"x","value":"y"}]` {
		t.Fatalf("a change through another gateway is not read at once: %q, %v", set.Docs, err)
	}

	for _, bad := range []func() error{
		func() error { _, err := l.GetBucketSettings(ctx, "nobkt"); return err },
		func() error { return l.PutBucketSetting(ctx, "nobkt", s3api.SettingTags, tags) },
	} {
		if err := bad(); !errors.Is(err, s3api.ErrNoSuchBucket) {
			t.Errorf("missing bucket: %v, want NoSuchBucket", err)
		}
	}
	if err := l.PutBucketSetting(ctx, "bkt", s3api.Setting(99), tags); err == nil || errors.Is(err, s3api.ErrNoSuchBucket) {
		t.Errorf("an unknown setting: %v", err)
	}

	cat.changeErr = fmt.Errorf("%w: no majority", ErrUnavailable)
	if err := l.PutBucketSetting(ctx, "bkt", s3api.SettingTags, tags); !errors.Is(err, s3api.ErrServiceUnavailable) {
		t.Fatalf("PutBucketSetting without the store: %v", err)
	}
}

// TestSettingsWithoutCatalog: a gateway without a metadata store has no
// settings to keep: reads answer none, writes NotImplemented, and a
// missing bucket is still NoSuchBucket.
func TestSettingsWithoutCatalog(t *testing.T) {
	ctx := context.Background()
	l, _, _ := catalogLayer(t, 6, nil)
	if err := l.MakeBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	if set, err := l.GetBucketSettings(ctx, "bkt"); err != nil || !set.Empty() {
		t.Fatalf("settings without a catalog: %+v, %v", set, err)
	}
	if err := l.PutBucketSetting(ctx, "bkt", s3api.SettingTags, []byte(`[]`)); !errors.Is(err, s3api.ErrNotImplemented) {
		t.Fatalf("PutBucketSetting without a catalog: %v, want NotImplemented", err)
	}
	if _, err := l.GetBucketSettings(ctx, "nobkt"); !errors.Is(err, s3api.ErrNoSuchBucket) {
		t.Fatalf("missing bucket: %v", err)
	}
	if err := l.PutBucketSetting(ctx, "nobkt", s3api.SettingTags, nil); !errors.Is(err, s3api.ErrNoSuchBucket) {
		t.Fatalf("missing bucket: %v", err)
	}
}
