package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// getAll reads bucket/key (with opts) through minio-go.
func getAll(ctx context.Context, c *minio.Client, bucket, key string, opts minio.GetObjectOptions) ([]byte, error) {
	obj, err := c.GetObject(ctx, bucket, key, opts)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}

// listKeys lists bucket with opts and returns the keys (and sizes) in the
// order minio-go yields them.
func listKeys(ctx context.Context, t *testing.T, c *minio.Client, bucket string, opts minio.ListObjectsOptions) ([]string, map[string]int64) {
	t.Helper()
	var keys []string
	sizes := map[string]int64{}
	for o := range c.ListObjects(ctx, bucket, opts) {
		if o.Err != nil {
			t.Fatalf("ListObjects %s %+v: %v", bucket, opts, o.Err)
		}
		keys = append(keys, o.Key)
		sizes[o.Key] = o.Size
	}
	return keys, sizes
}

// TestMinioGo drives minio-go through bucket, object, range, list, copy,
// delete and presign calls.
func TestMinioGo(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 5*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6))
	c := s.Minio(t)
	const bucket = "mgo"

	t.Run("bucket", func(t *testing.T) {
		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		ok, err := c.BucketExists(ctx, bucket)
		if err != nil || !ok {
			t.Fatalf("BucketExists = %v, %v", ok, err)
		}
		if ok, err := c.BucketExists(ctx, "mgo-never-made"); err != nil || ok {
			t.Errorf("BucketExists(missing) = %v, %v; want false, nil", ok, err)
		}
		err = c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{})
		if code := minio.ToErrorResponse(err).Code; code != "BucketAlreadyOwnedByYou" {
			t.Errorf("second MakeBucket: code %q (%v), want BucketAlreadyOwnedByYou", code, err)
		}
		bs, err := c.ListBuckets(ctx)
		if err != nil || len(bs) != 1 || bs[0].Name != bucket {
			t.Errorf("ListBuckets = %+v, %v; want [%s]", bs, err, bucket)
		}
	})

	type sized struct {
		key      string
		data     []byte
		partSize uint64
		etag     string
	}
	objs := []*sized{
		{key: "size/0", data: []byte{}},
		{key: "size/1", data: []byte{'x'}},
		{key: "size/64KiB", data: randData(100, 64<<10)},
		{key: "size/5MiB+1", data: randData(101, 5<<20+1)},
		{key: "size/5MiB+1-parts", data: randData(102, 5<<20+1), partSize: 5 << 20},
		{key: "size/17MiB", data: randData(103, 17<<20)},
	}
	for _, o := range objs {
		switch {
		case o.partSize > 0:
			o.etag = multipartETag(o.data, int(o.partSize))
		case len(o.data) > 16<<20: // minio-go's default part size
			o.etag = multipartETag(o.data, 16<<20)
		default:
			o.etag = md5Hex(o.data)
		}
	}
	byKey := func(k string) *sized {
		for _, o := range objs {
			if o.key == k {
				return o
			}
		}
		t.Fatalf("no object %s", k)
		return nil
	}

	t.Run("put stat get", func(t *testing.T) {
		for _, o := range objs {
			ct := "application/x-" + strings.ReplaceAll(o.key, "/", "-")
			info, err := c.PutObject(ctx, bucket, o.key, bytes.NewReader(o.data), int64(len(o.data)), minio.PutObjectOptions{
				ContentType:  ct,
				PartSize:     o.partSize,
				UserMetadata: map[string]string{"Origin": "minio-go", "Case": o.key},
			})
			if err != nil {
				t.Fatalf("PutObject %s: %v", o.key, err)
			}
			if info.Size != int64(len(o.data)) || info.ETag != o.etag {
				t.Errorf("PutObject %s: size %d etag %s, want %d %s", o.key, info.Size, info.ETag, len(o.data), o.etag)
			}
			st, err := c.StatObject(ctx, bucket, o.key, minio.StatObjectOptions{})
			if err != nil {
				t.Fatalf("StatObject %s: %v", o.key, err)
			}
			if st.Key != o.key || st.Size != int64(len(o.data)) || st.ETag != o.etag || st.ContentType != ct {
				t.Errorf("StatObject %s: key %q size %d etag %s type %q; want size %d etag %s type %q",
					o.key, st.Key, st.Size, st.ETag, st.ContentType, len(o.data), o.etag, ct)
			}
			if st.Metadata.Get("X-Amz-Meta-Origin") != "minio-go" || st.Metadata.Get("X-Amz-Meta-Case") != o.key {
				t.Errorf("StatObject %s: user metadata %v", o.key, st.Metadata)
			}
			got, err := getAll(ctx, c, bucket, o.key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatalf("GetObject %s: %v", o.key, err)
			}
			if sha256Hex(got) != sha256Hex(o.data) {
				t.Errorf("GetObject %s: %d bytes differing from the %d written", o.key, len(got), len(o.data))
			}
		}
	})

	t.Run("ranges", func(t *testing.T) {
		const mib = 1 << 20
		type rng struct{ start, end int64 }
		cases := map[string][]rng{
			"size/17MiB": {
				{0, 0}, {0, mib - 1}, {mib - 1, mib - 1}, {mib - 1, mib}, {mib, mib}, {mib, 2*mib - 1},
				{mib - 100, 3*mib + 100}, {4*mib - 1, 4*mib + 1}, {16*mib - 1, 16 * mib}, {16*mib - 5, 16*mib + 5},
				{16 * mib, 0}, {17*mib - 1, 17*mib - 1}, {17*mib - 10, 17*mib + 1000},
				{0, -1}, {0, -mib}, {0, -(mib + 1)}, {0, -(2*mib + 3)},
			},
			"size/5MiB+1-parts": {{5*mib - 1, 5 * mib}, {5 * mib, 5 * mib}, {mib - 1, mib}, {0, -2}},
			"size/5MiB+1":       {{5*mib - 1, 5 * mib}, {4*mib + 1, 0}},
			"size/64KiB":        {{0, 0}, {65535, 65535}, {100, 100000}},
			"size/1":            {{0, 0}, {0, -1}, {0, -5}},
		}
		for key, rs := range cases {
			data := byKey(key).data
			size := int64(len(data))
			for _, r := range rs {
				var want []byte
				switch {
				case r.start == 0 && r.end < 0:
					want = data[max(0, size+r.end):]
				case r.end == 0 && r.start > 0:
					want = data[r.start:]
				default:
					want = data[r.start:min(r.end+1, size)]
				}
				var opts minio.GetObjectOptions
				if err := opts.SetRange(r.start, r.end); err != nil {
					t.Fatal(err)
				}
				got, err := getAll(ctx, c, bucket, key, opts)
				if err != nil {
					t.Errorf("%s range %s: %v", key, opts.Header().Get("Range"), err)
					continue
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s range %s: got %d bytes (sha %s), want %d (sha %s)", key, opts.Header().Get("Range"),
						len(got), sha256Hex(got)[:12], len(want), sha256Hex(want)[:12])
				}
			}
		}
	})

	t.Run("list", func(t *testing.T) {
		keys := []string{"list/a", "list/b/c", "list/b/d/e", "list/f/", "list/g", "listx"}
		for _, k := range keys {
			if _, err := c.PutObject(ctx, bucket, k, strings.NewReader(k), int64(len(k)), minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		for _, v1 := range []bool{false, true} {
			for _, maxKeys := range []int{0, 1, 2} {
				name := fmt.Sprintf("v1=%v maxKeys=%d", v1, maxKeys)
				got, sizes := listKeys(ctx, t, c, bucket, minio.ListObjectsOptions{Prefix: "list/", Recursive: true, UseV1: v1, MaxKeys: maxKeys})
				if want := keys[:5]; !slices.Equal(got, want) {
					t.Errorf("%s recursive prefix list/: %q, want %q", name, got, want)
				}
				for _, k := range got {
					if sizes[k] != int64(len(k)) {
						t.Errorf("%s: %s listed with size %d, want %d", name, k, sizes[k], len(k))
					}
				}
				// minio-go yields each page's objects before its prefixes,
				// so only the set is compared where prefixes are involved.
				got, _ = listKeys(ctx, t, c, bucket, minio.ListObjectsOptions{Prefix: "list/", UseV1: v1, MaxKeys: maxKeys})
				slices.Sort(got)
				if want := []string{"list/a", "list/b/", "list/f/", "list/g"}; !slices.Equal(got, want) {
					t.Errorf("%s non-recursive prefix list/: %q, want %q", name, got, want)
				}
				got, _ = listKeys(ctx, t, c, bucket, minio.ListObjectsOptions{Prefix: "list/b/", Recursive: true, UseV1: v1, MaxKeys: maxKeys})
				if want := []string{"list/b/c", "list/b/d/e"}; !slices.Equal(got, want) {
					t.Errorf("%s recursive prefix list/b/: %q, want %q", name, got, want)
				}
				got, _ = listKeys(ctx, t, c, bucket, minio.ListObjectsOptions{UseV1: v1, MaxKeys: maxKeys})
				slices.Sort(got)
				if want := []string{"list/", "listx", "size/"}; !slices.Equal(got, want) {
					t.Errorf("%s non-recursive top level: %q, want %q", name, got, want)
				}
			}
		}
	})

	t.Run("copy", func(t *testing.T) {
		src := byKey("size/64KiB")
		info, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: bucket, Object: "copy/64KiB"}, minio.CopySrcOptions{Bucket: bucket, Object: src.key})
		if err != nil {
			t.Fatal(err)
		}
		if info.ETag != src.etag {
			t.Errorf("CopyObject ETag %s, want %s", info.ETag, src.etag)
		}
		st, err := c.StatObject(ctx, bucket, "copy/64KiB", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st.ContentType != "application/x-size-64KiB" || st.Metadata.Get("X-Amz-Meta-Case") != src.key || st.Size != int64(len(src.data)) {
			t.Errorf("copy did not keep the source's metadata: %+v", st)
		}
		got, err := getAll(ctx, c, bucket, "copy/64KiB", minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, src.data) {
			t.Errorf("copy content differs (err %v)", err)
		}

		// A multipart source, with metadata replaced.
		big := byKey("size/17MiB")
		_, err = c.CopyObject(ctx, minio.CopyDestOptions{Bucket: bucket, Object: "copy/17MiB", ReplaceMetadata: true,
			UserMetadata: map[string]string{"Replaced": "yes", "Content-Type": "text/x-replaced"}},
			minio.CopySrcOptions{Bucket: bucket, Object: big.key})
		if err != nil {
			t.Fatal(err)
		}
		st, err = c.StatObject(ctx, bucket, "copy/17MiB", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Metadata.Get("X-Amz-Meta-Replaced") != "yes" || st.Metadata.Get("X-Amz-Meta-Case") != "" || st.ContentType != "text/x-replaced" {
			t.Errorf("copy with REPLACE: metadata %v, type %q", st.Metadata, st.ContentType)
		}
		got, err = getAll(ctx, c, bucket, "copy/17MiB", minio.GetObjectOptions{})
		if err != nil || sha256Hex(got) != sha256Hex(big.data) {
			t.Errorf("17 MiB copy content differs (err %v, %d bytes)", err, len(got))
		}
	})

	t.Run("remove", func(t *testing.T) {
		if err := c.RemoveObject(ctx, bucket, "copy/64KiB", minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := c.StatObject(ctx, bucket, "copy/64KiB", minio.StatObjectOptions{})
		if code := minio.ToErrorResponse(err).Code; code != "NoSuchKey" {
			t.Errorf("StatObject after RemoveObject: %v, want NoSuchKey", err)
		}
		var victims []string
		for i := range 12 {
			k := fmt.Sprintf("rm/%02d obj", i)
			victims = append(victims, k)
			if _, err := c.PutObject(ctx, bucket, k, strings.NewReader(k), int64(len(k)), minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		ch := make(chan minio.ObjectInfo, len(victims)+1)
		for _, k := range victims {
			ch <- minio.ObjectInfo{Key: k}
		}
		ch <- minio.ObjectInfo{Key: "rm/never-existed"}
		close(ch)
		for e := range c.RemoveObjects(ctx, bucket, ch, minio.RemoveObjectsOptions{}) {
			t.Errorf("RemoveObjects: %s: %v", e.ObjectName, e.Err)
		}
		if got, _ := listKeys(ctx, t, c, bucket, minio.ListObjectsOptions{Prefix: "rm/", Recursive: true}); len(got) != 0 {
			t.Errorf("after RemoveObjects, rm/ lists %q", got)
		}
		for _, k := range victims {
			if _, err := c.StatObject(ctx, bucket, k, minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
				t.Errorf("StatObject %s after RemoveObjects: %v, want NoSuchKey", k, err)
			}
		}
	})

	t.Run("presigned", func(t *testing.T) {
		src := byKey("size/5MiB+1-parts")
		u, err := c.PresignedGetObject(ctx, bucket, src.key, 10*time.Minute, url.Values{"response-content-type": {"text/x-override"}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || sha256Hex(body) != sha256Hex(src.data) {
			t.Errorf("presigned GET: status %d, %d bytes, equal %v, err %v", resp.StatusCode, len(body), bytes.Equal(body, src.data), err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/x-override" {
			t.Errorf("presigned GET with response-content-type: Content-Type %q", ct)
		}

		const putKey = "presigned/put ü+%.bin"
		data := randData(104, 3<<20+17)
		u, err = c.PresignedPutObject(ctx, bucket, putKey, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.Trim(resp.Header.Get("ETag"), `"`) != md5Hex(data) {
			t.Fatalf("presigned PUT: status %d etag %s:\n%s", resp.StatusCode, resp.Header.Get("ETag"), body)
		}
		got, err := getAll(ctx, c, bucket, putKey, minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("object written by presigned PUT differs (err %v, %d bytes)", err, len(got))
		}
	})

	t.Run("key names", func(t *testing.T) {
		const kb = "mgo-keys"
		if err := c.MakeBucket(ctx, kb, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		keys := []string{
			"with space", " leading and trailing ", "plus+plus", "100%", "%2F is not a slash", "%", "%%41",
			"ünïcødé ファイル 🎉", "double//slash", "trailing/", "//leading-double", "a//b//", "dir/./dot",
			"q?mark&amp=1", "hash#frag", "tilde~ star*", "semi;colon,comma", `quote'"`, `back\slash`,
			"tab\tchar", "ends with dot.", "+", "~",
		}
		for i, k := range keys {
			data := append([]byte(k), randData(uint64(200+i), 1000+i)...)
			if _, err := c.PutObject(ctx, kb, k, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
				t.Errorf("PutObject %q: %v", k, err)
				continue
			}
			st, err := c.StatObject(ctx, kb, k, minio.StatObjectOptions{})
			if err != nil || st.Key != k || st.Size != int64(len(data)) {
				t.Errorf("StatObject %q: key %q size %d err %v", k, st.Key, st.Size, err)
			}
			got, err := getAll(ctx, c, kb, k, minio.GetObjectOptions{})
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("GetObject %q: %d bytes, equal %v, err %v", k, len(got), bytes.Equal(got, data), err)
			}
		}
		want := slices.Clone(keys)
		sort.Strings(want)
		for _, v1 := range []bool{false, true} {
			got, _ := listKeys(ctx, t, c, kb, minio.ListObjectsOptions{Recursive: true, UseV1: v1, MaxKeys: 5})
			if !slices.Equal(got, want) {
				t.Errorf("v1=%v list of all keys:\n got %q\nwant %q", v1, got, want)
			}
		}
		got, _ := listKeys(ctx, t, c, kb, minio.ListObjectsOptions{Prefix: "a//", Recursive: false})
		if want := []string{"a//b/"}; !slices.Equal(got, want) {
			t.Errorf("list prefix a// non-recursive: %q, want %q", got, want)
		}
		got, _ = listKeys(ctx, t, c, kb, minio.ListObjectsOptions{Prefix: "%", Recursive: true})
		if want := []string{"%", "%%41", "%2F is not a slash"}; !slices.Equal(got, want) {
			t.Errorf("list prefix %%: %q, want %q", got, want)
		}
	})
}

// dataBytes sums the sizes of the files under the drive folders.
func dataBytes(t *testing.T, dirs []string) int64 {
	t.Helper()
	var n int64
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			fi, err := e.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// TestMinioGoMultipartEdges completes uploads with replaced, skipped,
// stale, undersized and misordered parts through minio-go's Core API, and
// checks that what is stored is what was asked for, and that replaced or
// unused parts do not stay on the drives.
func TestMinioGoMultipartEdges(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 3*time.Minute)
	dirs := NewDriveDirs(t, 6)
	s := StartServer(t, dirs)
	core := minio.Core{Client: s.Minio(t)}
	const bucket = "mpu-edges"
	if err := core.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	const mib = 1 << 20
	newUpload := func(key string) string {
		t.Helper()
		id, err := core.NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{ContentType: "application/x-edges"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	put := func(key, id string, n int, data []byte) minio.CompletePart {
		t.Helper()
		p, err := core.PutObjectPart(ctx, bucket, key, id, n, bytes.NewReader(data), int64(len(data)), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatalf("PutObjectPart %s #%d: %v", key, n, err)
		}
		if p.ETag != md5Hex(data) {
			t.Errorf("PutObjectPart %s #%d: ETag %s, want %s", key, n, p.ETag, md5Hex(data))
		}
		return minio.CompletePart{PartNumber: n, ETag: p.ETag}
	}
	complete := func(key, id string, want []byte, wantETag string, parts ...minio.CompletePart) {
		t.Helper()
		info, err := core.CompleteMultipartUpload(ctx, bucket, key, id, parts, minio.PutObjectOptions{})
		if err != nil {
			t.Fatalf("CompleteMultipartUpload %s: %v", key, err)
		}
		if info.ETag != wantETag {
			t.Errorf("CompleteMultipartUpload %s: ETag %s, want %s", key, info.ETag, wantETag)
		}
		got, err := getAll(ctx, core.Client, bucket, key, minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("GET %s: %d bytes, equal %v, err %v", key, len(got), bytes.Equal(got, want), err)
		}
		st, err := core.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
		if err != nil || st.ContentType != "application/x-edges" || st.Size != int64(len(want)) || st.ETag != wantETag {
			t.Errorf("StatObject %s: %+v, %v", key, st, err)
		}
	}
	wantCode := func(what string, err error, code string) {
		t.Helper()
		if got := minio.ToErrorResponse(err).Code; got != code {
			t.Errorf("%s: %v (code %q), want %s", what, err, got, code)
		}
	}
	// checkSpace fails if the drives grew by more than size bytes coded 4+2
	// (plus 1 MiB for metadata) since before.
	checkSpace := func(what string, before int64, size int) {
		t.Helper()
		grew, coded := dataBytes(t, dirs)-before, int64(size)*6/4
		if grew > coded+mib {
			t.Errorf("%s: the drives grew by %.1f MiB to store %.1f MiB of coded data: parts that are not in the object were left on the drives",
				what, float64(grew)/mib, float64(coded)/mib)
		}
	}

	// A part uploaded twice: the second one counts, the first one is gone.
	before := dataBytes(t, dirs)
	id := newUpload("replaced")
	p1, p2, p2b, p3 := randData(500, 5*mib), randData(501, 5*mib), randData(502, 5*mib+3), randData(503, 2*mib+1)
	c1 := put("replaced", id, 1, p1)
	c2old := put("replaced", id, 2, p2)
	c2 := put("replaced", id, 2, p2b)
	c3 := put("replaced", id, 3, p3)
	lp, err := core.ListObjectParts(ctx, bucket, "replaced", id, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(lp.ObjectParts) != 3 || strings.Trim(lp.ObjectParts[1].ETag, `"`) != c2.ETag || lp.ObjectParts[1].Size != int64(len(p2b)) {
		t.Errorf("ListObjectParts after replacing part 2: %+v", lp.ObjectParts)
	}
	_, err = core.CompleteMultipartUpload(ctx, bucket, "replaced", id, []minio.CompletePart{c1, c2old, c3}, minio.PutObjectOptions{})
	wantCode("complete with the replaced part's ETag", err, "InvalidPart")
	_, err = core.CompleteMultipartUpload(ctx, bucket, "replaced", id, []minio.CompletePart{c1, {PartNumber: 4, ETag: c3.ETag}}, minio.PutObjectOptions{})
	wantCode("complete with a part never uploaded", err, "InvalidPart")
	_, err = core.CompleteMultipartUpload(ctx, bucket, "replaced", id, []minio.CompletePart{c3, c1}, minio.PutObjectOptions{})
	wantCode("complete with parts out of order", err, "InvalidPartOrder")
	whole := slices.Concat(p1, p2b, p3)
	complete("replaced", id, whole, partsETag(p1, p2b, p3), c1, c2, c3)
	// A Complete sent again (SDKs resend one after a timeout) answers what
	// the first did.
	again, err := core.CompleteMultipartUpload(ctx, bucket, "replaced", id, []minio.CompletePart{c1, c2, c3}, minio.PutObjectOptions{})
	if err != nil || strings.Trim(again.ETag, `"`) != partsETag(p1, p2b, p3) {
		t.Errorf("completing twice: ETag %s, %v; want the first Complete's answer %s", again.ETag, err, partsETag(p1, p2b, p3))
	}
	checkSpace("part 2 uploaded twice", before, len(whole))

	// A part left out of the completion: the object is the others, and the
	// unused part is gone.
	before = dataBytes(t, dirs)
	id = newUpload("skipped")
	q1, q2, q3 := randData(504, 5*mib), randData(505, 5*mib), randData(506, 1*mib+7)
	d1, _, d3 := put("skipped", id, 1, q1), put("skipped", id, 2, q2), put("skipped", id, 3, q3)
	whole = slices.Concat(q1, q3)
	complete("skipped", id, whole, partsETag(q1, q3), d1, d3)
	checkSpace("part 2 left out of the completion", before, len(whole))

	// An undersized part before the last is refused; abort frees it all.
	before = dataBytes(t, dirs)
	id = newUpload("small-parts")
	s1 := put("small-parts", id, 1, randData(510, mib))
	s2 := put("small-parts", id, 2, randData(511, mib))
	_, err = core.CompleteMultipartUpload(ctx, bucket, "small-parts", id, []minio.CompletePart{s1, s2}, minio.PutObjectOptions{})
	wantCode("complete with a 1 MiB first part", err, "EntityTooSmall")
	if _, err := core.StatObject(ctx, bucket, "small-parts", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Errorf("refused upload created the object: %v", err)
	}
	if err := core.AbortMultipartUpload(ctx, bucket, "small-parts", id); err != nil {
		t.Fatal(err)
	}
	checkSpace("aborted upload", before, 0)
}
