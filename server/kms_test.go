package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/meta"
	"github.com/ecstore/ecstore/sse"
)

func ringOf(t *testing.T, lines ...string) *sse.Ring {
	t.Helper()
	r, err := sse.ParseRing([]byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ringLine(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

// oneMemberGroup is a metadata group of one member, closed at cleanup,
// and a context for the test.
func oneMemberGroup(t *testing.T) (context.Context, *meta.Group) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	g, err := meta.OpenGroup(meta.GroupConfig{Members: []meta.GroupMember{{ID: "d0", Dir: filepath.Join(t.TempDir(), "0")}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return ctx, g
}

// TestLocalKMS: named keys are sealed by the ring and kept in the metadata
// store: the default key is made on first use, an unknown one is
// ErrKMSKeyNotFound, a second key store over the same metadata (another
// gateway) opens what the first sealed, and a ring without the sealing
// key opens nothing (Status says so).
func TestLocalKMS(t *testing.T) {
	ctx, g := oneMemberGroup(t)
	ring := ringOf(t, ringLine("k1", 1))
	a := newLocalKMS(ring, g.Store())
	obj := sse.NewObjectKey()
	aad := sse.KMSAAD("default", "b", "k", "")
	sealed, err := a.Seal(ctx, a.DefaultKey(), aad, obj)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Seal(ctx, "app", aad, obj); !errors.Is(err, gateway.ErrKMSKeyNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	if err := a.CreateKey(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateKey(ctx, "app"); !errors.Is(err, meta.ErrKeyExists) {
		t.Fatalf("create twice: %v", err)
	}
	if err := a.CreateKey(ctx, "bad name"); err == nil {
		t.Fatal("a name with a space")
	}
	b := newLocalKMS(ringOf(t, ringLine("k2", 2), ringLine("k1", 1)), g.Store())
	if got, err := b.Unseal(ctx, "default", aad, sealed); err != nil || !bytes.Equal(got, obj) {
		t.Fatalf("another key store: %v", err)
	}
	st := b.Status(ctx)
	if len(st.Keys) != 2 || !st.Keys[0].Opens || st.Keys[0].SealedBy != "k1" || len(st.Ring) != 2 || !st.Ring[0].Active {
		t.Fatalf("status: %+v", st)
	}
	wrong := newLocalKMS(ringOf(t, ringLine("k1", 9)), g.Store())
	if _, err := wrong.Unseal(ctx, "default", aad, sealed); !errors.Is(err, sse.ErrUnseal) {
		t.Fatalf("a wrong ring: %v", err)
	}
	if st := wrong.Status(ctx); st.Keys[0].Opens {
		t.Fatal("status says a wrong ring opens the key")
	}
	// No key material in the store's state.
	for _, k := range g.Store().KMSKeys() {
		if len(k.Sealed) < sse.KeySize+16 {
			t.Fatalf("key %s stored unsealed?", k.Name)
		}
	}
}

// TestOpenKeyRing: a ring is checked against the store's registered keys:
// the first start registers the active key; the same ring (or one that
// adds a key) starts again; another key under a registered id, a ring
// without a registered id, and no ring at all are refused with the key
// check value.
func TestOpenKeyRing(t *testing.T) {
	ctx, g := oneMemberGroup(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	file := func(lines ...string) string {
		f := filepath.Join(dir, "ring"+base64.RawURLEncoding.EncodeToString(sse.NewObjectKey()[:6]))
		if err := writeFile(f, strings.Join(lines, "\n")); err != nil {
			t.Fatal(err)
		}
		return f
	}
	if r, err := openKeyRing(ctx, "", g.Store(), log); err != nil || r != nil {
		t.Fatalf("no ring on a store without keys: %v", err)
	}
	if _, err := openKeyRing(ctx, file(ringLine("k1", 1)), g.Store(), log); err != nil {
		t.Fatal(err)
	}
	if _, err := openKeyRing(ctx, file(ringLine("k2", 2), ringLine("k1", 1)), g.Store(), log); err != nil {
		t.Fatalf("a ring that adds a key: %v", err)
	}
	for name, f := range map[string]string{
		"another key under k1": file(ringLine("k1", 3), ringLine("k2", 2)),
		"k1 missing":           file(ringLine("k2", 2)),
		"no key file":          "",
	} {
		_, err := openKeyRing(ctx, f, g.Store(), log)
		if !errors.Is(err, errRingRefused) || !strings.Contains(err.Error(), "key check value") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
