package tests

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestAWSCLIS3APIBreadth drives the s3api calls the other aws CLI tests do
// not: bucket location, ListObjectsV2 start-after, checksums, conditional
// writes, UploadPartCopy, GetObjectAttributes, delete-object/-bucket; with
// v1 and, when installed, v2.
func TestAWSCLIS3APIBreadth(t *testing.T) {
	if testing.Short() {
		t.Skip("aws CLI runs are slow; skipped with -short")
	}
	t.Parallel() // each CLI's subtest takes its own slot
	for _, bin := range []string{"", "/usr/bin/aws"} {
		name := "v1"
		if bin != "" {
			name = "v2"
		}
		t.Run(name, func(t *testing.T) {
			if bin != "" {
				if _, err := os.Stat(bin); err != nil {
					t.Skip("aws CLI v2 (/usr/bin/aws) not installed")
				}
			}
			parallelHeavy(t, 25*time.Second)
			ctx := testCtx(t, 5*time.Minute)
			s := StartServer(t, NewDriveDirs(t, 6))
			cli := awsCLI{t: t, ctx: ctx, s: s, bin: bin}
			work := t.TempDir()
			const b = "s3api-breadth"
			cli.ok("s3api", "create-bucket", "--bucket", b)
			var loc struct{ LocationConstraint *string }
			cli.json(&loc, "s3api", "get-bucket-location", "--bucket", b)

			small := filepath.Join(work, "small.bin")
			data := randData(1, 70_000)
			os.WriteFile(small, data, 0o644)
			// CRC32C needs botocore[crt], which is not installed: the other three.
			for _, algo := range []string{"CRC32", "SHA1", "SHA256"} {
				var put struct{ ETag string }
				cli.json(&put, "s3api", "put-object", "--bucket", b, "--key", "sum/"+algo, "--body", small, "--checksum-algorithm", algo)
				var head map[string]any
				cli.json(&head, "s3api", "head-object", "--bucket", b, "--key", "sum/"+algo, "--checksum-mode", "ENABLED")
				if _, ok := head["Checksum"+algo]; !ok {
					t.Errorf("head-object --checksum-mode ENABLED after a %s upload: no Checksum%s in %v", algo, algo, head)
				}
			}
			// Conditional create: the second one is refused with 412 (aws
			// CLI v2.9 predates --if-none-match; v1 has it).
			if help, _ := s.AWS(ctx, bin, "s3api", "put-object", "help"); strings.Contains(help, "if-none-match") {
				cli.ok("s3api", "put-object", "--bucket", b, "--key", "once", "--body", small, "--if-none-match", "*")
				if out := cli.fails("s3api", "put-object", "--bucket", b, "--key", "once", "--body", small, "--if-none-match", "*"); !strings.Contains(out, "PreconditionFailed") {
					t.Errorf("second create-only put: %s", out)
				}
			} else {
				t.Log("this aws CLI has no --if-none-match; conditional put not exercised here")
				cli.ok("s3api", "put-object", "--bucket", b, "--key", "once", "--body", small)
			}
			// ListObjectsV2 with start-after.
			var l2 struct{ Contents []struct{ Key string } }
			cli.json(&l2, "s3api", "list-objects-v2", "--bucket", b, "--prefix", "sum/", "--start-after", "sum/CRC32")
			var keys []string
			for _, c := range l2.Contents {
				keys = append(keys, c.Key)
			}
			if strings.Join(keys, ",") != "sum/SHA1,sum/SHA256" {
				t.Errorf("list-objects-v2 --prefix sum/ --start-after sum/CRC32: %v", keys)
			}
			// ListObjectVersions of a bucket that never had versioning:
			// each object once, as its null version, the latest; pages of
			// one (the CLI follows NextKeyMarker/NextVersionIdMarker).
			var lv struct {
				Versions []struct {
					Key, VersionId string
					IsLatest       bool
					Size           int64
				}
				DeleteMarkers []any
			}
			cli.json(&lv, "s3api", "list-object-versions", "--bucket", b, "--prefix", "sum/", "--page-size", "1")
			var vs []string
			for _, v := range lv.Versions {
				vs = append(vs, v.Key+"@"+v.VersionId+"/"+strconv.FormatBool(v.IsLatest)+"/"+strconv.FormatInt(v.Size, 10))
			}
			if got, want := strings.Join(vs, ","), "sum/CRC32@null/true/70000,sum/SHA1@null/true/70000,sum/SHA256@null/true/70000"; got != want || len(lv.DeleteMarkers) != 0 {
				t.Errorf("list-object-versions --prefix sum/ --page-size 1: %s (delete markers %v), want %s", got, lv.DeleteMarkers, want)
			}
			// UploadPartCopy with a range, then Complete; bytes compared.
			big := filepath.Join(work, "big.bin")
			bigData := randData(2, 6<<20+123)
			os.WriteFile(big, bigData, 0o644)
			cli.ok("s3api", "put-object", "--bucket", b, "--key", "src", "--body", big)
			var up struct{ UploadId string }
			cli.json(&up, "s3api", "create-multipart-upload", "--bucket", b, "--key", "copied")
			var p1, p2 struct{ CopyPartResult struct{ ETag string } }
			cli.json(&p1, "s3api", "upload-part-copy", "--bucket", b, "--key", "copied", "--upload-id", up.UploadId,
				"--part-number", "1", "--copy-source", b+"/src", "--copy-source-range", "bytes=0-5242879")
			cli.json(&p2, "s3api", "upload-part-copy", "--bucket", b, "--key", "copied", "--upload-id", up.UploadId,
				"--part-number", "2", "--copy-source", b+"/src", "--copy-source-range", "bytes=5242880-"+itoa(len(bigData)-1))
			parts := `{"Parts":[{"PartNumber":1,"ETag":` + p1.CopyPartResult.ETag + `},{"PartNumber":2,"ETag":` + p2.CopyPartResult.ETag + `}]}`
			mp := filepath.Join(work, "parts.json")
			os.WriteFile(mp, []byte(parts), 0o644)
			cli.ok("s3api", "complete-multipart-upload", "--bucket", b, "--key", "copied", "--upload-id", up.UploadId,
				"--multipart-upload", "file://"+mp)
			out := filepath.Join(work, "copied.out")
			cli.ok("s3api", "get-object", "--bucket", b, "--key", "copied", out)
			if got, _ := os.ReadFile(out); !bytes.Equal(got, bigData) {
				t.Errorf("upload-part-copy result differs from the source (%d vs %d bytes)", len(got), len(bigData))
			}
			var attrs struct {
				ObjectSize  int64
				ObjectParts struct{ TotalPartsCount int }
			}
			cli.json(&attrs, "s3api", "get-object-attributes", "--bucket", b, "--key", "copied", "--object-attributes", "ObjectSize", "ObjectParts")
			if attrs.ObjectSize != int64(len(bigData)) || attrs.ObjectParts.TotalPartsCount != 2 {
				t.Errorf("get-object-attributes: %+v", attrs)
			}
			// Delete everything, then the bucket.
			for _, k := range []string{"sum/CRC32", "sum/SHA1", "sum/SHA256", "once", "src", "copied"} {
				cli.ok("s3api", "delete-object", "--bucket", b, "--key", k)
			}
			cli.ok("s3api", "delete-bucket", "--bucket", b)
			if out := cli.fails("s3api", "head-bucket", "--bucket", b); !strings.Contains(out, "404") && !strings.Contains(out, "Not Found") {
				t.Errorf("head-bucket after delete-bucket: %s", out)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestVirtualHostStyle starts the server with --domain and uses minio-go in
// virtual-hosted style (bucket.domain in the Host header), with path style
// still working beside it.
func TestVirtualHostStyle(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, time.Minute)
	s := StartServer(t, NewDriveDirs(t, 6), "--domain", "s3.example.test")
	_, port, _ := net.SplitHostPort(s.Addr)
	// Every name resolves to the server: bucket.s3.example.test included.
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, s.Addr)
	}}
	vh, err := minio.New("s3.example.test:"+port, &minio.Options{
		Creds: credentials.NewStaticV4(testAccessKey, testSecretKey, ""), Region: "us-east-1",
		Transport: tr, BucketLookup: minio.BucketLookupDNS})
	if err != nil {
		t.Fatal(err)
	}
	if err := vh.MakeBucket(ctx, "vhost-bucket", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("virtual-hosted MakeBucket: %v", err)
	}
	data := randData(5, 100_000)
	if _, err := vh.PutObject(ctx, "vhost-bucket", "a/b c", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("virtual-hosted PutObject: %v", err)
	}
	// Path style reads what virtual-hosted style wrote.
	got, err := getAll(ctx, s.Minio(t), "vhost-bucket", "a/b c", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("path-style GET of a virtual-hosted PUT: %v", err)
	}
	got, err = getAll(ctx, vh, "vhost-bucket", "a/b c", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("virtual-hosted GET: %v", err)
	}
	n := 0
	for obj := range vh.ListObjects(ctx, "vhost-bucket", minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("virtual-hosted listing: %d objects, want 1", n)
	}
}
