package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/faultdrive"
	"github.com/ecstore/ecstore/storagenode/local"
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

// TestConditionalDelete: DELETE with If-Match, under each versioning
// state, deletes the current version only when it is an object whose ETag
// matches ("*": any), as S3 does: NoSuchKey when there is none (or a
// delete marker is current), PreconditionFailed when the ETag differs, and
// NotImplemented with a version id.
func TestConditionalDelete(t *testing.T) {
	ctx := context.Background()
	for _, state := range []string{"", "Enabled", "Suspended"} {
		t.Run("versioning "+state, func(t *testing.T) {
			l := versioningLayer(t, true)
			if state != "" {
				setVersioning(t, l, state)
			}
			del := func(key, vid, ifMatch string) (s3api.DeleteResult, error) {
				return l.DeleteObjectVersion(ctx, "bkt", key, vid, s3api.DeleteOptions{IfMatch: ifMatch})
			}
			if _, err := del("none", "", "*"); !errors.Is(err, ErrObjectNotFound) {
				t.Fatalf("If-Match * on a missing key: %v, want NoSuchKey", err)
			}
			data := bytes.Repeat([]byte("d"), 300<<10)
			info := putVersion(t, l, "k", data)
			if _, err := del("k", "", `"0123"`); !errors.Is(err, ErrPreconditionFailed) {
				t.Fatalf("If-Match another ETag: %v, want PreconditionFailed", err)
			}
			vid := info.VersionID
			if vid == "" {
				vid = "null"
			}
			if _, err := del("k", vid, "*"); !errors.Is(err, ErrNotImplemented) {
				t.Fatalf("If-Match with a version id: %v, want NotImplemented", err)
			}
			wantVersion(t, l, "k", "", data)
			res, err := del("k", "", `"`+info.ETag+`"`)
			if err != nil {
				t.Fatalf("If-Match the ETag: %v", err)
			}
			if _, _, err := readVersion(l, "k", ""); !errors.Is(err, s3api.ErrNoSuchKey) {
				t.Fatalf("GET after the conditional delete: %v, want NoSuchKey", err)
			}
			switch state {
			case "":
				if res.DeleteMarker || versionShape(t, l, "k") != "" {
					t.Fatalf("unversioned: %+v, versions %q; want the key gone", res, versionShape(t, l, "k"))
				}
			case "Enabled":
				if !res.DeleteMarker || versionShape(t, l, "k") != "m "+string(data) {
					t.Fatalf("Enabled: %+v; want a delete marker over the version", res)
				}
			case "Suspended":
				if !res.DeleteMarker || versionShape(t, l, "k") != "m" {
					t.Fatalf("Suspended: %+v, versions %q; want a null delete marker alone", res, versionShape(t, l, "k"))
				}
			}
			if state != "" {
				if _, err := del("k", "", "*"); !errors.Is(err, ErrObjectNotFound) {
					t.Fatalf("If-Match * over a delete marker: %v, want NoSuchKey", err)
				}
			}
		})
	}
}

// TestConditionalWriteOverMissingRecord: a drive with no record of a key
// the quorum holds takes no part in a conditional write's race (a delete
// may be removing the object), but once the race is won it is written
// like the others. With such a drive and another one down, 4 of 6 drives
// are left: enough to win.
func TestConditionalWriteOverMissingRecord(t *testing.T) {
	ctx := context.Background()
	var drives []Drive
	faults := map[string]*faultdrive.Drive{}
	for i := range 6 {
		f := faultdrive.New(local.NewMem(fmt.Sprintf("d%d", i)))
		faults[f.ID()] = f
		drives = append(drives, Drive{Drive: f, Node: f.ID()})
	}
	l, err := New(Config{Drives: drives, DataShards: 4, ParityShards: 2,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.MakeBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	base := randBytes(1, 200<<10)
	if _, err := l.PutObject(ctx, "bkt", "k", bytes.NewReader(base), int64(len(base)), s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	placed, err := l.place("bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := placed[0].DeleteMeta(ctx, "bkt", "k", ""); err != nil { // drive 0 missed the write
		t.Fatal(err)
	}
	faults[placed[5].ID()].SetOffline(true)
	next := randBytes(2, 200<<10)
	info, err := l.PutObject(ctx, "bkt", "k", bytes.NewReader(next), int64(len(next)), s3api.PutOptions{IfMatch: md5hex(base)})
	if err != nil {
		t.Fatalf("If-Match with one record missing and one drive down: %v", err)
	}
	if m, err := placed[0].GetMeta(ctx, "bkt", "k"); err != nil || m.ETag != info.ETag {
		t.Fatalf("the drive that lacked the record: %+v, %v; want the new version", m, err)
	}
	got, err := readAll(l, "k")
	if err != nil || !bytes.Equal(got, next) {
		t.Fatalf("after the conditional write: %d bytes, %v", len(got), err)
	}
}
