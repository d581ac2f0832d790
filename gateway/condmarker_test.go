package gateway

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

// strayMarker leaves on drive 0 alone a delete marker newer than the key's
// current version, as a writer SIGKILLed after its first compare-and-set
// leaves it (crash point cond.acquire), and ages it past the in-flight
// window.
func strayMarker(t *testing.T, l *Layer, key string) {
	t.Helper()
	ctx := context.Background()
	d0 := l.topo().drives[0]
	cur, err := d0.GetMeta(ctx, "bkt", key)
	if err != nil {
		t.Fatal(err)
	}
	vid := uuid.NewString()
	m := &storagenode.ObjectMeta{Bucket: "bkt", Key: key, VersionID: vid, DataDir: vid,
		ModTime: time.Now().UTC(), EC: cur.EC, Drives: cur.Drives, Versioned: true, DeleteMarker: true}
	if _, err := d0.PutMetaIf(ctx, m, cur.VersionID); err != nil {
		t.Fatal(err)
	}
	l.cfg.InFlightWindow = time.Nanosecond // the marker is a leftover now
}

// TestConditionalWriteOverStrayMarker: a delete marker left on fewer drives
// than the quorum by a crashed conditional writer does not block the key's
// conditional writes for good: If-Match over the quorum's version, and the
// lifecycle's marker conditional on that version, both go through.
// (Each drive is expected to hold what it holds; a drive holding a marker
// holds "no current version" to its compare-and-set.)
func TestConditionalWriteOverStrayMarker(t *testing.T) {
	ctx := context.Background()
	l := versioningLayer(t, true)
	setVersioning(t, l, "Enabled")

	v1 := putVersion(t, l, "put", []byte("one"))
	strayMarker(t, l, "put")
	v2 := []byte("two")
	if _, err := l.PutObject(ctx, "bkt", "put", bytes.NewReader(v2), int64(len(v2)), s3api.PutOptions{IfMatch: v1.ETag}); err != nil {
		t.Fatalf("If-Match PUT over a stray marker: %v", err)
	}
	wantVersion(t, l, "put", "", v2)

	obj := putVersion(t, l, "lc", bytes.Repeat([]byte("x"), 300<<10))
	strayMarker(t, l, "lc")
	meta, err := l.readMeta(ctx, "bkt", "lc")
	if err != nil || meta.VersionID != obj.VersionID {
		t.Fatalf("current version: %+v, %v; want %s", meta, err, obj.VersionID)
	}
	if _, err := l.putDeleteMarker(ctx, "bkt", "lc", l.stateOf("bkt"), &versionRef{vid: obj.VersionID, mtime: meta.ModTime}); err != nil {
		t.Fatalf("lifecycle's expiring marker over a stray marker: %v", err)
	}
	if _, _, err := readVersion(l, "lc", ""); !errors.Is(err, s3api.ErrNoSuchKey) {
		t.Fatalf("GET after the expiring marker: %v, want NoSuchKey", err)
	}
}

// TestConditionalWriteOverDeleteMarker: a key whose current version is a
// delete marker has no object: If-None-Match: * creates it, If-Match
// finds none (NoSuchKey), as S3 answers.
func TestConditionalWriteOverDeleteMarker(t *testing.T) {
	ctx := context.Background()
	l := versioningLayer(t, true)
	setVersioning(t, l, "Enabled")
	putVersion(t, l, "k", []byte("one"))
	if _, err := l.DeleteObjectVersion(ctx, "bkt", "k", "", s3api.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	v := []byte("two")
	if _, err := l.PutObject(ctx, "bkt", "k", bytes.NewReader(v), int64(len(v)), s3api.PutOptions{IfMatch: "*"}); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("If-Match * over a delete marker: %v, want NoSuchKey", err)
	}
	if _, err := l.PutObject(ctx, "bkt", "k", bytes.NewReader(v), int64(len(v)), s3api.PutOptions{IfNoneMatch: "*"}); err != nil {
		t.Fatalf("If-None-Match * over a delete marker: %v", err)
	}
	wantVersion(t, l, "k", "", v)
}
