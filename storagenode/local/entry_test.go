package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/fxamacker/cbor/v2"
)

func entryTestMetas() []*storagenode.ObjectMeta {
	full := &storagenode.ObjectMeta{
		Bucket: "b", Key: "k/é\x00x", VersionID: "v1", DataDir: "v1",
		ModTime: time.Date(2026, 11, 25, 1, 2, 3, 456789123, time.UTC), Size: 5<<30 + 3, ETag: "abc-3",
		ContentType: "text/plain", UserMeta: map[string]string{"a": "1", "ü": ""},
		Headers: map[string]string{"Cache-Control": "no", "X-Amz-Storage-Class": "REDUCED_REDUNDANCY"}, Checksums: map[string]string{"CRC32": "AAAA"},
		EC: storagenode.ECInfo{Data: 4, Parity: 2, BlockSize: 1 << 20}, Drives: []string{"d1", "d2"},
		Parts: []storagenode.PartInfo{
			{Number: 1, Size: 42, ETag: "p", Name: "part.1", Checksums: map[string]string{"CRC32": "x"}},
			{Number: 2, Size: 1, ETag: "q", Name: "part.2"},
		},
		InlineData: true, Inline: []byte{0, 1, 2, 255}, Versioned: true,
	}
	return []*storagenode.ObjectMeta{
		full,
		{Bucket: "b", Key: "bare"},
		{Bucket: "b", Key: "marker", VersionID: "m1", Versioned: true, DeleteMarker: true},
		{Bucket: "b", Key: "zero-time", VersionID: "v", ModTime: time.Time{}, Size: -1},
		{Bucket: "b", Key: "whole-second", ModTime: time.Date(2025, 2, 28, 23, 59, 59, 0, time.UTC)},
		{Bucket: "b", Key: "one-digit", ModTime: time.Date(2025, 2, 28, 23, 59, 59, 100000000, time.UTC)},
		{Bucket: "b", Key: "zone", ModTime: time.Date(2024, 2, 29, 1, 2, 3, 4, time.FixedZone("", -7*3600))},
		{Bucket: "b", Key: "old", ModTime: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), EC: storagenode.ECInfo{Data: 1 << 40}},
	}
}

// TestDecodeEntry: the fast path reads every listing field as the general
// decoder does, from CBOR and from legacy JSON records.
func TestDecodeEntry(t *testing.T) {
	for _, m := range entryTestMetas() {
		stored := *m
		stored.Inline = nil
		b, err := encodeRecord(&stored)
		if err != nil {
			t.Fatal(err)
		}
		fast, ok := fastEntry(b)
		if !ok {
			t.Fatalf("%q: the fast path refused a record this package wrote", m.Key)
		}
		want := libraryEntry(t, b)
		if !sameEntry(fast, want) || !sameEntry(fast, m.Entry()) {
			t.Fatalf("%q:\n fast    %+v\n library %+v\n record  %+v", m.Key, fast, want, m.Entry())
		}
		legacy, _ := json.Marshal(m)
		old, err := decodeEntry(legacy)
		if err != nil || !sameEntry(old, m.Entry()) {
			t.Fatalf("%q from JSON: %+v, %v", m.Key, old, err)
		}
	}
	for _, bad := range [][]byte{nil, {0xa1, 0x61}, []byte("{not json"), {0xa1, 0x63, 'k', 'e', 'y', 0x01}} {
		if _, err := decodeEntry(bad); !errors.Is(err, storagenode.ErrCorrupt) {
			t.Errorf("decodeEntry(% x) = %v, want ErrCorrupt", bad, err)
		}
	}
}

// TestDecodeEntryFallback: CBOR the fast path does not take (indefinite
// lengths, tagged times, null strings) still decodes through the general
// decoder.
func TestDecodeEntryFallback(t *testing.T) {
	tm := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	indef, _ := cbor.EncOptions{IndefLength: cbor.IndefLengthAllowed, Time: cbor.TimeUnix}.EncMode()
	b, err := indef.Marshal(map[string]any{"key": "k", "vid": "v", "mtime": tm, "ec": map[string]int{"k": 3}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fastEntry(b); ok {
		t.Fatal("the fast path took an integer time")
	}
	e, err := decodeEntry(b)
	if err != nil || e.Key != "k" || !e.ModTime.Equal(tm) || e.DataShards != 3 {
		t.Fatalf("fallback decode = %+v, %v", e, err)
	}
}

// TestLocalListEntriesCorrupt: a record that does not decode fails the
// listing with ErrCorrupt, as ListMeta does.
func TestLocalListEntriesCorrupt(t *testing.T) {
	d := driveWithRecord(t, []byte{0xa2, 0x63, 'k', 'e', 'y'})
	if _, err := d.ListEntries(context.Background(), "bkt", "", "", 0); !errors.Is(err, storagenode.ErrCorrupt) {
		t.Fatalf("ListEntries over a corrupt record: %v, want ErrCorrupt", err)
	}
}

func libraryEntry(t testing.TB, b []byte) storagenode.ObjectEntry {
	t.Helper()
	var r entryRecord
	if err := storagenode.UnmarshalRecord(b, &r); err != nil {
		t.Fatalf("library decode: %v", err)
	}
	return storagenode.ObjectEntry{Key: r.Key, VersionID: r.VersionID, ModTime: r.ModTime, Size: r.Size, ETag: r.ETag,
		ContentType: r.ContentType, UserMeta: r.UserMeta, DataShards: r.EC.Data, Versioned: r.Versioned, DeleteMarker: r.DeleteMarker,
		StorageClass: r.Headers[storageClassHeader]}
}

func sameEntry(a, b storagenode.ObjectEntry) bool {
	if !a.ModTime.Equal(b.ModTime) {
		return false
	}
	a.ModTime, b.ModTime = time.Time{}, time.Time{}
	if len(a.UserMeta) == 0 && len(b.UserMeta) == 0 {
		a.UserMeta, b.UserMeta = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

// FuzzDecodeEntry: a damaged record is an error, never a panic, and
// whenever the fast path and the general decoder both decode a record
// they agree.
func FuzzDecodeEntry(f *testing.F) {
	for _, m := range entryTestMetas() {
		b, _ := encodeRecord(m)
		f.Add(b)
	}
	f.Add([]byte(`{"key":"k","ec":{"k":2}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeEntry(data)
		fast, ok := fastEntry(data)
		if !ok {
			return
		}
		var r entryRecord
		if storagenode.UnmarshalRecord(data, &r) != nil {
			return // the fast path does not check the fields it skips
		}
		if want := libraryEntry(t, data); !sameEntry(fast, want) {
			t.Fatalf("fast %+v, library %+v", fast, want)
		}
	})
}

// BenchmarkDecodeEntry compares decoding a typical record whole with
// decoding its listing entry.
func BenchmarkDecodeEntry(b *testing.B) {
	m := &storagenode.ObjectMeta{
		Bucket: "bench", Key: "photos/2025/00001234.jpg", VersionID: "0190f0a8-8c4c-7b6f-9d4c-1f2e3d4c5b6a",
		DataDir: "0190f0a8-8c4c-7b6f-9d4c-1f2e3d4c5b6a", ModTime: time.Date(2026, 11, 25, 1, 2, 3, 456789123, time.UTC),
		Size: 3 << 20, ETag: "9b2cf535f27731c974343645a3985328", ContentType: "image/jpeg",
		Checksums: map[string]string{"CRC64NVME": "AAAAAAAAAAA="}, EC: storagenode.ECInfo{Data: 4, Parity: 2, BlockSize: 1 << 20},
		Drives: []string{"drive1", "drive2", "drive3", "drive4", "drive5", "drive6"},
		Parts:  []storagenode.PartInfo{{Number: 1, Size: 3 << 20, ETag: "9b2cf535f27731c974343645a3985328", Name: "part.1"}},
	}
	rec, _ := encodeRecord(m)
	b.Run("Record", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeRecord[storagenode.ObjectMeta](rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("EntryLibrary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeRecord[entryRecord](rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Entry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeEntry(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// coldIndex opens a drive in a temporary folder with the bucket "bench",
// and returns it with set, which stores a record under an index key in
// large unsynced batches, and done, which commits the last batch and
// compacts the index (as a settled index is), for the cold listing
// benchmarks.
func coldIndex(b *testing.B) (d *Drive, set func(k []byte, v any), done func()) {
	d, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	if err := d.MakeBucket(context.Background(), "bench", time.Now()); err != nil {
		b.Fatal(err)
	}
	batch := d.db.NewBatch()
	set = func(k []byte, v any) {
		rec, err := encodeRecord(v)
		if err != nil {
			b.Fatal(err)
		}
		_ = batch.Set(k, rec, nil)
		if batch.Len() > 4<<20 {
			if err := batch.Commit(pebble.NoSync); err != nil {
				b.Fatal(err)
			}
			batch = d.db.NewBatch()
		}
	}
	done = func() {
		if err := batch.Commit(pebble.NoSync); err != nil {
			b.Fatal(err)
		}
		if err := d.db.Compact([]byte{0}, []byte{0xff}, true); err != nil {
			b.Fatal(err)
		}
	}
	return d, set, done
}

// BenchmarkLocalListEntriesCold lists 1000-entry pages of a drive holding
// more records than its block cache (200,000 records of about 300 bytes,
// 32 MiB cache, compacted as a settled index is), as a drive of a large
// bucket does: the index blocks come from the file system and are
// decompressed for each walk. Entries is ListEntries, Meta is ListMeta
// (whole records), Raw is the index scan alone. The custom metric is
// records per second.
func BenchmarkLocalListEntriesCold(b *testing.B) {
	const n = 200000
	d, set, done := coldIndex(b)
	ctx := context.Background()
	for i := range n {
		m := benchRecord(i)
		set(objectKey(m.Bucket, m.Key), m)
	}
	done()
	for _, mode := range []string{"Entries", "Meta", "Raw"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			records, after := 0, ""
			start := time.Now()
			for b.Loop() {
				var last string
				var got int
				if mode == "Raw" {
					err := d.listObjects(ctx, "raw", "bench", "photos/", after, 1000, func(k, v []byte) error {
						got++
						last = string(k[len("o\x00bench\x00"):])
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				} else if mode == "Entries" {
					es, err := d.ListEntries(ctx, "bench", "photos/", after, 1000)
					if err != nil {
						b.Fatal(err)
					}
					got = len(es)
					if got > 0 {
						last = es[got-1].Key
					}
				} else {
					ms, err := d.ListMeta(ctx, "bench", "photos/", after, 1000)
					if err != nil {
						b.Fatal(err)
					}
					got = len(ms)
					if got > 0 {
						last = ms[got-1].Key
					}
				}
				records += got
				after = last
				if got < 1000 {
					after = ""
				}
			}
			b.ReportMetric(float64(records)/time.Since(start).Seconds(), "records/s")
		})
	}
}

// benchRecord is a record as a single-part PUT of the embedded server
// writes it.
func benchRecord(i int) *storagenode.ObjectMeta {
	v := fmt.Sprintf("0190f0a8-8c4c-7b6f-9d4c-%012x", i)
	return &storagenode.ObjectMeta{
		Bucket: "bench", Key: fmt.Sprintf("photos/2025/%08d.jpg", i), VersionID: v, DataDir: v,
		ModTime: time.Date(2026, 11, 25, 1, 2, 3, 456789123, time.UTC).Add(time.Duration(i) * time.Millisecond),
		Size:    3 << 20, ETag: "9b2cf535f27731c974343645a3985328", ContentType: "image/jpeg",
		Checksums: map[string]string{"CRC64NVME": "AAAAAAAAAAA="}, EC: storagenode.ECInfo{Data: 4, Parity: 2, BlockSize: 1 << 20},
		Drives: []string{"drive1", "drive2", "drive3", "drive4", "drive5", "drive6"},
		Parts:  []storagenode.PartInfo{{Number: 1, Size: 3 << 20, ETag: "9b2cf535f27731c974343645a3985328", Name: "part.1"}},
	}
}

// TestParseRFC3339: the fast time parser accepts what time.Parse accepts,
// with the same instant, and nothing else.
func TestParseRFC3339(t *testing.T) {
	cases := []string{
		"2026-11-25T18:45:48.261Z", "2026-11-25T18:45:48Z", "2026-11-25T18:45:48.1Z", "2026-11-25T18:45:48.123456789Z",
		"2026-11-25T18:45:48.1234567891Z", "2026-11-25T18:45:48.Z", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z",
		"2000-02-29T23:59:59Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-12-31T23:59:59.999999999Z",
		"2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z",
		"2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
		"2026-01-01T00:00:00+01:00", "2026-01-01T00:00:00.5-07:30", "2026-01-01 00:00:00Z", "2026-1-01T00:00:00Z",
		"+026-01-01T00:00:00Z", "2026-01-01T00:00:00z", "2026-01-01T00:00:0aZ", "", "Z",
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		tm := time.Unix(r.Int64N(1<<37)-1<<36, r.Int64N(1e9)).UTC()
		cases = append(cases, tm.Format(time.RFC3339Nano))
	}
	for _, s := range cases {
		want, werr := time.Parse(time.RFC3339, s)
		got, ok := parseRFC3339([]byte(s))
		if ok != (werr == nil) || ok && !got.Equal(want) {
			t.Errorf("parseRFC3339(%q) = %v, %v; time.Parse: %v, %v", s, got, ok, want, werr)
		}
	}
}

// TestFastEntryKnowsEveryField: every ObjectMeta field is one the fast path
// reads or steps over; a new field would send every record to the slow
// decoder until fastEntry names it.
func TestFastEntryKnowsEveryField(t *testing.T) {
	typ := reflect.TypeFor[storagenode.ObjectMeta]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		b, err := encodeRecord(map[string]any{name: nil})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := fastEntry(b); !ok {
			t.Errorf("fastEntry does not know ObjectMeta field %s (%q)", typ.Field(i).Name, name)
		}
	}
}
