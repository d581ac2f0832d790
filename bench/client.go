package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// Payload hashes sent in X-Amz-Content-Sha256: request bodies are never
// hashed, and requests without one carry the hash of nothing.
const (
	unsignedPayload = "UNSIGNED-PAYLOAD"
	emptySHA256     = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// S3Error is a non-2xx answer of the endpoint.
type S3Error struct {
	Op         string // "PUT obj-00000001", "CreateBucket", ...
	StatusCode int
	Code       string // S3 error code, or "HTTP<status>" when the body has none
	Message    string
}

func (e *S3Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("bench: %s: %d %s: %s", e.Op, e.StatusCode, e.Code, msg)
}

// Error codes for failures that are not S3 error answers.
const (
	CodeNetwork        = "NetworkError"   // the request did not complete
	CodeTimeout        = "Timeout"        // RequestTimeout passed
	CodeVerifyMismatch = "VerifyMismatch" // a GET returned other bytes than were PUT
	CodeSizeMismatch   = "SizeMismatch"   // a GET returned another length than was PUT
	CodeListMismatch   = "ListMismatch"   // a LIST or LISTVERSIONS walk found another number of objects than expected
	CodeBadResponse    = "BadResponse"    // a 2xx answer bench could not read
)

// errBadResponse marks a 2xx answer that could not be decoded.
var errBadResponse = errors.New("bench: bad response")

// client signs and sends the few S3 requests bench needs. It holds no
// per-request state and is shared by every worker.
type client struct {
	hc        *http.Client
	base      *url.URL // endpoint, path style
	bucket    string
	accessKey string
	secretKey string
	region    string
	sse       string // x-amz-server-side-encryption of object PUTs ("": none)
}

func newClient(cfg *Config) (*client, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	u.Path, u.RawPath = "", ""
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          2 * cfg.Concurrency,
		MaxIdleConnsPerHost:   cfg.Concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		// Larger socket buffers than net/http's 4 KiB: fewer syscalls
		// per MiB moved.
		WriteBufferSize: 64 << 10,
		ReadBufferSize:  64 << 10,
	}
	if cfg.Insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return &client{
		hc:        &http.Client{Transport: tr, Timeout: cfg.RequestTimeout},
		base:      u,
		bucket:    cfg.Bucket,
		sse:       cfg.SSE,
		accessKey: cfg.AccessKey,
		secretKey: cfg.SecretKey,
		region:    cfg.Region,
	}, nil
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// do signs and sends one request on the bucket (key "" addresses the bucket
// itself). A non-2xx answer is returned as *S3Error, its body consumed;
// otherwise the caller owns resp.Body.
func (c *client) do(ctx context.Context, op, method, key string, query url.Values, body []byte) (*http.Response, error) {
	u := *c.base
	u.Path = "/" + c.bucket
	if key != "" {
		u.Path += "/" + key
	}
	if query != nil {
		u.RawQuery = query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body) // sets ContentLength and GetBody
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
		if c.sse != "" && method == http.MethodPut && key != "" && query == nil {
			req.Header.Set("X-Amz-Server-Side-Encryption", c.sse)
		}
	} else {
		req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	}
	req = signer.SignV4(*req, c.accessKey, c.secretKey, "", c.region)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	e := &S3Error{Op: op, StatusCode: resp.StatusCode}
	var x struct {
		Code    string
		Message string
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	if xml.Unmarshal(data, &x) == nil && x.Code != "" {
		e.Code, e.Message = x.Code, x.Message
	} else {
		e.Code = "HTTP" + strconv.Itoa(resp.StatusCode)
	}
	return nil, e
}

// put writes one object from data.
func (c *client) put(ctx context.Context, key string, data []byte) error {
	if data == nil {
		data = []byte{} // a body, even if empty, so Content-Length: 0 is sent
	}
	resp, err := c.do(ctx, "PUT "+key, http.MethodPut, key, nil, data)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// get opens one object; the caller drains and closes the body.
func (c *client) get(ctx context.Context, key string) (*http.Response, error) {
	return c.do(ctx, "GET "+key, http.MethodGet, key, nil, nil)
}

// del deletes one object.
func (c *client) del(ctx context.Context, key string) error {
	resp, err := c.do(ctx, "DELETE "+key, http.MethodDelete, key, nil, nil)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// pageBufs recycles the buffers LIST answers are read into.
var pageBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// list fetches one ListObjectsV2 page of up to maxKeys keys under prefix.
func (c *client) list(ctx context.Context, prefix, token string, maxKeys int) (listPage, error) {
	q := url.Values{"list-type": {"2"}, "prefix": {prefix}, "max-keys": {strconv.Itoa(maxKeys)}}
	if token != "" {
		q.Set("continuation-token", token)
	}
	page, err := fetchPage(ctx, c, "LIST "+prefix, q, parseListPage)
	if err == nil && page.IsTruncated && page.NextContinuationToken == "" {
		err = fmt.Errorf("%w: LIST %s: truncated page without a continuation token", errBadResponse, prefix)
	}
	return page, err
}

// listVersions fetches one ListObjectVersions page of up to maxKeys
// versions and delete markers under prefix, after version vidMarker of
// keyMarker ("" and "": from the start).
func (c *client) listVersions(ctx context.Context, prefix, keyMarker, vidMarker string, maxKeys int) (versionsPage, error) {
	q := url.Values{"versions": {""}, "prefix": {prefix}, "max-keys": {strconv.Itoa(maxKeys)}}
	if keyMarker != "" {
		q.Set("key-marker", keyMarker)
		if vidMarker != "" {
			q.Set("version-id-marker", vidMarker)
		}
	}
	page, err := fetchPage(ctx, c, "LISTVERSIONS "+prefix, q, parseVersionsPage)
	if err == nil && page.IsTruncated && page.NextKeyMarker == "" {
		err = fmt.Errorf("%w: LISTVERSIONS %s: truncated page without a next key marker", errBadResponse, prefix)
	}
	return page, err
}

// fetchPage sends a GET on the bucket with query q and decodes the answer
// with parse.
func fetchPage[P any](ctx context.Context, c *client, op string, q url.Values, parse func([]byte) (P, error)) (P, error) {
	var page P
	resp, err := c.do(ctx, op, http.MethodGet, "", q, nil)
	if err != nil {
		return page, err
	}
	defer resp.Body.Close()
	buf := pageBufs.Get().(*bytes.Buffer)
	defer pageBufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return page, err
	}
	if page, err = parse(buf.Bytes()); err != nil {
		return page, fmt.Errorf("%w: %s: %w", errBadResponse, op, err)
	}
	return page, nil
}

// ensureBucket creates the bucket unless it exists; created says whether
// this run made it (and so may remove it at the end).
func (c *client) ensureBucket(ctx context.Context) (created bool, err error) {
	resp, err := c.do(ctx, "HeadBucket "+c.bucket, http.MethodHead, "", nil, nil)
	if err == nil {
		return false, resp.Body.Close()
	}
	// Not found, or forbidden: CreateBucket answers with an error code
	// (HEAD answers have no body to carry one).
	var body []byte
	if c.region != "us-east-1" {
		body = []byte("<CreateBucketConfiguration><LocationConstraint>" + c.region + "</LocationConstraint></CreateBucketConfiguration>")
	}
	resp, err = c.do(ctx, "CreateBucket "+c.bucket, http.MethodPut, "", nil, body)
	var e *S3Error
	if errors.As(err, &e) && e.Code == "BucketAlreadyOwnedByYou" {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return true, resp.Body.Close()
}

// deleteBucket removes the (empty) bucket.
func (c *client) deleteBucket(ctx context.Context) error {
	resp, err := c.do(ctx, "DeleteBucket "+c.bucket, http.MethodDelete, "", nil, nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// errorCode classifies a failed request for the report.
func errorCode(err error) string {
	var e *S3Error
	var ne net.Error
	switch {
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return CodeTimeout
	case errors.Is(err, errBadResponse):
		return CodeBadResponse
	}
	return CodeNetwork
}
