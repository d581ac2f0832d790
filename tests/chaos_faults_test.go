package tests

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/ecstore/ecstore/internal/crashpoint"
)

// chaosBodyIdle is the gateways' --body-idle-timeout in the chaos test.
const chaosBodyIdle = 3 * time.Second

// chaosCrashPoints are the steps at which the chaos test's gateways may
// SIGKILL themselves.
var chaosCrashPoints = []string{
	crashpoint.CompleteArbiter, crashpoint.CompleteCommitted, crashpoint.PutCommitted, crashpoint.DeleteRecords,
}

// chaosDuplicateCompletes writes key as a 2-part upload and sends its
// Complete 3 times at once through both gateways, as SDKs resend a Complete
// after a timeout: every Complete that succeeds must answer the same
// object, and the object is then acknowledged.
func chaosDuplicateCompletes(ctx context.Context, t *testing.T, rng *rand.Rand, gws []*minio.Client, bucket, key string, model *chaosModel, st *chaosStats) {
	data := randData(rng.Uint64(), 5<<20+1+rng.IntN(1<<20))
	model.begin(key, sum(data))
	st.multiparts.Add(1)
	core := minio.Core{Client: gws[rng.IntN(len(gws))]}
	id, err := core.NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{})
	if err != nil {
		st.opFailed("multipart (3 Completes)", err)
		return
	}
	var parts []minio.CompletePart
	for i, p := range [][]byte{data[:5<<20], data[5<<20:]} {
		pi, err := core.PutObjectPart(ctx, bucket, key, id, i+1, bytes.NewReader(p), int64(len(p)), minio.PutObjectPartOptions{})
		if err != nil {
			st.opFailed("multipart (3 Completes)", err)
			return // the upload is left for chaosAbortLeftovers or the expiry
		}
		parts = append(parts, minio.CompletePart{PartNumber: i + 1, ETag: pi.ETag})
	}
	etags := make([]string, 3)
	errs := make([]error, 3)
	done := make(chan int)
	for i := range 3 {
		go func() {
			c := minio.Core{Client: gws[i%len(gws)]}
			info, err := c.CompleteMultipartUpload(ctx, bucket, key, id, parts, minio.PutObjectOptions{})
			etags[i], errs[i] = info.ETag, err
			done <- i
		}()
	}
	for range 3 {
		<-done
	}
	want := partsETag(data[:5<<20], data[5<<20:])
	ok := false
	for i := range 3 {
		switch {
		case errs[i] == nil && strings.Trim(etags[i], `"`) != want:
			st.wrongBytes.Add(1)
			t.Errorf("a racing Complete of %s answered ETag %s, want %s", key, etags[i], want)
		case errs[i] == nil:
			ok = true
		}
	}
	if ok {
		model.ack(key, sum(data))
		st.dupCompletes.Add(1)
	} else {
		st.opFailed("multipart (3 Completes)", errs[0])
	}
}

// chaosAbortLeftovers aborts every upload listed under prefix (its client
// runs one operation at a time, so none is in progress): leftovers of
// multipart writes that failed, Completes cut short by a gateway crash
// among them. Aborting must never touch a committed object.
func chaosAbortLeftovers(ctx context.Context, gw *minio.Client, bucket, prefix string, st *chaosStats) {
	core := minio.Core{Client: gw}
	res, err := core.ListMultipartUploads(ctx, bucket, prefix, "", "", "", 1000)
	if err != nil {
		st.opFailed("list uploads", err)
		return
	}
	for _, u := range res.Uploads {
		if err := core.AbortMultipartUpload(ctx, bucket, u.Key, u.UploadID); err != nil && minio.ToErrorResponse(err).Code != "NoSuchUpload" {
			st.opFailed("abort", err)
			continue
		}
		st.aborts.Add(1)
	}
}

// slowGet reads an object 256 KiB at a time with a pause between reads.
func slowGet(ctx context.Context, gw *minio.Client, bucket, key string) ([]byte, error) {
	obj, err := gw.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	info, err := obj.Stat()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	buf := make([]byte, 256<<10)
	for {
		n, err := obj.Read(buf)
		out.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			if int64(out.Len()) != info.Size {
				// Cut short (its gateway was killed): a failed read, not
				// a version.
				return nil, fmt.Errorf("slow GET: %d of %d bytes: %w", out.Len(), info.Size, io.ErrUnexpectedEOF)
			}
			return out.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// chaosStalledPut sends a signed PUT's head and 100 KiB of its 1 MiB body,
// then goes silent; the caller reads the answer.
func chaosStalledPut(s *Server, bucket string) (net.Conn, error) {
	req, err := http.NewRequest(http.MethodPut, s.Endpoint+objectPath(bucket, fmt.Sprintf("stalled/%d", rand.Uint64())), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req = signer.SignV4(*req, testAccessKey, testSecretKey, "", "us-east-1")
	var head strings.Builder
	fmt.Fprintf(&head, "PUT %s HTTP/1.1\r\nHost: %s\r\n", req.URL.RequestURI(), s.Addr)
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&head, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n", 1<<20)
	conn, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, head.String()); err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := conn.Write(make([]byte, 100<<10)); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// chaosStallAnswer waits up to bound for the answer to a stalled request:
// "cut" (400 RequestTimeout), "closed" (the connection ended or another
// answer came: its gateway was killed, say) or "hung".
func chaosStallAnswer(conn net.Conn, bound time.Duration) string {
	_ = conn.SetReadDeadline(time.Now().Add(bound))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "hung"
	}
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 400") {
		return "closed"
	}
	var rest []byte
	buf := make([]byte, 1024)
	for len(rest) < 16<<10 {
		n, err := br.Read(buf)
		rest = append(rest, buf[:n]...)
		if bytes.Contains(rest, []byte("RequestTimeout")) {
			return "cut"
		}
		if err != nil {
			break
		}
	}
	return "closed"
}
