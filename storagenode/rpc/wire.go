package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ecstore/ecstore/storagenode"
)

// The wire format of the internode API; the package documentation
// ("Internode API") describes it for readers of the protocol.

// rpcDrivePrefix starts the path of every drive call:
// /ecstore/v1/drive/<path-escaped drive ID>/<method>.
const drivePrefix = "/ecstore/v1/drive/"

// Methods (the last path elements). Metadata calls are POSTs with a CBOR
// body; shard reads are GETs with query parameters; a shard write is a POST
// whose body is the shard stream.
const (
	mMakeBucket     = "bucket/make"
	mDeleteBucket   = "bucket/delete"
	mStatBucket     = "bucket/stat"
	mListBuckets    = "bucket/list"
	mDeleteVersion  = "version/delete"
	mPutMeta        = "meta/put"
	mPutMetaIf      = "meta/putif"
	mRewriteMeta    = "meta/rewrite"
	mDeleteShard    = "shard/delete"
	mGetMeta        = "meta/get"
	mDeleteMeta     = "meta/delete"
	mListMeta       = "meta/list"
	mListEntries    = "meta/entries"
	mGetVersion     = "meta/version"
	mListVersions   = "meta/versions"
	mPutUpload      = "upload/put"
	mGetUpload      = "upload/get"
	mDeleteUpload   = "upload/delete"
	mCompleteUpload = "upload/complete"
	mAbortUpload    = "upload/abort"
	mListUploads    = "upload/list"
	mPutPart        = "part/put"
	mListParts      = "part/list"
	mShardWrite     = "shard/write" // POST ?bucket&dir&name, body = shard bytes
	mShardStat      = "shard/stat"  // GET ?bucket&dir&name -> {"size"}
	mShardRead      = "shard/read"  // GET ?bucket&dir&name&off&len&size -> bytes
	mPing           = "ping"        // GET -> {"id"}
	mDiskInfo       = "diskinfo"    // GET -> DiskInfo
)

// Arguments and results of the metadata calls. PutMeta and PutUpload send the
// record itself.
type (
	bucketArgs struct {
		Bucket  string    `json:"bucket"`
		Created time.Time `json:"created,omitzero"`
	}
	putMetaIfArgs struct {
		Meta   *storagenode.ObjectMeta `json:"meta"`
		Expect string                  `json:"expect"`
	}
	rewriteMetaArgs struct {
		Meta   *storagenode.ObjectMeta `json:"meta"`
		Layout int64                   `json:"layout"`
	}
	versionArgs struct {
		Bucket string `json:"bucket"`
		Dir    string `json:"dir"`
	}
	keyArgs struct {
		Bucket    string `json:"bucket"`
		Key       string `json:"key"`
		VersionID string `json:"vid,omitempty"`
	}
	// listMetaArgs carries prefix and after as bytes (base64 in JSON): they
	// may be cut in the middle of a UTF-8 sequence, which a JSON string would
	// not keep.
	listMetaArgs struct {
		Bucket string `json:"bucket"`
		Prefix []byte `json:"prefix,omitempty"`
		After  []byte `json:"after,omitempty"`
		Limit  int    `json:"limit,omitempty"`
	}
	// listVersionsArgs is listMetaArgs with the version to start after.
	listVersionsArgs struct {
		Bucket       string `json:"bucket"`
		Prefix       []byte `json:"prefix,omitempty"`
		AfterKey     []byte `json:"after,omitempty"`
		AfterVersion string `json:"after_vid,omitempty"`
		Limit        int    `json:"limit,omitempty"`
	}
	uploadArgs struct {
		Bucket   string `json:"bucket"`
		UploadID string `json:"id"`
		Key      string `json:"key,omitempty"` // AbortUpload
	}
	completeArgs struct {
		Meta   *storagenode.ObjectMeta `json:"meta"`
		Expect *string                 `json:"expect,omitempty"`
	}
	partArgs struct {
		Bucket   string                `json:"bucket"`
		UploadID string                `json:"id"`
		Part     *storagenode.PartMeta `json:"part"`
	}
	prevMetaResult struct {
		Prev *storagenode.ObjectMeta `json:"prev"`
	}
	prevPartResult struct {
		Prev *storagenode.PartMeta `json:"prev"`
	}
	shardStatResult struct {
		Size int64 `json:"size"`
	}
	pingResult struct {
		ID string `json:"id"`
	}
)

// refQuery encodes a shard reference as query parameters.
// coldParam carries a shard write's storagenode.WithColdShard hint
// ("1"); nodes of earlier releases ignore it.
const coldParam = "cold"

func refQuery(ref storagenode.ShardRef) url.Values {
	return url.Values{"bucket": {ref.Bucket}, "dir": {ref.VersionDir}, "name": {ref.Name}}
}

func refFromQuery(q url.Values) storagenode.ShardRef {
	return storagenode.ShardRef{Bucket: q.Get("bucket"), VersionDir: q.Get("dir"), Name: q.Get("name")}
}

func queryInt(q url.Values, name string) (int64, error) {
	v, err := strconv.ParseInt(q.Get(name), 10, 64)
	if err != nil {
		return 0, errors.Join(errBadRequest, errors.New("storagenode: query parameter "+name+": "+err.Error()))
	}
	return v, nil
}

// ErrUnauthorized marks a request the remote node refused to authenticate:
// a different cluster secret, a clock off by more than MaxSkew, a replay.
// Such an error also wraps ErrDriveOffline: the drive cannot be used from
// here, try another (and tell the operator).
var ErrUnauthorized = errors.New("storagenode: internode request refused")

// ErrMapMismatch marks a request refused because the caller and the node run
// with different cluster maps. It also wraps ErrDriveOffline.
var ErrMapMismatch = errors.New("storagenode: cluster map mismatch")

// Errors that exist only on the wire.
var (
	errBadRequest    = errors.New("storagenode: bad internode request")
	errDriveNotFound = errors.New("storagenode: no such drive on this node")
	errNotCommitted  = errors.New("storagenode: shard stream ended without commit")
)

// rpcErrorBody is the JSON body of every error response.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// rpcCodes is the table of error codes: the sentinel a server-side error
// wraps gives the code and status (first match wins, so DiskFull, which
// also wraps a system error, comes early); the client turns the code back
// into the sentinels listed in rpcClientErrs.
var errorCodes = []struct {
	code   string
	err    error
	status int
}{
	{"DriveOffline", storagenode.ErrDriveOffline, http.StatusServiceUnavailable},
	{"DiskFull", storagenode.ErrDiskFull, http.StatusInsufficientStorage},
	{"InvalidName", storagenode.ErrInvalidName, http.StatusBadRequest},
	{"BucketNotFound", storagenode.ErrBucketNotFound, http.StatusNotFound},
	{"BucketExists", storagenode.ErrBucketExists, http.StatusConflict},
	{"ObjectNotFound", storagenode.ErrObjectNotFound, http.StatusNotFound},
	{"UploadNotFound", storagenode.ErrUploadNotFound, http.StatusNotFound},
	{"ShardNotFound", storagenode.ErrShardNotFound, http.StatusNotFound},
	{"Stale", storagenode.ErrStale, http.StatusConflict},
	{"Conflict", storagenode.ErrConflict, http.StatusPreconditionFailed},
	{"UploadCompleted", storagenode.ErrUploadCompleted, http.StatusConflict},
	{"PartReplaced", storagenode.ErrPartReplaced, http.StatusConflict},
	{"StaleToken", storagenode.ErrStaleToken, http.StatusConflict},
	{"Corrupt", storagenode.ErrCorrupt, http.StatusInternalServerError},
	{"DriveNotFound", errDriveNotFound, http.StatusNotFound},
	{"BadRequest", errBadRequest, http.StatusBadRequest},
	{"NotCommitted", errNotCommitted, http.StatusBadRequest},
	{"Closed", fs.ErrClosed, http.StatusConflict},
	// The server's context ends when its client goes away or the server
	// shuts down: for whoever still hears the answer, the drive is offline.
	{"Canceled", context.Canceled, http.StatusServiceUnavailable},
	{"DeadlineExceeded", context.DeadlineExceeded, http.StatusGatewayTimeout},
}

// codeInternal is the code of an error that wraps none of the sentinels.
const codeInternal = "Internal"

// rpcErrorCode returns the code and HTTP status of a server-side error.
func codeOf(err error) (code string, status int) {
	var ae *authError
	if errors.As(err, &ae) {
		return ae.code, ae.status
	}
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return c.code, c.status
		}
	}
	return codeInternal, http.StatusInternalServerError
}

// rpcClientErrs returns the sentinels a client-side error of the given code
// wraps.
func clientErrs(code string) []error {
	switch code {
	case codeUnauthenticated, codeTimeSkewed, codeSignatureMismatch, codeReplayed,
		codeContentMismatch, codeStreamMACMismatch:
		return []error{ErrUnauthorized, storagenode.ErrDriveOffline}
	case codeMapMismatch:
		return []error{ErrMapMismatch, storagenode.ErrDriveOffline}
	case "DriveNotFound", "Canceled", "DeadlineExceeded":
		return []error{storagenode.ErrDriveOffline}
	}
	for _, c := range errorCodes {
		if c.code == code {
			return []error{c.err}
		}
	}
	return nil
}

// remoteError is an error answered by a remote node, rebuilt on the client
// side so that errors.Is finds the sentinels of its code.
type remoteError struct {
	msg  string
	errs []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.errs }

// newRemoteError rebuilds the error of a response body. where names the
// drive ("storagenode: drive d1 at http://host"), op the operation; the
// server's message names the operation too.
func newRemoteError(where, op string, status int, body []byte) error {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Code == "" {
		// Not our protocol: a proxy, another service on the port. The drive
		// cannot be used through this address.
		return &remoteError{
			msg:  where + ": " + op + ": unexpected answer HTTP " + strconv.Itoa(status) + ": " + storagenode.ErrDriveOffline.Error(),
			errs: []error{storagenode.ErrDriveOffline},
		}
	}
	msg := strings.TrimPrefix(eb.Message, "storagenode: ")
	return &remoteError{msg: where + ": " + msg + " (" + eb.Code + ")", errs: clientErrs(eb.Code)}
}

// Metadata calls carry their arguments and answers as CBOR (the index's
// record encoding: compact, binary-safe, fast to decode for listings of
// thousands of records). JSON is still accepted, which keeps the calls
// easy to try by hand.
const wireContentType = "application/cbor"

// unmarshalWire decodes a call's arguments: JSON when they start with '{',
// CBOR otherwise.
func unmarshalWire(b []byte, v any) error { return storagenode.UnmarshalRecord(b, v) }

// decodeWire decodes an answer by its content type.
func decodeWire(r io.Reader, contentType string, v any) error {
	if strings.HasPrefix(contentType, "application/json") {
		return json.NewDecoder(r).Decode(v)
	}
	return storagenode.ReadRecord(r, v)
}
