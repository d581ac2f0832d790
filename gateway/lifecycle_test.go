package gateway

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
)

// lifecycleLayer is versioningLayer with lifecycle days of an hour (the
// test hook), the bucket's rules set to rules (the JSON the S3 front end
// stores), and its Repair.
func lifecycleLayer(t *testing.T, rules string) (*Layer, *Repair) {
	t.Helper()
	l := versioningLayer(t, true)
	l.cfg.LifecycleDay = time.Hour
	if err := l.PutBucketSetting(context.Background(), "bkt", s3api.SettingLifecycle, []byte(rules)); err != nil {
		t.Fatal(err)
	}
	return l, NewRepair(l)
}

// versionShape lists a key's versions newest first as "m" (delete marker)
// or the version's content.
func versionShape(t *testing.T, l *Layer, key string) string {
	t.Helper()
	res, err := l.ListObjectVersions(context.Background(), "bkt", s3api.ListVersionsParams{Prefix: key, MaxKeys: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, v := range res.Versions {
		if v.Key != key {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if v.DeleteMarker {
			b.WriteString("m")
			continue
		}
		data, _, err := readVersion(l, key, v.VersionID)
		if err != nil {
			t.Fatalf("version %s of %s: %v", v.VersionID, key, err)
		}
		b.Write(data)
	}
	return b.String()
}

func pass(t *testing.T, r *Repair, at time.Time) LifecycleStatus {
	t.Helper()
	if err := r.LifecyclePass(context.Background(), at, 0); err != nil {
		t.Fatal(err)
	}
	return r.LifecycleStatus()
}

// TestLifecycleUnversioned: in a bucket without versioning an expired
// object is removed; the rule's prefix, tag and size filters choose which;
// nothing happens before the day comes.
func TestLifecycleUnversioned(t *testing.T) {
	ctx := context.Background()
	l, r := lifecycleLayer(t, `{"rules":[
		{"id":"tmp","status":"Enabled","filter":{"prefix":"tmp/"},"expiration":{"days":1}},
		{"id":"tagged","status":"Enabled","filter":{"and":{"tags":[{"k":"tier","v":"scratch"}],"gt":2}},"expiration":{"days":2}},
		{"id":"off","status":"Disabled","expiration":{"days":1}}]}`)
	putVersion(t, l, "tmp/a", []byte("a"))
	putVersion(t, l, "keep/b", []byte("b"))
	for _, k := range []string{"tag/big", "tag/small", "tag/other"} {
		body := []byte(k)
		if k == "tag/small" {
			body = []byte("s")
		}
		tags := []s3api.Tag{{Key: "tier", Value: "scratch"}}
		if k == "tag/other" {
			tags[0].Value = "gold"
		}
		if _, err := l.PutObject(ctx, "bkt", k, bytes.NewReader(body), int64(len(body)), s3api.PutOptions{Tags: tags}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	if st := pass(t, r, now.Add(30*time.Minute)); st.Expired != 0 || st.Scanned != 5 {
		t.Fatalf("a pass before any day: %+v", st)
	}
	if st := pass(t, r, now.Add(90*time.Minute)); st.Expired != 1 {
		t.Fatalf("after one day: %+v, want tmp/a expired", st)
	}
	if _, _, err := readVersion(l, "tmp/a", ""); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("tmp/a after its expiration: %v", err)
	}
	pass(t, r, now.Add(150*time.Minute))
	for key, want := range map[string]string{"keep/b": "b", "tag/big": "", "tag/small": "s", "tag/other": "tag/other"} {
		got := versionShape(t, l, key)
		if got != want {
			t.Errorf("%s after two days: %q, want %q", key, got, want)
		}
	}
	if st := r.LifecycleStatus(); st.Expired != 2 || st.Errors != 0 || st.Passes != 3 || st.Running {
		t.Errorf("status: %+v", st)
	}
}

// TestLifecycleVersioned: a current version expires into a delete marker,
// noncurrent versions go NoncurrentDays after they were replaced except
// the NewerNoncurrentVersions newest, a delete marker left alone goes, and
// a locked version stays, counted, whatever the rules say.
func TestLifecycleVersioned(t *testing.T) {
	ctx := context.Background()
	l, r := lifecycleLayer(t, `{"rules":[
		{"id":"cur","status":"Enabled","filter":{"prefix":"k"},"expiration":{"days":1},"noncurrent":{"days":1,"newer":1}},
		{"id":"markers","status":"Enabled","filter":{"prefix":"m"},"expiration":{"eodm":true}},
		{"id":"locked","status":"Enabled","filter":{"prefix":"l"},"noncurrent":{"days":1}}]}`)
	setVersioning(t, l, "Enabled")
	for _, v := range []string{"1", "2", "3"} {
		putVersion(t, l, "k", []byte(v))
	}
	putVersion(t, l, "m", []byte("x"))
	del, err := l.DeleteObjectVersion(ctx, "bkt", "m", "", s3api.DeleteOptions{})
	if err != nil || !del.DeleteMarker {
		t.Fatalf("DELETE m: %+v, %v", del, err)
	}
	if err := l.PutBucketSetting(ctx, "bkt", s3api.SettingObjectLock, []byte(`{"enabled":true}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.PutObject(ctx, "bkt", "l", bytes.NewReader([]byte("L")), 1, s3api.PutOptions{Lock: s3api.ObjectLock{Mode: "COMPLIANCE", RetainUntil: time.Now().Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	putVersion(t, l, "l", []byte("N"))

	now := time.Now()
	if st := pass(t, r, now.Add(30*time.Minute)); st.Expired+st.Removed != 0 {
		t.Fatalf("a pass before any day: %+v", st)
	}
	if got := versionShape(t, l, "m"); got != "m x" {
		t.Fatalf("m: %q (a marker over a version is not alone)", got)
	}
	pass(t, r, now.Add(90*time.Minute))
	// k: the current version "3" expires into a marker; of the noncurrent
	// "2" and "1", the newest is kept and "1" goes.
	if got := versionShape(t, l, "k"); got != "m 3 2" {
		t.Fatalf("k after one day: %q, want \"m 3 2\"", got)
	}
	if got := versionShape(t, l, "l"); got != "N L" {
		t.Fatalf("l after one day: %q, want the locked version kept", got)
	}
	st := r.LifecycleStatus()
	if st.SkippedLocked != 1 || st.Expired != 1 || st.Removed != 1 || st.Errors != 0 {
		t.Fatalf("status after one day: %+v", st)
	}
	// m: its version removed by id leaves the marker alone, which the
	// next pass removes.
	res, _ := l.ListObjectVersions(ctx, "bkt", s3api.ListVersionsParams{Prefix: "m", MaxKeys: 10})
	if _, err := l.DeleteObjectVersion(ctx, "bkt", "m", res.Versions[1].VersionID, s3api.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	pass(t, r, now.Add(150*time.Minute))
	if got := versionShape(t, l, "m"); got != "" {
		t.Fatalf("m: %q, want the lone marker removed", got)
	}
	// k: the marker is current now and "3" the newest noncurrent: "2" goes.
	if got := versionShape(t, l, "k"); got != "m 3" {
		t.Fatalf("k after two days: %q, want \"m 3\"", got)
	}
}

// TestLifecycleActsOnlyOnWhatItListed: the removal and the delete marker
// of a lifecycle action name the version the listing showed; a version
// written since (the same null id, a new current version) is another and
// nothing is done to it.
func TestLifecycleActsOnlyOnWhatItListed(t *testing.T) {
	ctx := context.Background()
	l := versioningLayer(t, true)
	old := putVersion(t, l, "plain", []byte("old"))
	putVersion(t, l, "plain", []byte("new"))
	ref := versionRef{vid: "null", mtime: old.ModTime}
	if _, err := l.removeVersionIf(ctx, "bkt", "plain", ref, false); !errors.Is(err, errVersionChanged) {
		t.Fatalf("removing a null version replaced since: %v, want errVersionChanged", err)
	}
	wantVersion(t, l, "plain", "", []byte("new"))

	setVersioning(t, l, "Enabled")
	first := putVersion(t, l, "v", []byte("first"))
	putVersion(t, l, "v", []byte("second"))
	st := l.stateOf("bkt")
	if _, err := l.putDeleteMarker(ctx, "bkt", "v", st, &versionRef{vid: first.VersionID, mtime: first.ModTime}); !errors.Is(err, errVersionChanged) {
		t.Fatalf("a marker over a version no longer current: %v, want errVersionChanged", err)
	}
	if got := versionShape(t, l, "v"); got != "second first" {
		t.Fatalf("v: %q, want no marker", got)
	}
	_, info, err := readVersion(l, "v", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.putDeleteMarker(ctx, "bkt", "v", st, &versionRef{vid: info.VersionID, mtime: info.ModTime}); err != nil {
		t.Fatalf("a marker over the current version: %v", err)
	}
	if got := versionShape(t, l, "v"); got != "m second first" {
		t.Fatalf("v: %q, want a marker over it", got)
	}
}

// TestLifecycleUploads: AbortIncompleteMultipartUpload aborts the uploads
// of its prefix once they are old enough.
func TestLifecycleUploads(t *testing.T) {
	ctx := context.Background()
	l, r := lifecycleLayer(t, `{"rules":[{"id":"up","status":"Enabled","filter":{"prefix":"up/"},"abort":{"days":1}}]}`)
	a, err := l.NewMultipartUpload(ctx, "bkt", "up/a", s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.NewMultipartUpload(ctx, "bkt", "other", s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if st := pass(t, r, now.Add(30*time.Minute)); st.Aborted != 0 {
		t.Fatalf("aborted before the day: %+v", st)
	}
	if st := pass(t, r, now.Add(90*time.Minute)); st.Aborted != 1 {
		t.Fatalf("after a day: %+v", st)
	}
	res, err := l.ListMultipartUploads(ctx, "bkt", s3api.ListUploadsParams{MaxUploads: 10})
	if err != nil || len(res.Uploads) != 1 || res.Uploads[0].UploadID != b {
		t.Fatalf("uploads left: %+v, %v; want only %s (not %s)", res.Uploads, err, b, a)
	}
}
