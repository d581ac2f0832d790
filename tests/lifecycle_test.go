package tests

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	mlc "github.com/minio/minio-go/v7/pkg/lifecycle"
	"github.com/minio/minio-go/v7/pkg/tags"

	"github.com/ecstore/ecstore/internal/crashpoint"
)

// shortLeaseEnv: the job leases last 2 s, so that a restarted server takes
// the lifecycle lease its killed predecessor held within seconds, not 30.
const shortLeaseEnv = "ECSTORE_TEST_LEASE_TTL=2s"

// inFlightEnv: a record newer than the quorum's counts as a write in
// progress for 3 s, not 10 minutes. A SIGKILL can leave the lifecycle's
// delete marker on fewer drives than the quorum; the restarted worker's
// compare-and-set on that key answers "conflicting write" until then.
const inFlightEnv = "ECSTORE_TEST_INFLIGHT_WINDOW=3s"

// TestLifecycleCrash (issue 17) SIGKILLs the embedded server while its
// lifecycle worker removes and expires versions: at the crash point after
// a removal's records are gone (before its files), after an expiring
// delete marker commits, and at a random moment of a chain of passes.
// After each restart nothing outside the rules is touched (every such
// object and version reads back byte-identical), every version listed
// reads back whole, and the rules then finish their work (which the
// lifecycle metrics and admin status show).
func TestLifecycleCrash(t *testing.T) {
	parallelHeavy(t, 30*time.Second)
	ctx := testCtx(t, 3*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6))
	c := s.Minio(t)
	for _, b := range []string{"lcu", "lcv"} {
		if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetBucketVersioning(ctx, "lcv", minio.BucketVersioningConfiguration{Status: "Enabled"}); err != nil {
		t.Fatal(err)
	}
	kept := map[string][]byte{} // bucket/key/versionID -> bytes no rule may touch
	put := func(bucket, key string, seed uint64, size int) string {
		data := randData(seed, size)
		info, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(key, "keep/") {
			kept[bucket+"/"+key+"/"+info.VersionID] = data
		}
		return info.VersionID
	}
	for i := range 12 {
		put("lcu", fmt.Sprintf("exp/%02d", i), uint64(i), 150_000+i)
		put("lcu", fmt.Sprintf("keep/%02d", i), uint64(100+i), 150_000+i)
		for v := range 3 {
			put("lcv", fmt.Sprintf("v/%02d", i), uint64(200+10*i+v), 100_000+v)
			put("lcv", fmt.Sprintf("keep/%02d", i), uint64(400+10*i+v), 100_000+v)
		}
	}

	// check reads every listed version whole and every kept one.
	check := func(what string) {
		t.Helper()
		c := s.Minio(t)
		for _, b := range []string{"lcu", "lcv"} {
			for o := range c.ListObjects(ctx, b, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
				if o.Err != nil {
					t.Fatalf("%s: list versions of %s: %v", what, b, o.Err)
				}
				if o.IsDeleteMarker {
					continue
				}
				r, err := c.GetObject(ctx, b, o.Key, minio.GetObjectOptions{VersionID: o.VersionID})
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				r.Close()
				if code := minio.ToErrorResponse(err).Code; !strings.HasPrefix(o.Key, "keep/") && (code == "NoSuchVersion" || code == "NoSuchKey") {
					continue // a rule's version, removed by the worker since the listing
				}
				if err != nil || int64(len(got)) != o.Size {
					t.Fatalf("%s: listed version %s/%s %s reads %d bytes, %v; listed %d", what, b, o.Key, o.VersionID, len(got), err, o.Size)
				}
			}
		}
		for id, want := range kept {
			parts := strings.SplitN(id, "/", 4)
			r, err := c.GetObject(ctx, parts[0], parts[1]+"/"+parts[2], minio.GetObjectOptions{VersionID: parts[3]})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: %s, which no rule selects, reads %d bytes, %v; want %d", what, id, len(got), err, len(want))
			}
		}
	}
	// count counts bucket's versions and delete markers under prefix.
	count := func(bucket, prefix string) int {
		n := 0
		for o := range s.Minio(t).ListObjects(ctx, bucket, minio.ListObjectsOptions{WithVersions: true, Recursive: true, Prefix: prefix}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			n++
		}
		return n
	}
	waitEmpty := func(what, bucket, prefix string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for count(bucket, prefix) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d versions left under %s/%s", what, count(bucket, prefix), bucket, prefix)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	rules := func(bucket string, rs ...mlc.Rule) {
		t.Helper()
		if err := s.Minio(t).SetBucketLifecycle(ctx, bucket, &mlc.Configuration{Rules: rs}); err != nil {
			t.Fatal(err)
		}
	}
	// crashIn starts the server with the lifecycle test hook and crash
	// point point, sets rule on bucket, and waits for the worker to reach
	// the point.
	crashIn := func(point, bucket string, rs ...mlc.Rule) {
		t.Helper()
		s.Stop()
		s.Env = []string{lifecycleDayHook, shortLeaseEnv, inFlightEnv, crashpoint.Env + "=" + point}
		s.start()
		rules(bucket, rs...)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			t.Fatalf("crash point %s: the lifecycle worker never reached it", point)
		}
		s.cmd = nil
		s.Env = []string{lifecycleDayHook, shortLeaseEnv, inFlightEnv}
		s.start()
	}

	// Unversioned: a removal cut after its records went.
	crashIn(crashpoint.DeleteRecords, "lcu", mlc.Rule{ID: "exp", Status: "Enabled",
		RuleFilter: mlc.Filter{Prefix: "exp/"}, Expiration: mlc.Expiration{Days: 1}})
	check("after a crash in a lifecycle removal")
	waitEmpty("unversioned expiration after the crash", "lcu", "exp/")
	check("after the unversioned expiration")

	// Versioned: an expiring delete marker cut once committed.
	crashIn(crashpoint.PutCommitted, "lcv", mlc.Rule{ID: "v", Status: "Enabled",
		RuleFilter: mlc.Filter{Prefix: "v/"}, Expiration: mlc.Expiration{Days: 1},
		NoncurrentVersionExpiration: mlc.NoncurrentVersionExpiration{NoncurrentDays: 1}})
	check("after a crash in an expiring delete marker")
	// And at a random moment of the passes that follow.
	time.Sleep(time.Duration(200+rand.IntN(800)) * time.Millisecond)
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.exited
	s.cmd = nil
	s.start()
	check("after a SIGKILL during lifecycle passes")
	// Versions written now only this process can remove (the one killed
	// may have finished the others): its metrics below count them.
	for i := range 2 {
		data := randData(uint64(900+i), 1000)
		if _, err := s.Minio(t).PutObject(ctx, "lcv", fmt.Sprintf("v/after/%d", i), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitEmpty("versioned expiration after the crashes", "lcv", "v/")
	check("after the versioned expiration")
	if n := count("lcv", "keep/"); n != 36 {
		t.Fatalf("lcv/keep/ holds %d versions, want the 36 written", n)
	}
	// What this process did shows in its metrics and in admin status.
	m := scrape(t, s)
	if m["ecstore_lifecycle_versions_removed_total"] < 1 || m["ecstore_lifecycle_versions_scanned_total"] < 1 {
		t.Errorf("lifecycle metrics after the passes: removed %v, scanned %v",
			m["ecstore_lifecycle_versions_removed_total"], m["ecstore_lifecycle_versions_scanned_total"])
	}
	if out, err := adminStatus(t, s); err != nil || !strings.Contains(out, "lifecycle: ") || !strings.Contains(out, "removed") {
		t.Errorf("admin status: %v\n%s", err, out)
	}

	// Versioned: an expiring delete marker cut after its first drive, on
	// fewer drives than the quorum. Once the in-flight window has passed,
	// the stray marker must not keep the key from expiring.
	for i := range 4 {
		data := randData(uint64(500+i), 1000)
		if _, err := s.Minio(t).PutObject(ctx, "lcv", fmt.Sprintf("c/%02d", i), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	crashIn(crashpoint.CondAcquire, "lcv", mlc.Rule{ID: "c", Status: "Enabled",
		RuleFilter: mlc.Filter{Prefix: "c/"}, Expiration: mlc.Expiration{Days: 1},
		NoncurrentVersionExpiration: mlc.NoncurrentVersionExpiration{NoncurrentDays: 1}})
	check("after a crash in a partial expiring delete marker")
	waitEmpty("versioned expiration after a partial delete marker", "lcv", "c/")
	check("after the expiration of c/")
}

// TestRecordChangeCrash (issue 17) SIGKILLs the embedded server when a
// change of a version's record (its tags, retention, legal hold) has
// reached one drive and not the write quorum. After each restart the
// version reads back byte-identical, the change is either there or not
// (never a record that decodes to something else), a locked version stays
// locked, and a later change wins over the cut one.
func TestRecordChangeCrash(t *testing.T) {
	parallelHeavy(t, 20*time.Second)
	ctx := testCtx(t, 2*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6))
	const bucket = "reclock"
	c := s.Minio(t)
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatal(err)
	}
	data := randData(77, 300_000)
	gov := minio.Governance
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	info, err := c.PutObject(ctx, bucket, "k", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		UserTags: map[string]string{"step": "0"}, Mode: gov, RetainUntilDate: until})
	if err != nil {
		t.Fatal(err)
	}
	vid := info.VersionID
	tagsOf := func() string {
		t.Helper()
		tg, err := s.Minio(t).GetObjectTagging(ctx, bucket, "k", minio.GetObjectTaggingOptions{VersionID: vid})
		if err != nil {
			t.Fatalf("tags of %s: %v", vid, err)
		}
		return tg.ToMap()["step"]
	}
	whole := func(what string) {
		t.Helper()
		r, err := s.Minio(t).GetObject(ctx, bucket, "k", minio.GetObjectOptions{VersionID: vid})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: the version reads %d bytes, %v; want %d", what, len(got), err, len(data))
		}
		if err := s.Minio(t).RemoveObject(ctx, bucket, "k", minio.RemoveObjectOptions{VersionID: vid}); err == nil {
			t.Fatalf("%s: the locked version was deleted", what)
		}
	}
	setTags := func(c minio.Core, step string) error {
		tg, _ := tags.NewTags(map[string]string{"step": step}, true)
		return c.PutObjectTagging(ctx, bucket, "k", tg, minio.PutObjectTaggingOptions{VersionID: vid})
	}

	crashAt(t, s, crashpoint.RecordPartial, func(c minio.Core) error { return setTags(c, "1") })
	s.start()
	whole("after a tag change cut short")
	if got := tagsOf(); got != "0" && got != "1" {
		t.Fatalf("tags after a cut change: step=%q, want 0 or 1", got)
	}
	if err := setTags(minio.Core{Client: s.Minio(t)}, "2"); err != nil {
		t.Fatal(err)
	}
	if got := tagsOf(); got != "2" {
		t.Fatalf("tags after a later change: step=%q, want 2", got)
	}

	later := until.Add(time.Hour)
	crashAt(t, s, crashpoint.RecordPartial, func(c minio.Core) error {
		return c.Client.PutObjectRetention(ctx, bucket, "k", minio.PutObjectRetentionOptions{VersionID: vid, Mode: &gov, RetainUntilDate: &later})
	})
	s.start()
	whole("after a retention change cut short")
	_, ru, err := s.Minio(t).GetObjectRetention(ctx, bucket, "k", vid)
	if err != nil || ru == nil || !ru.Equal(until) && !ru.Equal(later) {
		t.Fatalf("retention after a cut change: %v, %v; want %v or %v", ru, err, until, later)
	}

	on := minio.LegalHoldEnabled
	crashAt(t, s, crashpoint.RecordPartial, func(c minio.Core) error {
		return c.Client.PutObjectLegalHold(ctx, bucket, "k", minio.PutObjectLegalHoldOptions{VersionID: vid, Status: &on})
	})
	s.start()
	whole("after a legal hold cut short")
	if got := tagsOf(); got != "2" {
		t.Fatalf("tags after the later crashes: step=%q, want 2", got)
	}
}
