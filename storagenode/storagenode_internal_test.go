package storagenode

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
)

func TestErrfDiskFull(t *testing.T) {
	base := &fs.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}
	err := errf(base, "write shard %s", "b/v/n")
	if !errors.Is(err, ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("errf(ENOSPC) = %v: want it to wrap ErrDiskFull and ENOSPC", err)
	}
	if errors.Is(errf(os.ErrPermission, "x"), ErrDiskFull) {
		t.Fatal("errf(EPERM) wraps ErrDiskFull")
	}
	// Wrapping twice does not duplicate the marker.
	if err2 := errf(err, "outer"); !errors.Is(err2, ErrDiskFull) {
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

func TestLocalCorruptRecord(t *testing.T) {
	d, err := OpenLocal(t.TempDir(), LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if err := d.MakeBucket(ctx, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := d.db.Set(objectKey("bkt", "bad"), []byte("{not json"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetMeta(ctx, "bkt", "bad"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("GetMeta of a corrupt record: %v, want ErrCorrupt", err)
	}
	if _, err := d.ListMeta(ctx, "bkt", "", "", 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ListMeta over a corrupt record: %v, want ErrCorrupt", err)
	}
	// A heal overwrites it.
	prev, err := d.PutMeta(ctx, &ObjectMeta{Bucket: "bkt", Key: "bad", VersionID: "v1"})
	if err != nil || prev != nil {
		t.Fatalf("PutMeta over a corrupt record = %v, %v", prev, err)
	}
	if m, err := d.GetMeta(ctx, "bkt", "bad"); err != nil || m.VersionID != "v1" {
		t.Fatalf("GetMeta after heal = %v, %v", m, err)
	}
}
