package faultdrive_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/drivetest"
	"github.com/ecstore/ecstore/storagenode/faultdrive"
	"github.com/ecstore/ecstore/storagenode/local"
)

var bg = context.Background()

func TestConformance(t *testing.T) {
	t.Run("Mem", func(t *testing.T) {
		drivetest.Run(t, func(t *testing.T) storagenode.Drive { return faultdrive.New(local.NewMem("d1")) })
	})
	t.Run("Local", func(t *testing.T) {
		if testing.Short() {
			t.Skip("the local drive runs the suite in its own package")
		}
		drivetest.Run(t, func(t *testing.T) storagenode.Drive {
			d, err := local.Open(t.TempDir(), local.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return faultdrive.New(d)
		})
	})
}

func TestFaultyOffline(t *testing.T) {
	f := faultdrive.New(local.NewMem("d1"))
	defer f.Close()
	if err := f.MakeBucket(bg, "bkt", time.Now()); err != nil {
		t.Fatal(err)
	}
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	w, _ := f.CreateShard(bg, ref)
	w.Write([]byte("hello"))
	w.Commit(bg)
	r, err := f.OpenShard(bg, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w2, _ := f.CreateShard(bg, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v2", Name: "part.1"})

	f.SetOffline(true)
	off := storagenode.ErrDriveOffline
	if _, err := f.StatBucket(bg, "bkt"); !errors.Is(err, off) {
		t.Fatalf("StatBucket offline: %v", err)
	}
	if _, err := f.ListMeta(bg, "bkt", "", "", 0); !errors.Is(err, off) {
		t.Fatalf("ListMeta offline: %v", err)
	}
	if _, err := r.ReadAt(make([]byte, 5), 0); !errors.Is(err, off) {
		t.Fatalf("ReadAt on a reader opened before going offline: %v", err)
	}
	if _, err := w2.Write([]byte("x")); !errors.Is(err, off) {
		t.Fatalf("Write offline: %v", err)
	}
	if err := w2.Commit(bg); !errors.Is(err, off) {
		t.Fatalf("Commit offline: %v", err)
	}

	f.SetOffline(false)
	buf := make([]byte, 5)
	if n, err := r.ReadAt(buf, 0); n != 5 || (err != nil && err != io.EOF) || string(buf) != "hello" {
		t.Fatalf("ReadAt back online = %d %q, %v", n, buf, err)
	}
	if _, err := f.OpenShard(bg, storagenode.ShardRef{Bucket: "bkt", VersionDir: "v2", Name: "part.1"}); !errors.Is(err, storagenode.ErrShardNotFound) {
		t.Fatalf("a Commit refused offline made the shard visible: %v", err)
	}
}

func TestFaultyReadFault(t *testing.T) {
	f := faultdrive.New(local.NewMem("d1"))
	defer f.Close()
	f.MakeBucket(bg, "bkt", time.Now())
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: "v1", Name: "part.1"}
	w, _ := f.CreateShard(bg, ref)
	w.Write([]byte("hello"))
	w.Commit(bg)
	r, _ := f.OpenShard(bg, ref)
	defer r.Close()

	// Bit rot in one shard only.
	f.SetReadFault(func(got storagenode.ShardRef, p []byte, off int64, n int, err error) (int, error) {
		if got == ref && n > 0 {
			p[0] ^= 0xff
		}
		return n, err
	})
	buf := make([]byte, 5)
	if n, _ := r.ReadAt(buf, 0); n != 5 || string(buf) == "hello" || string(buf[1:]) != "ello" {
		t.Fatalf("corrupting read = %d %q", n, buf)
	}
	// A failing disk.
	boom := errors.New("EIO")
	f.SetReadFault(func(storagenode.ShardRef, []byte, int64, int, error) (int, error) { return 0, boom })
	if _, err := r.ReadAt(buf, 0); !errors.Is(err, boom) {
		t.Fatalf("failing read: %v", err)
	}
	f.SetReadFault(nil)
	if n, _ := r.ReadAt(buf, 0); n != 5 || string(buf) != "hello" {
		t.Fatalf("read after removing the fault = %d %q", n, buf)
	}
	if r.Size() != 5 {
		t.Fatalf("Size = %d", r.Size())
	}
}
