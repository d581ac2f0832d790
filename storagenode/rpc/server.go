package rpc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

// NewHandler returns the internode API handler serving drives: every
// Drive method of every listed drive, addressed by drive ID under
// /ecstore/v1/drive/<id>/. Every request must be signed with opts.Secret
// (see the package documentation); others are refused with 401 or 403 and
// logged to opts.Logger. The handler does not close the drives.
//
// Serve it with an http.Server that sets ReadHeaderTimeout but no
// ReadTimeout or WriteTimeout shorter than a shard stream: the handler
// bounds stalled streams itself (opts.IOTimeout). TLS, when wanted, is the
// server's (http.Server.TLSConfig).
//
// It panics if opts.Validate fails or two drives share an ID: call Validate
// first to get an error.
func NewHandler(drives []storagenode.Drive, opts Options) http.Handler {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	s := &handler{
		drives: make(map[string]storagenode.Drive, len(drives)),
		auth:   newAuthenticator(&opts, true),
		opts:   opts,
		log:    opts.Logger,
		bufs:   sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }},
	}
	for _, d := range drives {
		if s.drives[d.ID()] != nil {
			panic(fmt.Sprintf("rpc.NewHandler: two drives with ID %q", d.ID()))
		}
		s.drives[d.ID()] = d
		s.order = append(s.order, d.ID())
	}
	s.calls = jsonCalls()
	return s
}

type handler struct {
	drives map[string]storagenode.Drive
	order  []string // drive IDs as given
	calls  map[string]jsonCall
	auth   *authenticator
	opts   Options
	log    *slog.Logger
	bufs   sync.Pool // *[]byte of 256 KiB, for shard streams
}

// jsonCall serves one metadata method: it decodes the arguments from body
// and returns the result to encode (nil: no content).
type jsonCall func(ctx context.Context, d storagenode.Drive, body []byte) (any, error)

// call adapts a typed method to a jsonCall.
func call[A any](fn func(ctx context.Context, d storagenode.Drive, a *A) (any, error)) jsonCall {
	return func(ctx context.Context, d storagenode.Drive, body []byte) (any, error) {
		a := new(A)
		if err := unmarshalWire(body, a); err != nil {
			return nil, fmt.Errorf("%w: arguments: %v", errBadRequest, err)
		}
		return fn(ctx, d, a)
	}
}

// none turns an error-only result into (no content, err).
func none(err error) (any, error) { return nil, err }

func jsonCalls() map[string]jsonCall {
	return map[string]jsonCall{
		mMakeBucket: call(func(ctx context.Context, d storagenode.Drive, a *bucketArgs) (any, error) {
			return none(d.MakeBucket(ctx, a.Bucket, a.Created))
		}),
		mDeleteBucket: call(func(ctx context.Context, d storagenode.Drive, a *bucketArgs) (any, error) {
			return none(d.DeleteBucket(ctx, a.Bucket))
		}),
		mStatBucket: call(func(ctx context.Context, d storagenode.Drive, a *bucketArgs) (any, error) {
			return d.StatBucket(ctx, a.Bucket)
		}),
		mListBuckets: call(func(ctx context.Context, d storagenode.Drive, _ *struct{}) (any, error) {
			return d.ListBuckets(ctx)
		}),
		mDeleteVersion: call(func(ctx context.Context, d storagenode.Drive, a *versionArgs) (any, error) {
			return none(d.DeleteVersion(ctx, a.Bucket, a.Dir))
		}),
		mDeleteShard: call(func(ctx context.Context, d storagenode.Drive, r *storagenode.ShardRef) (any, error) {
			return none(d.DeleteShard(ctx, *r))
		}),
		mPutMetaIf: call(func(ctx context.Context, d storagenode.Drive, a *putMetaIfArgs) (any, error) {
			if a.Meta == nil {
				return nil, fmt.Errorf("storagenode: put meta if: no record: %w", storagenode.ErrInvalidName)
			}
			prev, err := d.PutMetaIf(ctx, a.Meta, a.Expect)
			return prevMetaResult{prev}, err
		}),
		mRewriteMeta: call(func(ctx context.Context, d storagenode.Drive, a *rewriteMetaArgs) (any, error) {
			if a.Meta == nil {
				return nil, fmt.Errorf("storagenode: rewrite meta: no record: %w", storagenode.ErrInvalidName)
			}
			prev, err := d.RewriteMeta(ctx, a.Meta, a.Layout)
			return prevMetaResult{prev}, err
		}),
		mPutMeta: call(func(ctx context.Context, d storagenode.Drive, m *storagenode.ObjectMeta) (any, error) {
			prev, err := d.PutMeta(ctx, m)
			return prevMetaResult{prev}, err
		}),
		mGetMeta: call(func(ctx context.Context, d storagenode.Drive, a *keyArgs) (any, error) {
			return d.GetMeta(ctx, a.Bucket, a.Key)
		}),
		mDeleteMeta: call(func(ctx context.Context, d storagenode.Drive, a *keyArgs) (any, error) {
			return d.DeleteMeta(ctx, a.Bucket, a.Key, a.VersionID)
		}),
		mListMeta: call(func(ctx context.Context, d storagenode.Drive, a *listMetaArgs) (any, error) {
			return d.ListMeta(ctx, a.Bucket, string(a.Prefix), string(a.After), a.Limit)
		}),
		mListEntries: call(func(ctx context.Context, d storagenode.Drive, a *listMetaArgs) (any, error) {
			return d.ListEntries(ctx, a.Bucket, string(a.Prefix), string(a.After), a.Limit)
		}),
		mGetVersion: call(func(ctx context.Context, d storagenode.Drive, a *keyArgs) (any, error) {
			return d.GetVersion(ctx, a.Bucket, a.Key, a.VersionID)
		}),
		mListVersions: call(func(ctx context.Context, d storagenode.Drive, a *listVersionsArgs) (any, error) {
			return d.ListVersions(ctx, a.Bucket, string(a.Prefix), string(a.AfterKey), a.AfterVersion, a.Limit)
		}),
		mPutUpload: call(func(ctx context.Context, d storagenode.Drive, u *storagenode.UploadMeta) (any, error) {
			return none(d.PutUpload(ctx, u))
		}),
		mGetUpload: call(func(ctx context.Context, d storagenode.Drive, a *uploadArgs) (any, error) {
			return d.GetUpload(ctx, a.Bucket, a.UploadID)
		}),
		mDeleteUpload: call(func(ctx context.Context, d storagenode.Drive, a *uploadArgs) (any, error) {
			return none(d.DeleteUpload(ctx, a.Bucket, a.UploadID))
		}),
		mCompleteUpload: call(func(ctx context.Context, d storagenode.Drive, a *completeArgs) (any, error) {
			if a.Meta == nil {
				return nil, fmt.Errorf("storagenode: complete upload: no record: %w", storagenode.ErrInvalidName)
			}
			prev, err := d.CompleteUpload(ctx, a.Meta, a.Expect)
			return prevMetaResult{prev}, err
		}),
		mAbortUpload: call(func(ctx context.Context, d storagenode.Drive, a *uploadArgs) (any, error) {
			return none(d.AbortUpload(ctx, a.Bucket, a.Key, a.UploadID))
		}),
		mListUploads: call(func(ctx context.Context, d storagenode.Drive, a *bucketArgs) (any, error) {
			return d.ListUploads(ctx, a.Bucket)
		}),
		mPutPart: call(func(ctx context.Context, d storagenode.Drive, a *partArgs) (any, error) {
			prev, err := d.PutPart(ctx, a.Bucket, a.UploadID, a.Part)
			return prevPartResult{prev}, err
		}),
		mListParts: call(func(ctx context.Context, d storagenode.Drive, a *uploadArgs) (any, error) {
			return d.ListParts(ctx, a.Bucket, a.UploadID)
		}),
	}
}

func (s *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Authentication comes first: an unauthenticated caller learns nothing,
	// not even which drives or methods exist.
	sig, content, aerr := s.auth.verify(r)
	if aerr != nil {
		s.refuse(w, r, aerr)
		return
	}
	if strings.HasPrefix(r.URL.Path, nodePrefix) {
		// Map exchange and identity: how a caller on another map (or a
		// joining node without one) catches up, so exempt from the check.
		s.serveNode(w, r, content)
		return
	}
	if got := r.Header.Get(hdrMap); !s.mapAccepted(got) {
		s.refuse(w, r, refused(http.StatusConflict, codeMapMismatch,
			fmt.Sprintf("caller's cluster map %q is not this node's %q", got, s.auth.mapID())))
		return
	}
	if v := r.URL.Query().Get(fenceParam); v != "" {
		f, err := storagenode.ParseFence(v)
		if err != nil {
			s.fail(w, r, fmt.Errorf("%w: %v", errBadRequest, err))
			return
		}
		r = r.WithContext(storagenode.WithFence(r.Context(), f.Job, f.Token))
	}
	d, method, err := s.route(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch method {
	case mShardWrite:
		s.serveShardWrite(w, r, d, sig, content)
	case mShardStat, mShardRead, mPing, mDiskInfo:
		if r.Method != http.MethodGet {
			s.fail(w, r, fmt.Errorf("%w: %s wants GET", errBadRequest, method))
			return
		}
		if content != emptySHA256 {
			s.refuse(w, r, refused(http.StatusForbidden, codeContentMismatch, "GET with a body"))
			return
		}
		switch method {
		case mShardStat:
			s.serveShardStat(w, r, d)
		case mShardRead:
			s.serveShardRead(w, r, d)
		case mDiskInfo:
			ctx := r.Context()
			if r.URL.Query().Get("records") == "1" {
				ctx = storagenode.WithRecordCount(ctx)
			}
			di, err := storagenode.DiskInfoOf(ctx, d)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			s.reply(w, di)
		default:
			s.reply(w, pingResult{ID: d.ID()})
		}
	default:
		fn := s.calls[method]
		if fn == nil {
			s.fail(w, r, fmt.Errorf("%w: unknown method %q", errBadRequest, method))
			return
		}
		if r.Method != http.MethodPost {
			s.fail(w, r, fmt.Errorf("%w: %s wants POST", errBadRequest, method))
			return
		}
		body, aerr := s.readBody(r, content)
		if aerr != nil {
			s.answerDraining(w, r, func() { s.refuse(w, r, aerr) })
			return
		}
		v, err := fn(r.Context(), d, body)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.reply(w, v)
	}
}

// route finds the drive and method of a request path.
func (s *handler) route(r *http.Request) (storagenode.Drive, string, error) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), drivePrefix)
	escID, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		return nil, "", fmt.Errorf("%w: no drive call at %s", errBadRequest, r.URL.EscapedPath())
	}
	id, err := url.PathUnescape(escID)
	if err != nil {
		return nil, "", fmt.Errorf("%w: drive ID: %v", errBadRequest, err)
	}
	d := s.drives[id]
	if d == nil {
		return nil, "", fmt.Errorf("storagenode: drive %q: %w", id, errDriveNotFound)
	}
	return d, method, nil
}

// readBody reads a metadata request body (at most MaxBodySize bytes) and
// checks it against the signed content hash.
func (s *handler) readBody(r *http.Request, content string) ([]byte, *authError) {
	if isStream(content) {
		return nil, refused(http.StatusBadRequest, codeWrongContentMarker, "a streamed body on a metadata call")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxBodySize+1))
	if err != nil {
		return nil, refused(http.StatusBadRequest, "BadRequest", "reading the body: "+err.Error())
	}
	if int64(len(body)) > s.opts.MaxBodySize {
		return nil, refused(http.StatusRequestEntityTooLarge, codeBodyTooLarge,
			"body over "+strconv.FormatInt(s.opts.MaxBodySize, 10)+" bytes")
	}
	sum := sha256.Sum256(body)
	if !hmac.Equal([]byte(hex.EncodeToString(sum[:])), []byte(content)) {
		return nil, refused(http.StatusForbidden, codeContentMismatch, "body does not match its signed hash")
	}
	return body, nil
}

// reply writes v as CBOR, or 204 for nil.
func (s *handler) reply(w http.ResponseWriter, v any) {
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	b, err := storagenode.MarshalRecord(v)
	if err != nil {
		s.log.Error("internode: encoding a reply", "err", err)
		http.Error(w, "", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", wireContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// fail writes an error response: {"code", "message"} with the code's
// status. Errors that wrap no known sentinel are logged.
func (s *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, status := codeOf(err)
	if code == codeInternal {
		s.log.Error("internode: drive call failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, status, code, err.Error())
}

// maxDrain bounds what answerDraining reads of a body after answering.
const maxDrain = 64 << 20

// answerDraining answers (with answer) while the client is still sending
// the body, then reads and discards the rest of it: until the client, having
// read the answer, stops, and at most maxDrain bytes. Closing the
// connection on unread data instead would reset it, and the client could
// lose the answer.
func (s *handler) answerDraining(w http.ResponseWriter, r *http.Request, answer func()) {
	rc := http.NewResponseController(w)
	_ = rc.EnableFullDuplex()
	answer()
	_ = rc.Flush()
	for n := int64(0); n < maxDrain; {
		_ = rc.SetReadDeadline(time.Now().Add(s.opts.IOTimeout))
		k, err := io.CopyN(io.Discard, r.Body, 256<<10)
		n += k
		if err != nil {
			return
		}
	}
}

// refuse writes and logs a refused request. The log names the peer and the
// reason, never key material.
func (s *handler) refuse(w http.ResponseWriter, r *http.Request, e *authError) {
	level := slog.LevelWarn
	if e.code == codeBodyTooLarge || e.code == codeWrongContentMarker || e.code == "BadRequest" {
		level = slog.LevelInfo
	}
	s.log.Log(r.Context(), level, "internode: request refused",
		"remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "code", e.code, "reason", e.reason)
	writeError(w, e.status, e.code, e.Error())
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(errorBody{Code: code, Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *handler) buf() *[]byte  { return s.bufs.Get().(*[]byte) }
func (s *handler) put(b *[]byte) { s.bufs.Put(b) }

// serveShardWrite receives a shard stream: it creates the shard (answering
// an error before the client sends a byte, thanks to Expect:
// 100-continue), copies the body into it while computing the stream MAC,
// and commits only when the body ended cleanly with a trailer carrying the
// right MAC. Anything else aborts the temporary file. The shard is never
// held in memory beyond one buffer.
func (s *handler) serveShardWrite(w http.ResponseWriter, r *http.Request, d storagenode.Drive, sig, content string) {
	if r.Method != http.MethodPost {
		s.fail(w, r, fmt.Errorf("%w: %s wants POST", errBadRequest, mShardWrite))
		return
	}
	if !isStream(content) {
		s.refuse(w, r, refused(http.StatusBadRequest, codeWrongContentMarker, "a shard write must be streamed"))
		return
	}
	if content == streamTLS && r.TLS == nil {
		s.refuse(w, r, refused(http.StatusBadRequest, codeWrongContentMarker, "a shard stream without a MAC over plain HTTP"))
		return
	}
	q := r.URL.Query()
	ctx := r.Context()
	if q.Get(coldParam) == "1" {
		ctx = storagenode.WithColdShard(ctx)
	}
	ref := refFromQuery(q)
	sw, err := d.CreateShard(ctx, ref)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	committed := false
	defer func() {
		if !committed {
			_ = sw.Abort()
		}
	}()
	mac := s.auth.streamMAC(sig, content)
	rc := http.NewResponseController(w)
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	bp := s.buf()
	defer s.put(bp)
	buf := *bp
	var n int64
	for {
		_ = rc.SetReadDeadline(time.Now().Add(s.opts.IOTimeout))
		k, rerr := r.Body.Read(buf)
		if k > 0 {
			mac.Write(buf[:k])
			if _, err := sw.Write(buf[:k]); err != nil {
				s.answerDraining(w, r, func() { s.fail(w, r, err) })
				return
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			s.log.Debug("internode: shard stream cut; aborted", "remote", r.RemoteAddr, "shard", ref.String(),
				"bytes", n, "err", rerr)
			s.fail(w, r, fmt.Errorf("storagenode: write shard %s: stream cut after %d bytes: %w: %v", ref, n, storagenode.ErrDriveOffline, rerr))
			return
		}
	}
	got := r.Trailer.Get(hdrStreamMAC)
	if got == "" {
		s.log.Debug("internode: shard stream ended without commit; aborted", "remote", r.RemoteAddr, "shard", ref.String(), "bytes", n)
		s.fail(w, r, fmt.Errorf("storagenode: write shard %s: %w", ref, errNotCommitted))
		return
	}
	if !hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(got)) {
		s.refuse(w, r, refused(http.StatusForbidden, codeStreamMACMismatch,
			"shard stream "+ref.String()+" does not match its MAC (altered in transit); aborted"))
		return
	}
	committed = true // Commit ends the writer either way
	if err := sw.Commit(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// serveShardStat answers the size of a committed shard.
func (s *handler) serveShardStat(w http.ResponseWriter, r *http.Request, d storagenode.Drive) {
	sr, err := d.OpenShard(r.Context(), refFromQuery(r.URL.Query()))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	size := sr.Size()
	_ = sr.Close()
	s.reply(w, shardStatResult{Size: size})
}

// serveShardRead serves a byte range of a shard: off, len (clipped to the
// end of the shard) and size, the size the client saw when it opened the
// shard (a different size means the shard was replaced: ErrShardNotFound).
// The first buffer is read before the status is sent, so that most read
// errors travel as errors; a failure later cuts the connection.
func (s *handler) serveShardRead(w http.ResponseWriter, r *http.Request, d storagenode.Drive) {
	q := r.URL.Query()
	ref := refFromQuery(q)
	off, err := queryInt(q, "off")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	length, err := queryInt(q, "len")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	want, err := queryInt(q, "size")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if off < 0 || length < 0 {
		s.fail(w, r, fmt.Errorf("%w: negative offset or length", errBadRequest))
		return
	}
	sr, err := d.OpenShard(r.Context(), ref)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer sr.Close()
	size := sr.Size()
	if size != want {
		s.fail(w, r, fmt.Errorf("storagenode: read shard %s: size %d, was %d when opened (replaced): %w", ref, size, want, storagenode.ErrShardNotFound))
		return
	}
	n := max(0, min(length, size-off))
	bp := s.buf()
	defer s.put(bp)
	buf := *bp
	first := int(min(n, int64(len(buf))))
	fromFile := sendsFile(r, sr, n)
	if fromFile {
		first = fileHead
	}
	// A local drive reads no further ahead than the hint: the whole range,
	// or only the head that goes through buf when sendfile sends the rest
	// (its O_DIRECT reads would read ahead the bytes sendfile then reads
	// again through the page cache).
	hint := n
	if fromFile {
		hint = fileHead
	}
	storagenode.HintRange(sr, off, off+hint)
	k, err := sr.ReadAt(buf[:first], off)
	if k < first {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("storagenode: read shard %s: short read (%d of %d bytes at %d): %w", ref, k, first, off, io.ErrUnexpectedEOF)
		}
		s.fail(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	// The deadline outlives the request on a kept-alive connection: clear it.
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusOK)
	if src, ok := fileAfter(sr, fromFile, off+int64(k)); ok {
		// The first block went through buf (a file that cannot be read
		// still gets an error answer); the rest goes from the file to the
		// connection in the kernel.
		if _, err := w.Write(buf[:k]); err != nil {
			return
		}
		s.sendFile(w, r, rc, ref, src, off+int64(k), n-int64(k))
		return
	}
	for done := int64(0); ; {
		_ = rc.SetWriteDeadline(time.Now().Add(s.opts.IOTimeout))
		if _, err := w.Write(buf[:k]); err != nil {
			return // the client went away; nothing to tell it
		}
		done += int64(k)
		if done == n {
			return
		}
		next := int(min(n-done, int64(len(buf))))
		k, err = sr.ReadAt(buf[:next], off+done)
		if k < next {
			s.log.Warn("internode: shard read failed after the answer started; connection cut",
				"remote", r.RemoteAddr, "shard", ref.String(), "off", off+done, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
}

// fileHead is how much of a shard read answered from the file with
// sendfile is read through the process first, before the answer's status
// is sent.
const fileHead = 4 << 10

// sendfileMin: a read sends its bytes past fileHead with sendfile only when
// at least this many are left. On loopback the gateway's copy out of
// page-cache pages costs it more than a fresh copy would (BENCHMARKS.md,
// machine J: +10% of its CPU for GET 1 MiB at the same rate); the node's
// saving pays for that only on large ranges. The shards of a 1 MiB object
// (256 KiB each in 4+2) are copied as before.
const sendfileMin = 1 << 20

// sendChunk bounds each sendfile call, so that a gateway that stops
// reading is cut after IOTimeout of no progress, as by the copy loop.
const sendChunk = 4 << 20

// sendsFile reports whether a read of n bytes from sr is answered with
// sendfile: over plain TCP (sendfile cannot reach a TLS connection's
// records), from a file of the operating system, and large enough. The
// gateway verifies every block's checksum (ec.Decode), so bytes that never
// pass through the node's process are still checked end to end.
func sendsFile(r *http.Request, sr storagenode.ShardReader, n int64) bool {
	_, ok := sr.(storagenode.FileReader)
	return ok && r.TLS == nil && n-fileHead >= sendfileMin
}

// fileAfter returns sr's file from off on when fromFile (sendsFile).
func fileAfter(sr storagenode.ShardReader, fromFile bool, off int64) (io.Reader, bool) {
	if !fromFile {
		return nil, false
	}
	return sr.(storagenode.FileReader).ReaderFrom(off)
}

// sendFile writes the n bytes of src (a shard's file at off) to w in
// chunks of sendChunk, each under a fresh write deadline; io.Copy reaches
// the TCP connection's ReadFrom (sendfile). A failure cuts the connection:
// the status went out already. A gateway that went away is not logged.
func (s *handler) sendFile(w http.ResponseWriter, r *http.Request, rc *http.ResponseController, ref storagenode.ShardRef, src io.Reader, off, n int64) {
	for done := int64(0); done < n; {
		_ = rc.SetWriteDeadline(time.Now().Add(s.opts.IOTimeout))
		chunk := min(n-done, sendChunk)
		k, err := io.Copy(w, &io.LimitedReader{R: src, N: chunk})
		done += k
		if k == chunk {
			continue
		}
		if err == nil {
			err = fmt.Errorf("short file (%d of %d bytes): %w", done, n, io.ErrUnexpectedEOF)
		}
		if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, os.ErrDeadlineExceeded) && r.Context().Err() == nil {
			s.log.Warn("internode: shard read failed after the answer started; connection cut",
				"remote", r.RemoteAddr, "shard", ref.String(), "off", off+done, "err", err)
		}
		panic(http.ErrAbortHandler)
	}
}
