package storagenode

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
)

// RemoteDrive is a Drive served by another process through the internode
// API (NewRPCHandler). It behaves like the drive it reaches, with these
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
type RemoteDrive struct {
	id        string
	base      url.URL // scheme and host
	where     string  // "storagenode: drive <id> at <base>", for errors
	opts      RPCOptions
	auth      *rpcAuth
	client    *http.Client
	ownClient bool

	closeCtx context.Context // canceled by Close
	cancel   context.CancelFunc
	closed   atomic.Bool
}

var _ Drive = (*RemoteDrive)(nil)

// NewRemoteDrive returns the drive driveID served at baseURL
// ("http://host:port" or "https://host:port"). It does no I/O: an
// unreachable node shows in the first call. It panics if opts.Validate
// fails or baseURL is not an http(s) URL without a path: check them first
// to get an error.
func NewRemoteDrive(baseURL, driveID string, opts RPCOptions) *RemoteDrive {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
		panic(fmt.Sprintf("storagenode: NewRemoteDrive: base URL %q: want http(s)://host:port", baseURL))
	}
	d := &RemoteDrive{
		id:     driveID,
		base:   url.URL{Scheme: u.Scheme, Host: u.Host},
		where:  "storagenode: drive " + driveID + " at " + u.Scheme + "://" + u.Host,
		opts:   opts,
		auth:   newRPCAuth(&opts, false),
		client: opts.Client,
	}
	if d.client == nil {
		d.client = NewRPCClient(opts)
		d.ownClient = true
	}
	d.closeCtx, d.cancel = context.WithCancel(context.Background())
	return d
}

// ID returns the drive's identity (as given to NewRemoteDrive).
func (d *RemoteDrive) ID() string { return d.id }

// URL returns the base URL of the node serving the drive.
func (d *RemoteDrive) URL() string { return d.base.String() }

// Close ends the calls and shard streams in flight and makes later calls
// fail with ErrDriveOffline. It does not close the remote drive. A second
// Close returns nil.
func (d *RemoteDrive) Close() error {
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
func (d *RemoteDrive) Ping(ctx context.Context) error {
	var res pingResult
	if err := d.get(ctx, "ping", mPing, nil, &res); err != nil {
		return err
	}
	if res.ID != d.id {
		return fmt.Errorf("%s: ping: answered by drive %q: %w", d.where, res.ID, ErrDriveOffline)
	}
	return nil
}

// check fails a call that must not start: canceled context, closed drive.
func (d *RemoteDrive) check(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %s: %w", d.where, op, err)
	}
	if d.closed.Load() {
		return fmt.Errorf("%s: %s: drive closed: %w", d.where, op, ErrDriveOffline)
	}
	return nil
}

// callContext bounds a call by CallTimeout and by Close.
func (d *RemoteDrive) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.CallTimeout)
	stop := context.AfterFunc(d.closeCtx, cancel)
	return ctx, func() { stop(); cancel() }
}

// netErr classifies a failed exchange: the caller's context ended (its
// error), the drive was closed, or the node is unreachable, too slow or
// broke the connection (ErrDriveOffline, wrapping the cause).
func (d *RemoteDrive) netErr(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s: %s: %w", d.where, op, cerr)
	}
	if d.closed.Load() {
		return fmt.Errorf("%s: %s: drive closed: %w", d.where, op, ErrDriveOffline)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is in d.where already
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within %v: %w", d.opts.CallTimeout, err)
	}
	return fmt.Errorf("%s: %s: %w: %w", d.where, op, ErrDriveOffline, err)
}

// url returns the URL of a method of this drive.
func (d *RemoteDrive) url(method string, q url.Values) *url.URL {
	u := d.base
	u.Path = rpcDrivePrefix + d.id + "/" + method
	u.RawPath = rpcDrivePrefix + url.PathEscape(d.id) + "/" + method
	u.RawQuery = q.Encode()
	return &u
}

// do sends a signed request within ctx, CallTimeout and Close, and returns
// the response of a successful call (status below 300) with the function
// that releases its context (call it once the body is read), or the call's
// error.
func (d *RemoteDrive) do(ctx context.Context, op, httpMethod, method string, q url.Values, body []byte) (*http.Response, context.CancelFunc, error) {
	return d.send(ctx, op, httpMethod, d.url(method, q), body)
}

// send is do for any URL of the node.
func (d *RemoteDrive) send(ctx context.Context, op, httpMethod string, u *url.URL, body []byte) (*http.Response, context.CancelFunc, error) {
	if err := d.check(ctx, op); err != nil {
		return nil, nil, err
	}
	cctx, cancel := d.callContext(ctx)
	req, err := http.NewRequestWithContext(cctx, httpMethod, "", nil)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("%s: %s: %w", d.where, op, err)
	}
	req.URL = u
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
func (d *RemoteDrive) post(ctx context.Context, op, method string, args, result any) error {
	body, err := recordMode.Marshal(args)
	if err != nil {
		return fmt.Errorf("%s: %s: encoding arguments: %w", d.where, op, err)
	}
	return d.exchange(ctx, op, http.MethodPost, method, nil, body, result)
}

// get runs a GET call with query parameters, decoding the answer into result.
func (d *RemoteDrive) get(ctx context.Context, op, method string, q url.Values, result any) error {
	return d.exchange(ctx, op, http.MethodGet, method, q, nil, result)
}

func (d *RemoteDrive) exchange(ctx context.Context, op, httpMethod, method string, q url.Values, body []byte, result any) error {
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

func (d *RemoteDrive) MakeBucket(ctx context.Context, bucket string, created time.Time) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	return d.post(ctx, "make bucket "+bucket, mMakeBucket, bucketArgs{Bucket: bucket, Created: created}, nil)
}

func (d *RemoteDrive) DeleteBucket(ctx context.Context, bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	return d.post(ctx, "delete bucket "+bucket, mDeleteBucket, bucketArgs{Bucket: bucket}, nil)
}

func (d *RemoteDrive) StatBucket(ctx context.Context, bucket string) (BucketInfo, error) {
	if err := checkBucket(bucket); err != nil {
		return BucketInfo{}, err
	}
	var bi BucketInfo
	err := d.post(ctx, "stat bucket "+bucket, mStatBucket, bucketArgs{Bucket: bucket}, &bi)
	return bi, err
}

func (d *RemoteDrive) ListBuckets(ctx context.Context) ([]BucketInfo, error) {
	var out []BucketInfo
	err := d.post(ctx, "list buckets", mListBuckets, struct{}{}, &out)
	return out, err
}

func (d *RemoteDrive) DeleteVersion(ctx context.Context, bucket, versionDir string) error {
	if err := checkVersionDir(bucket, versionDir); err != nil {
		return err
	}
	return d.post(ctx, "delete version "+bucket+"/"+versionDir, mDeleteVersion, versionArgs{Bucket: bucket, Dir: versionDir}, nil)
}

func (d *RemoteDrive) DeleteShard(ctx context.Context, ref ShardRef) error {
	if err := checkRef(ref); err != nil {
		return err
	}
	return d.post(ctx, "delete shard "+ref.String(), mDeleteShard, ref, nil)
}

func (d *RemoteDrive) PutMetaIf(ctx context.Context, m *ObjectMeta, expect string) (*ObjectMeta, error) {
	if err := checkMeta(m); err != nil {
		return nil, err
	}
	var res prevMetaResult
	if err := d.post(ctx, "put meta if "+m.Bucket+"/"+m.Key, mPutMetaIf, putMetaIfArgs{Meta: m, Expect: expect}, &res); err != nil {
		return nil, err
	}
	return res.Prev, nil
}

func (d *RemoteDrive) CompleteUpload(ctx context.Context, m *ObjectMeta, expect *string) (*ObjectMeta, error) {
	if err := checkMeta(m); err != nil {
		return nil, err
	}
	if err := checkUpload(m.Bucket, m.DataDir); err != nil {
		return nil, err
	}
	var res prevMetaResult
	if err := d.post(ctx, "complete upload "+m.Bucket+"/"+m.DataDir, mCompleteUpload, completeArgs{Meta: m, Expect: expect}, &res); err != nil {
		return nil, err
	}
	return res.Prev, nil
}

func (d *RemoteDrive) AbortUpload(ctx context.Context, bucket, key, uploadID string) error {
	if err := checkKey(bucket, key); err != nil {
		return err
	}
	if err := checkUpload(bucket, uploadID); err != nil {
		return err
	}
	return d.post(ctx, "abort upload "+bucket+"/"+uploadID, mAbortUpload, uploadArgs{Bucket: bucket, UploadID: uploadID, Key: key}, nil)
}

func (d *RemoteDrive) PutMeta(ctx context.Context, m *ObjectMeta) (*ObjectMeta, error) {
	if err := checkMeta(m); err != nil {
		return nil, err
	}
	var res prevMetaResult
	if err := d.post(ctx, "put meta "+m.Bucket+"/"+m.Key, mPutMeta, m, &res); err != nil {
		return nil, err
	}
	return res.Prev, nil
}

func (d *RemoteDrive) GetMeta(ctx context.Context, bucket, key string) (*ObjectMeta, error) {
	if err := checkKey(bucket, key); err != nil {
		return nil, err
	}
	m := new(ObjectMeta)
	if err := d.post(ctx, "get meta "+bucket+"/"+key, mGetMeta, keyArgs{Bucket: bucket, Key: key}, m); err != nil {
		return nil, err
	}
	return m, nil
}

func (d *RemoteDrive) DeleteMeta(ctx context.Context, bucket, key, versionID string) (*ObjectMeta, error) {
	if err := checkKey(bucket, key); err != nil {
		return nil, err
	}
	m := new(ObjectMeta)
	args := keyArgs{Bucket: bucket, Key: key, VersionID: versionID}
	if err := d.post(ctx, "delete meta "+bucket+"/"+key, mDeleteMeta, args, m); err != nil {
		return nil, err
	}
	return m, nil
}

func (d *RemoteDrive) ListMeta(ctx context.Context, bucket, prefix, after string, limit int) ([]*ObjectMeta, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	var out []*ObjectMeta
	args := listMetaArgs{Bucket: bucket, Prefix: []byte(prefix), After: []byte(after), Limit: max(limit, 0)}
	err := d.post(ctx, "list meta "+bucket, mListMeta, args, &out)
	return out, err
}

// ListEntries asks the node for listing entries; a node that does not know
// the call yet (an older version, during an upgrade) is asked for whole
// records instead.
func (d *RemoteDrive) ListEntries(ctx context.Context, bucket, prefix, after string, limit int) ([]ObjectEntry, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	var out []ObjectEntry
	args := listMetaArgs{Bucket: bucket, Prefix: []byte(prefix), After: []byte(after), Limit: max(limit, 0)}
	err := d.post(ctx, "list entries "+bucket, mListEntries, args, &out)
	if errors.Is(err, errBadRequest) && strings.Contains(err.Error(), "unknown method") {
		ms, err := d.ListMeta(ctx, bucket, prefix, after, limit)
		if err != nil {
			return nil, err
		}
		return entries(ms), nil
	}
	return out, err
}

func (d *RemoteDrive) PutUpload(ctx context.Context, u *UploadMeta) error {
	if err := checkUploadMeta(u); err != nil {
		return err
	}
	return d.post(ctx, "put upload "+u.Bucket+"/"+u.UploadID, mPutUpload, u, nil)
}

func (d *RemoteDrive) GetUpload(ctx context.Context, bucket, uploadID string) (*UploadMeta, error) {
	if err := checkUpload(bucket, uploadID); err != nil {
		return nil, err
	}
	u := new(UploadMeta)
	if err := d.post(ctx, "get upload "+bucket+"/"+uploadID, mGetUpload, uploadArgs{Bucket: bucket, UploadID: uploadID}, u); err != nil {
		return nil, err
	}
	return u, nil
}

func (d *RemoteDrive) DeleteUpload(ctx context.Context, bucket, uploadID string) error {
	if err := checkUpload(bucket, uploadID); err != nil {
		return err
	}
	return d.post(ctx, "delete upload "+bucket+"/"+uploadID, mDeleteUpload, uploadArgs{Bucket: bucket, UploadID: uploadID}, nil)
}

func (d *RemoteDrive) ListUploads(ctx context.Context, bucket string) ([]*UploadMeta, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	var out []*UploadMeta
	err := d.post(ctx, "list uploads "+bucket, mListUploads, bucketArgs{Bucket: bucket}, &out)
	return out, err
}

func (d *RemoteDrive) PutPart(ctx context.Context, bucket, uploadID string, p *PartMeta) (*PartMeta, error) {
	if err := checkUpload(bucket, uploadID); err != nil {
		return nil, err
	}
	if err := checkPart(p); err != nil {
		return nil, err
	}
	var res prevPartResult
	args := partArgs{Bucket: bucket, UploadID: uploadID, Part: p}
	if err := d.post(ctx, fmt.Sprintf("put part %s/%s #%d", bucket, uploadID, p.Number), mPutPart, args, &res); err != nil {
		return nil, err
	}
	return res.Prev, nil
}

func (d *RemoteDrive) ListParts(ctx context.Context, bucket, uploadID string) ([]*PartMeta, error) {
	if err := checkUpload(bucket, uploadID); err != nil {
		return nil, err
	}
	var out []*PartMeta
	err := d.post(ctx, "list parts "+bucket+"/"+uploadID, mListParts, uploadArgs{Bucket: bucket, UploadID: uploadID}, &out)
	return out, err
}
