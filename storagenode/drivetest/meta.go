package drivetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

func testPutMetaOrdering(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	m5 := meta("bkt", "k", 5)
	if prev := putMeta(t, d, m5); prev != nil {
		t.Fatalf("first PutMeta returned prev %s", dump(prev))
	}
	m7 := meta("bkt", "k", 7)
	sameMeta(t, putMeta(t, d, m7), m5, "prev of a newer PutMeta")

	// Older: refused, nothing changes.
	_, err := d.PutMeta(ctx(), meta("bkt", "k", 6))
	wantErr(t, err, storagenode.ErrStale, "PutMeta of an older record")
	got, err := d.GetMeta(ctx(), "bkt", "k")
	noErr(t, err, "GetMeta")
	sameMeta(t, got, m7, "record after a stale PutMeta")

	// Same ModTime: VersionID decides; the very same version replaces (retry,
	// heal).
	same := meta("bkt", "k", 7)
	same.ContentType = "text/plain"
	sameMeta(t, putMeta(t, d, same), m7, "prev of a PutMeta of the same version")
	lower := meta("bkt", "k", 7)
	lower.VersionID = "v000006z"
	_, err = d.PutMeta(ctx(), lower)
	wantErr(t, err, storagenode.ErrStale, "PutMeta with the same ModTime and a lower VersionID")
	higher := meta("bkt", "k", 7)
	higher.VersionID = "v000007z"
	sameMeta(t, putMeta(t, d, higher), same, "prev of a PutMeta with the same ModTime and a higher VersionID")

	// Time zones do not matter, only instants.
	east := meta("bkt", "k", 8)
	east.ModTime = east.ModTime.In(time.FixedZone("UTC+5", 5*3600))
	putMeta(t, d, east)
	west := meta("bkt", "k", 8)
	west.VersionID = "v000001"
	west.ModTime = west.ModTime.In(time.FixedZone("UTC-7", -7*3600))
	_, err = d.PutMeta(ctx(), west)
	wantErr(t, err, storagenode.ErrStale, "PutMeta of the same instant in another zone with a lower VersionID")

	// After a delete, anything goes again.
	_, err = d.DeleteMeta(ctx(), "bkt", "k", "")
	noErr(t, err, "DeleteMeta")
	if prev := putMeta(t, d, meta("bkt", "k", 1)); prev != nil {
		t.Fatalf("PutMeta after DeleteMeta returned prev %s", dump(prev))
	}
}

func fullMeta() *storagenode.ObjectMeta {
	return &storagenode.ObjectMeta{
		Bucket: "bkt", Key: "dir/sub dir/ünïcode-日本語.txt", VersionID: "0190f0a8-8c4c-7b6f-9d4c-1f2e3d4c5b6a",
		DataDir: "0190f0a8-8c4c-7b6f-9d4c-1f2e3d4c5b6a", ModTime: time.Date(2025, 6, 7, 8, 9, 10, 123456789, time.UTC),
		Size: 5<<30 + 17, ETag: "9b2cf535f27731c974343645a3985328-3", ContentType: "application/octet-stream",
		UserMeta:  map[string]string{"color": "blue", "empty": ""},
		Headers:   map[string]string{"Cache-Control": "no-cache", "Content-Disposition": `attachment; filename="a b"`},
		Checksums: map[string]string{"CRC32C": "yZRlqg=="},
		EC:        storagenode.ECInfo{Data: 4, Parity: 2, BlockSize: 1 << 20},
		Drives:    []string{"n1/d1", "n2/d1", "n3/d1", "n4/d1", "n5/d1", "n6/d1"},
		Parts: []storagenode.PartInfo{
			{Number: 1, Size: 5 << 29, ETag: "a", Name: "part.1"},
			{Number: 2, Size: 5 << 29, ETag: "b", Name: "part.2"},
			{Number: 3, Size: 17, ETag: "c", Name: "part.3"},
		},
	}
}

func testMetaRoundTrip(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	m := fullMeta()
	putMeta(t, d, m)
	got, err := d.GetMeta(ctx(), "bkt", m.Key)
	noErr(t, err, "GetMeta")
	sameMeta(t, got, m, "GetMeta")
	list, err := d.ListMeta(ctx(), "bkt", "", "", 10)
	noErr(t, err, "ListMeta")
	if len(list) != 1 {
		t.Fatalf("ListMeta returned %d records, want 1", len(list))
	}
	sameMeta(t, list[0], m, "ListMeta record")

	// Inline-style record: no drives, no parts, zero time.
	small := &storagenode.ObjectMeta{Bucket: "bkt", Key: "tiny"}
	putMeta(t, d, small)
	got, err = d.GetMeta(ctx(), "bkt", "tiny")
	noErr(t, err, "GetMeta tiny")
	sameMeta(t, got, small, "GetMeta of a minimal record")

	_, err = d.GetMeta(ctx(), "bkt", "nope")
	wantErr(t, err, storagenode.ErrObjectNotFound, "GetMeta of a missing key")
	_, err = d.GetMeta(ctx(), "bkt", "dir/sub dir/")
	wantErr(t, err, storagenode.ErrObjectNotFound, "GetMeta of a prefix of a key")
}

// testMetaCopies checks that a drive keeps its own copy of records: changing
// a record after PutMeta or after GetMeta does not change the stored one.
func testMetaCopies(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	m := fullMeta()
	putMeta(t, d, m)
	m.UserMeta["color"] = "red"
	m.Drives[0] = "changed"
	m.Parts[0].ETag = "changed"
	got, err := d.GetMeta(ctx(), "bkt", m.Key)
	noErr(t, err, "GetMeta")
	sameMeta(t, got, fullMeta(), "record after the caller changed its copy")
	got.UserMeta["color"] = "green"
	got.Parts[1].Size = 1
	again, err := d.GetMeta(ctx(), "bkt", m.Key)
	noErr(t, err, "GetMeta")
	sameMeta(t, again, fullMeta(), "record after the caller changed a returned copy")
}

func testDeleteMeta(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	m := meta("bkt", "k", 3)
	putMeta(t, d, m)
	_, err := d.DeleteMeta(ctx(), "bkt", "k", "other-version")
	wantErr(t, err, storagenode.ErrObjectNotFound, "DeleteMeta of another version")
	got, err := d.GetMeta(ctx(), "bkt", "k")
	noErr(t, err, "GetMeta after a refused DeleteMeta")
	sameMeta(t, got, m, "record after a refused DeleteMeta")

	del, err := d.DeleteMeta(ctx(), "bkt", "k", m.VersionID)
	noErr(t, err, "DeleteMeta of the stored version")
	sameMeta(t, del, m, "DeleteMeta result")
	_, err = d.GetMeta(ctx(), "bkt", "k")
	wantErr(t, err, storagenode.ErrObjectNotFound, "GetMeta after DeleteMeta")
	_, err = d.DeleteMeta(ctx(), "bkt", "k", "")
	wantErr(t, err, storagenode.ErrObjectNotFound, "DeleteMeta of a missing key")

	m2 := meta("bkt", "k", 4)
	putMeta(t, d, m2)
	del, err = d.DeleteMeta(ctx(), "bkt", "k", "")
	noErr(t, err, "DeleteMeta of any version")
	sameMeta(t, del, m2, "DeleteMeta(any) result")
	if ms, err := d.ListMeta(ctx(), "bkt", "", "", 0); err != nil || len(ms) != 0 {
		t.Fatalf("ListMeta after deletes = %d records, %v", len(ms), err)
	}
}

// testInlineMeta checks records that carry an inline shard: GetMeta returns
// it, listings and the prev records do not; it belongs to the version
// directory (a newer version does not see it, DeleteVersion removes it, a
// rewrite of the same version without inline bytes keeps it).
func testInlineMeta(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	m := meta("bkt", "small", 1)
	m.InlineData, m.Inline = true, pattern(3000, 7)
	putMeta(t, d, m)
	got, err := d.GetMeta(ctx(), "bkt", "small")
	noErr(t, err, "GetMeta of an inline record")
	if !got.InlineData {
		t.Fatal("GetMeta lost InlineData")
	}
	sameBytes(t, got.Inline, m.Inline, "inline shard")
	ls, err := d.ListMeta(ctx(), "bkt", "", "", 0)
	noErr(t, err, "ListMeta")
	if len(ls) != 1 || !ls[0].InlineData || ls[0].Inline != nil {
		t.Fatalf("ListMeta: %d records, want 1 with InlineData and no inline bytes", len(ls))
	}
	// The same version again without bytes (a metadata update) keeps them.
	same := meta("bkt", "small", 1)
	same.InlineData = true
	same.Drives = []string{"x", "y", "z"}
	putMeta(t, d, same)
	got, err = d.GetMeta(ctx(), "bkt", "small")
	noErr(t, err, "GetMeta")
	sameBytes(t, got.Inline, m.Inline, "inline shard after a metadata-only rewrite")

	m2 := meta("bkt", "small", 2)
	m2.InlineData = true // a newer version whose shard this drive lacks
	prev := putMeta(t, d, m2)
	if prev == nil || prev.VersionID != m.VersionID || prev.Inline != nil {
		t.Fatalf("PutMeta prev: %+v, want version %s without inline bytes", prev, m.VersionID)
	}
	got, err = d.GetMeta(ctx(), "bkt", "small")
	noErr(t, err, "GetMeta")
	if len(got.Inline) != 0 {
		t.Fatalf("a newer version shows %d inline bytes of an older one", len(got.Inline))
	}
	// Restoring the older record (a rolled-back write) finds its shard.
	_, err = d.DeleteMeta(ctx(), "bkt", "small", m2.VersionID)
	noErr(t, err, "DeleteMeta")
	putMeta(t, d, m)
	got, err = d.GetMeta(ctx(), "bkt", "small")
	noErr(t, err, "GetMeta")
	sameBytes(t, got.Inline, m.Inline, "inline shard of a restored record")
	del, err := d.DeleteMeta(ctx(), "bkt", "small", "")
	noErr(t, err, "DeleteMeta")
	if del.Inline != nil {
		t.Error("DeleteMeta returned the inline bytes")
	}
	noErr(t, d.DeleteVersion(ctx(), "bkt", m.DataDir), "DeleteVersion")
	putMeta(t, d, m2)
	putMeta(t, d, func() *storagenode.ObjectMeta {
		r := meta("bkt", "small", 3)
		r.DataDir, r.InlineData = m.DataDir, true
		return r
	}())
	got, err = d.GetMeta(ctx(), "bkt", "small")
	noErr(t, err, "GetMeta")
	if len(got.Inline) != 0 {
		t.Errorf("DeleteVersion left the inline shard: %d bytes", len(got.Inline))
	}
}

// testTagTimeKept: a record of a version rewritten with an older TagTime
// (a heal or a move writing the record it read before a tagging or
// object-lock change) takes the new fields, such as the drive list, but
// keeps the stored tag set and lock settings, and their TagTime.
func testTagTimeKept(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "tagt")
	read := meta("tagt", "k", 1)
	putMeta(t, d, read)
	changed := *read
	changed.Tags = []storagenode.Tag{{Key: "hold", Value: "yes"}}
	changed.TagTime = 50
	changed.LockMode, changed.RetainUntil, changed.LegalHold = "GOVERNANCE", 99, true
	_, err := d.PutMeta(ctx(), &changed)
	noErr(t, err, "the tag and lock change")
	moved := *read
	moved.Drives = []string{"d1", "d2", "d4"}
	_, err = d.PutMeta(ctx(), &moved)
	noErr(t, err, "the record rewritten from the earlier read")
	got, err := d.GetMeta(ctx(), "tagt", "k")
	noErr(t, err, "GetMeta")
	if !slices.Equal(got.Drives, moved.Drives) {
		t.Errorf("drives %v, want the rewrite's %v", got.Drives, moved.Drives)
	}
	if got.TagTime != 50 || len(got.Tags) != 1 || got.Tags[0] != changed.Tags[0] || !got.LegalHold || got.LockMode != "GOVERNANCE" || got.RetainUntil != 99 {
		t.Errorf("after a rewrite with an older TagTime: tags %v (time %d), lock %q until %d, hold %v; want the change's kept",
			got.Tags, got.TagTime, got.LockMode, got.RetainUntil, got.LegalHold)
	}
	// A newer change replaces them.
	lifted := *got
	lifted.LegalHold, lifted.TagTime = false, 60
	_, err = d.PutMeta(ctx(), &lifted)
	noErr(t, err, "a later change")
	got, err = d.GetMeta(ctx(), "tagt", "k")
	noErr(t, err, "GetMeta")
	if got.LegalHold || got.TagTime != 60 {
		t.Errorf("a later change: hold %v, time %d; want lifted at 60", got.LegalHold, got.TagTime)
	}
}

// testLayoutKept: a record of a version rewritten from a read taken
// before its shards moved (a lower Layout; a tag change's record, through
// PutMeta or PutMetaIf) keeps the stored drive list and Layout and takes
// the rest (the new tags); a record with a higher Layout takes the drive
// list.
func testLayoutKept(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "layout")
	read := meta("layout", "k", 1)
	read.Drives = []string{"d1", "d2", "d3"}
	putMeta(t, d, read)
	moved := *read
	moved.Drives = []string{"d1", "d2", "d4"}
	moved.Layout = 1
	_, err := d.PutMetaIf(ctx(), &moved, read.VersionID)
	noErr(t, err, "the move's record")
	for _, cas := range []bool{false, true} {
		tagged := *read
		tagged.Tags = []storagenode.Tag{{Key: "k", Value: fmt.Sprint(cas)}}
		tagged.TagTime = read.TagTime + 10
		read.TagTime = tagged.TagTime
		if cas {
			_, err = d.PutMetaIf(ctx(), &tagged, read.VersionID)
		} else {
			_, err = d.PutMeta(ctx(), &tagged)
		}
		noErr(t, err, "the tag change read before the move")
		got, err := d.GetMeta(ctx(), "layout", "k")
		noErr(t, err, "GetMeta")
		if !slices.Equal(got.Drives, moved.Drives) || got.Layout != 1 {
			t.Errorf("PutMetaIf %v: drives %v (layout %d) after a rewrite from before the move, want the move's %v (1)", cas, got.Drives, got.Layout, moved.Drives)
		}
		if len(got.Tags) != 1 || got.Tags[0] != tagged.Tags[0] || got.TagTime != tagged.TagTime {
			t.Errorf("PutMetaIf %v: tags %v (time %d), want the change's %v (%d)", cas, got.Tags, got.TagTime, tagged.Tags, tagged.TagTime)
		}
	}
	again := *read
	again.Drives = []string{"d5", "d2", "d4"}
	again.Layout = 2
	_, err = d.PutMeta(ctx(), &again)
	noErr(t, err, "a later move's record")
	got, err := d.GetMeta(ctx(), "layout", "k")
	noErr(t, err, "GetMeta")
	if !slices.Equal(got.Drives, again.Drives) || got.Layout != 2 {
		t.Errorf("drives %v (layout %d) after a later move, want %v (2)", got.Drives, got.Layout, again.Drives)
	}
}

// testRewriteMeta: RewriteMeta stores a record only over a record of its
// version the drive holds, current or noncurrent, and with a layout only
// over that Layout; a version deleted meanwhile stays deleted. A record
// whose drive list the drive keeps (a lower Layout) does not replace the
// stored inline shard either.
func testRewriteMeta(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "rewrite")
	v1, v2 := meta("rewrite", "k", 1), meta("rewrite", "k", 2)
	v1.Versioned, v2.Versioned = true, true
	putMeta(t, d, v1)
	putMeta(t, d, v2)
	tagged := *v1
	tagged.Tags, tagged.TagTime = []storagenode.Tag{{Key: "t"}}, 5
	_, err := d.RewriteMeta(ctx(), &tagged, storagenode.AnyLayout)
	noErr(t, err, "RewriteMeta of a noncurrent version")
	if got, err := d.GetVersion(ctx(), "rewrite", "k", v1.VersionID); err != nil || len(got.Tags) != 1 {
		t.Errorf("the noncurrent version after RewriteMeta: %v, %v; want its new tag", got, err)
	}
	if cur, err := d.GetMeta(ctx(), "rewrite", "k"); err != nil || cur.VersionID != v2.VersionID {
		t.Errorf("current after rewriting a noncurrent version: %v, %v; want %s", cur, err, v2.VersionID)
	}
	moved := *v2
	moved.Drives, moved.Layout = []string{"d1", "d2", "d9"}, 1
	_, err = d.RewriteMeta(ctx(), &moved, 0)
	noErr(t, err, "RewriteMeta over the Layout read")
	again := *v2
	again.Drives, again.Layout = []string{"d8", "d2", "d3"}, 1
	if _, err := d.RewriteMeta(ctx(), &again, 0); !errors.Is(err, storagenode.ErrConflict) {
		t.Errorf("RewriteMeta over a Layout since changed: %v, want ErrConflict", err)
	}
	if cur, err := d.GetMeta(ctx(), "rewrite", "k"); err != nil || !slices.Equal(cur.Drives, moved.Drives) {
		t.Errorf("after a refused RewriteMeta: %v, %v; want the drive list %v", cur, err, moved.Drives)
	}
	// A move made from a later read (other drives hold Layout 3) takes a
	// drive that missed the moves between.
	later := *v2
	later.Drives, later.Layout = []string{"d7", "d2", "d9"}, 4
	_, err = d.RewriteMeta(ctx(), &later, 3)
	noErr(t, err, "RewriteMeta over an older Layout")
	if cur, err := d.GetMeta(ctx(), "rewrite", "k"); err != nil || !slices.Equal(cur.Drives, later.Drives) || cur.Layout != 4 {
		t.Errorf("after a move from a later read: %v, %v; want the drive list %v (Layout 4)", cur, err, later.Drives)
	}
	_, err = d.DeleteMeta(ctx(), "rewrite", "k", v1.VersionID)
	noErr(t, err, "DeleteMeta v1")
	if _, err := d.RewriteMeta(ctx(), &tagged, storagenode.AnyLayout); !errors.Is(err, storagenode.ErrConflict) {
		t.Errorf("RewriteMeta of a deleted version: %v, want ErrConflict", err)
	}
	if _, err := d.GetVersion(ctx(), "rewrite", "k", v1.VersionID); !errors.Is(err, storagenode.ErrObjectNotFound) {
		t.Errorf("the deleted version after a refused RewriteMeta: %v, want not found", err)
	}
	if _, err := d.RewriteMeta(ctx(), meta("rewrite", "none", 3), storagenode.AnyLayout); !errors.Is(err, storagenode.ErrConflict) {
		t.Errorf("RewriteMeta of a key the drive does not hold: %v, want ErrConflict", err)
	}
	if _, err := d.GetMeta(ctx(), "rewrite", "none"); !errors.Is(err, storagenode.ErrObjectNotFound) {
		t.Errorf("a key after a refused RewriteMeta: %v, want not found", err)
	}

	in := meta("rewrite", "inline", 4)
	in.InlineData, in.Inline, in.Layout, in.Drives = true, []byte("kept"), 1, []string{"d1", "d2", "d9"}
	putMeta(t, d, in)
	stale := *in
	stale.Inline, stale.Layout, stale.Drives, stale.TagTime = []byte("gone"), 0, []string{"d9", "d2", "d3"}, 7
	putMeta(t, d, &stale)
	got, err := d.GetMeta(ctx(), "rewrite", "inline")
	noErr(t, err, "GetMeta inline")
	if !slices.Equal(got.Drives, in.Drives) || string(got.Inline) != "kept" || got.TagTime != 7 {
		t.Errorf("inline record after a rewrite from before a move: drives %v, inline %q, tag time %d; want %v, %q, 7", got.Drives, got.Inline, got.TagTime, in.Drives, "kept")
	}
}
