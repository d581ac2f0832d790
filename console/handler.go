package console

import (
	"embed"
	"encoding/json"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/ecstore/ecstore/s3api"
)

// Prefix is the path every console request starts with.
const Prefix = "/console"

// apiPrefix is where the JSON API lives.
const apiPrefix = Prefix + "/api/"

// CSRFHeader must be sent, with the value "1", by every state-changing API
// call (and the login). Browsers send custom headers only from same-origin
// scripts unless CORS allows them, and the console answers no CORS.
const CSRFHeader = "X-Ecstore-Console"

//go:embed static
var staticFiles embed.FS

// Handler serves the console: the single-page application under /console/
// and its JSON API under /console/api/.
type Handler struct {
	layer    s3api.ObjectLayer
	health   Health // nil when the layer reports no health
	creds    map[string]string
	log      *slog.Logger
	sessions *sessions
	throttle *loginThrottle
	static   fs.FS
	now      func() time.Time

	healthCache healthCache
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns the console over layer. creds maps access keys to
// secret keys (the same credentials S3 accepts). When layer also implements
// Health, the console shows cluster health.
func NewHandler(layer s3api.ObjectLayer, creds map[string]string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	h := &Handler{layer: layer, creds: creds, log: log, static: sub, now: time.Now}
	h.health, _ = layer.(Health)
	h.sessions = newSessions(sessionTTL, func() time.Time { return h.now() })
	h.throttle = newLoginThrottle(func() time.Time { return h.now() })
	return h
}

// Mount returns a handler that serves console requests (see IsConsoleRequest)
// and passes every other request to next (the S3 front end).
func (h *Handler) Mount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsConsoleRequest(r) {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// IsConsoleRequest reports whether r is for the console: its path is
// /console or under /console/, it carries no S3 authentication (header or
// presigned query) and it is not a POST Object form upload. Any other
// request, including every signed request to a bucket named "console", is
// S3's.
func IsConsoleRequest(r *http.Request) bool {
	p := r.URL.Path
	if p != Prefix && !strings.HasPrefix(p, Prefix+"/") {
		return false
	}
	if r.Header.Get("Authorization") != "" {
		return false
	}
	q := r.URL.Query()
	for _, k := range []string{"X-Amz-Credential", "X-Amz-Signature", "X-Amz-Algorithm", "AWSAccessKeyId", "Signature"} {
		if q.Has(k) {
			return false
		}
	}
	if r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
			return false
		}
	}
	return true
}

// ServeHTTP serves one console request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cache-Control", "no-store")
	p := r.URL.Path
	switch {
	case p == Prefix:
		http.Redirect(w, r, Prefix+"/", http.StatusMovedPermanently)
	case strings.HasPrefix(p, apiPrefix):
		h.serveAPI(w, r)
	default:
		h.serveStatic(w, r)
	}
}

// serveStatic serves the embedded application files.
func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the console's pages are read with GET")
		return
	}
	name := strings.TrimPrefix(r.URL.Path, Prefix+"/")
	if name == "" {
		name = "index.html"
	}
	if !fs.ValidPath(name) || path.Base(name) != name {
		http.NotFound(w, r)
		return
	}
	if _, err := fs.Stat(h.static, name); err != nil {
		http.NotFound(w, r)
		return
	}
	// Scripts and styles come only from the console itself: no inline code,
	// no third-party origin.
	w.Header().Set("Content-Security-Policy",
		"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	http.ServeFileFS(w, r, h.static, name)
}

// apiError is the JSON body of every failed API call.
type apiError struct {
	Error   string `json:"error"`   // a stable code, e.g. "NoSuchBucket"
	Message string `json:"message"` // for people
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: code, Message: msg})
}

// writeLayerError answers an error of the ObjectLayer: S3 errors keep their
// code and status; anything else is logged and answered InternalError.
func (h *Handler) writeLayerError(w http.ResponseWriter, r *http.Request, err error) {
	if ae, known := s3api.ToAPIError(err); known {
		writeError(w, ae.HTTPStatus(), ae.Code(), ae.Message())
		return
	}
	h.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "InternalError", "internal error; the gateway's log has the details")
}

// readJSON decodes a small JSON request body into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "MalformedJSON", "the request body is not the JSON this call expects")
		return false
	}
	return true
}
