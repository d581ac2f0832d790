package tests

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ecstore/ecstore/internal/crashpoint"
)

// crashAt restarts s so that it SIGKILLs itself at the named crash point,
// runs op (which the crash must cut short) and waits for the process to
// die. It fails the test if op completes: the point was not reached.
func crashAt(t *testing.T, s *Server, point string, op func(c minio.Core) error) {
	t.Helper()
	s.Stop()
	s.Env = []string{crashpoint.Env + "=" + point}
	s.start()
	s.Env = nil
	c := minio.Core{Client: minioWith(t, s, testAccessKey, testSecretKey, 1)}
	if err := op(c); err == nil {
		t.Fatalf("crash point %s: the request succeeded; the process did not stop there", point)
	}
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("crash point %s: the process is still running", point)
	}
}

// TestCrashPoints stops the embedded server with SIGKILL between the steps
// of Complete, overwrite and DELETE (named crash points, so that every run
// crashes at the same place), then restarts it, aborts every upload it
// lists, restarts it with a 1 s upload expiry, and checks every object:
// acknowledged data is whole; an operation the crash cut short either took
// effect whole or not at all; a Complete committed with quorum (though
// never acknowledged) is never taken back by an abort or the expiry; a
// Complete retried after a crash finishes it. The conditional writes (an
// If-Match overwrite, an If-None-Match Complete) crash in the middle of
// their compare-and-set race, after its first drive (cond.acquire).
//
// Serial: it gives the upload expiry, run in the background at start, a
// fixed 500 ms before it checks that nothing was taken back; on a loaded
// machine the expiry might not have run yet.
func TestCrashPoints(t *testing.T) {
	ctx := testCtx(t, 4*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6))
	c := minio.Core{Client: s.Minio(t)}
	const bucket = "crash"
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	put := func(c minio.Core, key string, data []byte) error {
		_, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), "", "", minio.PutObjectOptions{})
		return err
	}
	acked := map[string][]byte{
		"small": randData(1, 10<<10), "plain": randData(2, 1<<20), "over": randData(3, 2<<20), "del": randData(4, 1<<20),
	}
	for k, v := range acked {
		if err := put(c, k, v); err != nil {
			t.Fatal(err)
		}
	}
	type upload struct {
		id    string
		parts []minio.CompletePart
		data  []byte
	}
	newUpload := func(key string, seed uint64) upload {
		t.Helper()
		id, err := c.NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		u := upload{id: id}
		for i, n := range []int{5 << 20, 100_000} {
			p := randData(seed+uint64(i), n)
			pi, err := c.PutObjectPart(ctx, bucket, key, id, i+1, bytes.NewReader(p), int64(n), minio.PutObjectPartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			u.parts = append(u.parts, minio.CompletePart{PartNumber: i + 1, ETag: pi.ETag})
			u.data = append(u.data, p...)
		}
		return u
	}
	committed := newUpload("mp-committed", 10)
	arbiter := newUpload("mp-arbiter", 20)
	condUp := newUpload("mp-cond", 30)
	condOld, condNew := randData(6, 1<<20), randData(7, 1<<20)
	if err := put(c, "cond", condOld); err != nil {
		t.Fatal(err)
	}
	complete := func(key string, u upload) func(c minio.Core) error {
		return func(c minio.Core) error {
			_, err := c.CompleteMultipartUpload(ctx, bucket, key, u.id, u.parts, minio.PutObjectOptions{})
			return err
		}
	}

	crashAt(t, s, crashpoint.CompleteCommitted, complete("mp-committed", committed))
	crashAt(t, s, crashpoint.CompleteArbiter, complete("mp-arbiter", arbiter))
	over2 := randData(5, 3<<20)
	crashAt(t, s, crashpoint.PutCommitted, func(c minio.Core) error { return put(c, "over", over2) })
	crashAt(t, s, crashpoint.DeleteRecords, func(c minio.Core) error {
		return c.RemoveObject(ctx, bucket, "del", minio.RemoveObjectOptions{})
	})

	crashAt(t, s, crashpoint.CondAcquire, func(c minio.Core) error {
		var opts minio.PutObjectOptions
		opts.SetMatchETag(fmt.Sprintf("%x", md5.Sum(condOld)))
		_, err := c.PutObject(ctx, bucket, "cond", bytes.NewReader(condNew), int64(len(condNew)), "", "", opts)
		return err
	})
	condComplete := func(c minio.Core) error {
		var opts minio.PutObjectOptions
		opts.SetMatchETagExcept("*")
		_, err := c.CompleteMultipartUpload(ctx, bucket, "mp-cond", condUp.id, condUp.parts, opts)
		return err
	}
	crashAt(t, s, crashpoint.CondAcquire, condComplete)

	// Past each crash point the operation had its quorum: it took effect.
	acked["mp-committed"] = committed.data
	acked["over"] = over2
	delete(acked, "del")

	s.Stop()
	s.start()
	c = minio.Core{Client: s.Minio(t)}
	check := func(when string) {
		t.Helper()
		for k, want := range acked {
			got, err := getAll(ctx, c.Client, bucket, k, minio.GetObjectOptions{})
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: GET %s: %d bytes (want %d), equal %v, err %v", when, k, len(got), len(want), bytes.Equal(got, want), err)
			}
		}
		if _, err := c.StatObject(ctx, bucket, "del", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Errorf("%s: HEAD of the deleted key: %v, want NoSuchKey", when, err)
		}
		// The Completes cut short after their first drive: not
		// acknowledged, so absent or whole.
		for key, data := range map[string][]byte{"mp-arbiter": arbiter.data, "mp-cond": condUp.data} {
			if _, ok := acked[key]; ok {
				continue
			}
			if got, err := getAll(ctx, c.Client, bucket, key, minio.GetObjectOptions{}); err == nil && !bytes.Equal(got, data) {
				t.Errorf("%s: %s reads %d wrong bytes", when, key, len(got))
			} else if err != nil && minio.ToErrorResponse(err).Code != "NoSuchKey" {
				t.Errorf("%s: GET %s: %v, want whole or NoSuchKey", when, key, err)
			}
		}
		// The conditional overwrite cut short: the acknowledged version,
		// or the new one whole.
		if got, err := getAll(ctx, c.Client, bucket, "cond", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, condOld) && !bytes.Equal(got, condNew) {
			t.Errorf("%s: GET cond: %d bytes, err %v; want the acknowledged version or the new one, whole", when, len(got), err)
		}
	}
	check("after the crashes")

	// An SDK retries the Complete that got no answer: it finishes it.
	if err := complete("mp-arbiter", arbiter)(c); err != nil {
		t.Fatalf("retried Complete after a crash: %v", err)
	}
	acked["mp-arbiter"] = arbiter.data
	// And the conditional one: the drive its first try took holds this
	// upload's record, which counts as its own, not a racer's.
	if err := condComplete(c); err != nil {
		t.Fatalf("retried conditional Complete after a crash: %v", err)
	}
	acked["mp-cond"] = condUp.data

	// Abort everything listed, and the committed uploads by id.
	res, err := c.ListMultipartUploads(ctx, bucket, "", "", "", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range res.Uploads {
		t.Logf("aborting listed upload %s of %s", u.UploadID, u.Key)
		if err := c.AbortMultipartUpload(ctx, bucket, u.Key, u.UploadID); err != nil {
			t.Errorf("abort %s: %v", u.Key, err)
		}
	}
	for key, u := range map[string]upload{"mp-committed": committed, "mp-arbiter": arbiter, "mp-cond": condUp} {
		err := c.AbortMultipartUpload(ctx, bucket, key, u.id)
		if code := minio.ToErrorResponse(err).Code; err != nil && code != "NoSuchUpload" {
			t.Errorf("abort of the completed upload of %s: %v", key, err)
		}
	}
	check("after the aborts")
	// A Complete resent after one that committed answers as the first
	// would have.
	if err := complete("mp-committed", committed)(c); err != nil {
		t.Errorf("Complete resent after a committed one: %v", err)
	}

	// The expiry of old uploads at start (every upload is older than 1 s).
	time.Sleep(1100 * time.Millisecond)
	s.Stop()
	s.Args = append(s.Args, "--upload-expiry", "1s")
	s.start()
	c = minio.Core{Client: s.Minio(t)}
	time.Sleep(500 * time.Millisecond)
	check("after the upload expiry")
}

// TestBucketCrashPoints stops the embedded server with SIGKILL between
// the steps of CreateBucket and DeleteBucket (drive records, then the
// metadata store; the store, then the drive records) and checks after a
// restart that each bucket is either there and usable or not there at all,
// that its name can be used again, and that the bucket beside it and its
// object are untouched.
func TestBucketCrashPoints(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 3*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6))
	c := minio.Core{Client: s.Minio(t)}
	keep := randData(9, 300<<10)
	if err := c.MakeBucket(ctx, "keep", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, "keep", "obj", bytes.NewReader(keep), int64(len(keep)), "", "", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "doomed", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	mk := func(name string) func(c minio.Core) error {
		return func(c minio.Core) error { return c.MakeBucket(ctx, name, minio.MakeBucketOptions{}) }
	}
	crashAt(t, s, crashpoint.BucketRecords, mk("half-made"))
	crashAt(t, s, crashpoint.BucketCataloged, mk("made"))
	crashAt(t, s, crashpoint.BucketUncataloged, func(c minio.Core) error { return c.RemoveBucket(ctx, "doomed") })

	s.Stop()
	s.start()
	c = minio.Core{Client: s.Minio(t)}
	exists := func(name string) bool {
		t.Helper()
		ok, err := c.BucketExists(ctx, name)
		if err != nil {
			t.Fatalf("HeadBucket %s: %v", name, err)
		}
		return ok
	}
	if exists("half-made") {
		t.Error("a bucket whose create crashed before the metadata store committed it exists")
	}
	if !exists("made") {
		t.Error("a bucket the metadata store committed is gone after the crash")
	}
	if exists("doomed") {
		t.Error("a bucket whose delete the metadata store committed came back")
	}
	bs, err := c.ListBuckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
	}
	if strings.Join(names, ",") != "keep,made" {
		t.Errorf("buckets after the crashes: %v, want keep,made", names)
	}
	// Every name works again: used, emptied, listed.
	for _, name := range []string{"half-made", "doomed"} {
		if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("create %s again: %v", name, err)
		}
	}
	for _, name := range []string{"half-made", "made", "doomed"} {
		data := randData(10, 70<<10)
		if _, err := c.PutObject(ctx, name, "k", bytes.NewReader(data), int64(len(data)), "", "", minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PUT into %s: %v", name, err)
		}
		got, err := getAll(ctx, c.Client, name, "k", minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GET from %s: %d bytes, %v", name, len(got), err)
		}
		for o := range c.Client.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err == nil && o.Key != "k" {
				t.Errorf("bucket %s lists %q, a leftover of before the crash", name, o.Key)
			}
		}
	}
	got, err := getAll(ctx, c.Client, "keep", "obj", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, keep) {
		t.Fatalf("the object beside the crashes: %d bytes, %v", len(got), err)
	}
}

// putsUntilKilled has 2 writers PUT objects of sizes (in turn) with opts
// into bucket until the server is killed with SIGKILL, after a random 0.4
// to 1.6 s; it then starts the server again. Every acknowledged object
// goes into acked (under mu), keyed by round, writer and number.
func putsUntilKilled(t *testing.T, ctx context.Context, s *Server, bucket string, round int, rng *mrand.Rand, sizes []int, opts minio.PutObjectOptions, mu *sync.Mutex, acked map[string][]byte) {
	t.Helper()
	c := minioWith(t, s, testAccessKey, testSecretKey, 1)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("r%d-w%d-%d", round, w, i)
				data := randData(uint64(round*100000+w*1000+i), sizes[i%len(sizes)])
				if _, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), opts); err != nil {
					return // the server is gone
				}
				mu.Lock()
				acked[key] = data
				mu.Unlock()
			}
		})
	}
	time.Sleep(time.Duration(400+rng.IntN(1200)) * time.Millisecond)
	_ = s.cmd.Process.Kill()
	<-s.exited
	wg.Wait()
	s.cmd = nil
	s.start()
}

// TestLargePutsCrash kills the embedded server with SIGKILL while large
// objects are being written (their shard files past 1 MiB with O_DIRECT,
// their ETags summed by md5-simd lanes), three times, and reads back every
// acknowledged object byte for byte after each restart: single PUTs of 9
// and 24 MiB and a multipart upload of 8 MiB parts. The drive folders'
// tmp/ hold nothing of the cut writes after the last start.
func TestLargePutsCrash(t *testing.T) {
	parallelHeavy(t, 40*time.Second)
	putsCrash(t, nil, []int{9 << 20, 24<<20 + 5, 20<<20 + 3}, minio.PutObjectOptions{PartSize: 8 << 20})
}

// TestSmallDirectPutsCrash is TestLargePutsCrash for objects of 150 KiB to
// 2 MiB on drives that write every shard file with O_DIRECT from its first
// block (ECSTORE_DIRECT_IO=all, a storage node's default): shard files of
// 37 KiB to 512 KiB, each with a last partial block written through the
// page cache.
func TestSmallDirectPutsCrash(t *testing.T) {
	parallelHeavy(t, 30*time.Second)
	putsCrash(t, []string{"ECSTORE_DIRECT_IO=all"}, []int{1 << 20, 150<<10 + 3, 300_001, 2<<20 + 5}, minio.PutObjectOptions{})
}

// putsCrash kills an embedded server started with env three times while
// two clients PUT objects of sizes, and reads every acknowledged object
// back after each restart.
func putsCrash(t *testing.T, env []string, sizes []int, opts minio.PutObjectOptions) {
	t.Helper()
	ctx := testCtx(t, 4*time.Minute)
	dirs := NewDriveDirs(t, 6)
	s := StartServerEnv(t, dirs, env)
	if err := s.Minio(t).MakeBucket(ctx, "bigcrash", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string][]byte{}
	rng := mrand.New(mrand.NewPCG(9, 9))
	for round := range 3 {
		putsUntilKilled(t, ctx, s, "bigcrash", round, rng, sizes, opts, &mu, acked)
		c := s.Minio(t)
		for key, want := range acked {
			obj, err := c.GetObject(ctx, "bigcrash", key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatalf("round %d: %s: %v", round, key, err)
			}
			got, err := io.ReadAll(obj)
			obj.Close()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("round %d, after a SIGKILL under PUTs: %s: %v (%d bytes, want %d, equal %v)", round, key, err, len(got), len(want), bytes.Equal(got, want))
			}
		}
	}
	if len(acked) == 0 {
		t.Fatal("no PUT was acknowledged before the kills")
	}
	for _, d := range dirs {
		if left, _ := os.ReadDir(filepath.Join(d, "tmp")); len(left) != 0 {
			t.Errorf("%s/tmp holds %d files after the restart", d, len(left))
		}
	}
	t.Logf("%d acknowledged objects read back whole after 3 kills", len(acked))
}

// TestConditionalDeleteCrash SIGKILLs the embedded server inside
// conditional DELETEs (If-Match): an unversioned one once its records are
// gone from the quorum (delete.records), a versioned one after its delete
// marker took the first drive of the compare-and-set race (cond.acquire).
// After the restart the first delete has taken effect and the second has
// not, every acknowledged version reads back whole, and the second,
// retried once the crashed write's in-flight window has passed, succeeds.
func TestConditionalDeleteCrash(t *testing.T) {
	parallelHeavy(t, 20*time.Second)
	ctx := testCtx(t, 3*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6))
	c := s.Minio(t)
	for _, b := range []string{"cdu", "cdv"} {
		if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetBucketVersioning(ctx, "cdv", minio.BucketVersioningConfiguration{Status: "Enabled"}); err != nil {
		t.Fatal(err)
	}
	acked := map[string][]byte{} // bucket/key/versionID ("" unversioned)
	put := func(bucket, key string, data []byte) string {
		info, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		acked[bucket+"/"+key+"/"+info.VersionID] = data
		return info.VersionID
	}
	gone := randData(40, 1<<20)
	put("cdu", "a", gone)
	delete(acked, "cdu/a/")
	put("cdu", "keep", randData(41, 1<<20))
	put("cdv", "a", randData(42, 1<<20))
	cur := randData(43, 10<<10)
	put("cdv", "a", cur)
	put("cdv", "keep", randData(44, 300<<10))
	etag := func(b []byte) string { return fmt.Sprintf(`"%x"`, md5.Sum(b)) }

	// condDelete sends DELETE If-Match and returns its status (0 when the
	// connection broke).
	condDelete := func(bucket, key, ifMatch string) int {
		req := newRawRequest(ctx, t, s, http.MethodDelete, objectPath(bucket, key), "", nil)
		req.Header.Set("If-Match", ifMatch)
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(signV4(req, nil, testAccessKey, testSecretKey))
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cut := func(bucket, key, ifMatch string) func(minio.Core) error {
		return func(minio.Core) error {
			if st := condDelete(bucket, key, ifMatch); st != 0 {
				return nil // answered: the crash point was not reached
			}
			return io.ErrUnexpectedEOF
		}
	}
	crashAt(t, s, crashpoint.DeleteRecords, cut("cdu", "a", etag(gone)))
	crashAt(t, s, crashpoint.CondAcquire, cut("cdv", "a", etag(cur)))
	s.Stop()
	s.Env = []string{inFlightEnv}
	s.start()
	c = s.Minio(t)

	check := func(when string) {
		t.Helper()
		for id, want := range acked {
			p := strings.SplitN(id, "/", 3)
			got, err := getAll(ctx, c, p[0], p[1], minio.GetObjectOptions{VersionID: p[2]})
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: GET %s: %d bytes (want %d), err %v", when, id, len(got), len(want), err)
			}
		}
		if _, err := c.StatObject(ctx, "cdu", "a", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Errorf("%s: HEAD cdu/a, deleted past its quorum: %v, want NoSuchKey", when, err)
		}
	}
	check("after the crashes")
	if got, err := getAll(ctx, c, "cdv", "a", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, cur) {
		t.Errorf("GET cdv/a, whose delete marker took one drive: %d bytes, %v; want the current version", len(got), err)
	}
	if st := condDelete("cdu", "a", "*"); st != http.StatusNotFound {
		t.Errorf("DELETE If-Match * of the deleted key: HTTP %d, want 404", st)
	}
	// The retry meets the crashed marker as a write in flight (409) until
	// the window passes, then deletes.
	deadline := time.Now().Add(20 * time.Second)
	st := condDelete("cdv", "a", etag(cur))
	for st == http.StatusConflict && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		st = condDelete("cdv", "a", etag(cur))
	}
	if st != http.StatusNoContent {
		t.Fatalf("retried DELETE If-Match after the crash: HTTP %d, want 204", st)
	}
	if _, err := c.StatObject(ctx, "cdv", "a", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Errorf("HEAD cdv/a after the retried delete: %v, want NoSuchKey", err)
	}
	check("after the retried delete")
}

// TestDeleteSplitCrash SIGKILLs the embedded server inside DELETEs that
// removed the records of 3 of the key's 6 drives (crash point
// delete.split): neither the object nor its absence has a read quorum,
// and every read answers 503. Once the in-flight window has passed, the
// heal a read queues settles each key by finishing its delete (NoSuchKey),
// an object in shard files and an inline one alike; another object is
// untouched.
func TestDeleteSplitCrash(t *testing.T) {
	parallelHeavy(t, 20*time.Second)
	ctx := testCtx(t, 3*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6))
	c := s.Minio(t)
	if err := c.MakeBucket(ctx, "split", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	objs := map[string][]byte{"files": randData(50, 1<<20), "inline": randData(51, 100), "other": randData(52, 300<<10)}
	for k, v := range objs {
		if _, err := c.PutObject(ctx, "split", k, bytes.NewReader(v), int64(len(v)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"files", "inline"} {
		crashAt(t, s, crashpoint.DeleteSplit, func(c minio.Core) error {
			return c.RemoveObject(ctx, "split", key, minio.RemoveObjectOptions{})
		})
	}
	s.Stop()
	s.Env = []string{inFlightEnv}
	s.start()
	c = s.Minio(t)
	// A raw GET: minio-go would retry a 503 until the heal has settled it.
	signedDo(ctx, t, s, http.MethodGet, objectPath("split", "files"), "", nil, nil).
		wantErr(t, "GET of a split key", http.StatusServiceUnavailable, "ServiceUnavailable")
	deadline := time.Now().Add(30 * time.Second)
	settled := func() bool {
		for _, key := range []string{"files", "inline"} {
			r := signedDo(ctx, t, s, http.MethodGet, objectPath("split", key), "", nil, nil)
			if r.Status != http.StatusNotFound {
				return false
			}
		}
		return true
	}
	for !settled() {
		if time.Now().After(deadline) {
			got, err := getAll(ctx, c, "split", "files", minio.GetObjectOptions{})
			_, ierr := getAll(ctx, c, "split", "inline", minio.GetObjectOptions{})
			t.Fatalf("30 s after the restart: files reads %d bytes, %v; inline %v", len(got), err, ierr)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if got, err := getAll(ctx, c, "split", "other", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, objs["other"]) {
		t.Fatalf("other object: %d bytes, %v", len(got), err)
	}
}
