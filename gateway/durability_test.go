package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
)

// startUpload creates an upload of key with parts of the given sizes and
// returns its id, the Complete list and the object's bytes.
func (tc *testCluster) startUpload(t *testing.T, key string, seed uint64, sizes ...int) (string, []s3api.CompletePart, []byte) {
	t.Helper()
	ctx := context.Background()
	id, err := tc.NewMultipartUpload(ctx, "bkt", key, s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var parts []s3api.CompletePart
	var all []byte
	for i, n := range sizes {
		p := randBytes(seed+uint64(i), n)
		pi, err := tc.PutObjectPart(ctx, "bkt", key, id, i+1, bytes.NewReader(p), int64(n), s3api.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, s3api.CompletePart{Number: i + 1, ETag: pi.ETag})
		all = append(all, p...)
	}
	return id, parts, all
}

// jitterDrive delays record writes by a random 0-3 ms, so that racing
// writers reach the drives in different orders.
type jitterDrive struct {
	storagenode.Drive
	mu  sync.Mutex
	rng *rand.Rand
}

func (j *jitterDrive) pause() {
	j.mu.Lock()
	d := time.Duration(j.rng.IntN(3000)) * time.Microsecond
	j.mu.Unlock()
	time.Sleep(d)
}

func (j *jitterDrive) PutMeta(ctx context.Context, m *storagenode.ObjectMeta) (*storagenode.ObjectMeta, error) {
	j.pause()
	return j.Drive.PutMeta(ctx, m)
}

func (j *jitterDrive) CompleteUpload(ctx context.Context, m *storagenode.ObjectMeta, expect *string) (*storagenode.ObjectMeta, error) {
	j.pause()
	return j.Drive.CompleteUpload(ctx, m, expect)
}

// jitterMeta rebuilds tc's layer over its drives wrapped in jitterDrives.
func (tc *testCluster) jitterMeta(seed uint64) {
	top := tc.topo()
	var drives []Drive
	for i, d := range top.drives {
		drives = append(drives, Drive{Drive: &jitterDrive{Drive: d, rng: rand.New(rand.NewPCG(seed, uint64(i)))}, Node: d.ID()})
	}
	cfg := tc.cfg
	cfg.Drives = drives
	l, err := New(cfg)
	if err != nil {
		panic(err)
	}
	tc.Layer, tc.Repair = l, NewRepair(l)
}

// checkWhole reads key back and checks every byte, then checks that a deep
// heal finds nothing lost.
func (tc *testCluster) checkWhole(t *testing.T, key string, want []byte) {
	t.Helper()
	got, err := tc.get(key, 0, -1)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %s: %d bytes, err %v; want %d bytes", key, len(got), err, len(want))
	}
	res, err := tc.HealObject(context.Background(), "bkt", key, true)
	if err != nil || res.Lost {
		t.Fatalf("heal %s: %+v, %v", key, res, err)
	}
}

// TestRacingCompletesOneUpload: SDKs resend a Complete after a timeout, so
// duplicates run at once. Exactly one commits; the others answer with the
// same object (or NoSuchUpload), and the object stays whole: no duplicate
// removes the folder the winner's record names.
func TestRacingCompletesOneUpload(t *testing.T) {
	for try := range 12 {
		tc := newCluster(t, 6, 4, 2, 64<<10)
		tc.jitterMeta(uint64(try))
		id, parts, all := tc.startUpload(t, "k", uint64(try)*10, 5<<20, 5<<20, 1000)
		var wg sync.WaitGroup
		etags := make([]string, 5)
		errs := make([]error, 5)
		for i := range 5 {
			wg.Go(func() {
				info, err := tc.CompleteMultipartUpload(context.Background(), "bkt", "k", id, parts, s3api.PutOptions{})
				etags[i], errs[i] = info.ETag, err
			})
		}
		wg.Wait()
		won := ""
		for i := range 5 {
			switch {
			case errs[i] == nil && (won == "" || etags[i] == won):
				won = etags[i]
			case errs[i] == nil:
				t.Fatalf("try %d: two Completes answered different objects: %s, %s", try, won, etags[i])
			case !errors.Is(errs[i], ErrUploadNotFound):
				t.Fatalf("try %d: a duplicate Complete failed: %v", try, errs[i])
			}
		}
		if won == "" {
			t.Fatalf("try %d: no Complete succeeded: %v", try, errs)
		}
		tc.checkWhole(t, "k", all)
	}
}

// TestAbortNeverRemovesCommittedData: a store where a crash left a
// completed object's records beside its upload records (as Complete wrote
// them before it retired the upload in the same batch). Abort and the
// expiry of old uploads must keep the object's data: the drives check the
// reference, not the timing.
func TestAbortNeverRemovesCommittedData(t *testing.T) {
	for _, expiry := range []bool{false, true} {
		tc := newCluster(t, 6, 4, 2, 64<<10)
		ctx := context.Background()
		id, parts, all := tc.startUpload(t, "k", 7, 5<<20, 1000)
		drives := tc.allDrives()
		ups := make([]*storagenode.UploadMeta, len(drives))
		for i, d := range drives {
			u, err := d.GetUpload(ctx, "bkt", id)
			if err != nil {
				t.Fatal(err)
			}
			ups[i] = u
		}
		if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		for i, d := range drives { // the crash's leftover, written as the old Complete did
			m, err := d.DeleteMeta(ctx, "bkt", "k", id)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.PutUpload(ctx, ups[i]); err != nil {
				t.Fatal(err)
			}
			if _, err := d.PutMeta(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		if expiry {
			if _, err := tc.AbortStaleUploads(ctx, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		} else if err := tc.AbortMultipartUpload(ctx, "bkt", "k", id); err != nil {
			t.Fatalf("abort of the leftover upload: %v", err)
		}
		tc.checkWhole(t, "k", all)
		res, err := tc.ListMultipartUploads(ctx, "bkt", s3api.ListUploadsParams{MaxUploads: 100})
		if err != nil || len(res.Uploads) != 0 {
			t.Fatalf("uploads listed after the abort: %+v, %v", res.Uploads, err)
		}
	}
}

// TestDuplicateCompleteAnswersTheSame: a Complete resent after the first
// committed gets the first one's answer.
func TestDuplicateCompleteAnswersTheSame(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 64<<10)
	ctx := context.Background()
	id, parts, all := tc.startUpload(t, "k", 3, 5<<20, 10)
	first, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{})
	if err != nil || again.ETag != first.ETag || again.Size != first.Size {
		t.Fatalf("duplicate Complete: %+v, %v; want %+v", again, err, first)
	}
	tc.put(t, "k", []byte("replaced"))
	if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{}); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("Complete of an upload whose object was replaced since: %v, want NoSuchUpload", err)
	}
	_ = all
}

// TestDeleteWithoutQuorumChangesNothing: with 3 of 6 drives full (0 bytes
// free, deletes refused too), a DELETE answers 507 and nothing visible
// changes: the object reads back whole and is listed, before and after the
// space comes back. Below the reserve (not at 0 bytes) deletes succeed:
// that is the local drive's checkSpace, tested in storagenode/local.
func TestDeleteWithoutQuorumChangesNothing(t *testing.T) {
	for _, size := range []int{100 << 10, 3 << 20} {
		tc := newCluster(t, 6, 4, 2, 64<<10)
		ctx := context.Background()
		data := randBytes(uint64(size), size)
		tc.put(t, "k", data)
		for _, f := range tc.faulty[:3] {
			f.SetDiskFull(true)
		}
		err := tc.DeleteObject(ctx, "bkt", "k")
		if !errors.Is(err, ErrStorageFull) {
			t.Fatalf("delete with 3 of 6 drives full: %v, want StorageFull (507)", err)
		}
		listed := func() bool {
			res, err := tc.ListObjects(ctx, "bkt", s3api.ListParams{MaxKeys: 10})
			return err == nil && len(res.Objects) == 1 && res.Objects[0].Key == "k"
		}
		if !listed() {
			t.Fatal("the object is not listed after the failed delete")
		}
		tc.checkWhole(t, "k", data)
		for _, f := range tc.faulty[:3] {
			f.SetDiskFull(false)
		}
		if !listed() {
			t.Fatal("the object is not listed once space is back")
		}
		tc.checkWhole(t, "k", data)
		if err := tc.DeleteObject(ctx, "bkt", "k"); err != nil {
			t.Fatal(err)
		}
		if _, err := tc.get("k", 0, -1); !errors.Is(err, ErrObjectNotFound) {
			t.Fatalf("read after delete: %v", err)
		}
	}
}

// TestOverwriteWithoutQuorumChangesNothing: the same for an overwrite.
func TestOverwriteWithoutQuorumChangesNothing(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 64<<10)
	ctx := context.Background()
	data := randBytes(1, 300<<10)
	tc.put(t, "k", data)
	for _, f := range tc.faulty[:3] {
		f.SetDiskFull(true)
	}
	repl := randBytes(2, 200<<10)
	if _, err := tc.PutObject(ctx, "bkt", "k", bytes.NewReader(repl), int64(len(repl)), s3api.PutOptions{}); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("overwrite with 3 of 6 drives full: %v, want StorageFull", err)
	}
	tc.checkWhole(t, "k", data)
}

// TestHealRestoresUploads: lose 2 drives (replaced by empty ones), heal,
// lose 2 others: an upload in progress survives, as finished objects do.
func TestHealRestoresUploads(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 64<<10)
	ctx := context.Background()
	id, parts, all := tc.startUpload(t, "k", 5, 5<<20, 1000)
	done := randBytes(9, 300<<10)
	tc.put(t, "done", done)
	for _, f := range tc.faulty[:2] {
		f.Replace(local.NewMem(f.ID())) // wiped and replaced
	}
	if err := tc.Healer().Start(ctx, true, 0); err != nil {
		t.Fatal(err)
	}
	if err := tc.Healer().Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if st := tc.Healer().Status(); st.UploadsRepaired != 1 || st.UploadsFailed != 0 {
		t.Fatalf("heal status: %d uploads repaired, %d failed; want 1, 0", st.UploadsRepaired, st.UploadsFailed)
	}
	for _, f := range tc.faulty[2:4] {
		f.SetOffline(true)
	}
	lp, err := tc.ListParts(ctx, "bkt", "k", id, 0, 100)
	if err != nil || len(lp.Parts) != 2 {
		t.Fatalf("ListParts after losing 2 more drives: %+v, %v", lp, err)
	}
	if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{}); err != nil {
		t.Fatalf("Complete after losing 2 more drives: %v", err)
	}
	for key, want := range map[string][]byte{"k": all, "done": done} {
		if got, err := tc.get(key, 0, -1); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read %s: %d bytes, %v", key, len(got), err)
		}
	}
}

// TestCompleteWithADriveDown: whichever drive is down (the first of the
// upload's among them), a Complete commits through the next one.
func TestCompleteWithADriveDown(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 64<<10)
	ctx := context.Background()
	for i, f := range tc.faulty {
		key := fmt.Sprintf("k%d", i)
		id, parts, all := tc.startUpload(t, key, uint64(i), 5<<20, 100)
		f.SetOffline(true)
		_, err := tc.CompleteMultipartUpload(ctx, "bkt", key, id, parts, s3api.PutOptions{})
		f.SetOffline(false)
		if err != nil {
			t.Fatalf("Complete with drive %d down: %v", i, err)
		}
		tc.checkWhole(t, key, all)
	}
}

// completeHook wraps a drive's CompleteUpload.
type completeHook struct {
	storagenode.Drive
	hook func(ctx context.Context, m *storagenode.ObjectMeta, expect *string, next func() (*storagenode.ObjectMeta, error)) (*storagenode.ObjectMeta, error)
}

func (c *completeHook) CompleteUpload(ctx context.Context, m *storagenode.ObjectMeta, expect *string) (*storagenode.ObjectMeta, error) {
	return c.hook(ctx, m, expect, func() (*storagenode.ObjectMeta, error) { return c.Drive.CompleteUpload(ctx, m, expect) })
}

// hookCompletes rebuilds tc's layer with hook around every drive's
// CompleteUpload (i is the drive's index).
func (tc *testCluster) hookCompletes(t *testing.T, hook func(i int, ctx context.Context, next func() (*storagenode.ObjectMeta, error)) (*storagenode.ObjectMeta, error)) {
	t.Helper()
	var drives []Drive
	for i, d := range tc.topo().drives {
		h := &completeHook{Drive: d, hook: func(ctx context.Context, _ *storagenode.ObjectMeta, _ *string, next func() (*storagenode.ObjectMeta, error)) (*storagenode.ObjectMeta, error) {
			return hook(i, ctx, next)
		}}
		drives = append(drives, Drive{Drive: h, Node: d.ID()})
	}
	cfg := tc.cfg
	cfg.Drives = drives
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc.Layer, tc.Repair = l, NewRepair(l)
}

// TestCompleteIsCarriedForwardNeverUndone: a Complete that committed on
// some drives and then missed its quorum answers 503 and takes nothing
// back (a duplicate may count those records as its own); a resent
// Complete finishes it.
func TestCompleteIsCarriedForwardNeverUndone(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 64<<10)
	ctx := context.Background()
	id, parts, all := tc.startUpload(t, "k", 11, 5<<20, 777)
	var failing atomic.Bool
	failing.Store(true)
	var calls atomic.Int32
	tc.hookCompletes(t, func(i int, _ context.Context, next func() (*storagenode.ObjectMeta, error)) (*storagenode.ObjectMeta, error) {
		if failing.Load() && calls.Add(1) > 3 {
			return nil, storagenode.ErrDriveOffline // only 3 drives take it
		}
		return next()
	})
	_, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{})
	if !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("Complete on 3 of 6 drives: %v, want 503", err)
	}
	failing.Store(false)
	info, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{})
	if err != nil {
		t.Fatalf("the resent Complete: %v", err)
	}
	if want := fmt.Sprintf("%s-2", md5hex(append(md5raw(all[:5<<20]), md5raw(all[5<<20:])...))); info.ETag != want {
		t.Fatalf("the resent Complete answered ETag %s, want %s", info.ETag, want)
	}
	tc.checkWhole(t, "k", all)
	if res, err := tc.ListMultipartUploads(ctx, "bkt", s3api.ListUploadsParams{MaxUploads: 10}); err != nil || len(res.Uploads) != 0 {
		t.Fatalf("uploads listed after the Complete: %+v, %v", res.Uploads, err)
	}
}

// TestCompleteOutlivesItsClient: once the first drive committed, the
// Complete runs to the end even when its client goes away.
func TestCompleteOutlivesItsClient(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 64<<10)
	id, parts, all := tc.startUpload(t, "k", 12, 5<<20, 10)
	ctx, cancel := context.WithCancel(context.Background())
	var first atomic.Bool
	tc.hookCompletes(t, func(_ int, _ context.Context, next func() (*storagenode.ObjectMeta, error)) (*storagenode.ObjectMeta, error) {
		m, err := next()
		if first.CompareAndSwap(false, true) {
			cancel() // the client hangs up after the first drive committed
		}
		return m, err
	})
	if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{}); err != nil {
		t.Fatalf("Complete whose client went away after the first drive: %v", err)
	}
	for _, d := range tc.allDrives() {
		if m, err := d.GetMeta(context.Background(), "bkt", "k"); err != nil || m.DataDir != id {
			t.Fatalf("drive %s: record %v, %v; want the completed object on every drive", d.ID(), m, err)
		}
	}
	tc.checkWhole(t, "k", all)
}

func md5raw(b []byte) []byte { s := md5.Sum(b); return s[:] }

// TestHealRetiresLeftoverUploadRecords: a Complete that missed 2 drives
// leaves the upload's records there; the heal that writes the object's
// record on them retires those too.
func TestHealRetiresLeftoverUploadRecords(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 64<<10)
	ctx := context.Background()
	id, parts, all := tc.startUpload(t, "k", 13, 5<<20, 10)
	var calls atomic.Int32
	tc.hookCompletes(t, func(_ int, _ context.Context, next func() (*storagenode.ObjectMeta, error)) (*storagenode.ObjectMeta, error) {
		if calls.Add(1) > 4 {
			return nil, storagenode.ErrDriveOffline
		}
		return next()
	})
	if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	left := 0
	for _, d := range tc.allDrives() {
		if _, err := d.GetUpload(ctx, "bkt", id); err == nil {
			left++
		}
	}
	if left != 2 {
		t.Fatalf("%d drives hold the upload's record after a Complete that missed 2", left)
	}
	tc.checkWhole(t, "k", all) // heals
	for _, d := range tc.allDrives() {
		if _, err := d.GetUpload(ctx, "bkt", id); !errors.Is(err, storagenode.ErrUploadNotFound) {
			t.Fatalf("drive %s still holds the upload's record after the heal: %v", d.ID(), err)
		}
	}
	tc.checkWhole(t, "k", all)
}

// blockingReader yields n bytes, then blocks until release is closed.
type blockingReader struct {
	n       int
	release chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if b.n > 0 {
		k := min(len(p), b.n)
		b.n -= k
		return k, nil
	}
	<-b.release
	return 0, io.ErrUnexpectedEOF
}

// TestUploadLocksNeverWaitBehindAPart: a part upload whose client is slow
// holds only its own upload: another upload's Complete goes on, and the
// expiry of old uploads skips it instead of waiting.
func TestUploadLocksNeverWaitBehindAPart(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 64<<10)
	ctx := context.Background()
	slow, _, _ := tc.startUpload(t, "slow", 21, 10)
	other, parts, all := tc.startUpload(t, "other", 22, 5<<20, 10)
	release := make(chan struct{})
	partDone := make(chan error, 1)
	go func() {
		_, err := tc.PutObjectPart(ctx, "bkt", "slow", slow, 2, &blockingReader{n: 1000, release: release}, 1<<20, s3api.PutOptions{})
		partDone <- err
	}()
	time.Sleep(50 * time.Millisecond) // the part upload holds its upload now
	done := make(chan error, 1)
	go func() {
		_, err := tc.CompleteMultipartUpload(ctx, "bkt", "other", other, parts, s3api.PutOptions{})
		if err == nil {
			_, err = tc.AbortStaleUploads(ctx, time.Now().Add(time.Hour))
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("a Complete of another upload or the expiry waited behind a slow part upload")
	}
	close(release)
	if err := <-partDone; err == nil {
		t.Fatal("the cut part upload succeeded")
	}
	tc.checkWhole(t, "other", all)
	if _, err := tc.ListParts(ctx, "bkt", "slow", slow, 0, 10); err != nil {
		t.Fatalf("the expiry aborted the upload whose part was being sent: %v", err)
	}
	if n, err := tc.AbortStaleUploads(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("expiry once the part upload ended: %d, %v; want 1", n, err)
	}
}

// TestCompleteRacingAPartUpload: a part uploaded again (through another
// gateway) between a Complete's reading of the parts and its commit: the
// Complete is refused, nothing is committed, and no part file either
// upload of the part left is removed under a record.
func TestCompleteRacingAPartUpload(t *testing.T) {
	tc := newCluster(t, 6, 4, 2, 64<<10)
	ctx := context.Background()
	id, parts, _ := tc.startUpload(t, "k", 14, 5<<20, 1000)
	other := newCluster(t, 6, 4, 2, 64<<10) // a second gateway over the same drives
	var raced atomic.Bool
	p2 := randBytes(99, 2000)
	tc.hookCompletes(t, func(_ int, _ context.Context, next func() (*storagenode.ObjectMeta, error)) (*storagenode.ObjectMeta, error) {
		if raced.CompareAndSwap(false, true) {
			// Through the other gateway, part 2 again, before any drive commits.
			cfg := other.cfg
			var drives []Drive
			for _, d := range tc.topo().drives {
				drives = append(drives, Drive{Drive: d.(*completeHook).Drive, Node: d.ID()})
			}
			cfg.Drives = drives
			gw2, err := New(cfg)
			if err != nil {
				return nil, err
			}
			if _, err := gw2.PutObjectPart(ctx, "bkt", "k", id, 2, bytes.NewReader(p2), int64(len(p2)), s3api.PutOptions{}); err != nil {
				return nil, err
			}
		}
		return next()
	})
	_, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{})
	if !errors.Is(err, ErrInvalidPart) {
		t.Fatalf("Complete naming a part replaced meanwhile: %v, want InvalidPart", err)
	}
	lp, err := tc.ListParts(ctx, "bkt", "k", id, 0, 10)
	if err != nil || len(lp.Parts) != 2 || lp.Parts[1].ETag != md5hex(p2) {
		t.Fatalf("the upload after the refused Complete: %+v, %v", lp, err)
	}
	parts[1].ETag = md5hex(p2)
	if _, err := tc.CompleteMultipartUpload(ctx, "bkt", "k", id, parts, s3api.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	first := randBytes(14, 5<<20)
	tc.checkWhole(t, "k", append(first, p2...))
}

// TestDeleteCannotBeUndoneByDrivesItMissed: deletes leave no record, so
// with k < m a delete that reached only the write quorum (k drives) would
// leave the deleted version on m >= k drives, a read quorum: the object
// would come back when they do. A delete needs m+1 drives; short of them
// it fails and changes nothing; one that succeeds stays done. The same for
// aborting an upload.
func TestDeleteCannotBeUndoneByDrivesItMissed(t *testing.T) {
	ctx := context.Background()
	tc := newCluster(t, 5, 2, 3, 4096)
	data := randBytes(7, 20000)
	tc.put(t, "k", data)
	for _, f := range tc.faulty[2:] { // 3 of 5 offline: only k = 2 answer
		f.SetOffline(true)
	}
	err := tc.DeleteObject(ctx, "bkt", "k")
	if err == nil {
		t.Fatal("a delete reaching only k = 2 of 5 drives (2+3) succeeded")
	}
	if !errors.Is(err, ErrWriteQuorum) && !errors.Is(err, ErrUnavailable) {
		t.Errorf("delete short of its quorum: %v, want a quorum error", err)
	}
	for _, f := range tc.faulty[2:] {
		f.SetOffline(false)
	}
	if got, err := tc.get("k", 0, int64(len(data))); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after a failed delete the object must read as before: %v", err)
	}

	// One drive offline: the delete reaches m+1 = 4 and holds after the
	// drive returns with its stale record.
	tc.faulty[4].SetOffline(true)
	if err := tc.DeleteObject(ctx, "bkt", "k"); err != nil {
		t.Fatalf("delete with 4 of 5 drives: %v", err)
	}
	tc.faulty[4].SetOffline(false)
	if _, err := tc.OpenObject(ctx, "bkt", "k"); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("deleted object after the drive that missed the delete returned: %v, want ErrObjectNotFound", err)
	}

	// Abort of an upload, 3 drives offline: refused, the upload stays.
	id, err := tc.NewMultipartUpload(ctx, "bkt", "u", s3api.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tc.faulty[2:] {
		f.SetOffline(true)
	}
	if err := tc.AbortMultipartUpload(ctx, "bkt", "u", id); err == nil {
		t.Fatal("an abort reaching only k = 2 of 5 drives (2+3) succeeded")
	}
	for _, f := range tc.faulty[2:] {
		f.SetOffline(false)
	}
	if _, err := tc.ListParts(ctx, "bkt", "u", id, 0, 1000); err != nil {
		t.Fatalf("the upload after a failed abort: %v", err)
	}
}
