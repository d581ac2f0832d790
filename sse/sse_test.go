package sse

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestParseRing(t *testing.T) {
	raw := NewObjectKey()
	raw[0] = 0 // not printable: raw bytes
	b64 := func(k []byte) string { return base64.StdEncoding.EncodeToString(k) }
	cases := []struct {
		name   string
		file   string
		ids    []string
		active string
		bad    bool
	}{
		{name: "raw", file: string(raw), ids: []string{DefaultKeyID}, active: DefaultKeyID},
		{name: "base64 line", file: b64(key(1)) + "\n", ids: []string{DefaultKeyID}, active: DefaultKeyID},
		{name: "ring", file: "# keys\nnew:" + b64(key(2)) + "\n\nold: " + b64(key(1)) + "\n", ids: []string{"new", "old"}, active: "new"},
		{name: "short key", file: b64(key(1)[:16]), bad: true},
		{name: "not base64", file: "!!!", bad: true},
		{name: "bad id", file: "a b:" + b64(key(1)), bad: true},
		{name: "twice", file: "a:" + b64(key(1)) + "\na:" + b64(key(2)), bad: true},
		{name: "empty", file: "# nothing\n", bad: true},
		{name: "31 raw bytes", file: string(raw[:31]), bad: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := ParseRing([]byte(c.file))
			if c.bad {
				if !errors.Is(err, ErrBadKeyFile) {
					t.Fatalf("err %v, want ErrBadKeyFile", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(r.IDs()) != fmt.Sprint(c.ids) || r.Active() != c.active {
				t.Fatalf("ids %v active %s", r.IDs(), r.Active())
			}
		})
	}
}

func TestCheckValue(t *testing.T) {
	a, _ := ParseRing([]byte("k:" + base64.StdEncoding.EncodeToString(key(1))))
	b, _ := ParseRing([]byte("k:" + base64.StdEncoding.EncodeToString(key(2))))
	if a.CheckValue("k") == b.CheckValue("k") || len(a.CheckValue("k")) != 16 {
		t.Fatalf("check values %q %q", a.CheckValue("k"), b.CheckValue("k"))
	}
	if a.CheckValue("other") != "" {
		t.Fatal("a check value for a missing key")
	}
}

func TestRingSeal(t *testing.T) {
	r, _ := ParseRing([]byte("new:" + base64.StdEncoding.EncodeToString(key(2)) + "\nold:" + base64.StdEncoding.EncodeToString(key(1))))
	ok := NewObjectKey()
	aad := AAD("S3", "new", "b", "k")
	id, sealed, err := r.Seal(aad, ok)
	if err != nil || id != "new" {
		t.Fatal(id, err)
	}
	if bytes.Contains(sealed, ok) {
		t.Fatal("object key in clear")
	}
	got, err := r.Unseal(id, aad, sealed)
	if err != nil || !bytes.Equal(got, ok) {
		t.Fatal(err)
	}
	if _, err := r.Unseal("old", aad, sealed); !errors.Is(err, ErrUnseal) {
		t.Fatalf("other key: %v", err)
	}
	if _, err := r.Unseal(id, AAD("S3", "new", "b", "k2"), sealed); !errors.Is(err, ErrUnseal) {
		t.Fatalf("moved to another key: %v", err)
	}
	if _, err := r.Unseal("gone", aad, sealed); !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("missing key: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := r.Unseal(id, aad, sealed); !errors.Is(err, ErrUnseal) {
		t.Fatalf("altered: %v", err)
	}
}

func TestCustomer(t *testing.T) {
	k := key(7)
	sum := md5.Sum(k)
	k64, m64 := base64.StdEncoding.EncodeToString(k), base64.StdEncoding.EncodeToString(sum[:])
	c, err := ParseCustomer("AES256", k64, m64)
	if err != nil || c.KeyMD5() != m64 {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		alg, k, m string
		want      error
	}{
		{"AES128", k64, m64, ErrCustomerAlgorithm},
		{"AES256", "short", m64, ErrCustomerKey},
		{"AES256", k64, base64.StdEncoding.EncodeToString(make([]byte, 16)), ErrCustomerKeyMD5},
		{"AES256", k64, "", ErrCustomerKeyMD5},
	} {
		if _, err := ParseCustomer(bad.alg, bad.k, bad.m); !errors.Is(err, bad.want) {
			t.Errorf("%v: %v, want %v", bad, err, bad.want)
		}
	}
	ok := NewObjectKey()
	aad := AAD("C", "", "b", "k")
	sealed, _ := c.Seal(aad, ok)
	other, _ := NewCustomer(key(8))
	if _, err := other.Unseal(aad, sealed); !errors.Is(err, ErrUnseal) {
		t.Fatal("another customer key opened it")
	}
	if got, err := c.Unseal(aad, sealed); err != nil || !bytes.Equal(got, ok) {
		t.Fatal(err)
	}
	salt := NewSalt()
	mac := c.MAC(salt)
	if !c.Matches(salt, mac) || other.Matches(salt, mac) || bytes.Contains(mac, k) {
		t.Fatal("MAC does not tell the keys apart")
	}
}

func TestSizes(t *testing.T) {
	for _, n := range []int64{0, 1, PackagePlain - 1, PackagePlain, PackagePlain + 1, 5*PackagePlain + 17, 10 << 20} {
		var buf bytes.Buffer
		er, err := EncryptReader(bytes.NewReader(make([]byte, n)), key(1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(&buf, er); err != nil {
			t.Fatal(err)
		}
		if int64(buf.Len()) != EncryptedSize(n) {
			t.Fatalf("%d: stored %d, EncryptedSize %d", n, buf.Len(), EncryptedSize(n))
		}
		if p, ok := DecryptedSize(EncryptedSize(n)); !ok || p != n {
			t.Fatalf("%d: DecryptedSize %d %v", n, p, ok)
		}
	}
	if _, ok := DecryptedSize(PackageSize + 10); ok {
		t.Fatal("a stored size no stream has")
	}
}

// TestWindows decrypts ranges at and around package edges from only the
// stored bytes of their window.
func TestWindows(t *testing.T) {
	const size = 3*PackagePlain + 1000
	plain := make([]byte, size)
	rand.Read(plain)
	k := NewObjectKey()
	er, _ := EncryptReader(bytes.NewReader(plain), k)
	stored, _ := io.ReadAll(er)
	P := int64(PackagePlain)
	ranges := [][2]int64{{0, size}, {0, 1}, {0, P}, {P - 1, 2}, {P, P}, {P, 1}, {2*P - 1, 1}, {3*P - 1, 1001}, {3 * P, 1000}, {size - 1, 1}, {5, 0}, {123, 2*P + 77}}
	for _, rg := range ranges {
		w := WindowOf(rg[0], rg[1], size)
		var out bytes.Buffer
		dw, err := DecryptWriter(&out, k, w, rg[1])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dw.Write(stored[w.Offset : w.Offset+w.Length]); err != nil {
			t.Fatalf("%v: %v", rg, err)
		}
		if err := dw.Close(); err != nil {
			t.Fatalf("%v: %v", rg, err)
		}
		if !bytes.Equal(out.Bytes(), plain[rg[0]:rg[0]+rg[1]]) {
			t.Fatalf("%v: %d bytes differ from the plaintext", rg, out.Len())
		}
	}
}

// TestTamper: a flipped byte anywhere in a package fails the read with
// ErrAuth, and none of that package's plaintext is written.
func TestTamper(t *testing.T) {
	plain := bytes.Repeat([]byte("0123456789abcdef"), 3*PackagePlain/16)
	k := NewObjectKey()
	er, _ := EncryptReader(bytes.NewReader(plain), k)
	stored, _ := io.ReadAll(er)
	for _, at := range []int{0, 5, 16, 100, PackageSize - 1, PackageSize + 40, len(stored) - 1} {
		bad := bytes.Clone(stored)
		bad[at] ^= 0x20
		var out bytes.Buffer
		dw, _ := DecryptWriter(&out, k, WindowOf(0, int64(len(plain)), int64(len(plain))), int64(len(plain)))
		_, err := dw.Write(bad)
		if err == nil {
			err = dw.Close()
		}
		if !errors.Is(err, ErrAuth) {
			t.Fatalf("flip at %d: %v", at, err)
		}
		if pk := int64(at / PackageSize); int64(out.Len()) > pk*PackagePlain || !bytes.Equal(out.Bytes(), plain[:out.Len()]) {
			t.Fatalf("flip at %d: %d bytes written", at, out.Len())
		}
	}
	// The wrong key: nothing at all.
	var out bytes.Buffer
	dw, _ := DecryptWriter(&out, key(9), WindowOf(0, 10, int64(len(plain))), 10)
	if _, err := dw.Write(stored[:PackageSize]); !errors.Is(err, ErrAuth) || out.Len() != 0 {
		t.Fatalf("wrong key: %v, %d bytes", err, out.Len())
	}
}

func TestPartKeysDiffer(t *testing.T) {
	k := NewObjectKey()
	if bytes.Equal(PartKey(k, 1), PartKey(k, 2)) || bytes.Equal(PartKey(k, 1), k) {
		t.Fatal("part keys repeat")
	}
	if OpaqueETag(k, make([]byte, 16)) == OpaqueETag(NewObjectKey(), make([]byte, 16)) {
		t.Fatal("opaque ETags repeat across keys")
	}
}

func FuzzParseRing(f *testing.F) {
	f.Add([]byte("a:" + base64.StdEncoding.EncodeToString(key(1)) + "\n"))
	f.Add([]byte(base64.StdEncoding.EncodeToString(key(1))))
	f.Add(key(0))
	f.Add([]byte("#\n:\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRing(b)
		if err != nil {
			if !errors.Is(err, ErrBadKeyFile) {
				t.Fatalf("error %v is not ErrBadKeyFile", err)
			}
			return
		}
		if len(r.IDs()) == 0 || !r.Has(r.Active()) || len(r.CheckValue(r.Active())) != 16 {
			t.Fatalf("a ring without a usable active key: %v", r.IDs())
		}
		for _, id := range r.IDs() {
			if strings.ContainsAny(id, ": \n") {
				t.Fatalf("id %q", id)
			}
		}
	})
}
