package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/minio/minio-go/v7"
)

// chromiumPath finds a Chromium or Chrome binary on PATH (Debian's
// `chromium` package installs /usr/bin/chromium), or "".
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts headless Chromium for the test and returns a tab's
// context, ending after timeout. Chromium runs without its sandbox: the
// tests run as root, where the sandbox refuses to start.
func newBrowser(t *testing.T, bin string, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.WindowSize(1440, 1000),
		chromedp.UserDataDir(t.TempDir()),
		// The clusters serve TLS under the harness's own CA: trust exactly
		// its certificate's key, nothing else.
		chromedp.Flag("ignore-certificate-errors-spki-list", clusterPKI.SPKI),
	)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser() // closes the browser and waits for it
		cancelAlloc()
		cancelTimeout()
	})
	return bctx
}

// consoleArtifactDir is where the console test saves its screenshot:
// $ECSTORE_TEST_ARTIFACTS when set (kept), else the test's temporary folder.
func consoleArtifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ECSTORE_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestConsole drives the web console in headless Chromium against a 6-node
// cluster: log in, create a bucket, upload a 3 MiB file through the file
// input, see it listed, download it through the page's link (a real
// browser download, compared byte for byte), then kill a node and see its
// drives reported offline in the health panel. It saves a screenshot.
func TestConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the browser test of the console (6-node cluster plus headless Chromium)")
	}
	bin := chromiumPath()
	if bin == "" {
		t.Skip("no chromium, chromium-browser or google-chrome on PATH (Debian: apt-get install chromium); skipping the browser test of the console")
	}
	parallelHeavy(t, 30*time.Second)
	c := StartCluster(t, 6, 2, 3, 1)
	g := c.Gateway(0)
	ctx := newBrowser(t, bin, 2*time.Minute)

	downloads := t.TempDir()
	data := randData(42, 3<<20)
	upload := filepath.Join(t.TempDir(), "random.bin")
	writeTestFile(t, upload, data)
	const bucket = "console-e2e"

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel chromedp.CSS) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	// Downloads go to a folder of the test, under the file's own name.
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
	}); err != nil {
		t.Fatalf("start the browser and allow downloads: %v", err)
	}

	do("open the console and log in",
		chromedp.Navigate(g.Endpoint+"/console/"),
		chromedp.WaitVisible(chromedp.ID("access-key")),
		chromedp.SendKeys(chromedp.ID("access-key"), testAccessKey),
		chromedp.SendKeys(chromedp.ID("secret-key"), testSecretKey),
		chromedp.Click(chromedp.ID("login-button")),
		chromedp.WaitVisible(chromedp.ID("bucket-form")),
	)
	if user := text("#session-user"); user != testAccessKey {
		t.Errorf("logged in as %q, want %q", user, testAccessKey)
	}

	do("create a bucket",
		chromedp.SendKeys(chromedp.ID("new-bucket"), bucket),
		chromedp.Click(chromedp.ID("create-bucket")),
		chromedp.WaitVisible(chromedp.CSS(`#bucket-list li[data-bucket="`+bucket+`"].active`)),
		chromedp.WaitVisible(chromedp.ID("upload-file")),
	)
	if ok, err := g.Minio(t).BucketExists(testCtx(t, 10*time.Second), bucket); !ok || err != nil {
		t.Fatalf("the bucket made in the console is not there for S3: exists %v, err %v", ok, err)
	}

	row := chromedp.CSS(`#object-rows tr[data-key="random.bin"]`)
	do("upload a file",
		chromedp.SetUploadFiles(chromedp.ID("upload-file"), []string{upload}),
		chromedp.Click(chromedp.ID("upload-button")),
		chromedp.WaitVisible(row),
	)
	progress, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById("upload-progress").value`))
	if err != nil {
		t.Fatal(err)
	}
	if status := text("#upload-status"); progress != 1 || !strings.Contains(status, "Uploaded random.bin") {
		t.Errorf("after the upload the progress bar is at %v and the status says %q; want 1 and Uploaded random.bin", progress, status)
	}
	size, err := chromedp.Run(ctx, chromedp.AttributeValue(row, "data-size"))
	if err != nil || size.Value != fmt.Sprint(len(data)) {
		t.Errorf("listed size %q (err %v), want %d", size.Value, err, len(data))
	}
	// The object is a plain S3 object too.
	obj, err := g.Minio(t).GetObject(testCtx(t, 30*time.Second), bucket, "random.bin", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var viaS3 bytes.Buffer
	if _, err := viaS3.ReadFrom(obj); err != nil || !bytes.Equal(viaS3.Bytes(), data) {
		t.Fatalf("uploaded object read with minio-go: %d bytes (err %v), want the %d uploaded", viaS3.Len(), err, len(data))
	}

	do("download the file", chromedp.Click(chromedp.CSS(`a[data-download="random.bin"]`)))
	got := waitDownload(t, filepath.Join(downloads, "random.bin"), 60*time.Second)
	if !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes (sha256 %s), want the %d uploaded (sha256 %s)", len(got), sha256Hex(got), len(data), sha256Hex(data))
	}

	do("see every drive online",
		chromedp.WaitVisible(chromedp.CSS(`.drive[data-drive="node3-d1"][data-state="online"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#health-verdict[data-offline="0"]`)),
	)
	c.KillNode(2) // node3, with drives node3-d1 and node3-d2
	do("see node3's drives offline",
		chromedp.WaitVisible(chromedp.CSS(`.drive[data-drive="node3-d1"][data-state="offline"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.drive[data-drive="node3-d2"][data-state="offline"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#health-verdict[data-offline="2"]`)),
	)
	online, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.drive[data-state="online"]').length`))
	if err != nil || online != 10 {
		t.Errorf("%d drives shown online after killing node3 (err %v), want 10", online, err)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(consoleArtifactDir(t), "console.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the console with node3 down: %s", shot)
}

// waitDownload waits for Chromium to finish a download (it writes
// NAME.crdownload and renames it to NAME at the end) and returns the file.
func waitDownload(t *testing.T, path string, timeout time.Duration) []byte {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			return b
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(filepath.Dir(path))
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Fatalf("no download at %s after %v (folder holds %v)", path, timeout, names)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
