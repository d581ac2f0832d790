package s3compat

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/s3compat/sigv4"
)

// Config configures the S3 front end.
type Config struct {
	// Region is the region name ecstore reports and accepts in signatures.
	// Default "us-east-1".
	Region string
	// Credentials maps access keys to secret keys. Required.
	Credentials map[string]string
	// Logger receives the access log and errors. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock used for signature checks. Default time.Now.
	Now func() time.Time
	// Observe, when set, is told of every request served (for metrics).
	Observe func(RequestStats)
	// Domain, when set (e.g. "s3.example.test"), enables virtual-hosted-
	// style requests: a Host of "<bucket>.<Domain>" names the bucket and
	// the whole path is the key. Requests to Domain itself (or any other
	// host) stay path-style. Default "" (path-style only).
	Domain string
	// MaxPresignV2 is the longest a Signature Version 2 presigned URL may
	// stay valid (its Expires, from now). Default 7 days
	// (sigv4.DefaultMaxPresignV2), SigV4's limit.
	MaxPresignV2 time.Duration
}

// maxXMLBody bounds every XML request body (CompleteMultipartUpload with
// 10,000 parts is about 1 MiB).
const maxXMLBody = 4 << 20

// Server is the S3 HTTP front end over an s3api.ObjectLayer.
type Server struct {
	layer    s3api.ObjectLayer
	cfg      Config
	verifier *sigv4.Verifier
	engine   *gin.Engine
	log      *slog.Logger
	// xmlBufs recycles the buffers of large XML bodies (listings).
	xmlBufs sync.Pool
}

// NewServer builds the S3 front end. Its Handler serves every S3 request.
func NewServer(layer s3api.ObjectLayer, cfg Config) *Server {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Domain = strings.ToLower(strings.TrimSuffix(cfg.Domain, "."))
	creds := cfg.Credentials
	s := &Server{
		layer: layer,
		cfg:   cfg,
		log:   cfg.Logger,
		verifier: &sigv4.Verifier{
			Lookup:       func(ak string) (string, bool) { sk, ok := creds[ak]; return sk, ok },
			Now:          cfg.Now,
			Checksums:    extraChecksums,
			MaxPresignV2: cfg.MaxPresignV2,
		},
	}
	if cfg.Domain != "" {
		s.verifier.VirtualBucket = s.hostBucket
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// S3 keys may contain "//", trailing "/", "..": the router must never
	// clean, redirect or unescape paths. All routing is done by dispatch.
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.RemoveExtraSlash = false
	e.HandleMethodNotAllowed = false
	e.UseRawPath = false
	e.Any("/*path", s.serve)
	s.engine = e
	return s
}

// Handler returns the http.Handler serving S3.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// botocore sends "Expect: 100-continue" even for empty bodies and
		// then waits for the 100 before it trusts the connection again;
		// net/http only sends one for non-empty bodies. Without this, an
		// empty PUT stalls the aws CLI's next request on the connection
		// for a minute (boto/botocore#3755).
		if r.ContentLength == 0 && strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
			w.WriteHeader(http.StatusContinue)
		}
		s.engine.ServeHTTP(w, r)
	})
}

// request is one S3 request being served.
type request struct {
	r       *http.Request
	w       http.ResponseWriter
	id      string
	bucket  string
	key     string
	query   url.Values
	auth    *sigv4.Result
	api     string        // operation name, for logs
	counted *countingBody // the request body, nil when it has none
}

// response is what a handler returns; the adapter writes it.
type response struct {
	status int
	header http.Header
	xml    any
	// stream, when set, writes the body; headers are sent before its first
	// write. An error before the first write is answered as an S3 error.
	stream func(w io.Writer) error
}

type handler func(ctx context.Context, q *request) (*response, error)

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// RequestStats describes one served request, for metrics.
type RequestStats struct {
	API      string // S3 operation name, e.g. "PutObject"
	Status   int    // HTTP status sent
	Duration time.Duration
	BytesIn  int64 // request body bytes read
	BytesOut int64 // response body bytes written
}

// countingBody counts the request body bytes a handler reads, and notes a
// body that timed out: the server under this handler gives each read a
// deadline (server.Timeouts.BodyIdle), and a read that passes it fails with
// an error matching os.ErrDeadlineExceeded.
type countingBody struct {
	io.ReadCloser
	n        atomic.Int64 // a handler's goroutines may still read after it returns
	timedOut atomic.Bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	switch {
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		b.timedOut.Store(true)
		err = fmt.Errorf("%w (%w)", s3api.ErrRequestTimeout, err)
	case err != nil && err != io.EOF:
		err = connBodyError(err)
	}
	return n, err
}

// connBodyError classifies a failure to read the request body off the
// connection. Short of a timeout, it is the client's doing: a broken
// chunked encoding (net/http's "invalid byte in chunk length", "malformed
// chunked encoding"), a body cut short, a connection closed mid-body. It
// is answered 400 IncompleteBody (S3's code for a body that does not
// deliver what its framing promised) and logged as a client error.
//
// Errors already classified pass through: timeouts, a body cut short of its
// Content-Length (io.ErrUnexpectedEOF, answered IncompleteBody by
// bodyError), a size limit, a read after the handler closed the body (a
// server bug), and S3 errors.
func connBodyError(err error) error {
	var ne net.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &mbe),
		errors.Is(err, http.ErrBodyReadAfterClose), isS3Error(err):
		return err
	}
	return s3api.ErrIncompleteBody.WithMessage("The request body ended early or its chunked encoding is malformed.").WithCause(err)
}

func (s *Server) serve(c *gin.Context) {
	start := time.Now()
	body := &countingBody{ReadCloser: c.Request.Body}
	counted := false
	if c.Request.Body != nil && c.Request.Body != http.NoBody {
		// The body is replaced on a copy of the request: net/http looks at
		// its own request's Body after the handler to tell whether an
		// "Expect: 100-continue" body was never asked for. Replaced in
		// place, the body looks like any other, and net/http reads it (so
		// sends 100 Continue and waits for it) before an answer decided
		// without it (403, 404, 412) goes out.
		c.Request = c.Request.WithContext(c.Request.Context())
		c.Request.Body = body
		counted = true
	}
	r := c.Request
	q := &request{r: r, w: c.Writer, id: newRequestID(), query: r.URL.Query()}
	if counted {
		q.counted = body
	}
	if b := s.hostBucket(r); b != "" {
		q.bucket, q.key = b, strings.TrimPrefix(r.URL.Path, "/")
	} else {
		q.bucket, q.key = splitPath(r.URL.Path)
	}
	c.Writer.Header().Set("x-amz-request-id", q.id)
	c.Writer.Header().Set("x-amz-id-2", q.id)
	c.Writer.Header().Set("Server", "ecstore")

	status, err := s.run(r.Context(), q)
	level := slog.LevelInfo
	took := time.Since(start)
	out := int64(max(c.Writer.Size(), 0))
	attrs := []any{"id", q.id, "api", q.api, "method", r.Method, "bucket", q.bucket, "key", q.key,
		"status", status, "dur_ms", took.Milliseconds(), "in", body.n.Load(), "out", out, "remote", r.RemoteAddr}
	if err != nil {
		attrs = append(attrs, "err", err.Error())
		// 501 answers a request for a feature ecstore lacks: the
		// client's doing, not a fault of the server.
		if status >= 500 && status != http.StatusNotImplemented {
			level = slog.LevelError
		}
	}
	s.log.Log(r.Context(), level, "s3", attrs...)
	if s.cfg.Observe != nil {
		s.cfg.Observe(RequestStats{API: q.api, Status: status, Duration: took, BytesIn: body.n.Load(), BytesOut: out})
	}
}

// run authenticates, dispatches and writes the response; it returns the
// status sent and the error behind it, if any.
func (s *Server) run(ctx context.Context, q *request) (int, error) {
	h, api := s.route(q)
	q.api = api
	if h == nil {
		// Only a signed request learns what is not implemented: an
		// anonymous or forged one gets the authentication error first.
		if err := s.authenticate(q); err != nil {
			return s.writeError(q, err), err
		}
		return s.writeError(q, s3api.ErrNotImplemented.WithMessage("%s is not implemented by ecstore", api)), nil
	}
	// A browser-form POST carries its signature in the form, not the
	// request: postObject authenticates it.
	if api != "PostObject" {
		if err := s.authenticate(q); err != nil {
			return s.writeError(q, err), err
		}
		what := refusedByAPI[api]
		if _, ok := s.layer.(s3api.LockLayer); ok && api != "PostObject" {
			what &^= refuseLock // the layer keeps object locks (and refuses them on a bucket without)
		}
		if s.encrypts() {
			what &^= refuseSSE | refuseSSEC | refuseCopySSEC | refuseReadSSEC // the handlers read them (sse.go)
		}
		if err := refuseUnsupported(q.r.Header, q.r.TLS != nil, what); err != nil {
			return s.writeError(q, err), err
		}
		if err := refuseHeaders(q.r.Header, api); err != nil {
			return s.writeError(q, err), err
		}
	}
	resp, err := h(ctx, q)
	if err != nil && q.counted != nil && q.counted.timedOut.Load() && !errors.Is(err, s3api.ErrRequestTimeout) {
		// The client went silent mid-body; whatever the layer then made of
		// it (a cancelled context, a short read), that is the answer.
		err = fmt.Errorf("%w (%w)", s3api.ErrRequestTimeout, err)
	}
	if err != nil {
		return s.writeError(q, err), err
	}
	return s.writeResponse(q, resp)
}

func (s *Server) authenticate(q *request) error {
	res, err := s.verifier.Verify(q.r)
	if err != nil {
		return authError(err)
	}
	if res.Anonymous {
		return s3api.ErrAccessDenied.WithMessage("Anonymous access is not allowed; sign your requests with AWS Signature Version 4.")
	}
	q.auth = res
	return nil
}

// authError maps a sigv4 failure to its table entry.
func authError(err error) error {
	var se *sigv4.Error
	if errors.As(err, &se) {
		if c, ok := s3api.ErrorCodeOf(se.Code); ok {
			if se.Message != "" {
				return c.WithMessage("%s", se.Message)
			}
			return c
		}
		return s3api.ErrAccessDenied.WithMessage("%s", se.Message)
	}
	return err
}

// bodyError maps an error met while reading a request body.
func bodyError(err error) error {
	if err == nil {
		return nil
	}
	if isS3Error(err) {
		return err
	}
	var se *sigv4.Error
	if errors.As(err, &se) {
		return authError(err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w (%w)", s3api.ErrRequestTimeout, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return s3api.ErrIncompleteBody
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return s3api.ErrEntityTooLarge
	}
	return err
}

func (s *Server) writeError(q *request, err error) int {
	ae, known := toAPIError(bodyError(err))
	if !known {
		s.log.Error("internal error", "id", q.id, "api", q.api, "err", err)
	}
	h := q.w.Header()
	if dm, ok := errors.AsType[*s3api.DeleteMarkerError](err); ok {
		h.Set("x-amz-delete-marker", "true")
		addVersionHeader(h, dm.VersionID)
	}
	h.Set("Content-Type", "application/xml")
	h.Del("Content-Length")
	h.Del("ETag")
	h.Del("Last-Modified")
	q.w.WriteHeader(ae.HTTPStatus())
	if q.r.Method != http.MethodHead && ae.HTTPStatus() != http.StatusNotModified {
		body := errorResponse{
			Code: ae.Code(), Message: ae.Message(), Resource: xmlText(q.r.URL.Path),
			BucketName: xmlText(q.bucket), Key: xmlText(q.key), RequestID: q.id, HostID: q.id,
		}
		_, _ = io.WriteString(q.w, xml.Header)
		_ = xml.NewEncoder(q.w).Encode(body)
	}
	return ae.HTTPStatus()
}

func (s *Server) writeResponse(q *request, resp *response) (int, error) {
	h := q.w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	status := resp.status
	if status == 0 {
		status = http.StatusOK
	}
	switch {
	case resp.xml != nil:
		out, err := s.marshalXML(resp.xml)
		if err != nil {
			return s.writeError(q, err), err
		}
		h.Set("Content-Type", "application/xml")
		q.w.WriteHeader(status)
		_, _ = io.WriteString(q.w, xml.Header)
		_, _ = q.w.Write(out)
		s.recycleXML(out)
	case resp.stream != nil:
		lw := &lazyWriter{w: q.w, status: status}
		if err := resp.stream(lw); err != nil {
			if !lw.started {
				return s.writeError(q, err), err
			}
			// Headers and part of the body are out: the only honest answer
			// left is to cut the connection so the client sees a short read.
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// The client stopped reading (server.Timeouts.WriteIdle).
				s.log.Warn("response cut: the client read nothing within the write timeout", "id", q.id, "api", q.api, "err", err)
			} else {
				s.log.Error("response aborted mid-body", "id", q.id, "api", q.api, "err", err)
			}
			panic(http.ErrAbortHandler)
		}
		if !lw.started {
			q.w.WriteHeader(status)
		}
	default:
		q.w.WriteHeader(status)
	}
	return status, nil
}

// lazyWriter sends the status line on the first write.
type lazyWriter struct {
	w       http.ResponseWriter
	status  int
	started bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.w.WriteHeader(l.status)
	}
	return l.w.Write(p)
}

// hostBucket returns the bucket named by a virtual-hosted-style Host
// ("<bucket>.<Domain>[:port]"), or "" for a path-style request.
func (s *Server) hostBucket(r *http.Request) string {
	if s.cfg.Domain == "" {
		return ""
	}
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	b, ok := strings.CutSuffix(host, "."+s.cfg.Domain)
	if !ok || b == "" {
		return ""
	}
	return b
}

// splitPath splits a path-style request path into bucket and key. The key
// keeps every byte after the bucket's slash ("//", trailing "/", "..").
func splitPath(p string) (bucket, key string) {
	p = strings.TrimPrefix(p, "/")
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key
}

// readXML decodes a bounded XML request body into v (its Content-MD5
// checked when sent).
func readXML(q *request, v any) error {
	data, err := readXMLBody(q)
	if err != nil {
		return err
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return s3api.ErrMalformedXML
	}
	return nil
}

// readXMLBody reads a bounded, non-empty XML request body. A Content-MD5
// header, if sent, must be the body's (InvalidDigest when it is not an MD5
// in base64, BadDigest when it differs), whatever the operation: a client
// that sends one asks that a damaged body be refused, never acted on.
func readXMLBody(q *request) ([]byte, error) {
	var want []byte
	if v := q.r.Header.Get("Content-MD5"); v != "" {
		sum, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(sum) != md5.Size {
			return nil, s3api.ErrInvalidDigest
		}
		want = sum
	}
	if q.auth == nil || q.auth.Body == nil {
		return nil, s3api.ErrMissingRequestBodyError
	}
	body := io.LimitReader(q.auth.Body, maxXMLBody+1)
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, bodyError(err)
	}
	if len(data) > maxXMLBody {
		return nil, s3api.ErrMalformedXML.WithMessage("request body larger than %d bytes", maxXMLBody)
	}
	if len(data) == 0 {
		return nil, s3api.ErrMissingRequestBodyError
	}
	if want != nil {
		if got := md5.Sum(data); !bytes.Equal(got[:], want) {
			return nil, s3api.ErrBadDigest
		}
	}
	return data, nil
}
