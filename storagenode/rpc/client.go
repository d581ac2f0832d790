package rpc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

// Client is a Drive served by another process through the internode
// API (NewHandler). It behaves like the drive it reaches, with these
// additions:
//
//   - Names are validated before any I/O, as every Drive does.
//   - A node that cannot be reached, does not answer within CallTimeout,
//     refuses our signature (ErrUnauthorized), or does not speak the
//     protocol fails the call with ErrDriveOffline, wrapped with the drive,
//     the address and the cause.
//   - A shard writer is one streaming HTTP request that lives within the
//     context given to CreateShard; a shard reader's ReadAt calls are
//     requests bounded by the context given to OpenShard and CallTimeout
//     each. A reader sees the shard as committed when each ReadAt runs; if
//     the shard was replaced by one of another size meanwhile, ReadAt fails
//     with ErrShardNotFound.
//   - Close ends calls in flight and makes later calls fail with
//     ErrDriveOffline; the remote drive stays open.
type Client struct {
	id        string
	base      url.URL // scheme and host
	where     string  // "storagenode: drive <id> at <base>", for errors
	opts      Options
	auth      *authenticator
	client    *http.Client
	ownClient bool

	closeCtx context.Context // canceled by Close
	cancel   context.CancelFunc
	closed   atomic.Bool
}

var _ storagenode.Drive = (*Client)(nil)

// NewClient returns the drive driveID served at baseURL
// ("http://host:port" or "https://host:port"). It does no I/O: an
// unreachable node shows in the first call. It panics if opts.Validate
// fails or baseURL is not an http(s) URL without a path: check them first
// to get an error.
func NewClient(baseURL, driveID string, opts Options) *Client {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
		panic(fmt.Sprintf("rpc.NewClient: base URL %q: want http(s)://host:port", baseURL))
	}
	d := &Client{
		id:     driveID,
		base:   url.URL{Scheme: u.Scheme, Host: u.Host},
		where:  "storagenode: drive " + driveID + " at " + u.Scheme + "://" + u.Host,
		opts:   opts,
		auth:   newAuthenticator(&opts, false),
		client: opts.Client,
	}
	if d.client == nil {
		d.client = NewHTTPClient(opts)
		d.ownClient = true
	}
	d.closeCtx, d.cancel = context.WithCancel(context.Background())
	return d
}

// ID returns the drive's identity (as given to NewClient).
func (d *Client) ID() string { return d.id }

// URL returns the base URL of the node serving the drive.
func (d *Client) URL() string { return d.base.String() }

// Close ends the calls and shard streams in flight and makes later calls
// fail with ErrDriveOffline. It does not close the remote drive. A second
// Close returns nil.
func (d *Client) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	d.cancel()
	if d.ownClient {
		d.client.CloseIdleConnections()
	}
	return nil
}

// Ping checks that the node answers, accepts our signature and serves the
// drive.
func (d *Client) Ping(ctx context.Context) error {
	var res pingResult
	if err := d.get(ctx, "ping", mPing, nil, &res); err != nil {
		return err
	}
	if res.ID != d.id {
		return fmt.Errorf("%s: ping: answered by drive %q: %w", d.where, res.ID, storagenode.ErrDriveOffline)
	}
	return nil
}

// check fails a call that must not start: canceled context, closed drive.
func (d *Client) check(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %s: %w", d.where, op, err)
	}
	if d.closed.Load() {
		return fmt.Errorf("%s: %s: drive closed: %w", d.where, op, storagenode.ErrDriveOffline)
	}
	return nil
}

// callContext bounds a call by CallTimeout and by Close.
func (d *Client) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.CallTimeout)
	stop := context.AfterFunc(d.closeCtx, cancel)
	return ctx, func() { stop(); cancel() }
}

// netErr classifies a failed exchange: the caller's context ended (its
// error), the drive was closed, or the node is unreachable, too slow or
// broke the connection (ErrDriveOffline, wrapping the cause).
func (d *Client) netErr(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s: %s: %w", d.where, op, cerr)
	}
	if d.closed.Load() {
		return fmt.Errorf("%s: %s: drive closed: %w", d.where, op, storagenode.ErrDriveOffline)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is in d.where already
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within %v: %w", d.opts.CallTimeout, err)
	}
	return fmt.Errorf("%s: %s: %w: %w", d.where, op, storagenode.ErrDriveOffline, err)
}

// url returns the URL of a method of this drive.
func (d *Client) url(method string, q url.Values) *url.URL {
	u := d.base
	u.Path = drivePrefix + d.id + "/" + method
	u.RawPath = drivePrefix + url.PathEscape(d.id) + "/" + method
	u.RawQuery = q.Encode()
	return &u
}

// do sends a signed request within ctx, CallTimeout and Close, and returns
// the response of a successful call (status below 300) with the function
// that releases its context (call it once the body is read), or the call's
// error.
func (d *Client) do(ctx context.Context, op, httpMethod, method string, q url.Values, body []byte) (*http.Response, context.CancelFunc, error) {
	return d.send(ctx, op, httpMethod, d.url(method, q), body)
}

// send is do for any URL of the node.
func (d *Client) send(ctx context.Context, op, httpMethod string, u *url.URL, body []byte) (*http.Response, context.CancelFunc, error) {
	if err := d.check(ctx, op); err != nil {
		return nil, nil, err
	}
	cctx, cancel := d.callContext(ctx)
	return d.sendIn(ctx, cctx, cancel, op, httpMethod, u, body)
}

// sendIn is send with the request's context cctx (derived from ctx) and its
// cancel function made by the caller: called here on failure, else handed
// back with the response.
func (d *Client) sendIn(ctx, cctx context.Context, cancel context.CancelFunc, op, httpMethod string, u *url.URL, body []byte) (*http.Response, context.CancelFunc, error) {
	req, err := http.NewRequestWithContext(cctx, httpMethod, "", nil)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("%s: %s: %w", d.where, op, err)
	}
	req.URL = withFence(ctx, u)
	req.Host = d.base.Host
	content := emptySHA256
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		sum := sha256.Sum256(body)
		content = hex.EncodeToString(sum[:])
		req.Header.Set("Content-Type", wireContentType)
	}
	d.auth.sign(req, content)
	resp, err := d.client.Do(req)
	if err != nil {
		cancel()
		return nil, nil, d.netErr(ctx, op, err)
	}
	if resp.StatusCode >= 300 {
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		cancel()
		if rerr != nil {
			return nil, nil, d.netErr(ctx, op, rerr)
		}
		return nil, nil, newRemoteError(d.where, op, resp.StatusCode, b)
	}
	return resp, cancel, nil
}

// post runs a metadata call: args as the body (CBOR), the answer decoded
// into result (nil: no answer expected).
func (d *Client) post(ctx context.Context, op, method string, args, result any) error {
	body, err := storagenode.MarshalRecord(args)
	if err != nil {
		return fmt.Errorf("%s: %s: encoding arguments: %w", d.where, op, err)
	}
	return d.exchange(ctx, op, http.MethodPost, method, nil, body, result)
}

// get runs a GET call with query parameters, decoding the answer into result.
func (d *Client) get(ctx context.Context, op, method string, q url.Values, result any) error {
	return d.exchange(ctx, op, http.MethodGet, method, q, nil, result)
}

func (d *Client) exchange(ctx context.Context, op, httpMethod, method string, q url.Values, body []byte, result any) error {
	resp, cancel, err := d.do(ctx, op, httpMethod, method, q, body)
	if err != nil {
		return err
	}
	defer cancel()
	defer resp.Body.Close()
	if result != nil && resp.StatusCode != http.StatusNoContent {
		if err := decodeWire(resp.Body, resp.Header.Get("Content-Type"), result); err != nil {
			return d.netErr(ctx, op, fmt.Errorf("decoding the answer: %w", err))
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body) // lets the connection be reused
	return nil
}

func (d *Client) MakeBucket(ctx context.Context, bucket string, created time.Time) error {
	if err := storagenode.CheckBucket(bucket); err != nil {
		return err
	}
	return d.post(ctx, "make bucket "+bucket, mMakeBucket, bucketArgs{Bucket: bucket, Created: created}, nil)
}

func (d *Client) DeleteBucket(ctx context.Context, bucket string) error {
	if err := storagenode.CheckBucket(bucket); err != nil {
		return err
	}
	return d.post(ctx, "delete bucket "+bucket, mDeleteBucket, bucketArgs{Bucket: bucket}, nil)
}

func (d *Client) StatBucket(ctx context.Context, bucket string) (storagenode.BucketInfo, error) {
	if err := storagenode.CheckBucket(bucket); err != nil {
		return storagenode.BucketInfo{}, err
	}
	var bi storagenode.BucketInfo
	err := d.post(ctx, "stat bucket "+bucket, mStatBucket, bucketArgs{Bucket: bucket}, &bi)
	return bi, err
}

func (d *Client) ListBuckets(ctx context.Context) ([]storagenode.BucketInfo, error) {
	var out []storagenode.BucketInfo
	err := d.post(ctx, "list buckets", mListBuckets, struct{}{}, &out)
	return out, err
}

func (d *Client) DeleteVersion(ctx context.Context, bucket, versionDir string) error {
	if err := storagenode.CheckVersionDir(bucket, versionDir); err != nil {
		return err
	}
	return d.post(ctx, "delete version "+bucket+"/"+versionDir, mDeleteVersion, versionArgs{Bucket: bucket, Dir: versionDir}, nil)
}

func (d *Client) DeleteShard(ctx context.Context, ref storagenode.ShardRef) error {
	if err := storagenode.CheckRef(ref); err != nil {
		return err
	}
	return d.post(ctx, "delete shard "+ref.String(), mDeleteShard, ref, nil)
}

func (d *Client) PutMetaIf(ctx context.Context, m *storagenode.ObjectMeta, expect string) (*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckMeta(m); err != nil {
		return nil, err
	}
	var res prevMetaResult
	if err := d.post(ctx, "put meta if "+m.Bucket+"/"+m.Key, mPutMetaIf, putMetaIfArgs{Meta: m, Expect: expect}, &res); err != nil {
		return nil, err
	}
	return res.Prev, nil
}

func (d *Client) RewriteMeta(ctx context.Context, m *storagenode.ObjectMeta, layout int64) (*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckMeta(m); err != nil {
		return nil, err
	}
	var res prevMetaResult
	err := d.post(ctx, "rewrite meta "+m.Bucket+"/"+m.Key, mRewriteMeta, rewriteMetaArgs{Meta: m, Layout: layout}, &res)
	if unknownMethod(err) {
		return d.rewriteOnOldNode(ctx, m)
	}
	if err != nil {
		return nil, err
	}
	return res.Prev, nil
}

// rewriteOnOldNode is RewriteMeta on a node from before it (during an
// upgrade), as gateways did it then: a compare-and-set on the current
// version, else a check that the node holds the version and a PutMeta
// (not atomic; such a node keeps no Layout either).
func (d *Client) rewriteOnOldNode(ctx context.Context, m *storagenode.ObjectMeta) (*storagenode.ObjectMeta, error) {
	prev, err := d.PutMetaIf(ctx, m, m.VersionID)
	if !errors.Is(err, storagenode.ErrConflict) {
		return prev, err
	}
	if _, gerr := d.GetVersion(ctx, m.Bucket, m.Key, m.VersionID); gerr != nil {
		return nil, err
	}
	return d.PutMeta(ctx, m)
}

func (d *Client) CompleteUpload(ctx context.Context, m *storagenode.ObjectMeta, expect *string) (*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckMeta(m); err != nil {
		return nil, err
	}
	if err := storagenode.CheckUpload(m.Bucket, m.DataDir); err != nil {
		return nil, err
	}
	var res prevMetaResult
	if err := d.post(ctx, "complete upload "+m.Bucket+"/"+m.DataDir, mCompleteUpload, completeArgs{Meta: m, Expect: expect}, &res); err != nil {
		return nil, err
	}
	return res.Prev, nil
}

func (d *Client) AbortUpload(ctx context.Context, bucket, key, uploadID string) error {
	if err := storagenode.CheckKey(bucket, key); err != nil {
		return err
	}
	if err := storagenode.CheckUpload(bucket, uploadID); err != nil {
		return err
	}
	return d.post(ctx, "abort upload "+bucket+"/"+uploadID, mAbortUpload, uploadArgs{Bucket: bucket, UploadID: uploadID, Key: key}, nil)
}

func (d *Client) PutMeta(ctx context.Context, m *storagenode.ObjectMeta) (*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckMeta(m); err != nil {
		return nil, err
	}
	var res prevMetaResult
	if err := d.post(ctx, "put meta "+m.Bucket+"/"+m.Key, mPutMeta, m, &res); err != nil {
		return nil, err
	}
	return res.Prev, nil
}

func (d *Client) GetMeta(ctx context.Context, bucket, key string) (*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckKey(bucket, key); err != nil {
		return nil, err
	}
	m := new(storagenode.ObjectMeta)
	if err := d.post(ctx, "get meta "+bucket+"/"+key, mGetMeta, keyArgs{Bucket: bucket, Key: key}, m); err != nil {
		return nil, err
	}
	return m, nil
}

func (d *Client) GetVersion(ctx context.Context, bucket, key, versionID string) (*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckKey(bucket, key); err != nil {
		return nil, err
	}
	m := new(storagenode.ObjectMeta)
	args := keyArgs{Bucket: bucket, Key: key, VersionID: versionID}
	err := d.post(ctx, "get version "+bucket+"/"+key+" "+versionID, mGetVersion, args, m)
	if unknownMethod(err) {
		// A node from before versions (during an upgrade) holds one
		// version per key, its current record.
		cur, err := d.GetMeta(ctx, bucket, key)
		if err != nil {
			return nil, err
		}
		if cur.VersionID != versionID && (versionID != "null" || cur.Versioned) {
			return nil, fmt.Errorf("storagenode: get version %s/%s %s: %w", bucket, key, versionID, storagenode.ErrObjectNotFound)
		}
		return cur, nil
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// unknownMethod reports whether err is a node's refusal of a call it does
// not know (an older version, during an upgrade).
func unknownMethod(err error) bool {
	return errors.Is(err, errBadRequest) && strings.Contains(err.Error(), "unknown method")
}

func (d *Client) ListVersions(ctx context.Context, bucket, prefix, afterKey, afterVersion string, limit int) ([]storagenode.ObjectEntry, error) {
	if err := storagenode.CheckBucket(bucket); err != nil {
		return nil, err
	}
	var out []storagenode.ObjectEntry
	args := listVersionsArgs{Bucket: bucket, Prefix: []byte(prefix), AfterKey: []byte(afterKey), AfterVersion: afterVersion, Limit: max(limit, 0)}
	err := d.post(ctx, "list versions "+bucket, mListVersions, args, &out)
	if unknownMethod(err) {
		// A node from before versions holds one version per key: its
		// listing entries are its versions. (After a version of afterKey:
		// that key's one version is behind.)
		return d.ListEntries(ctx, bucket, prefix, afterKey, limit)
	}
	return out, err
}

func (d *Client) DeleteMeta(ctx context.Context, bucket, key, versionID string) (*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckKey(bucket, key); err != nil {
		return nil, err
	}
	m := new(storagenode.ObjectMeta)
	args := keyArgs{Bucket: bucket, Key: key, VersionID: versionID}
	if err := d.post(ctx, "delete meta "+bucket+"/"+key, mDeleteMeta, args, m); err != nil {
		return nil, err
	}
	return m, nil
}

func (d *Client) ListMeta(ctx context.Context, bucket, prefix, after string, limit int) ([]*storagenode.ObjectMeta, error) {
	if err := storagenode.CheckBucket(bucket); err != nil {
		return nil, err
	}
	var out []*storagenode.ObjectMeta
	args := listMetaArgs{Bucket: bucket, Prefix: []byte(prefix), After: []byte(after), Limit: max(limit, 0)}
	err := d.post(ctx, "list meta "+bucket, mListMeta, args, &out)
	return out, err
}

// ListEntries asks the node for listing entries; a node that does not know
// the call yet (an older version, during an upgrade) is asked for whole
// records instead.
func (d *Client) ListEntries(ctx context.Context, bucket, prefix, after string, limit int) ([]storagenode.ObjectEntry, error) {
	if err := storagenode.CheckBucket(bucket); err != nil {
		return nil, err
	}
	var out []storagenode.ObjectEntry
	args := listMetaArgs{Bucket: bucket, Prefix: []byte(prefix), After: []byte(after), Limit: max(limit, 0)}
	err := d.post(ctx, "list entries "+bucket, mListEntries, args, &out)
	if unknownMethod(err) {
		ms, err := d.ListMeta(ctx, bucket, prefix, after, limit)
		if err != nil {
			return nil, err
		}
		return entries(ms), nil
	}
	return out, err
}

func (d *Client) PutUpload(ctx context.Context, u *storagenode.UploadMeta) error {
	if err := storagenode.CheckUploadMeta(u); err != nil {
		return err
	}
	return d.post(ctx, "put upload "+u.Bucket+"/"+u.UploadID, mPutUpload, u, nil)
}

func (d *Client) GetUpload(ctx context.Context, bucket, uploadID string) (*storagenode.UploadMeta, error) {
	if err := storagenode.CheckUpload(bucket, uploadID); err != nil {
		return nil, err
	}
	u := new(storagenode.UploadMeta)
	if err := d.post(ctx, "get upload "+bucket+"/"+uploadID, mGetUpload, uploadArgs{Bucket: bucket, UploadID: uploadID}, u); err != nil {
		return nil, err
	}
	return u, nil
}

func (d *Client) DeleteUpload(ctx context.Context, bucket, uploadID string) error {
	if err := storagenode.CheckUpload(bucket, uploadID); err != nil {
		return err
	}
	return d.post(ctx, "delete upload "+bucket+"/"+uploadID, mDeleteUpload, uploadArgs{Bucket: bucket, UploadID: uploadID}, nil)
}

func (d *Client) ListUploads(ctx context.Context, bucket string) ([]*storagenode.UploadMeta, error) {
	if err := storagenode.CheckBucket(bucket); err != nil {
		return nil, err
	}
	var out []*storagenode.UploadMeta
	err := d.post(ctx, "list uploads "+bucket, mListUploads, bucketArgs{Bucket: bucket}, &out)
	return out, err
}

func (d *Client) PutPart(ctx context.Context, bucket, uploadID string, p *storagenode.PartMeta) (*storagenode.PartMeta, error) {
	if err := storagenode.CheckUpload(bucket, uploadID); err != nil {
		return nil, err
	}
	if err := storagenode.CheckPart(p); err != nil {
		return nil, err
	}
	var res prevPartResult
	args := partArgs{Bucket: bucket, UploadID: uploadID, Part: p}
	if err := d.post(ctx, fmt.Sprintf("put part %s/%s #%d", bucket, uploadID, p.Number), mPutPart, args, &res); err != nil {
		return nil, err
	}
	return res.Prev, nil
}

func (d *Client) ListParts(ctx context.Context, bucket, uploadID string) ([]*storagenode.PartMeta, error) {
	if err := storagenode.CheckUpload(bucket, uploadID); err != nil {
		return nil, err
	}
	var out []*storagenode.PartMeta
	err := d.post(ctx, "list parts "+bucket+"/"+uploadID, mListParts, uploadArgs{Bucket: bucket, UploadID: uploadID}, &out)
	return out, err
}

// DiskInfo asks the node for the drive's capacity.
func (d *Client) DiskInfo(ctx context.Context) (storagenode.DiskInfo, error) {
	if err := d.check(ctx, "disk info"); err != nil {
		return storagenode.DiskInfo{}, err
	}
	var res storagenode.DiskInfo
	var q url.Values
	if storagenode.WantsRecordCount(ctx) {
		q = url.Values{"records": {"1"}}
	}
	if err := d.get(ctx, "disk info", mDiskInfo, q, &res); err != nil {
		return storagenode.DiskInfo{}, err
	}
	return res, nil
}

// entries returns the listing entries of records (for nodes that do not
// answer meta/entries).
func entries(ms []*storagenode.ObjectMeta) []storagenode.ObjectEntry {
	out := make([]storagenode.ObjectEntry, len(ms))
	for i, m := range ms {
		out[i] = m.Entry()
	}
	return out
}

// fenceParam carries a write's fencing token (storagenode.WithFence) in
// the query, which the request's signature covers.
const fenceParam = "fence"

// withFence returns u with ctx's fence in its query (u itself without
// one).
func withFence(ctx context.Context, u *url.URL) *url.URL {
	f, ok := storagenode.FenceOf(ctx)
	if !ok {
		return u
	}
	c := *u
	q := c.Query()
	q.Set(fenceParam, f.String())
	c.RawQuery = q.Encode()
	return &c
}
