package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/meta"
	"github.com/ecstore/ecstore/s3api"
)

// TestSettingField: every s3api.Setting has its own field of
// meta.BucketSettings.
func TestSettingField(t *testing.T) {
	var set meta.BucketSettings
	seen := map[*[]byte]bool{}
	for _, s := range s3api.Settings() {
		f := settingField(&set, s)
		if f == nil {
			t.Fatalf("%v has no field in meta.BucketSettings", s)
		}
		p := (*[]byte)(f)
		if seen[p] {
			t.Fatalf("%v shares its field with another setting", s)
		}
		seen[p] = true
	}
	if settingField(&set, s3api.Setting(99)) != nil {
		t.Fatal("an unknown setting has a field")
	}
}

// checkCatalogSettings drives a catalog's settings: put, read back, merge,
// remove, a missing bucket, a document that is not JSON.
func checkCatalogSettings(t *testing.T, ctx context.Context, c gateway.Catalog, other gateway.Catalog) {
	t.Helper()
	if err := c.CreateBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	if set, ok := c.Settings("bkt"); !ok || !set.Empty() {
		t.Fatalf("settings of a new bucket: %q, %v", set.Docs, ok)
	}
	tags := `[{"key":"team","value":"storage"}]`
	if err := c.PutSetting(ctx, "bkt", s3api.SettingTags, []byte(tags)); err != nil {
		t.Fatal(err)
	}
	// Read your writes: the copy holds it when PutSetting returns.
	if set, _ := c.Settings("bkt"); string(set.Get(s3api.SettingTags)) != tags {
		t.Fatalf("tags right after PutSetting: %q", set.Docs)
	}
	// Every setting, one at a time: each lands in its own field, the
	// others stay.
	for _, s := range s3api.Settings() {
		if s == s3api.SettingTags {
			continue
		}
		if err := c.PutSetting(ctx, "bkt", s, []byte(fmt.Sprintf(`{"setting":%q}`, s))); err != nil {
			t.Fatal(err)
		}
	}
	set, _ := c.Settings("bkt")
	for _, s := range s3api.Settings() {
		want := fmt.Sprintf(`{"setting":%q}`, s)
		if s == s3api.SettingTags {
			want = tags
		}
		if got := string(set.Get(s)); got != want {
			t.Errorf("%v: %s, want %s", s, got, want)
		}
	}
	if err := c.PutSetting(ctx, "bkt", s3api.SettingTags, nil); err != nil {
		t.Fatal(err)
	}
	if set, _ := c.Settings("bkt"); set.Get(s3api.SettingTags) != nil || set.Get(s3api.SettingPolicy) == nil {
		t.Fatalf("after removing the tags: %q", set.Docs)
	}
	if other != nil {
		// Another gateway's copy holds the change after a Sync.
		if err := c.PutSetting(ctx, "bkt", s3api.SettingTags, []byte(tags)); err != nil {
			t.Fatal(err)
		}
		if err := other.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if set, ok := other.Settings("bkt"); !ok || string(set.Get(s3api.SettingTags)) != tags {
			t.Fatalf("the other gateway after a Sync: %q, %v", set.Docs, ok)
		}
	}
	if err := c.PutSetting(ctx, "nobkt", s3api.SettingTags, []byte(tags)); !errors.Is(err, gateway.ErrBucketNotFound) {
		t.Fatalf("PutSetting of a missing bucket: %v", err)
	}
	if _, ok := c.Settings("nobkt"); ok {
		t.Fatal("Settings of a missing bucket")
	}
	if err := c.PutSetting(ctx, "bkt", s3api.SettingTags, []byte(`{not json`)); err == nil || errors.Is(err, gateway.ErrUnavailable) {
		t.Fatalf("a document that is not JSON: %v", err)
	}
	// A deleted bucket's settings go with it.
	if err := c.DeleteBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	if set, _ := c.Settings("bkt"); !set.Empty() {
		t.Fatalf("a bucket made again has its predecessor's settings: %q", set.Docs)
	}
}

// TestCatalogSettingsEmbedded: the embedded server's catalog keeps
// settings in its metadata group.
func TestCatalogSettingsEmbedded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	root := t.TempDir()
	var ms []meta.GroupMember
	for i := range 3 {
		ms = append(ms, meta.GroupMember{ID: fmt.Sprintf("d%d", i), Dir: filepath.Join(root, fmt.Sprint(i))})
	}
	g, err := meta.OpenGroup(meta.GroupConfig{Members: ms})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	checkCatalogSettings(t, ctx, catalog{s: g.Store(), alone: true}, nil)
}

// TestCatalogSettingsCluster: two gateways' catalogs over one member; a
// change through one is read through the other after a Sync; with the
// member gone, a change answers ErrUnavailable (a 503).
func TestCatalogSettingsCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	s, err := meta.Open(meta.Config{ID: "n1", Dir: t.TempDir(), Bind: "127.0.0.1:0", Secret: secret, Bootstrap: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	client := func() *meta.Client {
		c, err := meta.NewClient(meta.ClientConfig{Members: []string{s.Addr()}, Secret: secret, HandshakeTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := catalog{s: client()}, catalog{s: client()}
	checkCatalogSettings(t, ctx, a, b)

	s.Close()
	short, stop := context.WithTimeout(ctx, time.Second)
	defer stop()
	if err := a.PutSetting(short, "bkt", s3api.SettingTags, []byte(`[]`)); !errors.Is(err, gateway.ErrUnavailable) {
		t.Fatalf("PutSetting without the store: %v, want ErrUnavailable", err)
	}
}
