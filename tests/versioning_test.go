package tests

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ecstore/ecstore/internal/crashpoint"
)

// TestVersioningAWSCLI (issue 17) drives versioning with the aws CLI
// against the embedded server:
// put-bucket-versioning, versioned put-object, list-object-versions,
// get-object --version-id, delete markers (delete-object, head-object
// 404, removing the marker brings the object back), delete-object
// --version-id, and delete-bucket refused while versions remain;
// put/get/delete-bucket-lifecycle-configuration, with an expiration
// watched to its end (lifecycle days of a second: the test hook).
func TestVersioningAWSCLI(t *testing.T) {
	ctx, s, cli, work := versionedServerCLI(t)
	const b = "versioned"
	cli.ok("s3api", "create-bucket", "--bucket", b)
	var vc struct{ Status string }
	if out := strings.TrimSpace(cli.ok("s3api", "get-bucket-versioning", "--bucket", b)); out != "" && out != "{}" {
		t.Fatalf("versioning of a new bucket: %s, want no status", out)
	}
	cli.ok("s3api", "put-bucket-versioning", "--bucket", b, "--versioning-configuration", "Status=Enabled")
	cli.json(&vc, "s3api", "get-bucket-versioning", "--bucket", b)
	if vc.Status != "Enabled" {
		t.Fatalf("versioning after put-bucket-versioning Enabled: %q", vc.Status)
	}
	var ids []string
	var datas [][]byte
	for i := range 3 {
		data := randData(uint64(900+i), 100_000*(i+1))
		f := writeTemp(t, work, data)
		var put struct{ VersionId string }
		cli.json(&put, "s3api", "put-object", "--bucket", b, "--key", "doc", "--body", f)
		if put.VersionId == "" || put.VersionId == "null" {
			t.Fatalf("put-object on a versioned bucket answers version id %q", put.VersionId)
		}
		ids, datas = append(ids, put.VersionId), append(datas, data)
	}
	type versions struct {
		Versions []struct {
			Key, VersionId string
			IsLatest       bool
		}
		DeleteMarkers []struct {
			Key, VersionId string
			IsLatest       bool
		}
	}
	var lv versions
	cli.json(&lv, "s3api", "list-object-versions", "--bucket", b)
	if len(lv.Versions) != 3 || lv.Versions[0].VersionId != ids[2] || !lv.Versions[0].IsLatest || lv.Versions[2].VersionId != ids[0] || lv.Versions[1].IsLatest {
		t.Fatalf("list-object-versions: %+v, want %v newest first", lv.Versions, ids)
	}
	out := work + "/out"
	cli.ok("s3api", "get-object", "--bucket", b, "--key", "doc", "--version-id", ids[0], out)
	if got := readFile(t, out); !bytes.Equal(got, datas[0]) {
		t.Fatalf("get-object --version-id of the first version: %d bytes, want %d", len(got), len(datas[0]))
	}
	// A delete marker.
	var del struct {
		DeleteMarker bool
		VersionId    string
	}
	cli.json(&del, "s3api", "delete-object", "--bucket", b, "--key", "doc")
	if !del.DeleteMarker || del.VersionId == "" {
		t.Fatalf("delete-object on a versioned bucket: %+v, want a delete marker", del)
	}
	if msg := cli.fails("s3api", "head-object", "--bucket", b, "--key", "doc"); !strings.Contains(msg, "404") {
		t.Fatalf("head-object of a deleted key: %s", msg)
	}
	lv = versions{}
	cli.json(&lv, "s3api", "list-object-versions", "--bucket", b)
	if len(lv.DeleteMarkers) != 1 || !lv.DeleteMarkers[0].IsLatest || lv.DeleteMarkers[0].VersionId != del.VersionId || len(lv.Versions) != 3 || lv.Versions[0].IsLatest {
		t.Fatalf("list-object-versions after the delete: %+v", lv)
	}
	if msg := cli.fails("s3api", "delete-bucket", "--bucket", b); !strings.Contains(msg, "BucketNotEmpty") {
		t.Fatalf("delete-bucket with versions left: %s", msg)
	}
	cli.json(&del, "s3api", "delete-object", "--bucket", b, "--key", "doc", "--version-id", del.VersionId)
	cli.ok("s3api", "get-object", "--bucket", b, "--key", "doc", out)
	if got := readFile(t, out); !bytes.Equal(got, datas[2]) {
		t.Fatalf("get-object after the delete marker's removal: %d bytes, want the latest version's %d", len(got), len(datas[2]))
	}
	// Object tags: on a PUT, per version, copied by CopyObject, S3's limits.
	type tagSet struct {
		VersionId string
		TagSet    []struct{ Key, Value string }
	}
	tagsOf := func(args ...string) string {
		var ts tagSet
		cli.json(&ts, append([]string{"s3api", "get-object-tagging", "--bucket", b}, args...)...)
		var parts []string
		for _, t := range ts.TagSet {
			parts = append(parts, t.Key+"="+t.Value)
		}
		return strings.Join(parts, ",")
	}
	small := writeTemp(t, work, []byte("tagged"))
	cli.ok("s3api", "put-object", "--bucket", b, "--key", "tagged", "--body", small, "--tagging", "k1=v1&k2=v%202")
	if got := tagsOf("--key", "tagged"); got != "k1=v1,k2=v 2" {
		t.Fatalf("get-object-tagging after put-object --tagging: %q", got)
	}
	cli.ok("s3api", "copy-object", "--bucket", b, "--key", "tagged-copy", "--copy-source", b+"/tagged")
	if got := tagsOf("--key", "tagged-copy"); got != "k1=v1,k2=v 2" {
		t.Fatalf("tags of a copy (tagging directive COPY): %q", got)
	}
	cli.ok("s3api", "put-object-tagging", "--bucket", b, "--key", "doc", "--version-id", ids[0], "--tagging", "TagSet=[{Key=first,Value=yes}]")
	if got := tagsOf("--key", "doc", "--version-id", ids[0]); got != "first=yes" {
		t.Fatalf("tags of version %s: %q", ids[0], got)
	}
	if got := tagsOf("--key", "doc"); got != "" {
		t.Fatalf("tags of the current version after tagging an older one: %q", got)
	}
	cli.ok("s3api", "delete-object-tagging", "--bucket", b, "--key", "doc", "--version-id", ids[0])
	if got := tagsOf("--key", "doc", "--version-id", ids[0]); got != "" {
		t.Fatalf("tags after delete-object-tagging: %q", got)
	}
	var eleven []string
	for i := range 11 {
		eleven = append(eleven, "{Key=k"+strconv.Itoa(i)+",Value=v}")
	}
	if msg := cli.fails("s3api", "put-object-tagging", "--bucket", b, "--key", "tagged", "--tagging", "TagSet=["+strings.Join(eleven, ",")+"]"); !strings.Contains(msg, "InvalidTag") {
		t.Fatalf("11 tags: %s", msg)
	}
	for _, k := range []string{"tagged", "tagged-copy"} {
		var lv versions
		cli.json(&lv, "s3api", "list-object-versions", "--bucket", b, "--prefix", k)
		for _, v := range lv.Versions {
			if v.Key == k {
				cli.ok("s3api", "delete-object", "--bucket", b, "--key", k, "--version-id", v.VersionId)
			}
		}
	}

	// Copying an older version onto its key restores it, as a new version.
	var cp struct {
		VersionId, CopySourceVersionId string
	}
	cli.json(&cp, "s3api", "copy-object", "--bucket", b, "--key", "doc", "--copy-source", b+"/doc?versionId="+ids[0])
	if cp.VersionId == "" || cp.CopySourceVersionId != ids[0] {
		t.Fatalf("copy-object of version %s: %+v", ids[0], cp)
	}
	cli.ok("s3api", "get-object", "--bucket", b, "--key", "doc", out)
	if got := readFile(t, out); !bytes.Equal(got, datas[0]) {
		t.Fatalf("get-object after restoring the first version: %d bytes, want %d", len(got), len(datas[0]))
	}
	ids = append(ids, cp.VersionId)

	// Lifecycle, with days of a second (the test hook): tmp/x expires into
	// a delete marker, its version goes as noncurrent, then the marker
	// left alone; doc, outside the rule's prefix, keeps every version.
	cli.ok("s3api", "put-object", "--bucket", b, "--key", "tmp/x", "--body", small)
	cli.ok("s3api", "put-bucket-lifecycle-configuration", "--bucket", b, "--lifecycle-configuration",
		`{"Rules":[{"ID":"tmp","Status":"Enabled","Filter":{"Prefix":"tmp/"},"Expiration":{"Days":1},"NoncurrentVersionExpiration":{"NoncurrentDays":1}}]}`)
	var lc struct {
		Rules []struct {
			ID, Status string
			Filter     struct{ Prefix string }
			Expiration struct{ Days int }
		}
	}
	cli.json(&lc, "s3api", "get-bucket-lifecycle-configuration", "--bucket", b)
	if len(lc.Rules) != 1 || lc.Rules[0].ID != "tmp" || lc.Rules[0].Filter.Prefix != "tmp/" || lc.Rules[0].Expiration.Days != 1 {
		t.Fatalf("get-bucket-lifecycle-configuration: %+v", lc)
	}
	mc := s.Minio(t)
	left := func(prefix string) int {
		n := 0
		for o := range mc.ListObjects(ctx, b, minio.ListObjectsOptions{WithVersions: true, Prefix: prefix}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			n++
		}
		return n
	}
	for deadline := time.Now().Add(20 * time.Second); left("tmp/") > 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("tmp/x: %d versions left 20 s after its rule", left("tmp/"))
		}
	}
	if n := left("doc"); n != len(ids) {
		t.Fatalf("doc, which no rule selects: %d versions, want %d", n, len(ids))
	}
	cli.ok("s3api", "delete-bucket-lifecycle", "--bucket", b)
	if msg := cli.fails("s3api", "get-bucket-lifecycle-configuration", "--bucket", b); !strings.Contains(msg, "NoSuchLifecycleConfiguration") {
		t.Fatalf("get-bucket-lifecycle-configuration after delete-bucket-lifecycle: %s", msg)
	}

	// Every version deleted by id; then the bucket goes.
	for _, id := range ids {
		cli.ok("s3api", "delete-object", "--bucket", b, "--key", "doc", "--version-id", id)
	}
	lv = versions{} // (the CLI leaves out empty lists)
	cli.json(&lv, "s3api", "list-object-versions", "--bucket", b)
	if len(lv.Versions)+len(lv.DeleteMarkers) != 0 {
		t.Fatalf("versions left after deleting each: %+v", lv)
	}
	cli.ok("s3api", "delete-bucket", "--bucket", b)
}

// TestVersioningCrash (issue 17) SIGKILLs the embedded server during
// versioned writes and deletes: at the named crash points (after a
// version's or a delete marker's records commit, after a version's
// records are removed by id), and at random moments under a stream of
// versioned PUTs. After each restart every acknowledged version is
// listed and reads back byte-identical, and the latest version is the
// last acknowledged one or one a request the crash cut short wrote.
func TestVersioningCrash(t *testing.T) {
	parallelHeavy(t, 30*time.Second)
	ctx := testCtx(t, 4*time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6))
	const bucket = "vcrash"
	c := minio.Core{Client: s.Minio(t)}
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetBucketVersioning(ctx, bucket, minio.BucketVersioningConfiguration{Status: "Enabled"}); err != nil {
		t.Fatal(err)
	}
	acked := map[string][]byte{} // version id -> bytes, of key "k"
	var order []string           // acknowledged versions of "k", oldest first
	put := func(c minio.Core, key string, data []byte) (string, error) {
		info, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), "", "", minio.PutObjectOptions{})
		return info.VersionID, err
	}
	for i := range 3 {
		data := randData(uint64(700+i), 200_000+i)
		id, err := put(c, "k", data)
		if err != nil {
			t.Fatal(err)
		}
		acked[id], order = data, append(order, id)
	}
	check := func(what string, allowUnacked bool) {
		t.Helper()
		c := minio.Core{Client: s.Minio(t)}
		listed := map[string]bool{}
		latest := ""
		for o := range c.Client.ListObjects(ctx, bucket, minio.ListObjectsOptions{WithVersions: true, Prefix: "k"}) {
			if o.Err != nil {
				t.Fatalf("%s: list versions: %v", what, o.Err)
			}
			if o.Key != "k" {
				continue
			}
			listed[o.VersionID] = true
			if o.IsLatest {
				latest = o.VersionID
			}
		}
		for _, id := range order {
			if !listed[id] {
				t.Fatalf("%s: acknowledged version %s is not listed (listed %v)", what, id, listed)
			}
			r, err := c.Client.GetObject(ctx, bucket, "k", minio.GetObjectOptions{VersionID: id})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, acked[id]) {
				t.Fatalf("%s: version %s reads %d bytes, %v; want %d", what, id, len(got), err, len(acked[id]))
			}
		}
		if last := order[len(order)-1]; latest != last {
			if _, known := acked[latest]; known || !allowUnacked || latest == "" {
				t.Fatalf("%s: the latest version is %q, want the last acknowledged %s (or one a cut request wrote)", what, latest, last)
			}
		}
	}

	// At the crash points.
	crashAt(t, s, crashpoint.PutCommitted, func(c minio.Core) error {
		_, err := put(c, "k", randData(800, 300_000))
		return err
	})
	s.start()
	check("after a crash once a version's records committed", true)
	crashAt(t, s, crashpoint.PutCommitted, func(c minio.Core) error {
		return c.RemoveObject(ctx, bucket, "k", minio.RemoveObjectOptions{}) // a delete marker's commit
	})
	s.start()
	c = minio.Core{Client: s.Minio(t)}
	// The marker may have committed: remove whatever is latest and not
	// acknowledged, so the acknowledged versions are on top again.
	for o := range c.Client.ListObjects(ctx, bucket, minio.ListObjectsOptions{WithVersions: true, Prefix: "k"}) {
		if _, known := acked[o.VersionID]; !known && o.Err == nil {
			if err := c.RemoveObject(ctx, bucket, "k", minio.RemoveObjectOptions{VersionID: o.VersionID}); err != nil {
				t.Fatalf("removing the unacknowledged version %s: %v", o.VersionID, err)
			}
		}
	}
	check("after a crash in a delete marker's commit", false)
	// A version deleted by id, cut after its records went: the others stay.
	victim := order[0]
	crashAt(t, s, crashpoint.DeleteRecords, func(c minio.Core) error {
		return c.RemoveObject(ctx, bucket, "k", minio.RemoveObjectOptions{VersionID: victim})
	})
	s.start()
	delete(acked, victim)
	order = order[1:]
	check("after a crash in a version's delete", false)

	// SIGKILL at random moments under a stream of versioned PUTs.
	rng := rand.New(rand.NewPCG(17, 17))
	for round := range 3 {
		c := minio.Core{Client: minioWith(t, s, testAccessKey, testSecretKey, 1)}
		done := make(chan struct{})
		go func() {
			defer close(done)
			sizes := rand.New(rand.NewPCG(uint64(round), 99))
			for i := 0; ; i++ {
				data := randData(uint64(1000*round+i), 50_000+sizes.IntN(200_000))
				id, err := put(c, "k", data)
				if err != nil {
					return // the server is gone
				}
				acked[id], order = data, append(order, id)
			}
		}()
		time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
		_ = s.cmd.Process.Kill()
		<-s.exited
		<-done
		s.start()
		check("after a SIGKILL under versioned PUTs", true)
	}
	t.Logf("%d acknowledged versions survived the crashes, each read back whole", len(order))
}

// writeTemp writes data to a new file in dir and returns its path.
func writeTemp(t *testing.T, dir string, data []byte) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "body-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVersioningBoto3 (issue 17) runs tests/boto3_versioning.py against
// the embedded server: versioned puts and
// reads by id, delete markers (404 with x-amz-delete-marker, 405 by id),
// tags per version, DeleteObjects with version ids, Suspended replacing
// the null version; then tests/boto3_lifecycle.py with lifecycle days of
// a second (test hook): rules put, read back and refused as S3 refuses
// them, and observed acting (expiration into delete markers, noncurrent
// versions and lone markers removed, tag filters, uploads aborted, a
// COMPLIANCE-locked version kept). Each failed check fails the test.
func TestVersioningBoto3(t *testing.T) {
	if testing.Short() {
		t.Skip("boto3 runs are slow; skipped with -short")
	}
	parallelLight(t)
	ctx := testCtx(t, 2*time.Minute)
	s := StartServerEnv(t, NewDriveDirs(t, 6), []string{lifecycleDayHook})
	const b = "boto3-versions"
	if err := s.Minio(t).MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	runBoto3Script(t, ctx, s, "boto3_versioning.py", "boto3 versioning: ", "BUCKET="+b)
	runBoto3Script(t, ctx, s, "boto3_lifecycle.py", "boto3 lifecycle: ")
}

// lifecycleDayHook makes a lifecycle day last a second (the server's test
// hook; passes then run every half second), so that rules act within a
// test.
const lifecycleDayHook = "ECSTORE_TEST_LIFECYCLE_DAY=1s"

// TestObjectLockAWSCLI (issue 17) drives object lock with the aws CLI
// against the embedded server: a bucket
// created with object lock (versioning on, suspending refused), its
// default retention, retention headers on put-object, deletes of locked
// versions refused (GOVERNANCE gives way to
// --bypass-governance-retention, COMPLIANCE to nobody), legal holds.
func TestObjectLockAWSCLI(t *testing.T) {
	_, _, cli, work := versionedServerCLI(t)
	const b = "locked"
	cli.ok("s3api", "create-bucket", "--bucket", b, "--object-lock-enabled-for-bucket")
	var vc struct{ Status string }
	cli.json(&vc, "s3api", "get-bucket-versioning", "--bucket", b)
	if vc.Status != "Enabled" {
		t.Fatalf("versioning of a bucket created with object lock: %q", vc.Status)
	}
	if msg := cli.fails("s3api", "put-bucket-versioning", "--bucket", b, "--versioning-configuration", "Status=Suspended"); !strings.Contains(msg, "InvalidBucketState") {
		t.Fatalf("suspending versioning of a locked bucket: %s", msg)
	}
	var olc struct {
		ObjectLockConfiguration struct {
			ObjectLockEnabled string
			Rule              *struct {
				DefaultRetention struct {
					Mode string
					Days int
				}
			}
		}
	}
	cli.json(&olc, "s3api", "get-object-lock-configuration", "--bucket", b)
	if olc.ObjectLockConfiguration.ObjectLockEnabled != "Enabled" || olc.ObjectLockConfiguration.Rule != nil {
		t.Fatalf("object lock configuration of a new locked bucket: %+v", olc)
	}
	body := writeTemp(t, work, []byte("keep me"))
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var put struct{ VersionId string }
	cli.json(&put, "s3api", "put-object", "--bucket", b, "--key", "gov", "--body", body, "--object-lock-mode", "GOVERNANCE", "--object-lock-retain-until-date", until)
	gov := put.VersionId
	cli.json(&put, "s3api", "put-object", "--bucket", b, "--key", "comp", "--body", body, "--object-lock-mode", "COMPLIANCE", "--object-lock-retain-until-date", until)
	comp := put.VersionId
	var ret struct{ Retention struct{ Mode string } }
	cli.json(&ret, "s3api", "get-object-retention", "--bucket", b, "--key", "comp", "--version-id", comp)
	if ret.Retention.Mode != "COMPLIANCE" {
		t.Fatalf("get-object-retention: %+v", ret)
	}
	if msg := cli.fails("s3api", "delete-object", "--bucket", b, "--key", "gov", "--version-id", gov); !strings.Contains(msg, "AccessDenied") {
		t.Fatalf("deleting a GOVERNANCE version: %s", msg)
	}
	cli.ok("s3api", "delete-object", "--bucket", b, "--key", "gov", "--version-id", gov, "--bypass-governance-retention")
	if msg := cli.fails("s3api", "delete-object", "--bucket", b, "--key", "comp", "--version-id", comp, "--bypass-governance-retention"); !strings.Contains(msg, "AccessDenied") {
		t.Fatalf("deleting a COMPLIANCE version with bypass: %s", msg)
	}
	if msg := cli.fails("s3api", "put-object-retention", "--bucket", b, "--key", "comp", "--version-id", comp, "--bypass-governance-retention",
		"--retention", "Mode=GOVERNANCE,RetainUntilDate="+until); !strings.Contains(msg, "AccessDenied") {
		t.Fatalf("weakening a COMPLIANCE retention: %s", msg)
	}
	var del struct{ DeleteMarker bool }
	cli.json(&del, "s3api", "delete-object", "--bucket", b, "--key", "comp")
	if !del.DeleteMarker {
		t.Fatal("delete-object of a locked key without a version id: no delete marker")
	}
	out := work + "/out"
	cli.ok("s3api", "get-object", "--bucket", b, "--key", "comp", "--version-id", comp, out)
	if got := readFile(t, out); string(got) != "keep me" {
		t.Fatalf("the COMPLIANCE version after a delete marker: %q", got)
	}
	// A copy takes the lock its request names (with the default metadata
	// directive too).
	cli.json(&put, "s3api", "copy-object", "--bucket", b, "--key", "copied", "--copy-source", b+"/comp?versionId="+comp,
		"--object-lock-mode", "COMPLIANCE", "--object-lock-retain-until-date", until)
	cli.json(&ret, "s3api", "get-object-retention", "--bucket", b, "--key", "copied")
	if ret.Retention.Mode != "COMPLIANCE" {
		t.Fatalf("retention of a copy made with lock headers: %+v", ret)
	}
	// A legal hold, and the default retention.
	cli.json(&put, "s3api", "put-object", "--bucket", b, "--key", "held", "--body", body, "--object-lock-legal-hold-status", "ON")
	held := put.VersionId
	if msg := cli.fails("s3api", "delete-object", "--bucket", b, "--key", "held", "--version-id", held); !strings.Contains(msg, "AccessDenied") {
		t.Fatalf("deleting a version under a legal hold: %s", msg)
	}
	cli.ok("s3api", "put-object-legal-hold", "--bucket", b, "--key", "held", "--version-id", held, "--legal-hold", "Status=OFF")
	cli.ok("s3api", "delete-object", "--bucket", b, "--key", "held", "--version-id", held)
	cli.ok("s3api", "put-object-lock-configuration", "--bucket", b, "--object-lock-configuration",
		`{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}`)
	cli.json(&put, "s3api", "put-object", "--bucket", b, "--key", "default", "--body", body)
	cli.json(&ret, "s3api", "get-object-retention", "--bucket", b, "--key", "default", "--version-id", put.VersionId)
	if ret.Retention.Mode != "GOVERNANCE" {
		t.Fatalf("the default retention on a put without lock headers: %+v", ret)
	}
	// Without object lock, the lock headers are refused.
	cli.ok("s3api", "create-bucket", "--bucket", "unlocked")
	if msg := cli.fails("s3api", "put-object", "--bucket", "unlocked", "--key", "k", "--body", body, "--object-lock-legal-hold-status", "ON"); !strings.Contains(msg, "InvalidRequest") {
		t.Fatalf("a legal hold on a bucket without object lock: %s", msg)
	}
}

// TestVersioningCluster (issue 17): on a process cluster (3 nodes × 2
// drives, 4+2, two gateways), versions
// written through both gateways are listed and read through either; with
// a node down every version still reads, and versions written then have
// no shard on it; once newer versions cover those and a heal ran,
// another node down: every version still reads back whole (the heal
// rebuilt the noncurrent ones on the returned node), and a COMPLIANCE-
// locked version written before the first node went down reads whole and
// still refuses deletion with the governance bypass.
func TestVersioningCluster(t *testing.T) {
	parallelHeavy(t, 40*time.Second)
	ctx := testCtx(t, 4*time.Minute)
	c := StartCluster(t, 3, 2, 3, 2)
	const bucket = "vcluster"
	gws := []*minio.Client{c.Gateway(0).Minio(t), c.Gateway(1).Minio(t)}
	if err := gws[0].MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := gws[1].SetBucketVersioning(ctx, bucket, minio.BucketVersioningConfiguration{Status: "Enabled"}); err != nil {
		t.Fatal(err)
	}
	// The other gateway's data path reads its copy of the bucket table,
	// which follows the metadata group within moments (S3 too asks to wait
	// after turning versioning on): wait until a PUT through each gateway
	// gets a version id, then remove the probes.
	for gi, g := range gws {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			info, err := g.PutObject(ctx, bucket, "probe", bytes.NewReader(nil), 0, minio.PutObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if info.VersionID != "" && info.VersionID != "null" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("gateway%d still writes unversioned 10 s after versioning was turned on", gi+1)
			}
		}
	}
	for o := range gws[0].ListObjects(ctx, bucket, minio.ListObjectsOptions{WithVersions: true, Prefix: "probe"}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if err := gws[0].RemoveObject(ctx, bucket, "probe", minio.RemoveObjectOptions{VersionID: o.VersionID}); err != nil {
			t.Fatal(err)
		}
	}
	type version struct {
		key, id string
		data    []byte
	}
	var all []version
	for i := range 12 {
		key := "obj/" + strconv.Itoa(i)
		for j := range 3 {
			data := randData(uint64(5000+i*10+j), 1000+150_000*(j%2)) // inline and shard files
			info, err := gws[(i+j)%2].PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, version{key, info.VersionID, data})
		}
	}
	readAll := func(what string) {
		t.Helper()
		for gi, g := range gws {
			n := 0
			for o := range g.ListObjects(ctx, bucket, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
				if o.Err != nil {
					t.Fatalf("%s: list versions through gateway%d: %v", what, gi+1, o.Err)
				}
				n++
			}
			if n != len(all) {
				t.Fatalf("%s: gateway%d lists %d versions, want %d", what, gi+1, n, len(all))
			}
			for _, v := range all {
				r, err := g.GetObject(ctx, bucket, v.key, minio.GetObjectOptions{VersionID: v.id})
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(got, v.data) {
					t.Fatalf("%s: %s version %s through gateway%d: %d bytes, %v; want %d", what, v.key, v.id, gi+1, len(got), err, len(v.data))
				}
			}
		}
	}
	readAll("all nodes up")
	// A COMPLIANCE-locked version, in a bucket with object lock: written
	// before node1 goes down and healed back onto it like the others
	// (written through the gateway that made the bucket: the other one's
	// copy of its settings may lag a moment).
	const locked = "vlocked"
	if err := gws[0].MakeBucket(ctx, locked, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatal(err)
	}
	lockedData := randData(4242, 200_000)
	compliance := minio.Compliance
	until := time.Now().Add(time.Hour)
	li, err := gws[0].PutObject(ctx, locked, "k", bytes.NewReader(lockedData), int64(len(lockedData)), minio.PutObjectOptions{Mode: compliance, RetainUntilDate: until})
	if err != nil {
		t.Fatal(err)
	}
	checkLocked := func(what string) {
		t.Helper()
		for gi, g := range gws {
			r, err := g.GetObject(ctx, locked, "k", minio.GetObjectOptions{VersionID: li.VersionID})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, lockedData) {
				t.Fatalf("%s: the locked version through gateway%d: %d bytes, %v", what, gi+1, len(got), err)
			}
			err = g.RemoveObject(ctx, locked, "k", minio.RemoveObjectOptions{VersionID: li.VersionID, GovernanceBypass: true})
			if minio.ToErrorResponse(err).Code != "AccessDenied" {
				t.Fatalf("%s: deleting the COMPLIANCE version with bypass through gateway%d: %v, want AccessDenied", what, gi+1, err)
			}
		}
	}
	c.KillNode(0)
	metaLeader(t, c, 0) // (listings confirm the bucket with the metadata group)
	readAll("node1 down")
	// Versions written while node1 is down miss its drives.
	for i := range 4 {
		key := "obj/" + strconv.Itoa(i)
		data := randData(uint64(9000+i), 140_000)
		info, err := gws[i%2].PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, version{key, info.VersionID, data})
	}
	// Newer versions on top, still without node1: the ones before are
	// noncurrent, and only a heal of noncurrent versions gives node1
	// their shards.
	for i := range 4 {
		key := "obj/" + strconv.Itoa(i)
		data := randData(uint64(9100+i), 2000)
		info, err := gws[i%2].PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, version{key, info.VersionID, data})
	}
	c.RestartNode(0)
	c.WaitAllOnline(time.Minute)
	if out, err := adminRun(t, c.Gateway(0).Endpoint, "heal"); err != nil {
		t.Fatalf("admin heal: %v\n%s", err, out)
	}
	c.KillNode(1)
	metaLeader(t, c, 1)
	readAll("node2 down after node1 was healed")
	checkLocked("node2 down after node1 was healed")
	t.Logf("%d versions of 12 keys read back whole through both gateways with a node down, before and after a heal", len(all))
}

// versionedServerCLI starts the embedded server with lifecycle days of a
// second (the test hook) for an aws CLI test (a heavy slot; skipped with
// -short) and returns its context, the server, the CLI and a work folder.
func versionedServerCLI(t *testing.T) (context.Context, *Server, awsCLI, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("aws CLI runs are slow; skipped with -short")
	}
	parallelHeavy(t, 20*time.Second)
	ctx := testCtx(t, 4*time.Minute)
	s := StartServerEnv(t, NewDriveDirs(t, 6), []string{lifecycleDayHook})
	return ctx, s, awsCLI{t: t, ctx: ctx, s: s}, t.TempDir()
}
