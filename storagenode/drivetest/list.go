package drivetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

// listKeys exercise byte ordering: '/', spaces, punctuation that sorts
// before and after '/', upper case, unicode (bytes up to 0xf4) and control
// bytes including NUL.
var listKeys = []string{
	"a", "a/b", "a/b/c", "a/b/c/d", "a b", "a!b", "a+b", "a-b", "a.b", "a0", "a/", "a//x", "a/ b",
	"A", "Z/z", "b", "b/", "b/a", "ba", "zz", "日本/語", "日本語", "ä", "äb", "a\x01", "a\x7f", "\U0010ffff", "\x00",
	"~tilde", "photos/2024/01/img 001.jpg", "photos/2024/01/img 002.jpg", "photos/2024/02/x", "photos/2025",
}

// expect models ListMeta on a sorted key set.
func expect(sorted []string, prefix, after string, limit int) []string {
	var out []string
	for _, k := range sorted {
		if strings.HasPrefix(k, prefix) && k > after {
			if limit > 0 && len(out) == limit {
				break
			}
			out = append(out, k)
		}
	}
	return out
}

func keysOf(ms []*storagenode.ObjectMeta) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Key
	}
	return out
}

func testListMeta(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	if ms, err := d.ListMeta(ctx(), "bkt", "", "", 0); err != nil || len(ms) != 0 {
		t.Fatalf("ListMeta on an empty bucket = %d records, %v", len(ms), err)
	}
	// Insert in reverse so that insertion order is not the answer.
	for i := len(listKeys) - 1; i >= 0; i-- {
		putMeta(t, d, meta("bkt", listKeys[i], i))
	}
	sorted := slices.Clone(listKeys)
	slices.Sort(sorted) // byte order

	prefixes := []string{"", "a", "a/", "a/b", "a/b/", "b", "photos/", "photos/2024/0", "日本", "\U0010ffff", "\x00", "zzz", "A", "a\x00"}
	afters := []string{"", "a", "a/", "a/b", "a/b/c", "a0", "b", "photos/2024/01/img 001.jpg", "photos/2024/01/zzz", "\x00", "\U0010ffff", "日"}
	limits := []int{0, 1, 2, 3, 1000}
	for _, p := range prefixes {
		for _, a := range afters {
			for _, l := range limits {
				ms, err := d.ListMeta(ctx(), "bkt", p, a, l)
				noErr(t, err, "ListMeta")
				got, want := keysOf(ms), expect(sorted, p, a, l)
				if !slices.Equal(got, want) {
					t.Fatalf("ListMeta(prefix %q, after %q, limit %d)\n got %q\nwant %q", p, a, l, got, want)
				}
				for _, m := range ms {
					if m.Bucket != "bkt" || m.VersionID != fmt.Sprintf("v%06d", slices.Index(listKeys, m.Key)) {
						t.Fatalf("ListMeta returned a wrong record for %q: %s", m.Key, dump(m))
					}
				}
			}
		}
	}
}

// testListMetaPaging lists a larger bucket page by page, as the gateway does.
func testListMetaPaging(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	n := 1500
	if testing.Short() {
		n = 300
	}
	var keys []string
	for i := range n {
		k := fmt.Sprintf("dir%d/obj-%05d", i%7, i*7919%n)
		keys = append(keys, k)
		putMeta(t, d, meta("bkt", k, i))
	}
	slices.Sort(keys)
	for _, prefix := range []string{"", "dir3/", "dir3/obj-00"} {
		want := expect(keys, prefix, "", 0)
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > n {
				t.Fatal("paging does not end")
			}
			ms, err := d.ListMeta(ctx(), "bkt", prefix, after, 97)
			noErr(t, err, "ListMeta page")
			if len(ms) == 0 {
				break
			}
			got = append(got, keysOf(ms)...)
			after = ms[len(ms)-1].Key
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged listing of prefix %q: got %d keys, want %d (or order differs)", prefix, len(got), len(want))
		}
	}
}

func testListMetaBucketIsolation(t *testing.T, d storagenode.Drive) {
	for _, b := range []string{"abc", "abcd", "abc-d", "abc.d", "ab0"} {
		makeBucket(t, d, b)
		putMeta(t, d, meta(b, "key-in-"+b, 1))
		putMeta(t, d, meta(b, "shared", 1))
	}
	ms, err := d.ListMeta(ctx(), "abc", "", "", 0)
	noErr(t, err, "ListMeta")
	if got := keysOf(ms); !slices.Equal(got, []string{"key-in-abc", "shared"}) {
		t.Fatalf("ListMeta(abc) = %q", got)
	}
	for _, m := range ms {
		if m.Bucket != "abc" {
			t.Fatalf("ListMeta(abc) returned a record of bucket %s", m.Bucket)
		}
	}
}

// testListEntries checks that ListEntries answers what ListMeta does, cut
// to the listing fields, for every prefix, after and limit, and that a
// record's every listing field survives (user metadata, content type, a
// non-UTC time, a nanosecond time, an EC layout).
func testListEntries(t *testing.T, d storagenode.Drive) {
	makeBucket(t, d, "bkt")
	if es, err := d.ListEntries(ctx(), "bkt", "", "", 0); err != nil || len(es) != 0 {
		t.Fatalf("ListEntries on an empty bucket = %d entries, %v", len(es), err)
	}
	_, err := d.ListEntries(ctx(), "nobucket", "", "", 0)
	wantErr(t, err, storagenode.ErrBucketNotFound, "ListEntries of a missing bucket")
	for i := len(listKeys) - 1; i >= 0; i-- {
		m := meta("bkt", listKeys[i], i)
		switch i % 4 {
		case 1:
			m.UserMeta = map[string]string{"color": "blue", "empty": "", "ünï": "日本"}
			m.ContentType = "text/plain; charset=utf-8"
		case 2:
			m.ModTime = time.Date(2025, 6, 7, 8, 9, 10, 123456789, time.FixedZone("x", 5400))
		case 3:
			m.ModTime = time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)
			m.EC = storagenode.ECInfo{Data: 12, Parity: 4, BlockSize: 1}
			m.Headers = map[string]string{"Cache-Control": "no-cache"}
			m.Checksums = map[string]string{"CRC32C": "yZRlqg=="}
			m.InlineData, m.Inline = true, []byte("inline")
		}
		putMeta(t, d, m)
	}
	for _, p := range []string{"", "a", "a/b/", "photos/", "日本", "\x00", "zzz"} {
		for _, a := range []string{"", "a", "a/b/c", "b", "\U0010ffff"} {
			for _, l := range []int{0, 1, 3, 1000} {
				ms, err := d.ListMeta(ctx(), "bkt", p, a, l)
				noErr(t, err, "ListMeta")
				es, err := d.ListEntries(ctx(), "bkt", p, a, l)
				noErr(t, err, "ListEntries")
				if len(es) != len(ms) {
					t.Fatalf("ListEntries(prefix %q, after %q, limit %d) = %d entries, ListMeta %d records", p, a, l, len(es), len(ms))
				}
				for i, m := range ms {
					if got, want := normEntry(es[i]), normEntry(m.Entry()); !reflect.DeepEqual(got, want) {
						t.Fatalf("ListEntries entry %d:\n got %s\nwant %s", i, dump(got), dump(want))
					}
				}
			}
		}
	}
}

func normEntry(e storagenode.ObjectEntry) storagenode.ObjectEntry {
	e.ModTime = e.ModTime.UTC()
	e.UserMeta = nilIfEmpty(e.UserMeta)
	return e
}
