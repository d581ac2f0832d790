package console

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ecstore/ecstore/s3api"
)

// maxPutSize is the largest upload, S3's limit for a single PUT.
const maxPutSize = 5 << 30

// maxListKeys bounds one page of an object listing.
const maxListKeys = 1000

// serveAPI routes /console/api/... . Paths are split on the escaped form,
// so an object key may hold any byte (slashes, "..", "%") when the client
// escapes it.
//
//	POST   login                      {accessKey, secretKey}
//	POST   logout
//	GET    session
//	GET    health
//	GET    buckets
//	POST   buckets                    {name}
//	DELETE buckets/{bucket}
//	GET    buckets/{bucket}/objects   ?prefix=&after=&max=
//	PUT    buckets/{bucket}/objects/{key...}   raw body
//	GET    buckets/{bucket}/objects/{key...}   download
//	DELETE buckets/{bucket}/objects/{key...}
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), apiPrefix)
	if rest == "login" && r.Method == http.MethodPost {
		if csrfOK(w, r) {
			h.login(w, r)
		}
		return
	}
	ss, ok := h.authenticate(w, r)
	if !ok || !csrfOK(w, r) {
		return
	}
	seg := strings.SplitN(rest, "/", 4) // "buckets", bucket, "objects", key
	m := r.Method
	switch {
	case rest == "logout" && m == http.MethodPost:
		h.logout(w, r)
	case rest == "session" && m == http.MethodGet:
		writeJSON(w, http.StatusOK, sessionInfo{AccessKey: ss.accessKey, Expires: ss.expires.UTC()})
	case rest == "health" && m == http.MethodGet:
		h.serveHealth(w, r)
	case rest == "buckets" && m == http.MethodGet:
		h.listBuckets(w, r)
	case rest == "buckets" && m == http.MethodPost:
		h.makeBucket(w, r)
	case len(seg) == 2 && seg[0] == "buckets" && m == http.MethodDelete:
		if b, ok := unescape(w, seg[1]); ok {
			h.deleteBucket(w, r, b)
		}
	case len(seg) == 3 && seg[0] == "buckets" && seg[2] == "objects" && m == http.MethodGet:
		if b, ok := unescape(w, seg[1]); ok {
			h.listObjects(w, r, b)
		}
	case len(seg) == 4 && seg[0] == "buckets" && seg[2] == "objects":
		b, ok := unescape(w, seg[1])
		if !ok {
			return
		}
		key, ok := unescape(w, seg[3])
		if !ok {
			return
		}
		if !validKey(w, key) {
			return
		}
		switch m {
		case http.MethodPut:
			h.putObject(w, r, b, key)
		case http.MethodGet, http.MethodHead:
			h.getObject(w, r, b, key)
		case http.MethodDelete:
			h.deleteObject(w, r, b, key)
		default:
			writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", m+" is not allowed on an object")
		}
	default:
		writeError(w, http.StatusNotFound, "NoSuchCall", "no console API call "+m+" "+rest)
	}
}

func unescape(w http.ResponseWriter, s string) (string, bool) {
	u, err := url.PathUnescape(s)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadPath", "malformed escape in the request path")
		return "", false
	}
	return u, true
}

func validKey(w http.ResponseWriter, key string) bool {
	switch {
	case key == "", len(key) > s3api.MaxKeyLength, !utf8.ValidString(key), strings.IndexByte(key, 0) >= 0:
		writeError(w, http.StatusBadRequest, "InvalidObjectName", "an object key is 1 to 1024 bytes of UTF-8 without NUL")
		return false
	}
	return true
}

type bucketJSON struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

func (h *Handler) listBuckets(w http.ResponseWriter, r *http.Request) {
	bs, err := h.layer.ListBuckets(r.Context())
	if err != nil {
		h.writeLayerError(w, r, err)
		return
	}
	out := make([]bucketJSON, 0, len(bs))
	for _, b := range bs {
		out = append(out, bucketJSON{Name: b.Name, Created: b.Created.UTC()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"buckets": out})
}

func (h *Handler) makeBucket(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if !s3api.ValidBucketName(req.Name) {
		writeError(w, http.StatusBadRequest, "InvalidBucketName",
			"a bucket name is 3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit")
		return
	}
	if err := h.layer.MakeBucket(r.Context(), req.Name); err != nil {
		h.writeLayerError(w, r, err)
		return
	}
	h.log.Info("console: bucket created", "bucket", req.Name, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusCreated, bucketJSON{Name: req.Name, Created: h.now().UTC()})
}

func (h *Handler) deleteBucket(w http.ResponseWriter, r *http.Request, bucket string) {
	if !s3api.ValidBucketName(bucket) {
		writeError(w, http.StatusBadRequest, "InvalidBucketName", "not a valid bucket name")
		return
	}
	if err := h.layer.DeleteBucket(r.Context(), bucket); err != nil {
		h.writeLayerError(w, r, err)
		return
	}
	h.log.Info("console: bucket deleted", "bucket", bucket, "remote", r.RemoteAddr)
	w.WriteHeader(http.StatusNoContent)
}

type objectJSON struct {
	Key         string    `json:"key"`
	Size        int64     `json:"size"`
	ETag        string    `json:"etag"`
	Modified    time.Time `json:"modified"`
	ContentType string    `json:"contentType,omitempty"`
}

type listJSON struct {
	Objects   []objectJSON `json:"objects"`
	Prefixes  []string     `json:"prefixes"`
	Truncated bool         `json:"truncated"`
	// Next is the "after" of the next page when Truncated.
	Next string `json:"next,omitempty"`
}

// listObjects lists one level of a bucket: the keys directly under prefix
// and the "folders" (common prefixes up to the next '/').
func (h *Handler) listObjects(w http.ResponseWriter, r *http.Request, bucket string) {
	q := r.URL.Query()
	max := maxListKeys
	if s := q.Get("max"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "InvalidArgument", "max is a positive number")
			return
		}
		max = min(n, maxListKeys)
	}
	res, err := h.layer.ListObjects(r.Context(), bucket, s3api.ListParams{
		Prefix: q.Get("prefix"), Delimiter: "/", After: q.Get("after"), MaxKeys: max,
	})
	if err != nil {
		h.writeLayerError(w, r, err)
		return
	}
	out := listJSON{Objects: make([]objectJSON, 0, len(res.Objects)), Prefixes: res.Prefixes, Truncated: res.IsTruncated}
	if out.Prefixes == nil {
		out.Prefixes = []string{}
	}
	for _, o := range res.Objects {
		out.Objects = append(out.Objects, objectJSON{Key: o.Key, Size: o.Size, ETag: o.ETag, Modified: o.ModTime.UTC(), ContentType: o.ContentType})
	}
	if res.IsTruncated {
		out.Next = res.NextAfter
	}
	writeJSON(w, http.StatusOK, out)
}

// putObject streams the request body into the layer; nothing is buffered
// beyond what the layer itself holds for one stripe.
func (h *Handler) putObject(w http.ResponseWriter, r *http.Request, bucket, key string) {
	size := r.ContentLength
	if size > maxPutSize {
		writeError(w, http.StatusRequestEntityTooLarge, "EntityTooLarge", "one upload is at most 5 GiB")
		return
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" || len(ct) > 256 {
		ct = "application/octet-stream"
	} else if _, _, err := mime.ParseMediaType(ct); err != nil {
		ct = "application/octet-stream"
	}
	body := http.MaxBytesReader(w, r.Body, maxPutSize)
	info, err := h.layer.PutObject(r.Context(), bucket, key, body, size, s3api.PutOptions{ContentType: ct})
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "EntityTooLarge", "one upload is at most 5 GiB")
			return
		}
		h.writeLayerError(w, r, err)
		return
	}
	h.log.Info("console: object uploaded", "bucket", bucket, "key", key, "size", info.Size, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, objectJSON{Key: key, Size: info.Size, ETag: info.ETag, Modified: info.ModTime.UTC(), ContentType: info.ContentType})
}

// getObject streams the object as a download. It is always sent as
// application/octet-stream with a sandbox policy, so an uploaded HTML file
// can never run as a page of the console's origin.
func (h *Handler) getObject(w http.ResponseWriter, r *http.Request, bucket, key string) {
	obj, err := h.layer.OpenObject(r.Context(), bucket, key)
	if err != nil {
		h.writeLayerError(w, r, err)
		return
	}
	info := obj.Info()
	hdr := w.Header()
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	hdr.Set("Content-Disposition", attachment(path.Base(key)))
	hdr.Set("Content-Security-Policy", "sandbox")
	if info.ETag != "" {
		hdr.Set("ETag", `"`+info.ETag+`"`)
	}
	if !info.ModTime.IsZero() {
		hdr.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead || info.Size == 0 {
		return
	}
	if err := obj.Read(r.Context(), w, 0, info.Size); err != nil && r.Context().Err() == nil {
		// The status is sent; the client sees a short body.
		h.log.Error("console: download failed midway", "bucket", bucket, "key", key, "err", err)
	}
}

// attachment is a Content-Disposition header naming the file, with an
// ASCII fallback and the exact UTF-8 name (RFC 6266, RFC 8187).
func attachment(name string) string {
	ascii := strings.Map(func(c rune) rune {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '/' {
			return '_'
		}
		return c
	}, name)
	var ext strings.Builder
	for _, b := range []byte(name) {
		if b < 0x80 && (b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("!#$&+-.^_`|~", b) >= 0) {
			ext.WriteByte(b)
		} else {
			fmt.Fprintf(&ext, "%%%02X", b)
		}
	}
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, ext.String())
}

func (h *Handler) deleteObject(w http.ResponseWriter, r *http.Request, bucket, key string) {
	if err := h.layer.DeleteObject(r.Context(), bucket, key); err != nil {
		h.writeLayerError(w, r, err)
		return
	}
	h.log.Info("console: object deleted", "bucket", bucket, "key", key, "remote", r.RemoteAddr)
	w.WriteHeader(http.StatusNoContent)
}
