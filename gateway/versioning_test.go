package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

// versioningLayer is a Layer over 6 in-memory drives with a catalog;
// without allow, one drive answers as a node from before versions does.
func versioningLayer(t *testing.T, allow bool) *Layer {
	t.Helper()
	var drives []Drive
	for i := range 6 {
		var d storagenode.Drive = local.NewMem(fmt.Sprintf("d%d", i))
		if i == 0 && !allow {
			d = olderDrive{d}
		}
		drives = append(drives, Drive{Drive: d, Node: d.ID()})
	}
	l, err := New(Config{Drives: drives, DataShards: 4, ParityShards: 2, Catalog: newMemCatalog(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.MakeBucket(context.Background(), "bkt"); err != nil {
		t.Fatal(err)
	}
	return l
}

func setVersioning(t *testing.T, l *Layer, status string) {
	t.Helper()
	if err := l.PutBucketSetting(context.Background(), "bkt", s3api.SettingVersioning, []byte(`{"status":"`+status+`"}`)); err != nil {
		t.Fatal(err)
	}
}

func putVersion(t *testing.T, l *Layer, key string, data []byte) s3api.ObjectInfo {
	t.Helper()
	info, err := l.PutObject(context.Background(), "bkt", key, bytes.NewReader(data), int64(len(data)), s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// readVersion reads a version whole ("": the current one).
func readVersion(l *Layer, key, vid string) ([]byte, s3api.ObjectInfo, error) {
	ctx := context.Background()
	o, err := l.OpenObjectVersion(ctx, "bkt", key, vid)
	if err != nil {
		return nil, s3api.ObjectInfo{}, err
	}
	var b bytes.Buffer
	err = o.Read(ctx, &b, 0, o.Info().Size)
	return b.Bytes(), o.Info(), err
}

func wantVersion(t *testing.T, l *Layer, key, vid string, want []byte) {
	t.Helper()
	got, _, err := readVersion(l, key, vid)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("version %q of %s: %d bytes, %v; want %d bytes", vid, key, len(got), err, len(want))
	}
}

func versionsOf(t *testing.T, l *Layer, key string) []string {
	t.Helper()
	got, _ := listVersionLines(t, l, s3api.ListVersionsParams{Prefix: key, MaxKeys: 1000})
	return got
}

// TestVersioning: the object paths under each versioning state. Before
// versioning, a PUT replaces the null version; Enabled, each PUT adds a
// version with its own id, readable by id, and a DELETE adds a delete
// marker (the key reads as missing, the marker by id as MethodNotAllowed,
// ListObjects hides the key) whose removal brings the object back; a
// version deleted by id is gone, its data too, the others stay whole;
// Suspended, a PUT replaces the null version again and leaves the others.
func TestVersioning(t *testing.T) {
	ctx := context.Background()
	l := versioningLayer(t, true)
	v0 := bytes.Repeat([]byte("0"), 1<<10)   // inline
	v1 := bytes.Repeat([]byte("1"), 200<<10) // shard files
	v2 := bytes.Repeat([]byte("2"), 3<<10)
	if info := putVersion(t, l, "k", v0); info.VersionID != "" {
		t.Fatalf("a PUT before versioning answers version id %q", info.VersionID)
	}
	setVersioning(t, l, "Enabled")
	i1, i2 := putVersion(t, l, "k", v1), putVersion(t, l, "k", v2)
	if i1.VersionID == "" || i2.VersionID == "" || i1.VersionID == i2.VersionID || i1.VersionID == "null" {
		t.Fatalf("versioned PUTs answer ids %q and %q", i1.VersionID, i2.VersionID)
	}
	wantVersion(t, l, "k", "", v2)
	wantVersion(t, l, "k", i1.VersionID, v1)
	wantVersion(t, l, "k", "null", v0)
	if _, info, _ := readVersion(l, "k", ""); info.VersionID != i2.VersionID {
		t.Fatalf("GET answers version id %q, want %q", info.VersionID, i2.VersionID)
	}
	if got, want := versionsOf(t, l, "k"), []string{"k@" + i2.VersionID + "!", "k@" + i1.VersionID, "k@null"}; !slices.Equal(got, want) {
		t.Fatalf("versions %v, want %v", got, want)
	}

	// A delete marker.
	dm, err := l.DeleteObjectVersion(ctx, "bkt", "k", "", s3api.DeleteOptions{})
	if err != nil || !dm.DeleteMarker || dm.VersionID == "" || dm.VersionID == "null" {
		t.Fatalf("DELETE on a versioned bucket: %+v, %v; want a delete marker with an id", dm, err)
	}
	_, _, err = readVersion(l, "k", "")
	var dme *s3api.DeleteMarkerError
	if !errors.As(err, &dme) || !errors.Is(err, s3api.ErrNoSuchKey) || dme.VersionID != dm.VersionID {
		t.Fatalf("GET of a deleted key: %v; want NoSuchKey from delete marker %s", err, dm.VersionID)
	}
	if _, _, err = readVersion(l, "k", dm.VersionID); !errors.Is(err, s3api.ErrMethodNotAllowed) {
		t.Fatalf("GET of the delete marker by id: %v, want MethodNotAllowed", err)
	}
	wantVersion(t, l, "k", i1.VersionID, v1) // the versions below stay
	objs, err := l.ListObjects(ctx, "bkt", s3api.ListParams{MaxKeys: 100})
	if err != nil || len(objs.Objects) != 0 {
		t.Fatalf("ListObjects of a deleted key: %+v, %v", objs.Objects, err)
	}
	if got := versionsOf(t, l, "k"); len(got) != 4 || got[0] != "k@"+dm.VersionID+"*!" {
		t.Fatalf("versions after the delete: %v", got)
	}
	// Removing the marker brings the object back.
	res, err := l.DeleteObjectVersion(ctx, "bkt", "k", dm.VersionID, s3api.DeleteOptions{})
	if err != nil || !res.DeleteMarker || res.VersionID != dm.VersionID {
		t.Fatalf("deleting the delete marker: %+v, %v", res, err)
	}
	wantVersion(t, l, "k", "", v2)

	// A version deleted by id is gone for good; the others read whole.
	if res, err := l.DeleteObjectVersion(ctx, "bkt", "k", i1.VersionID, s3api.DeleteOptions{}); err != nil || res.DeleteMarker {
		t.Fatalf("deleting version %s: %+v, %v", i1.VersionID, res, err)
	}
	if _, _, err := readVersion(l, "k", i1.VersionID); !errors.Is(err, s3api.ErrNoSuchVersion) {
		t.Fatalf("GET of a deleted version: %v, want NoSuchVersion", err)
	}
	wantVersion(t, l, "k", "", v2)
	wantVersion(t, l, "k", "null", v0)
	// Deleting the current version makes the one below current.
	if _, err := l.DeleteObjectVersion(ctx, "bkt", "k", i2.VersionID, s3api.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wantVersion(t, l, "k", "", v0)

	// Suspended: a PUT replaces the null version; versions with ids stay.
	i3 := putVersion(t, l, "k", v1)
	setVersioning(t, l, "Suspended")
	v4 := bytes.Repeat([]byte("4"), 150<<10)
	if info := putVersion(t, l, "k", v4); info.VersionID != "null" {
		t.Fatalf("a PUT while suspended answers version id %q, want null", info.VersionID)
	}
	wantVersion(t, l, "k", "", v4)
	wantVersion(t, l, "k", "null", v4)
	wantVersion(t, l, "k", i3.VersionID, v1)
	if got, want := versionsOf(t, l, "k"), []string{"k@null!", "k@" + i3.VersionID}; !slices.Equal(got, want) {
		t.Fatalf("versions while suspended: %v, want %v", got, want)
	}
	// A DELETE while suspended writes a null delete marker, which replaces
	// the null version.
	dm, err = l.DeleteObjectVersion(ctx, "bkt", "k", "", s3api.DeleteOptions{})
	if err != nil || !dm.DeleteMarker || dm.VersionID != "null" {
		t.Fatalf("DELETE while suspended: %+v, %v; want a null delete marker", dm, err)
	}
	if got, want := versionsOf(t, l, "k"), []string{"k@null*!", "k@" + i3.VersionID}; !slices.Equal(got, want) {
		t.Fatalf("versions after a DELETE while suspended: %v, want %v", got, want)
	}
}

// TestDeleteBucketKeepsVersions: a bucket whose keys are all deleted
// (delete markers current) still holds versions: DeleteBucket answers
// BucketNotEmpty until every version and marker is gone.
func TestDeleteBucketKeepsVersions(t *testing.T) {
	ctx := context.Background()
	l := versioningLayer(t, true)
	setVersioning(t, l, "Enabled")
	i := putVersion(t, l, "k", []byte("data"))
	dm, err := l.DeleteObjectVersion(ctx, "bkt", "k", "", s3api.DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteBucket(ctx, "bkt"); !errors.Is(err, s3api.ErrBucketNotEmpty) {
		t.Fatalf("DeleteBucket with a noncurrent version and a delete marker: %v, want BucketNotEmpty", err)
	}
	if _, err := l.DeleteObjectVersion(ctx, "bkt", "k", i.VersionID, s3api.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteBucket(ctx, "bkt"); !errors.Is(err, s3api.ErrBucketNotEmpty) {
		t.Fatalf("DeleteBucket with a delete marker left: %v, want BucketNotEmpty", err)
	}
	if _, err := l.DeleteObjectVersion(ctx, "bkt", "k", dm.VersionID, s3api.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteBucket(ctx, "bkt"); err != nil {
		t.Fatalf("DeleteBucket of an empty bucket: %v", err)
	}
}

// olderDrive answers DiskInfo as a drive of a node from before versions:
// without DiskInfo.Versions.
type olderDrive struct{ storagenode.Drive }

func (d olderDrive) DiskInfo(ctx context.Context) (storagenode.DiskInfo, error) {
	di, err := storagenode.DiskInfoOf(ctx, d.Drive)
	di.Versions, di.SSE = false, false
	return di, err
}

// TestVersioningNeedsEveryDrive: while a drive of the cluster does not
// keep versions (a node not upgraded yet), turning versioning or object
// lock on is NotImplemented and nothing changes; an offline drive makes
// it wait (503).
func TestVersioningNeedsEveryDrive(t *testing.T) {
	ctx := context.Background()
	l := versioningLayer(t, false)
	for _, s := range []s3api.Setting{s3api.SettingVersioning, s3api.SettingObjectLock} {
		if err := l.PutBucketSetting(ctx, "bkt", s, []byte(`{"status":"Enabled","enabled":true}`)); !errors.Is(err, s3api.ErrNotImplemented) {
			t.Fatalf("turning %v on with a drive that keeps no versions: %v, want NotImplemented", s, err)
		}
	}
	if err := l.PutBucketSetting(ctx, "bkt", s3api.SettingLifecycle, []byte(`{"rules":[]}`)); err != nil {
		t.Fatalf("other settings are not held back: %v", err)
	}
	if info := putVersion(t, l, "k", []byte("x")); info.VersionID != "" {
		t.Fatalf("PUT answers version id %q", info.VersionID)
	}

	l = versioningLayer(t, true)
	d := l.topo().drives[1].(*local.Drive)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.PutBucketSetting(ctx, "bkt", s3api.SettingVersioning, []byte(`{"status":"Enabled"}`)); !errors.Is(err, s3api.ErrServiceUnavailable) {
		t.Fatalf("turning versioning on with a drive offline: %v, want ServiceUnavailable", err)
	}
}

// TestHealDeleteMarker: a heal of a key whose current version is a delete
// marker keeps the marker (and the versions below), and puts back a
// marker record a drive lost.
func TestHealDeleteMarker(t *testing.T) {
	ctx := context.Background()
	l := versioningLayer(t, true)
	setVersioning(t, l, "Enabled")
	data := bytes.Repeat([]byte("v"), 300<<10)
	i := putVersion(t, l, "k", data)
	dm, err := l.DeleteObjectVersion(ctx, "bkt", "k", "", s3api.DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d0 := l.topo().drives[0]
	if _, err := d0.DeleteMeta(ctx, "bkt", "k", ""); err != nil { // drive 0 loses the marker's record
		t.Fatal(err)
	}
	r := NewRepair(l)
	if _, err := r.HealObject(ctx, "bkt", "k", true); err != nil {
		t.Fatalf("heal of a delete marker: %v", err)
	}
	if m, err := d0.GetMeta(ctx, "bkt", "k"); err != nil || !m.DeleteMarker {
		t.Fatalf("drive 0 after the heal: %+v, %v; want the delete marker back", m, err)
	}
	if _, _, err := readVersion(l, "k", ""); !errors.Is(err, s3api.ErrNoSuchKey) {
		t.Fatalf("GET after the heal: %v, want NoSuchKey", err)
	}
	wantVersion(t, l, "k", i.VersionID, data)
	if got := versionsOf(t, l, "k"); len(got) != 2 || got[0] != "k@"+dm.VersionID+"*!" {
		t.Fatalf("versions after the heal: %v", got)
	}
}

// putCompliance writes a version locked in COMPLIANCE mode for an hour
// (the bucket has object lock).
func putCompliance(t *testing.T, l *Layer, key string, data []byte) string {
	t.Helper()
	info, err := l.PutObject(context.Background(), "bkt", key, bytes.NewReader(data), int64(len(data)),
		s3api.PutOptions{Lock: s3api.ObjectLock{Mode: "COMPLIANCE", RetainUntil: time.Now().Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	return info.VersionID
}

// wantCompliance checks that a version is still COMPLIANCE-locked: its
// lock reads back and deleting it, even with the governance bypass, is
// refused.
func wantCompliance(t *testing.T, l *Layer, key, vid string) {
	t.Helper()
	ctx := context.Background()
	if lock, _, err := l.GetObjectLock(ctx, "bkt", key, vid); err != nil || lock.Mode != "COMPLIANCE" {
		t.Fatalf("lock of %s %s: %+v, %v; want COMPLIANCE", key, vid, lock, err)
	}
	if _, err := l.DeleteObjectVersion(ctx, "bkt", key, vid, s3api.DeleteOptions{BypassGovernance: true}); !errors.Is(err, s3api.ErrAccessDenied) {
		t.Fatalf("deleting the COMPLIANCE version %s %s with bypass: %v, want AccessDenied", key, vid, err)
	}
}

// TestHealNoncurrentVersions: a heal of a versioned key brings back every
// version's record and shards on a drive that lost them, not only the
// current one's, and a COMPLIANCE-locked version with its lock.
func TestHealNoncurrentVersions(t *testing.T) {
	ctx := context.Background()
	l := versioningLayer(t, true)
	putVersion(t, l, "k", []byte("null version, inline"))
	setVersioning(t, l, "Enabled")
	if err := l.PutBucketSetting(ctx, "bkt", s3api.SettingObjectLock, []byte(`{"enabled":true}`)); err != nil {
		t.Fatal(err)
	}
	datas := [][]byte{bytes.Repeat([]byte("a"), 250<<10), []byte("small"), bytes.Repeat([]byte("c"), 130<<10)}
	ids := []string{putCompliance(t, l, "k", datas[0])}
	for _, d := range datas[1:] {
		ids = append(ids, putVersion(t, l, "k", d).VersionID)
	}
	d0 := l.topo().drives[0]
	// Drive 0 loses every record of the key (as a replaced drive would).
	for {
		if _, err := d0.DeleteMeta(ctx, "bkt", "k", ""); err != nil {
			break
		}
	}
	if es, _ := d0.ListVersions(ctx, "bkt", "k", "", "", 0); len(es) != 0 {
		t.Fatalf("drive 0 still lists %d versions", len(es))
	}
	res, err := NewRepair(l).HealObject(ctx, "bkt", "k", true)
	if err != nil || res.Lost {
		t.Fatalf("heal: %+v, %v", res, err)
	}
	es, err := d0.ListVersions(ctx, "bkt", "k", "", "", 0)
	if err != nil || len(es) != 4 {
		t.Fatalf("drive 0 after the heal: %d versions (%+v), %v; want all 4 back", len(es), es, err)
	}
	if res.Repaired < 4 {
		t.Errorf("heal repaired %d shards, want one per version at least", res.Repaired)
	}
	for i, id := range ids {
		wantVersion(t, l, "k", id, datas[i])
	}
	wantVersion(t, l, "k", "null", []byte("null version, inline"))
	if m, err := d0.GetVersion(ctx, "bkt", "k", ids[0]); err != nil || m.LockMode != "COMPLIANCE" {
		t.Fatalf("drive 0's healed record of the locked version: %+v, %v", m, err)
	}
	wantCompliance(t, l, "k", ids[0])
	// A second heal finds nothing to do.
	if res, err := NewRepair(l).HealObject(ctx, "bkt", "k", true); err != nil || res.Repaired != 0 {
		t.Fatalf("second heal: %+v, %v; want nothing repaired", res, err)
	}
}

// TestRebalanceMovesNoncurrentVersions: after a drive is added, the
// rebalance moves every version of a versioned key to the new placement,
// not only the current one: each version's record then names its
// placement drives, and every version reads back; COMPLIANCE-locked ones
// keep their lock.
func TestRebalanceMovesNoncurrentVersions(t *testing.T) {
	ctx := context.Background()
	const n = 8
	var drives []Drive
	for i := range n + 1 {
		d := local.NewMem(fmt.Sprintf("d%d", i))
		drives = append(drives, Drive{Drive: d, Node: d.ID()})
	}
	l, err := New(Config{Drives: drives[:n], DataShards: 4, ParityShards: 2, BlockSize: 4096, InlineMax: 2048,
		Catalog: newMemCatalog(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.MakeBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	if err := drives[n].MakeBucket(ctx, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	setVersioning(t, l, "Enabled")
	if err := l.PutBucketSetting(ctx, "bkt", s3api.SettingObjectLock, []byte(`{"enabled":true}`)); err != nil {
		t.Fatal(err)
	}
	type version struct {
		key, id string
		data    []byte
	}
	var all []version
	for i := range 40 {
		key := fmt.Sprintf("obj/%02d", i)
		for j := range 3 {
			data := randBytes(uint64(i*10+j), 1000+3000*j) // inline and shard files
			if j == 0 {
				all = append(all, version{key, putCompliance(t, l, key, data), data}) // locked
				continue
			}
			all = append(all, version{key, putVersion(t, l, key, data).VersionID, data})
		}
	}
	if err := l.SetTopology(Topology{Epoch: 2, Drives: drives, Prior: [][]Drive{drives[:n]}}); err != nil {
		t.Fatal(err)
	}
	st := rebalanceAndWait(t, NewRepair(l))
	if st.ObjectsFailed != 0 || st.Error != "" {
		t.Fatalf("rebalance: %+v", st)
	}
	if err := l.SetTopology(Topology{Epoch: 3, Drives: drives}); err != nil {
		t.Fatal(err)
	}
	moved, locked := 0, 0
	for _, v := range all {
		home, err := l.place("bkt", v.key)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := l.readMetaWith(ctx, "bkt", v.key, func(ctx context.Context, d storagenode.Drive) (*storagenode.ObjectMeta, error) {
			return d.GetVersion(ctx, "bkt", v.key, v.id)
		})
		if err != nil {
			t.Fatalf("%s version %s after the rebalance: %v", v.key, v.id, err)
		}
		if !slices.Equal(m.Drives, driveIDs(home)) {
			t.Fatalf("%s version %s on %v after the rebalance, placement %v", v.key, v.id, m.Drives, driveIDs(home))
		}
		if slices.Contains(m.Drives, "d8") {
			moved++
		}
		wantVersion(t, l, v.key, v.id, v.data)
		if m.LockMode != "" {
			wantCompliance(t, l, v.key, v.id)
			locked++
		}
	}
	if locked != 40 {
		t.Fatalf("%d versions still COMPLIANCE-locked after the rebalance, want 40", locked)
	}
	if moved == 0 {
		t.Fatal("no version was placed on the new drive")
	}
}

// TestObjectTags: a PUT's tags are the version's; PutObjectTags replaces
// them (per version on a versioned bucket) without touching the data; a
// drive that missed a change is outvoted by TagTime and rewritten by the
// heal; a delete marker has no tags to read or set.
func TestObjectTags(t *testing.T) {
	ctx := context.Background()
	l := versioningLayer(t, true)
	data := bytes.Repeat([]byte("t"), 200<<10)
	info, err := l.PutObject(ctx, "bkt", "k", bytes.NewReader(data), int64(len(data)), s3api.PutOptions{Tags: []s3api.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: ""}}})
	if err != nil || len(info.Tags) != 2 {
		t.Fatalf("PUT with tags: %+v, %v", info.Tags, err)
	}
	tags, _, err := l.GetObjectTags(ctx, "bkt", "k", "")
	if err != nil || len(tags) != 2 || tags[0] != (s3api.Tag{Key: "a", Value: "1"}) || tags[1].Key != "b" {
		t.Fatalf("tags after the PUT: %+v, %v", tags, err)
	}
	if _, err := l.PutObjectTags(ctx, "bkt", "k", "", []s3api.Tag{{Key: "c", Value: "3"}}); err != nil {
		t.Fatal(err)
	}
	if tags, _, _ = l.GetObjectTags(ctx, "bkt", "k", ""); len(tags) != 1 || tags[0].Key != "c" {
		t.Fatalf("tags after PutObjectTags: %+v", tags)
	}
	wantVersion(t, l, "k", "", data)

	// Drive 0 goes back to the record before the change: outvoted.
	d0 := l.topo().drives[0]
	m, err := d0.GetMeta(ctx, "bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	stale := m.Clone()
	stale.Tags, stale.TagTime, stale.Inline = []storagenode.Tag{{Key: "old", Value: "x"}}, 0, nil
	if _, err := d0.PutMeta(ctx, stale); err != nil {
		t.Fatal(err)
	}
	if tags, _, _ = l.GetObjectTags(ctx, "bkt", "k", ""); len(tags) != 1 || tags[0].Key != "c" {
		t.Fatalf("tags with one drive behind: %+v, want the newer set", tags)
	}
	if _, err := NewRepair(l).HealObject(ctx, "bkt", "k", false); err != nil {
		t.Fatal(err)
	}
	if m, _ := d0.GetMeta(ctx, "bkt", "k"); len(m.Tags) != 1 || m.Tags[0].Key != "c" {
		t.Fatalf("drive 0 after the heal: tags %+v, want the newer set", m.Tags)
	}

	// Per version, on a versioned bucket; a delete marker has none.
	setVersioning(t, l, "Enabled")
	v2 := putVersion(t, l, "k", []byte("second"))
	if _, err := l.PutObjectTags(ctx, "bkt", "k", "null", []s3api.Tag{{Key: "null", Value: "v"}}); err != nil {
		t.Fatal(err)
	}
	if tags, vid, _ := l.GetObjectTags(ctx, "bkt", "k", ""); len(tags) != 0 || vid != v2.VersionID {
		t.Fatalf("the current version's tags: %+v (%s), want none (%s)", tags, vid, v2.VersionID)
	}
	if tags, _, _ = l.GetObjectTags(ctx, "bkt", "k", "null"); len(tags) != 1 || tags[0].Key != "null" {
		t.Fatalf("the null version's tags: %+v", tags)
	}
	dm, _ := l.DeleteObjectVersion(ctx, "bkt", "k", "", s3api.DeleteOptions{})
	if _, _, err := l.GetObjectTags(ctx, "bkt", "k", ""); !errors.Is(err, s3api.ErrNoSuchKey) {
		t.Fatalf("tags of a deleted key: %v, want NoSuchKey", err)
	}
	if _, err := l.PutObjectTags(ctx, "bkt", "k", dm.VersionID, nil); !errors.Is(err, s3api.ErrMethodNotAllowed) {
		t.Fatalf("tagging a delete marker: %v, want MethodNotAllowed", err)
	}
}

// TestObjectLock: on a bucket with object lock, a version under a
// GOVERNANCE retention is deleted by id only with bypass, one under a
// COMPLIANCE retention or a legal hold not at all; a delete marker can
// always be written; a COMPLIANCE retention cannot be shortened, a
// GOVERNANCE one only with bypass; the bucket's default retention applies
// to writes without a lock; a bucket without object lock refuses locks.
func TestObjectLock(t *testing.T) {
	ctx := context.Background()
	l := versioningLayer(t, true)
	put := func(lock s3api.ObjectLock) string {
		t.Helper()
		info, err := l.PutObject(ctx, "bkt", "k", bytes.NewReader([]byte("locked")), 6, s3api.PutOptions{Lock: lock})
		if err != nil {
			t.Fatal(err)
		}
		return info.VersionID
	}
	if _, err := l.PutObject(ctx, "bkt", "k", bytes.NewReader([]byte("x")), 1, s3api.PutOptions{Lock: s3api.ObjectLock{LegalHold: true}}); !errors.Is(err, s3api.ErrInvalidRequest) {
		t.Fatalf("a lock on a bucket without object lock: %v, want InvalidRequest", err)
	}
	setVersioning(t, l, "Enabled")
	if err := l.PutBucketSetting(ctx, "bkt", s3api.SettingObjectLock, []byte(`{"enabled":true}`)); err != nil {
		t.Fatal(err)
	}
	denied := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, s3api.ErrAccessDenied) {
			t.Fatalf("%s: %v, want AccessDenied", what, err)
		}
	}
	soon := time.Now().Add(time.Hour)
	gov := put(s3api.ObjectLock{Mode: "GOVERNANCE", RetainUntil: soon})
	_, err := l.DeleteObjectVersion(ctx, "bkt", "k", gov, s3api.DeleteOptions{})
	denied("deleting a GOVERNANCE version", err)
	_, err = l.PutObjectRetention(ctx, "bkt", "k", gov, s3api.ObjectLock{Mode: "GOVERNANCE", RetainUntil: soon.Add(-time.Minute)}, false)
	denied("shortening a GOVERNANCE retention without bypass", err)
	if _, err := l.PutObjectRetention(ctx, "bkt", "k", gov, s3api.ObjectLock{Mode: "GOVERNANCE", RetainUntil: soon.Add(time.Hour)}, false); err != nil {
		t.Fatalf("extending a retention: %v", err)
	}
	if lock, _, err := l.GetObjectLock(ctx, "bkt", "k", gov); err != nil || lock.Mode != "GOVERNANCE" || !lock.RetainUntil.After(soon) {
		t.Fatalf("lock after extending: %+v, %v", lock, err)
	}
	if _, err := l.DeleteObjectVersion(ctx, "bkt", "k", gov, s3api.DeleteOptions{BypassGovernance: true}); err != nil {
		t.Fatalf("deleting a GOVERNANCE version with bypass: %v", err)
	}

	comp := put(s3api.ObjectLock{Mode: "COMPLIANCE", RetainUntil: soon})
	_, err = l.DeleteObjectVersion(ctx, "bkt", "k", comp, s3api.DeleteOptions{BypassGovernance: true})
	denied("deleting a COMPLIANCE version, even with bypass", err)
	_, err = l.PutObjectRetention(ctx, "bkt", "k", comp, s3api.ObjectLock{}, true)
	denied("removing a COMPLIANCE retention", err)
	_, err = l.PutObjectRetention(ctx, "bkt", "k", comp, s3api.ObjectLock{Mode: "GOVERNANCE", RetainUntil: soon.Add(time.Hour)}, true)
	denied("turning COMPLIANCE into GOVERNANCE", err)
	if dm, err := l.DeleteObjectVersion(ctx, "bkt", "k", "", s3api.DeleteOptions{}); err != nil || !dm.DeleteMarker {
		t.Fatalf("a delete marker over a locked version: %+v, %v", dm, err)
	}
	wantVersion(t, l, "k", comp, []byte("locked"))
	// The heal keeps it.
	if _, err := NewRepair(l).HealObject(ctx, "bkt", "k", true); err != nil {
		t.Fatal(err)
	}
	wantVersion(t, l, "k", comp, []byte("locked"))

	held := put(s3api.ObjectLock{LegalHold: true})
	_, err = l.DeleteObjectVersion(ctx, "bkt", "k", held, s3api.DeleteOptions{BypassGovernance: true})
	denied("deleting a version under a legal hold", err)
	if _, err := l.PutObjectLegalHold(ctx, "bkt", "k", held, false); err != nil {
		t.Fatal(err)
	}
	if _, err := l.DeleteObjectVersion(ctx, "bkt", "k", held, s3api.DeleteOptions{}); err != nil {
		t.Fatalf("deleting after the legal hold is lifted: %v", err)
	}

	// The default retention.
	if err := l.PutBucketSetting(ctx, "bkt", s3api.SettingObjectLock, []byte(`{"enabled":true,"mode":"GOVERNANCE","days":2}`)); err != nil {
		t.Fatal(err)
	}
	def := put(s3api.ObjectLock{})
	lock, _, err := l.GetObjectLock(ctx, "bkt", "k", def)
	if want := time.Now().AddDate(0, 0, 2); err != nil || lock.Mode != "GOVERNANCE" || lock.RetainUntil.Before(want.Add(-time.Minute)) || lock.RetainUntil.After(want.Add(time.Minute)) {
		t.Fatalf("default retention: %+v, %v; want GOVERNANCE for 2 days", lock, err)
	}
}
