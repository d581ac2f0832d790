package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bulkFull runs TestAWSCLIBulk at its full size (1,000 objects and a
// 200 MiB file per CLI) instead of the default 300 objects and 64 MiB
// (still multipart, and a multipart copy for mv).
var bulkFull = flag.Bool("bulk.full", false, "run TestAWSCLIBulk with 1,000 objects and 200 MiB per CLI")

// TestAWSCLIBulk drives both aws CLI majors (v1 on PATH, v2 at
// /usr/bin/aws) through s3 cp/sync/mv/rm --recursive/ls --recursive with
// 300 small objects and a 64 MiB file (-bulk.full: 1,000 and 200 MiB),
// comparing every byte.
func TestAWSCLIBulk(t *testing.T) {
	if testing.Short() {
		t.Skip("moves hundreds of objects and a multipart file per CLI; skipped with -short")
	}
	t.Parallel() // each CLI's subtest takes its own slot
	nSmall, bigSize := 300, 64<<20
	if *bulkFull {
		nSmall, bigSize = 1000, 200<<20
	}
	small := bulkSmallFiles(nSmall)
	big := randData(900, bigSize)
	bigSum := sha256Hex(big)
	for _, v := range []struct{ name, bin string }{{"v1", ""}, {"v2", "/usr/bin/aws"}} {
		t.Run(v.name, func(t *testing.T) {
			if v.bin != "" {
				if _, err := os.Stat(v.bin); err != nil {
					t.Skipf("aws CLI %s not installed at %s", v.name, v.bin)
				}
			}
			parallelHeavy(t, 25*time.Second)
			ctx := testCtx(t, 10*time.Minute)
			s := StartServer(t, NewDriveDirs(t, 6))
			cli := awsCLI{t: t, ctx: ctx, s: s, bin: v.bin}
			if out := cli.ok("--version"); !strings.Contains(out, "aws-cli/"+v.name[1:]) {
				t.Fatalf("%q is not aws CLI %s: %s", v.bin, v.name, out)
			}
			bulkCLIRun(t, cli, small, big, bigSum)
		})
	}
}

// bulkSmallFiles is n files of 0-4 KiB (some empty) in 10 folders.
func bulkSmallFiles(n int) map[string][]byte {
	files := map[string][]byte{}
	for i := range n {
		n := (i * 37) % 4097
		if i%97 == 0 {
			n = 0
		}
		files[fmt.Sprintf("d%d/f%04d.txt", i%10, i)] = randData(uint64(1000+i), n)
	}
	return files
}

func bulkCLIRun(t *testing.T, cli awsCLI, small map[string][]byte, big []byte, bigSum string) {
	work := t.TempDir()
	const bucket = "bulk"
	b := "s3://" + bucket
	cli.ok("s3", "mb", b)
	up := filepath.Join(work, "up")
	for name, data := range small {
		writeTestFile(t, filepath.Join(up, filepath.FromSlash(name)), data)
	}
	wantUnder := func(prefix string) map[string]int64 {
		want := map[string]int64{}
		for name, data := range small {
			want[prefix+name] = int64(len(data))
		}
		return want
	}
	timed := func(what string, f func()) {
		start := time.Now()
		f()
		t.Logf("%s: %v", what, time.Since(start).Round(10*time.Millisecond))
	}

	timed(fmt.Sprintf("sync up %d objects", len(small)), func() { cli.ok("s3", "sync", "--only-show-errors", up, b+"/sync") })
	timed(fmt.Sprintf("cp --recursive up %d objects", len(small)), func() { cli.ok("s3", "cp", "--only-show-errors", "--recursive", up, b+"/cp") })
	timed("ls --recursive", func() {
		objs, _ := parseS3Ls(cli.ok("s3", "ls", "--recursive", b+"/sync/"))
		if want := wantUnder("sync/"); !mapsEqual(objs, want) {
			t.Errorf("ls --recursive sync/: %d objects, want %d", len(objs), len(want))
		}
		objs, _ = parseS3Ls(cli.ok("s3", "ls", "--recursive", b))
		if len(objs) != 2*len(small) {
			t.Errorf("ls --recursive of the bucket: %d objects, want %d", len(objs), 2*len(small))
		}
	})
	timed("sync and cp --recursive down", func() {
		down := filepath.Join(work, "down-sync")
		cli.ok("s3", "sync", "--only-show-errors", b+"/sync", down)
		if got, want := treeSHA256(t, down), treeSHA256(t, up); !mapsEqual(got, want) {
			t.Errorf("synced-down tree differs from the uploaded one (%d files, want %d)", len(got), len(want))
		}
		down = filepath.Join(work, "down-cp")
		cli.ok("s3", "cp", "--only-show-errors", "--recursive", b+"/cp", down)
		if got, want := treeSHA256(t, down), treeSHA256(t, up); !mapsEqual(got, want) {
			t.Errorf("cp --recursive tree differs from the uploaded one (%d files, want %d)", len(got), len(want))
		}
		os.RemoveAll(filepath.Join(work, "down-sync"))
		os.RemoveAll(down)
	})
	timed("mv --recursive a tenth of the objects within the bucket", func() {
		cli.ok("s3", "mv", "--only-show-errors", "--recursive", b+"/cp/d3/", b+"/moved/d3/")
		objs, _ := parseS3Ls(cli.ok("s3", "ls", "--recursive", b+"/moved/"))
		want := map[string]int64{}
		for name, data := range small {
			if strings.HasPrefix(name, "d3/") {
				want["moved/"+name] = int64(len(data))
			}
		}
		if !mapsEqual(objs, want) {
			t.Errorf("after mv --recursive: moved/ holds %d objects, want %d", len(objs), len(want))
		}
		if objs := lsEmptyOK(cli, b+"/cp/d3/"); len(objs) != 0 {
			t.Errorf("mv --recursive left %d objects at the source", len(objs))
		}
		down := filepath.Join(work, "down-moved")
		cli.ok("s3", "cp", "--only-show-errors", "--recursive", b+"/moved/d3", down)
		for name, data := range small {
			if rel, ok := strings.CutPrefix(name, "d3/"); ok {
				if got := fileSHA256(t, filepath.Join(down, rel)); got != sha256Hex(data) {
					t.Errorf("moved %s: content differs", name)
				}
			}
		}
	})

	bigFile := filepath.Join(work, "big.bin")
	writeTestFile(t, bigFile, big)
	timed(fmt.Sprintf("cp up %d MiB", len(big)>>20), func() { cli.ok("s3", "cp", "--only-show-errors", bigFile, b+"/big/big.bin") })
	timed(fmt.Sprintf("cp down %d MiB", len(big)>>20), func() {
		dst := filepath.Join(work, "big.down")
		cli.ok("s3", "cp", "--only-show-errors", b+"/big/big.bin", dst)
		if got := streamSHA256(t, dst); got != bigSum {
			t.Errorf("%d MiB download sha256 %s, want %s", len(big)>>20, got, bigSum)
		}
		os.Remove(dst)
	})
	timed(fmt.Sprintf("mv %d MiB within the bucket (multipart copy)", len(big)>>20), func() {
		cli.ok("s3", "mv", "--only-show-errors", b+"/big/big.bin", b+"/big/moved.bin")
		if out := cli.fails("s3api", "head-object", "--bucket", bucket, "--key", "big/big.bin"); !strings.Contains(out, "404") {
			t.Errorf("mv left its source: head-object:\n%s", out)
		}
		dst := filepath.Join(work, "moved.down")
		cli.ok("s3", "mv", "--only-show-errors", b+"/big/moved.bin", dst)
		if got := streamSHA256(t, dst); got != bigSum {
			t.Errorf("%d MiB after two moves: sha256 %s, want %s", len(big)>>20, got, bigSum)
		}
		if objs := lsEmptyOK(cli, b+"/big/"); len(objs) != 0 {
			t.Errorf("mv to a local file left objects: %v", objs)
		}
		// A local file moved up is removed locally and stored whole.
		cli.ok("s3", "mv", "--only-show-errors", dst, b+"/big/up-moved.bin")
		if _, err := os.Stat(dst); !os.IsNotExist(err) {
			t.Errorf("mv of a local file kept it (stat err %v)", err)
		}
		var h headObject
		cli.json(&h, "s3api", "head-object", "--bucket", bucket, "--key", "big/up-moved.bin")
		if h.ContentLength != int64(len(big)) {
			t.Errorf("moved-up %d MiB object: %d bytes", len(big)>>20, h.ContentLength)
		}
	})
	timed("rm --recursive", func() {
		cli.ok("s3", "rm", "--only-show-errors", "--recursive", b+"/sync/d0/")
		objs, _ := parseS3Ls(cli.ok("s3", "ls", "--recursive", b+"/sync/"))
		inD0 := 0
		for name := range small {
			if strings.HasPrefix(name, "d0/") {
				inD0++
			}
		}
		if want := len(small) - inD0; len(objs) != want {
			t.Errorf("after rm --recursive sync/d0/: %d objects left under sync/, want %d", len(objs), want)
		}
		cli.ok("s3", "rm", "--only-show-errors", "--recursive", b)
		if objs := lsEmptyOK(cli, b); len(objs) != 0 {
			t.Errorf("rm --recursive of the bucket left %d objects", len(objs))
		}
		cli.ok("s3", "rb", b)
	})
}

// lsEmptyOK runs `aws s3 ls --recursive` where the answer may be empty
// (the CLI then exits 1) and returns the objects listed.
func lsEmptyOK(cli awsCLI, url string) map[string]int64 {
	cli.t.Helper()
	out, err := cli.s.AWS(cli.ctx, cli.bin, "s3", "ls", "--recursive", url)
	objs, _ := parseS3Ls(out)
	if err != nil && (len(objs) > 0 || strings.TrimSpace(out) != "") {
		cli.t.Fatalf("aws s3 ls --recursive %s: %v\n%s", url, err, out)
	}
	return objs
}

// streamSHA256 hashes a file without reading it into memory.
func streamSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
