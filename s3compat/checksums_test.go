package s3compat

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"math/rand/v2"
	"net/http/httptest"
	"testing"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/s3compat/sigv4"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// s3api.CombineChecksums' FULL_OBJECT CRCs equal the CRC of the whole object,
// and COMPOSITE is the checksum of the part checksums with "-N".
func TestCombineChecksums(t *testing.T) {
	data := make([]byte, 100_003)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	cuts := []int{0, 1, 40_000, 40_001, 99_999, len(data)}
	crc64nvme := crc64.MakeTable(0x9a6c9329ac4bc9b5)
	sums := map[string]func(b []byte) []byte{}
	sums["CRC32"] = func(b []byte) []byte { h := crc32.NewIEEE(); h.Write(b); return h.Sum(nil) }
	sums["CRC32C"] = func(b []byte) []byte {
		h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
		h.Write(b)
		return h.Sum(nil)
	}
	sums["CRC64NVME"] = func(b []byte) []byte { h := crc64.New(crc64nvme); h.Write(b); return h.Sum(nil) }
	for algo, sum := range sums {
		var parts []s3api.PartChecksum
		for i := 1; i < len(cuts); i++ {
			p := data[cuts[i-1]:cuts[i]]
			parts = append(parts, s3api.PartChecksum{Value: b64(sum(p)), Size: int64(len(p))})
		}
		got, err := s3api.CombineChecksums(checksums.NewChecksum, algo, s3api.ChecksumFullObject, parts)
		if want := b64(sum(data)); err != nil || got != want {
			t.Errorf("%s full object = %q, %v; want %q", algo, got, err, want)
		}
	}
	p1, p2 := sha256.Sum256(data[:10]), sha256.Sum256(data[10:])
	all := sha256.Sum256(append(p1[:], p2[:]...))
	got, err := s3api.CombineChecksums(checksums.NewChecksum, "sha256", s3api.ChecksumComposite, []s3api.PartChecksum{{Value: b64(p1[:]), Size: 10}, {Value: b64(p2[:]), Size: int64(len(data) - 10)}})
	if want := fmt.Sprintf("%s-2", b64(all[:])); err != nil || got != want {
		t.Errorf("composite = %q, %v; want %q", got, err, want)
	}
	if _, err := s3api.CombineChecksums(checksums.NewChecksum, "SHA256", s3api.ChecksumFullObject, []s3api.PartChecksum{{Value: b64(p1[:]), Size: 10}}); err == nil {
		t.Error("FULL_OBJECT SHA256 accepted")
	}
	if _, err := s3api.CombineChecksums(checksums.NewChecksum, "CRC32", s3api.ChecksumComposite, []s3api.PartChecksum{{Value: "bad", Size: 10}}); err == nil {
		t.Error("bad part checksum accepted")
	}
}

func TestParseCopyRange(t *testing.T) {
	for _, tc := range []struct {
		v       string
		off, n  int64
		wantErr bool
	}{
		{"", 0, 100, false},
		{"bytes=0-99", 0, 100, false},
		{"bytes=10-10", 10, 1, false},
		{"bytes=10-100", 0, 0, true},
		{"bytes=10-", 0, 0, true},
		{"bytes=-10", 0, 0, true},
		{"bytes=5-4", 0, 0, true},
		{"items=0-1", 0, 0, true},
	} {
		off, n, err := parseCopyRange(tc.v, 100)
		if (err != nil) != tc.wantErr || (!tc.wantErr && (off != tc.off || n != tc.n)) {
			t.Errorf("parseCopyRange(%q) = %d, %d, %v", tc.v, off, n, err)
		}
	}
}

func TestHostBucket(t *testing.T) {
	s := NewServer(nil, Config{Domain: "S3.Example.Test.", Credentials: map[string]string{}})
	for host, want := range map[string]string{
		"photos.s3.example.test":      "photos",
		"photos.s3.example.test:9000": "photos",
		"a.b.s3.example.test":         "a.b",
		"s3.example.test":             "",
		"127.0.0.1:9000":              "",
		"photos.s3.example.testx":     "",
	} {
		r := httptest.NewRequest("GET", "/key", nil)
		r.Host = host
		if got := s.hostBucket(r); got != want {
			t.Errorf("hostBucket(%q) = %q, want %q", host, got, want)
		}
	}
	if got := NewServer(nil, Config{}).hostBucket(httptest.NewRequest("GET", "http://b.s3.example.test/k", nil)); got != "" {
		t.Errorf("without Domain: %q", got)
	}
}

// TestCRC64NVMEFast: the accelerated CRC-64/NVME S3 uses by default agrees
// with the table-driven one sigv4 has built in, on the standard check value
// and on long inputs.
func TestCRC64NVMEFast(t *testing.T) {
	fast, name, ok := checksums.NewChecksum("crc64nvme")
	if !ok || name != "CRC64NVME" {
		t.Fatalf("NewChecksum(crc64nvme) = %q, %v", name, ok)
	}
	slow, _, _ := (&sigv4.Verifier{}).NewChecksum("CRC64NVME")
	if fmt.Sprintf("%T", fast) == fmt.Sprintf("%T", slow) {
		t.Fatalf("the extra CRC64NVME did not replace the built-in one (%T)", fast)
	}
	fast.Write([]byte("123456789"))
	if got := binary.BigEndian.Uint64(fast.Sum(nil)); got != 0xae8b14860a799888 {
		t.Fatalf("check value %#x, want 0xae8b14860a799888", got)
	}
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	fast.Reset()
	fast.Write(data[:1000])
	fast.Write(data[1000:])
	slow.Write(data)
	if !bytes.Equal(fast.Sum(nil), slow.Sum(nil)) {
		t.Fatal("accelerated and table-driven CRC-64/NVME differ")
	}
}
