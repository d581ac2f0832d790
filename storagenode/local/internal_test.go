package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/ecstore/ecstore/storagenode"
)

func TestErrfDiskFull(t *testing.T) {
	base := &fs.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}
	err := errf(base, "write shard %s", "b/v/n")
	if !errors.Is(err, storagenode.ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("errf(ENOSPC) = %v: want it to wrap ErrDiskFull and ENOSPC", err)
	}
	if errors.Is(errf(os.ErrPermission, "x"), storagenode.ErrDiskFull) {
		t.Fatal("errf(EPERM) wraps ErrDiskFull")
	}
	// Wrapping twice does not duplicate the marker.
	if err2 := errf(err, "outer"); !errors.Is(err2, storagenode.ErrDiskFull) {
		t.Fatalf("errf(errf(ENOSPC)) = %v", err2)
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a", "b"}, {"o\x00bkt\x00", "o\x00bkt\x01"}, {"a\xff", "b"}, {"a\xff\xff", "b"}, {"\xff", ""}, {"", ""},
	} {
		if got := string(prefixEnd([]byte(c.in))); got != c.want {
			t.Errorf("prefixEnd(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestKeyEncodingOrder(t *testing.T) {
	// Part numbers sort numerically; kinds and buckets do not interleave.
	if string(partKey("b", "u", 9)) >= string(partKey("b", "u", 10)) {
		t.Fatal("part 9 sorts after part 10")
	}
	if string(objectKey("abc", "\xff")) >= string(objectKey("abc-", "")) {
		t.Fatal("bucket abc's keys reach into bucket abc-")
	}
	if fmt.Sprintf("%q", partKey("bkt", "up", 42)) != `"p\x00bkt\x00up\x0000042"` {
		t.Fatalf("partKey = %q", partKey("bkt", "up", 42))
	}
}

// driveWithRecord opens a local drive in a temporary folder, makes bucket
// "bkt" and stores raw as the index record of key "bad" there.
func driveWithRecord(t *testing.T, raw []byte) *Drive {
	t.Helper()
	d, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if err := d.MakeBucket(context.Background(), "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := d.db.Set(objectKey("bkt", "bad"), raw, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLocalCorruptRecord(t *testing.T) {
	d := driveWithRecord(t, []byte("{not json"))
	ctx := context.Background()
	if _, err := d.GetMeta(ctx, "bkt", "bad"); !errors.Is(err, storagenode.ErrCorrupt) {
		t.Fatalf("GetMeta of a corrupt record: %v, want ErrCorrupt", err)
	}
	if _, err := d.ListMeta(ctx, "bkt", "", "", 0); !errors.Is(err, storagenode.ErrCorrupt) {
		t.Fatalf("ListMeta over a corrupt record: %v, want ErrCorrupt", err)
	}
	// A heal overwrites it.
	prev, err := d.PutMeta(ctx, &storagenode.ObjectMeta{Bucket: "bkt", Key: "bad", VersionID: "v1"})
	if err != nil || prev != nil {
		t.Fatalf("PutMeta over a corrupt record = %v, %v", prev, err)
	}
	if m, err := d.GetMeta(ctx, "bkt", "bad"); err != nil || m.VersionID != "v1" {
		t.Fatalf("GetMeta after heal = %v, %v", m, err)
	}
}

// TestRecordCodec: records round-trip exactly (nanosecond times, maps,
// inline bytes), and records written as JSON by earlier versions decode.
func TestRecordCodec(t *testing.T) {
	m := &storagenode.ObjectMeta{
		Bucket: "b", Key: "k/é\x00x", VersionID: "v1", DataDir: "v1",
		ModTime: time.Date(2026, 11, 25, 1, 2, 3, 456789123, time.UTC), Size: 42, ETag: "abc",
		UserMeta: map[string]string{"a": "1"}, Headers: map[string]string{"Cache-Control": "no"},
		Checksums: map[string]string{"CRC32": "AAAA"}, EC: storagenode.ECInfo{Data: 4, Parity: 2, BlockSize: 1 << 20},
		Drives: []string{"d1", "d2"}, Parts: []storagenode.PartInfo{{Number: 1, Size: 42, ETag: "p", Name: "part.1"}},
		InlineData: true, Inline: []byte{0, 1, 2, 255},
	}
	b, err := encodeRecord(m)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] == '{' {
		t.Fatal("records are still JSON")
	}
	got, err := decodeRecord[storagenode.ObjectMeta](b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) || !got.ModTime.Equal(m.ModTime) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	legacy, _ := json.Marshal(m)
	old, err := decodeRecord[storagenode.ObjectMeta](legacy)
	if err != nil || old.Key != m.Key || !old.ModTime.Equal(m.ModTime) {
		t.Fatalf("legacy JSON record: %+v, %v", old, err)
	}
	if _, err := decodeRecord[storagenode.ObjectMeta]([]byte{0xa1, 0x61}); !errors.Is(err, storagenode.ErrCorrupt) {
		t.Fatalf("truncated record: %v, want ErrCorrupt", err)
	}
}

// farMtime is a record whose mtime is a CBOR epoch time (tag 1) in the
// year 125751, which RFC 3339 cannot write (found by FuzzDecodeRecord).
var farMtime = []byte{0xa1, 0x65, 'm', 't', 'i', 'm', 'e', 0xc1, 0x1b, 0, 0, 0x03, 0x8d, 0x7e, 0xa4, 0xc6, 0x80}

func TestDecodeRefusesUnwritableTime(t *testing.T) {
	if _, err := decodeRecord[storagenode.ObjectMeta](farMtime); !errors.Is(err, storagenode.ErrCorrupt) {
		t.Fatalf("record with year 125751: %v, want ErrCorrupt", err)
	}
	if _, err := decodeEntry(farMtime); !errors.Is(err, storagenode.ErrCorrupt) {
		t.Fatalf("entry with year 125751: %v, want ErrCorrupt", err)
	}
}

// FuzzDecodeRecord: a damaged record is an error, never a panic.
func FuzzDecodeRecord(f *testing.F) {
	b, _ := encodeRecord(&storagenode.ObjectMeta{Bucket: "b", Key: "k", Drives: []string{"x"}, Parts: []storagenode.PartInfo{{Number: 1}}})
	f.Add(b)
	f.Add([]byte(`{"bucket":"b"}`))
	f.Add(farMtime)
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := decodeRecord[storagenode.ObjectMeta](data); err == nil {
			if _, err := encodeRecord(m); err != nil {
				t.Fatalf("decoded record does not encode: %v", err)
			}
		}
		if e, err := decodeEntry(data); err == nil {
			if _, err := encodeRecord(&e); err != nil {
				t.Fatalf("decoded entry does not encode: %v", err)
			}
		}
	})
}
