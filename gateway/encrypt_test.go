package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/sse"
	"github.com/ecstore/ecstore/storagenode"
)

// newSSECluster is newClusterInline with a key ring.
func newSSECluster(t *testing.T, inlineMax int64) *testCluster {
	t.Helper()
	tc := newClusterInline(t, 6, 4, 2, 64<<10, inlineMax)
	ring, err := sse.ParseRing([]byte("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))))
	if err != nil {
		t.Fatal(err)
	}
	tc.cfg.Keys = ring
	return tc
}

var custKey = bytes.Repeat([]byte{0x5c}, 32)

// openWith opens key and gives it the customer key (nil: none).
func (tc *testCluster) readWith(key string, cust []byte, off, n int64) ([]byte, error) {
	ctx := context.Background()
	obj, err := tc.OpenObject(ctx, "bkt", key)
	if err != nil {
		return nil, err
	}
	if cust != nil {
		if err := obj.(s3api.KeyedObject).UseCustomerKey(cust); err != nil {
			return nil, err
		}
	}
	if n < 0 {
		n = obj.Info().Size - off
	}
	var buf bytes.Buffer
	err = obj.Read(ctx, &buf, off, n)
	return buf.Bytes(), err
}

// storedBytes returns the bytes the shards of key's part i encode
// (ciphertext for an encrypted object), decoded from the drives.
func (tc *testCluster) storedBytes(t *testing.T, key string, i int) (*storagenode.ObjectMeta, []byte) {
	t.Helper()
	ctx := context.Background()
	m, err := tc.readMeta(ctx, "bkt", key)
	if err != nil {
		t.Fatal(err)
	}
	coder, _ := tc.coder(m.EC)
	p := m.Parts[i]
	rs := make([]io.ReaderAt, len(m.Drives))
	for j, d := range tc.drivesByID(m.Drives) {
		if m.InlineData {
			dm, err := d.GetMeta(ctx, "bkt", key)
			if err != nil {
				t.Fatal(err)
			}
			rs[j] = bytes.NewReader(dm.Inline)
			continue
		}
		r, err := d.OpenShard(ctx, storagenode.ShardRef{Bucket: "bkt", VersionDir: m.DataDir, Name: p.Name})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rs[j] = r
	}
	var buf bytes.Buffer
	if _, err := coder.Decode(ctx, &buf, rs, p.DataSize(), 0, p.DataSize()); err != nil {
		t.Fatal(err)
	}
	return m, buf.Bytes()
}

// TestSSERoundTrip: SSE-S3 and SSE-C versions, inline and in shard files,
// read whole and in ranges at every package edge; the shards hold no
// plaintext; listings and Info show the plaintext size.
func TestSSERoundTrip(t *testing.T) {
	ctx := context.Background()
	tc := newSSECluster(t, 128<<10)
	P := int64(sse.PackagePlain)
	sizes := []int64{0, 1, 100 << 10, 3*P + 77} // inline (0, 1, 100 KiB) and shard files
	for _, enc := range []s3api.Encryption{{Method: s3api.SSES3}, {CustomerKey: custKey}} {
		for _, size := range sizes {
			data := randBytes(uint64(size)+9, int(size))
			key := "k" + enc.Method + "-" + string(rune('a'+size%26))
			info, err := tc.PutObject(ctx, "bkt", key, bytes.NewReader(data), size, s3api.PutOptions{SSE: enc})
			if err != nil {
				t.Fatalf("%s %d: %v", key, size, err)
			}
			want := ssecIfKey(enc)
			if info.Size != size || info.Encryption.Method != want {
				t.Fatalf("%s: info %+v", key, info)
			}
			if enc.CustomerKey == nil && info.ETag != md5hex(data) {
				t.Fatalf("SSE-S3 ETag %s, want the MD5 %s", info.ETag, md5hex(data))
			}
			if enc.CustomerKey != nil && info.ETag == md5hex(data) {
				t.Fatal("SSE-C ETag is the plaintext's MD5")
			}
			got, err := tc.readWith(key, enc.CustomerKey, 0, -1)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s: whole read: %v", key, err)
			}
			for _, rg := range [][2]int64{{0, 1}, {P - 1, 2}, {P, P}, {P + 1, 2*P - 1}, {size - 1, 1}, {2*P - 3, P + 80}} {
				if rg[0] < 0 || rg[0]+rg[1] > size {
					continue
				}
				got, err := tc.readWith(key, enc.CustomerKey, rg[0], rg[1])
				if err != nil || !bytes.Equal(got, data[rg[0]:rg[0]+rg[1]]) {
					t.Fatalf("%s: range %v: %v", key, rg, err)
				}
			}
			if size > 64 {
				m, stored := tc.storedBytes(t, key, 0)
				if int64(len(stored)) != sse.EncryptedSize(size) || m.Size != size || m.SSE == nil {
					t.Fatalf("%s: stored %d bytes for %d", key, len(stored), size)
				}
				if bytes.Contains(stored, data[:64]) {
					t.Fatalf("%s: the shards hold plaintext", key)
				}
			}
		}
	}
	res, err := tc.ListObjects(ctx, "bkt", s3api.ListParams{MaxKeys: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Objects {
		found := false
		for _, size := range sizes {
			found = found || o.Size == size
		}
		if !found {
			t.Fatalf("listing shows %s with size %d", o.Key, o.Size)
		}
	}
}

func ssecIfKey(enc s3api.Encryption) string {
	if enc.CustomerKey != nil {
		return s3api.SSEC
	}
	return enc.Method
}

// TestSSECustomerKeys: an SSE-C version reads only with its key (none:
// ErrCustomerKeyNeeded, another: ErrCustomerKeyWrong); a key for a version
// without one is refused.
func TestSSECustomerKeys(t *testing.T) {
	ctx := context.Background()
	tc := newSSECluster(t, -1)
	data := randBytes(3, 200_000)
	if _, err := tc.PutObject(ctx, "bkt", "c", bytes.NewReader(data), int64(len(data)), s3api.PutOptions{SSE: s3api.Encryption{CustomerKey: custKey}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.readWith("c", nil, 0, -1); !errors.Is(err, ErrCustomerKeyNeeded) {
		t.Fatalf("no key: %v", err)
	}
	if _, err := tc.readWith("c", bytes.Repeat([]byte{1}, 32), 0, -1); !errors.Is(err, ErrCustomerKeyWrong) {
		t.Fatalf("another key: %v", err)
	}
	tc.put(t, "plain", data)
	if _, err := tc.readWith("plain", custKey, 0, -1); !errors.Is(err, ErrNotCustomerKeyed) {
		t.Fatalf("key for a plain object: %v", err)
	}
	// The record keeps no key: only the sealed object key and a MAC.
	m, _ := tc.readMeta(ctx, "bkt", "c")
	rec, _ := storagenode.MarshalRecord(m)
	if bytes.Contains(rec, custKey) || m.SSE.Method != s3api.SSEC || len(m.SSE.MAC) == 0 {
		t.Fatalf("record: %+v", m.SSE)
	}
}

// TestSSENoMasterKey: without a key ring SSE-S3 is refused, and a
// version sealed by the ring does not read (never garbage).
func TestSSENoMasterKey(t *testing.T) {
	ctx := context.Background()
	tc := newSSECluster(t, -1)
	data := randBytes(4, 100_000)
	if _, err := tc.PutObject(ctx, "bkt", "s3", bytes.NewReader(data), int64(len(data)), s3api.PutOptions{SSE: s3api.Encryption{Method: s3api.SSES3}}); err != nil {
		t.Fatal(err)
	}
	tc.cfg.Keys = nil
	if _, err := tc.PutObject(ctx, "bkt", "x", bytes.NewReader(data), int64(len(data)), s3api.PutOptions{SSE: s3api.Encryption{Method: s3api.SSES3}}); !errors.Is(err, ErrNoMasterKey) {
		t.Fatalf("SSE-S3 without a ring: %v", err)
	}
	if got, err := tc.readWith("s3", nil, 0, -1); !errors.Is(err, ErrNoMasterKey) || len(got) > 0 {
		t.Fatalf("read without the ring: %v, %d bytes", err, len(got))
	}
	other, _ := sse.ParseRing([]byte("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{8}, 32))))
	tc.cfg.Keys = other
	if got, err := tc.readWith("s3", nil, 0, -1); !errors.Is(err, sse.ErrUnseal) || len(got) > 0 {
		t.Fatalf("read with another key under the id: %v, %d bytes", err, len(got))
	}
	if err := tc.CanEncrypt(s3api.SSEKMS); err == nil {
		t.Fatal("SSE-KMS claimed")
	}
}

// TestSSEMultipart: every part is sealed (its own part key); ranges across
// part boundaries; SSE-C parts need the upload's key.
func TestSSEMultipart(t *testing.T) {
	ctx := context.Background()
	tc := newSSECluster(t, -1)
	for _, enc := range []s3api.Encryption{{Method: s3api.SSES3}, {CustomerKey: custKey}} {
		key := "mp" + enc.Method
		id, err := tc.NewMultipartUpload(ctx, "bkt", key, s3api.PutOptions{SSE: enc})
		if err != nil {
			t.Fatal(err)
		}
		p1, p2 := randBytes(10, 5<<20), randBytes(11, 70_000)
		if enc.CustomerKey != nil {
			if _, err := tc.PutObjectPart(ctx, "bkt", key, id, 1, bytes.NewReader(p1), int64(len(p1)), s3api.PutOptions{}); !errors.Is(err, ErrCustomerKeyNeeded) {
				t.Fatalf("SSE-C part without the key: %v", err)
			}
			if _, err := tc.PutObjectPart(ctx, "bkt", key, id, 1, bytes.NewReader(p1), int64(len(p1)), s3api.PutOptions{SSE: s3api.Encryption{CustomerKey: bytes.Repeat([]byte{2}, 32)}}); !errors.Is(err, ErrCustomerKeyWrong) {
				t.Fatalf("SSE-C part with another key: %v", err)
			}
		}
		var parts []s3api.CompletePart
		for i, p := range [][]byte{p1, p2} {
			pi, err := tc.PutObjectPart(ctx, "bkt", key, id, i+1, bytes.NewReader(p), int64(len(p)), s3api.PutOptions{SSE: s3api.Encryption{CustomerKey: enc.CustomerKey}})
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, s3api.CompletePart{Number: i + 1, ETag: pi.ETag})
		}
		info, err := tc.CompleteMultipartUpload(ctx, "bkt", key, id, parts, s3api.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		all := append(append([]byte{}, p1...), p2...)
		if info.Size != int64(len(all)) || info.Encryption.Method != ssecIfKey(enc) {
			t.Fatalf("info %+v", info)
		}
		for _, rg := range [][2]int64{{0, -1}, {int64(len(p1)) - 10, 20}, {int64(len(p1)), 1}, {int64(len(p1)) + sse.PackagePlain - 1, 2}} {
			n := rg[1]
			if n < 0 {
				n = int64(len(all))
			}
			got, err := tc.readWith(key, enc.CustomerKey, rg[0], n)
			if err != nil || !bytes.Equal(got, all[rg[0]:rg[0]+n]) {
				t.Fatalf("%s range %v: %v", key, rg, err)
			}
		}
		_, c1 := tc.storedBytes(t, key, 0)
		_, c2 := tc.storedBytes(t, key, 1)
		if bytes.Contains(c1, p1[:64]) || bytes.Contains(c2, p2[:64]) || int64(len(c2)) != sse.EncryptedSize(int64(len(p2))) {
			t.Fatal("a part stored in plaintext")
		}
	}
}

// TestSSEHealAndTamper: an encrypted version heals with 2 drives lost (as
// ciphertext, never decrypted); a byte flipped inside a package, with
// every shard re-encoded so that each block checksum matches, fails the
// read instead of returning altered plaintext.
func TestSSEHealAndTamper(t *testing.T) {
	ctx := context.Background()
	tc := newSSECluster(t, -1)
	data := randBytes(5, 300_000)
	if _, err := tc.PutObject(ctx, "bkt", "h", bytes.NewReader(data), int64(len(data)), s3api.PutOptions{SSE: s3api.Encryption{Method: s3api.SSES3}}); err != nil {
		t.Fatal(err)
	}
	m, _ := tc.readMeta(ctx, "bkt", "h")
	// Lose two drives' shards for good, heal them back.
	for _, d := range tc.drivesByID(m.Drives)[:2] {
		if err := d.DeleteShard(ctx, storagenode.ShardRef{Bucket: "bkt", VersionDir: m.DataDir, Name: m.Parts[0].Name}); err != nil {
			t.Fatal(err)
		}
	}
	keys := tc.cfg.Keys
	tc.cfg.Keys = nil // heal needs no key
	if r, err := tc.HealObject(ctx, "bkt", "h", true); err != nil || r.Repaired != 2 {
		t.Fatalf("heal: %+v, %v", r, err)
	}
	tc.cfg.Keys = keys
	for _, d := range tc.drivesByID(m.Drives)[2:4] {
		tc.faulty[indexOf(tc, d.ID())].SetOffline(true)
	}
	if got, err := tc.readWith("h", nil, 0, -1); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read on the healed shards: %v", err)
	}
	for i := range tc.faulty {
		tc.faulty[i].SetOffline(false)
	}

	// Tamper: flip one byte of the ciphertext inside package 2, then
	// re-encode every shard from it (fresh block checksums).
	_, stored := tc.storedBytes(t, "h", 0)
	stored[2*sse.PackageSize+1000] ^= 0x01
	coder, _ := tc.coder(m.EC)
	ref := storagenode.ShardRef{Bucket: "bkt", VersionDir: m.DataDir, Name: m.Parts[0].Name}
	drives := tc.drivesByID(m.Drives)
	ws := make([]io.Writer, len(drives))
	sws := make([]storagenode.ShardWriter, len(drives))
	for i, d := range drives {
		w, err := d.CreateShard(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		ws[i], sws[i] = w, w
	}
	if _, _, err := coder.Encode(ctx, bytes.NewReader(stored), ws, len(ws)); err != nil {
		t.Fatal(err)
	}
	for _, w := range sws {
		if err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := tc.HealObject(ctx, "bkt", "h", true); err != nil || r.Repaired != 0 {
		t.Fatalf("the shards' checksums should all hold: %+v, %v", r, err)
	}
	got, err := tc.readWith("h", nil, 0, -1)
	if !errors.Is(err, sse.ErrAuth) {
		t.Fatalf("tampered read: %v", err)
	}
	if len(got) > 2*sse.PackagePlain || !bytes.Equal(got, data[:len(got)]) {
		t.Fatalf("tampered read wrote %d bytes, or altered ones", len(got))
	}
	// Packages before the flipped one still read; a range inside it fails.
	if got, err := tc.readWith("h", nil, 0, 2*sse.PackagePlain); err != nil || !bytes.Equal(got, data[:2*sse.PackagePlain]) {
		t.Fatalf("untouched packages: %v", err)
	}
	if _, err := tc.readWith("h", nil, 2*sse.PackagePlain+5, 10); !errors.Is(err, sse.ErrAuth) {
		t.Fatalf("range in the tampered package: %v", err)
	}
}

func indexOf(tc *testCluster, id string) int {
	for i, f := range tc.faulty {
		if f.ID() == id {
			return i
		}
	}
	return -1
}

// memKMS is a KMS of fixed named keys.
type memKMS map[string][]byte

func (m memKMS) DefaultKey() string { return "default" }
func (m memKMS) Seal(_ context.Context, name string, aad, objectKey []byte) ([]byte, error) {
	k, ok := m[name]
	if !ok {
		return nil, ErrKMSKeyNotFound
	}
	return sse.KMSSeal(k, aad, objectKey)
}
func (m memKMS) Unseal(_ context.Context, name string, aad, sealed []byte) ([]byte, error) {
	k, ok := m[name]
	if !ok {
		return nil, ErrKMSKeyNotFound
	}
	return sse.KMSUnseal(k, aad, sealed)
}

// TestSSEKMS: SSE-KMS versions name their key and encryption context,
// read back whole, refuse a key the store lacks, and are bound to their
// context (a record whose context was altered does not open).
func TestSSEKMS(t *testing.T) {
	ctx := context.Background()
	tc := newSSECluster(t, 128<<10)
	tc.cfg.KMS = memKMS{"default": bytes.Repeat([]byte{1}, 32), "app": bytes.Repeat([]byte{2}, 32)}
	data := randBytes(9, 300_000)
	for _, enc := range []s3api.Encryption{{Method: s3api.SSEKMS}, {Method: s3api.SSEKMS, KMSKeyID: "app", KMSContext: "eyJhIjoiYiJ9"}} {
		info, err := tc.PutObject(ctx, "bkt", "kms-"+enc.KMSKeyID, bytes.NewReader(data), int64(len(data)), s3api.PutOptions{SSE: enc})
		if err != nil {
			t.Fatal(err)
		}
		want := enc.KMSKeyID
		if want == "" {
			want = "default"
		}
		if info.Encryption.Method != s3api.SSEKMS || info.Encryption.KMSKeyID != want || info.ETag == md5hex(data) {
			t.Fatalf("info %+v", info)
		}
		if got, err := tc.readWith("kms-"+enc.KMSKeyID, nil, 1000, 200_000); err != nil || !bytes.Equal(got, data[1000:201_000]) {
			t.Fatalf("read: %v", err)
		}
		if _, stored := tc.storedBytes(t, "kms-"+enc.KMSKeyID, 0); bytes.Contains(stored, data[:64]) {
			t.Fatal("plaintext stored")
		}
	}
	if _, err := tc.PutObject(ctx, "bkt", "x", bytes.NewReader(data), int64(len(data)), s3api.PutOptions{SSE: s3api.Encryption{Method: s3api.SSEKMS, KMSKeyID: "nope"}}); !errors.Is(err, ErrKMSKeyNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	// The context is part of the sealing: alter it in every record.
	m, _ := tc.readMeta(ctx, "bkt", "kms-app")
	m.SSE.Context = "eyJhIjoiYyJ9"
	for _, d := range tc.drivesByID(m.Drives) {
		if _, err := d.PutMeta(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tc.readWith("kms-app", nil, 0, -1); !errors.Is(err, sse.ErrUnseal) {
		t.Fatalf("altered context: %v", err)
	}
}

// TestRotateKeys: a rotation reseals every SSE-S3 version and upload
// under the target key without rewriting data; afterwards a ring of the
// target alone reads everything, the upload completes, and SSE-C versions
// were left alone. A second rotation finds nothing to do.
func TestRotateKeys(t *testing.T) {
	ctx := context.Background()
	tc := newSSECluster(t, 128<<10)
	k1 := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	k2 := "k2:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{8}, 32))
	objs := map[string][]byte{"inline": randBytes(1, 5_000), "files": randBytes(2, 400_000)}
	for k, data := range objs {
		if _, err := tc.PutObject(ctx, "bkt", k, bytes.NewReader(data), int64(len(data)), s3api.PutOptions{SSE: s3api.Encryption{Method: s3api.SSES3}}); err != nil {
			t.Fatal(err)
		}
	}
	cdata := randBytes(3, 100_000)
	if _, err := tc.PutObject(ctx, "bkt", "ssec", bytes.NewReader(cdata), int64(len(cdata)), s3api.PutOptions{SSE: s3api.Encryption{CustomerKey: custKey}}); err != nil {
		t.Fatal(err)
	}
	id, err := tc.NewMultipartUpload(ctx, "bkt", "mp", s3api.PutOptions{SSE: s3api.Encryption{Method: s3api.SSES3}})
	if err != nil {
		t.Fatal(err)
	}
	part := randBytes(4, 300_000)
	pi, err := tc.PutObjectPart(ctx, "bkt", "mp", id, 1, bytes.NewReader(part), int64(len(part)), s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, before := tc.storedBytes(t, "files", 0)

	both, _ := sse.ParseRing([]byte(k2 + "\n" + k1))
	tc.cfg.Keys = both
	if err := tc.RotateKeys(ctx, "k9"); err == nil {
		t.Fatal("rotation to a key the ring lacks")
	}
	if err := tc.RotateKeys(ctx, "k2"); err != nil {
		t.Fatal(err)
	}
	if st := tc.RotateStatus(); st.Resealed != 3 || st.Failed != 0 || st.Versions != 3 || st.Running {
		t.Fatalf("status %+v, want 3 resealed (2 versions, 1 upload)", st)
	}
	m, stored := tc.storedBytes(t, "files", 0)
	if m.SSE.KeyID != "k2" || !bytes.Equal(stored, before) {
		t.Fatalf("after rotation: key %s, data rewritten %v", m.SSE.KeyID, !bytes.Equal(stored, before))
	}
	only2, _ := sse.ParseRing([]byte(k2))
	tc.cfg.Keys = only2
	for k, data := range objs {
		if got, err := tc.readWith(k, nil, 0, -1); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s with k2 alone: %v", k, err)
		}
	}
	if got, err := tc.readWith("ssec", custKey, 0, -1); err != nil || !bytes.Equal(got, cdata) {
		t.Fatalf("SSE-C after rotation: %v", err)
	}
	if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "mp", id, []s3api.CompletePart{{Number: 1, ETag: pi.ETag}}, s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := tc.readWith("mp", nil, 0, -1); err != nil || !bytes.Equal(got, part) {
		t.Fatalf("the upload resealed, then completed: %v", err)
	}
	if err := tc.RotateKeys(ctx, "k2"); err != nil || tc.RotateStatus().Resealed != 0 {
		t.Fatalf("a second rotation: %v, %+v", err, tc.RotateStatus())
	}
}

// TestSSERebalance: a drive is added and the rebalance moves the shards of
// SSE-S3 and SSE-C objects (inline and in shard files) without a key; all
// of them read whole afterwards, from the new placement.
func TestSSERebalance(t *testing.T) {
	ctx := context.Background()
	tc, drives, _ := growCluster(t, 9, 8, 2048)
	ring, _ := sse.ParseRing([]byte("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))))
	tc.cfg.Keys = ring
	data := map[string][]byte{}
	encs := map[string]s3api.Encryption{}
	for i := range 60 {
		key := fmt.Sprintf("e%02d", i)
		data[key] = randBytes(uint64(i), 1000+i*900)
		encs[key] = s3api.Encryption{Method: s3api.SSES3}
		if i%2 == 1 {
			encs[key] = s3api.Encryption{CustomerKey: custKey}
		}
		if _, err := tc.PutObject(ctx, "bkt", key, bytes.NewReader(data[key]), int64(len(data[key])), s3api.PutOptions{SSE: encs[key]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tc.SetTopology(Topology{Epoch: 2, Drives: drives, Prior: [][]Drive{drives[:8]}}); err != nil {
		t.Fatal(err)
	}
	tc.cfg.Keys = nil // the rebalance needs no key
	st := rebalanceAndWait(t, tc.Repair)
	if st.ShardsMoved == 0 || st.ObjectsFailed > 0 {
		t.Fatalf("rebalance: %+v", st)
	}
	tc.cfg.Keys = ring
	for key, want := range data {
		m, err := tc.readMeta(ctx, "bkt", key)
		if err != nil {
			t.Fatal(err)
		}
		home, _ := tc.place("bkt", key)
		if fmt.Sprint(m.Drives) != fmt.Sprint(driveIDs(home)) {
			t.Fatalf("%s: drives %v, placement %v", key, m.Drives, driveIDs(home))
		}
		if got, err := tc.readWith(key, encs[key].CustomerKey, 0, -1); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s after the rebalance: %v", key, err)
		}
	}
	t.Logf("moved %d shards of 60 encrypted objects", st.ShardsMoved)
}

// TestSSENeedsEveryDrive: while a drive of the map runs a version that
// would drop an encrypted record's fields, no write is encrypted
// (NotImplemented) and plain writes go on; with every drive current, the
// check passes once for the map.
func TestSSENeedsEveryDrive(t *testing.T) {
	ctx := context.Background()
	ring, _ := sse.ParseRing([]byte("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))))
	l := versioningLayer(t, false)
	l.cfg.Keys = ring
	for _, enc := range []s3api.Encryption{{Method: s3api.SSES3}, {CustomerKey: custKey}} {
		if _, err := l.PutObject(ctx, "bkt", "k", bytes.NewReader([]byte("x")), 1, s3api.PutOptions{SSE: enc}); !errors.Is(err, s3api.ErrNotImplemented) {
			t.Fatalf("%+v with an older drive: %v, want NotImplemented", enc, err)
		}
		if _, err := l.NewMultipartUpload(ctx, "bkt", "k", s3api.PutOptions{SSE: enc}); !errors.Is(err, s3api.ErrNotImplemented) {
			t.Fatalf("an encrypted upload with an older drive: %v", err)
		}
	}
	if _, err := l.PutObject(ctx, "bkt", "k", bytes.NewReader([]byte("x")), 1, s3api.PutOptions{}); err != nil {
		t.Fatalf("a plain PUT: %v", err)
	}
	l = versioningLayer(t, true)
	l.cfg.Keys = ring
	if _, err := l.PutObject(ctx, "bkt", "k", bytes.NewReader([]byte("x")), 1, s3api.PutOptions{SSE: s3api.Encryption{Method: s3api.SSES3}}); err != nil || !l.topo().sseKept.Load() {
		t.Fatalf("with every drive current: %v (checked %v)", err, l.topo().sseKept.Load())
	}
}
