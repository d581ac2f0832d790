package s3compat

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// encLayer is a memLayer that "encrypts": it records the encryption each
// write asked for, answers it in Info, and keeps SSE-C keys to check the
// reads' (a stand-in for the gateway, for the front end's header rules).
type encLayer struct {
	*memLayer
	keys map[string][]byte // object -> its customer key
	last s3api.Encryption  // the last write's request
}

func (l *encLayer) CanEncrypt(method string) error {
	if method == s3api.SSEKMS {
		return s3api.ErrNotImplemented
	}
	return nil
}

func (l *encLayer) PutObject(ctx context.Context, bucket, key string, body io.Reader, size int64, opts s3api.PutOptions) (s3api.ObjectInfo, error) {
	l.last = opts.SSE
	info, err := l.memLayer.PutObject(ctx, bucket, key, body, size, opts)
	if err != nil {
		return info, err
	}
	info.Encryption.Method = opts.SSE.Method
	if opts.SSE.CustomerKey != nil {
		info.Encryption.Method = s3api.SSEC
		l.keys[bucket+"/"+key] = opts.SSE.CustomerKey
	}
	l.mu.Lock()
	o := l.objects[bucket+"/"+key]
	o.info = info
	l.objects[bucket+"/"+key] = o
	l.mu.Unlock()
	return info, nil
}

type encOpened struct {
	memOpened
	key  []byte
	used []byte
}

func (o *encOpened) UseCustomerKey(k []byte) error {
	if o.key == nil || k == nil {
		return s3api.ErrInvalidRequest
	}
	if !bytes.Equal(k, o.key) {
		return s3api.ErrAccessDenied
	}
	o.used = k
	return nil
}

func (o *encOpened) Read(ctx context.Context, w io.Writer, off, n int64) error {
	if o.key != nil && o.used == nil {
		return s3api.ErrInvalidRequest
	}
	return o.memOpened.Read(ctx, w, off, n)
}

func (l *encLayer) OpenObject(ctx context.Context, bucket, key string) (s3api.Object, error) {
	o, err := l.memLayer.OpenObject(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	return &encOpened{memOpened: o.(memOpened), key: l.keys[bucket+"/"+key]}, nil
}

// ssecHeaders are the three SSE-C headers of key under prefix.
func ssecHeaders(prefix string, key []byte) map[string]string {
	sum := md5.Sum(key)
	return map[string]string{
		prefix + "algorithm": "AES256",
		prefix + "key":       base64.StdEncoding.EncodeToString(key),
		prefix + "key-MD5":   base64.StdEncoding.EncodeToString(sum[:]),
	}
}

func merged(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestSSEHeaders: the front end's encryption rules over an encrypting
// layer: what a write asks for reaches the layer, the SSE-C key's MD5 and
// TLS are required, reads of an SSE-C object need its key (400 without,
// 403 with another), and answers say how the object is stored.
func TestSSEHeaders(t *testing.T) {
	key := bytes.Repeat([]byte{9}, 32)
	other := bytes.Repeat([]byte{8}, 32)
	badMD5 := ssecHeaders(ssecPrefix, key)
	badMD5[ssecPrefix+"key-MD5"] = base64.StdEncoding.EncodeToString(make([]byte, 16))
	short := ssecHeaders(ssecPrefix, key)
	short[ssecPrefix+"key"] = base64.StdEncoding.EncodeToString(key[:16])
	h := headerMap
	src := h("x-amz-copy-source", "/bkt/c")
	tests := []struct {
		name       string
		req        testRequest
		https      bool
		status     int
		code       string
		wantMethod string // the encryption the layer saw, for 200 writes
		wantHeader [2]string
	}{
		{name: "put AES256", req: testRequest{method: "PUT", target: "/bkt/a", header: h(sseHeader, "AES256")}, status: 200, wantMethod: "AES256", wantHeader: [2]string{sseHeader, "AES256"}},
		{name: "put aws:kms", req: testRequest{method: "PUT", target: "/bkt/a", header: h(sseHeader, "aws:kms", sseKMSKeyHeader, "k")}, status: 200, wantMethod: "aws:kms"},
		{name: "put dsse", req: testRequest{method: "PUT", target: "/bkt/a", header: h(sseHeader, "aws:kms:dsse")}, status: 501, code: "NotImplemented"},
		{name: "put unknown method", req: testRequest{method: "PUT", target: "/bkt/a", header: h(sseHeader, "rot13")}, status: 400, code: "InvalidArgument"},
		{name: "put kms key without aws:kms", req: testRequest{method: "PUT", target: "/bkt/a", header: h(sseKMSKeyHeader, "k")}, status: 400, code: "InvalidArgument"},
		{name: "put AES256 with kms key", req: testRequest{method: "PUT", target: "/bkt/a", header: h(sseHeader, "AES256", sseKMSKeyHeader, "k")}, status: 400, code: "InvalidArgument"},
		{name: "put bucket key", req: testRequest{method: "PUT", target: "/bkt/a", header: h(sseHeader, "AES256", sseBucketKey, "true")}, status: 501, code: "NotImplemented"},
		{name: "put sse-c over http", req: testRequest{method: "PUT", target: "/bkt/a", header: ssecHeaders(ssecPrefix, key)}, status: 400, code: "InvalidRequest"},
		{name: "put sse-c", req: testRequest{method: "PUT", target: "/bkt/a", header: ssecHeaders(ssecPrefix, key)}, https: true, status: 200, wantMethod: "C", wantHeader: [2]string{ssecPrefix + "algorithm", "AES256"}},
		{name: "put sse-c bad md5", req: testRequest{method: "PUT", target: "/bkt/a", header: badMD5}, https: true, status: 400, code: "InvalidArgument"},
		{name: "put sse-c short key", req: testRequest{method: "PUT", target: "/bkt/a", header: short}, https: true, status: 400, code: "InvalidArgument"},
		{name: "put sse-c and AES256", req: testRequest{method: "PUT", target: "/bkt/a", header: merged(ssecHeaders(ssecPrefix, key), h(sseHeader, "AES256"))}, https: true, status: 400, code: "InvalidArgument"},
		{name: "get sse-c without key", req: testRequest{method: "GET", target: "/bkt/c"}, https: true, status: 400, code: "InvalidRequest"},
		{name: "head sse-c without key", req: testRequest{method: "HEAD", target: "/bkt/c"}, https: true, status: 400},
		{name: "get sse-c other key", req: testRequest{method: "GET", target: "/bkt/c", header: ssecHeaders(ssecPrefix, other)}, https: true, status: 403, code: "AccessDenied"},
		{name: "get sse-c", req: testRequest{method: "GET", target: "/bkt/c", header: ssecHeaders(ssecPrefix, key)}, https: true, status: 200, wantHeader: [2]string{ssecPrefix + "key-MD5", ssecHeaders(ssecPrefix, key)[ssecPrefix+"key-MD5"]}},
		{name: "get sse-c over http", req: testRequest{method: "GET", target: "/bkt/c", header: ssecHeaders(ssecPrefix, key)}, status: 400, code: "InvalidRequest"},
		{name: "get plain with a key", req: testRequest{method: "GET", target: "/bkt/p", header: ssecHeaders(ssecPrefix, key)}, https: true, status: 400, code: "InvalidRequest"},
		{name: "get plain", req: testRequest{method: "GET", target: "/bkt/p"}, status: 200},
		{name: "copy sse-c source without key", req: testRequest{method: "PUT", target: "/bkt/d", header: src}, https: true, status: 400, code: "InvalidRequest"},
		{name: "copy sse-c source to AES256", req: testRequest{method: "PUT", target: "/bkt/d", header: merged(src, ssecHeaders(copySSECPrefix, key), h(sseHeader, "AES256"))}, https: true, status: 200, wantMethod: "AES256", wantHeader: [2]string{sseHeader, "AES256"}},
		{name: "copy sse-c source wrong key", req: testRequest{method: "PUT", target: "/bkt/d", header: merged(src, ssecHeaders(copySSECPrefix, other))}, https: true, status: 403, code: "AccessDenied"},
		{name: "copy onto itself changing encryption", req: testRequest{method: "PUT", target: "/bkt/p", header: h("x-amz-copy-source", "/bkt/p", sseHeader, "AES256")}, status: 200, wantMethod: "AES256"},
		{name: "copy sse-c onto itself, decrypting", req: testRequest{method: "PUT", target: "/bkt/c", header: merged(h("x-amz-copy-source", "/bkt/c"), ssecHeaders(copySSECPrefix, key))}, https: true, status: 200, wantMethod: ""},
		{name: "copy onto itself unchanged", req: testRequest{method: "PUT", target: "/bkt/p", header: h("x-amz-copy-source", "/bkt/p")}, status: 400, code: "InvalidRequest"},
		{name: "attributes sse-c without key", req: testRequest{method: "GET", target: "/bkt/c?attributes", header: h("x-amz-object-attributes", "ETag")}, https: true, status: 400, code: "InvalidRequest"},
		{name: "put bucket encryption AES256", req: testRequest{method: "PUT", target: "/bkt?encryption", body: `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`}, status: 501, code: "NotImplemented"}, // memLayer keeps no settings
		{name: "put bucket encryption kms", req: testRequest{method: "PUT", target: "/bkt?encryption", body: `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`}, status: 501, code: "NotImplemented"},
		{name: "put bucket encryption bad", req: testRequest{method: "PUT", target: "/bkt?encryption", body: `<ServerSideEncryptionConfiguration><Rule></Rule></ServerSideEncryptionConfiguration>`}, status: 400, code: "MalformedXML"},
		{name: "get bucket encryption unset", req: testRequest{method: "GET", target: "/bkt?encryption"}, status: 404, code: "ServerSideEncryptionConfigurationNotFoundError"},
	}
	for _, tc := range tests {
		mem := newMemLayer("bkt")
		layer := &encLayer{memLayer: mem, keys: map[string][]byte{}}
		mem.objects["bkt/c"] = memObject{info: s3api.ObjectInfo{Bucket: "bkt", Key: "c", ETag: "e", Size: 3, Encryption: s3api.ObjectEncryption{Method: s3api.SSEC}}, data: []byte("abc")}
		layer.keys["bkt/c"] = key
		mem.objects["bkt/p"] = memObject{info: s3api.ObjectInfo{Bucket: "bkt", Key: "p", ETag: "e2", Size: 3}, data: []byte("xyz")}
		s, _ := newTestServer(layer, Config{})
		rec := doOver(s, tc.req, tc.https)
		checkStatus(t, tc.name, rec, tc.status, tc.code)
		if tc.status == 200 && tc.req.method == "PUT" {
			got := layer.last.Method
			if layer.last.CustomerKey != nil {
				got = "C"
			}
			if got != tc.wantMethod {
				t.Errorf("%s: the layer was asked for %q, want %q", tc.name, got, tc.wantMethod)
			}
		}
		if w := tc.wantHeader; w[0] != "" && rec.Header().Get(w[0]) != w[1] {
			t.Errorf("%s: %s: %q, want %q", tc.name, w[0], rec.Header().Get(w[0]), w[1])
		}
	}
}

// FuzzSSEHeaders: any encryption headers give a valid request or an S3
// error, never a panic; a customer key that passes is 32 bytes.
func FuzzSSEHeaders(f *testing.F) {
	h := ssecHeaders(ssecPrefix, bytes.Repeat([]byte{1}, 32))
	f.Add("AES256", "", "", h[ssecPrefix+"algorithm"], h[ssecPrefix+"key"], h[ssecPrefix+"key-MD5"], true)
	f.Add("aws:kms", "key", "eyJhIjoiYiJ9", "", "", "", false)
	f.Add("", "", "not base64", "AES256", "!!", "", true)
	f.Fuzz(func(t *testing.T, method, kmsKey, ctx, alg, key, sum string, secure bool) {
		hdr := make(map[string][]string)
		set := func(k, v string) {
			if v != "" {
				hdr[textprotoKey(k)] = []string{v}
			}
		}
		set(sseHeader, method)
		set(sseKMSKeyHeader, kmsKey)
		set(sseContextHeader, ctx)
		set(ssecPrefix+"algorithm", alg)
		set(ssecPrefix+"key", key)
		set(ssecPrefix+"key-MD5", sum)
		enc, err := writeEncryption(hdr, secure)
		if err != nil {
			var ae *s3api.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("a non-S3 error: %v", err)
			}
			return
		}
		if enc.CustomerKey != nil && (len(enc.CustomerKey) != 32 || !secure) {
			t.Fatalf("customer key of %d bytes accepted (secure %v)", len(enc.CustomerKey), secure)
		}
		if enc.Method != "" && enc.Method != s3api.SSES3 && enc.Method != s3api.SSEKMS {
			t.Fatalf("method %q accepted", enc.Method)
		}
	})
}

func textprotoKey(k string) string { return http.CanonicalHeaderKey(k) }
