package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecstore/ecstore/ec"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

// The gateway's errors. Its methods return these, often wrapped with
// context, and its ObjectLayer methods translate them to S3 errors once, at
// the boundary (toS3, from the table s3Errors). Errors are classified by
// what the caller should do: the quorum errors are worth a retry, the rest
// are answers.
var (
	// ErrBucketNotFound: a majority of drives lack the bucket's record.
	ErrBucketNotFound = errors.New("gateway: bucket not found")
	// ErrBucketExists: MakeBucket of a bucket a majority of drives hold.
	ErrBucketExists = errors.New("gateway: bucket already exists")
	// ErrBucketNotEmpty: DeleteBucket of a bucket that holds objects.
	ErrBucketNotEmpty = errors.New("gateway: bucket not empty")
	// ErrObjectNotFound: so many drives lack the key that no acknowledged
	// write of it can exist.
	ErrObjectNotFound = errors.New("gateway: object not found")
	// ErrUploadNotFound: the multipart upload does not exist (never
	// created, aborted, or completed).
	ErrUploadNotFound = errors.New("gateway: upload not found")
	// ErrReadQuorum: too few drives answered, or agreed, to read an object
	// or upload safely.
	ErrReadQuorum = errors.New("gateway: read quorum not reached")
	// ErrWriteQuorum: too few drives stored a write.
	ErrWriteQuorum = errors.New("gateway: write quorum not reached")
	// ErrUnavailable: too few drives answered a question about a bucket
	// (does it exist, what it lists), or the Catalog cannot commit a
	// change; unlike ErrReadQuorum it says nothing about a write of an
	// object in progress.
	ErrUnavailable = errors.New("gateway: too few drives answered")
	// ErrStorageFull: a drive has no space for the write.
	ErrStorageFull = errors.New("gateway: storage full")
	// ErrPreconditionFailed: a write condition (If-Match, If-None-Match)
	// does not hold, or a racing conditional write won.
	ErrPreconditionFailed = errors.New("gateway: precondition failed")
	// ErrWriteConflict: another write of the key is being committed; a
	// conditional write cannot be decided now and should be retried.
	ErrWriteConflict = errors.New("gateway: conflicting write in progress")
	// ErrNotImplemented: a request the gateway does not support.
	ErrNotImplemented = errors.New("gateway: not implemented")
	// ErrInvalidPart: a part a Complete lists is missing, differs, or was
	// replaced meanwhile.
	ErrInvalidPart = errors.New("gateway: invalid part")
	// ErrInvalidPartOrder: a Complete lists parts out of ascending order.
	ErrInvalidPartOrder = errors.New("gateway: parts out of order")
	// ErrPartTooSmall: a part other than the last is under 5 MiB.
	ErrPartTooSmall = errors.New("gateway: part too small")
	// ErrInvalidRange: a read beyond the object's end.
	ErrInvalidRange = errors.New("gateway: range not satisfiable")
	// ErrIncompleteBody: the body was shorter or longer than its stated size.
	ErrIncompleteBody = errors.New("gateway: body size differs from its stated length")
	// ErrBadDigest: the body does not match its Content-MD5.
	ErrBadDigest = errors.New("gateway: body does not match its Content-MD5")
	// ErrNoMasterKey: SSE-S3 or SSE-KMS asked of a gateway without a key
	// ring (--kms-key-file).
	ErrNoMasterKey = errors.New("gateway: server-side encryption asked for, but no master key is configured")
	// ErrCustomerKeyNeeded: an SSE-C version or upload, and the request
	// carries no customer key.
	ErrCustomerKeyNeeded = errors.New("gateway: the version is encrypted with a customer key the request lacks")
	// ErrCustomerKeyWrong: the customer key is not the version's.
	ErrCustomerKeyWrong = errors.New("gateway: the customer key is not the one the version was written with")
	// ErrKMSKeyNotFound: SSE-KMS with a key id the key store lacks.
	ErrKMSKeyNotFound = errors.New("gateway: no KMS key of that id")
	// ErrNotCustomerKeyed: a customer key for what was not written with one.
	ErrNotCustomerKeyed = errors.New("gateway: a customer key for a version not encrypted with one")
)

// s3Error is a row of the tables toS3 translates by: an error matching err
// (errors.Is) is answered with code, and with msg unless a message was
// given (withMessage); "" keeps the code's description.
type s3Error struct {
	err  error
	code s3api.ErrorCode
	msg  string
}

// s3Errors translates the gateway's own errors.
var s3Errors = [...]s3Error{
	{ErrBucketNotFound, s3api.ErrNoSuchBucket, ""},
	{ErrBucketExists, s3api.ErrBucketAlreadyOwnedByYou, ""},
	{ErrBucketNotEmpty, s3api.ErrBucketNotEmpty, ""},
	{ErrObjectNotFound, s3api.ErrNoSuchKey, ""},
	{ErrUploadNotFound, s3api.ErrNoSuchUpload, ""},
	{ErrReadQuorum, s3api.ErrInsufficientReadQuorum, ""},
	{ErrWriteQuorum, s3api.ErrInsufficientWriteQuorum, ""},
	{ErrUnavailable, s3api.ErrServiceUnavailable, ""},
	{ErrStorageFull, s3api.ErrStorageFull, ""},
	{ErrPreconditionFailed, s3api.ErrPreconditionFailed, ""},
	{ErrWriteConflict, s3api.ErrConditionalRequestConflict, ""},
	{ErrNotImplemented, s3api.ErrNotImplemented, ""},
	{ErrInvalidPart, s3api.ErrInvalidPart, ""},
	{ErrInvalidPartOrder, s3api.ErrInvalidPartOrder, ""},
	{ErrPartTooSmall, s3api.ErrEntityTooSmall, ""},
	{ErrInvalidRange, s3api.ErrInvalidRange, ""},
	{ErrIncompleteBody, s3api.ErrIncompleteBody, ""},
	{ErrBadDigest, s3api.ErrBadDigest, ""},
	{ErrNoMasterKey, s3api.ErrNotImplemented, "Server side encryption specified but no master key is configured: start ecstore with --kms-key-file."},
	{ErrCustomerKeyNeeded, s3api.ErrInvalidRequest, "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."},
	{ErrCustomerKeyWrong, s3api.ErrAccessDenied, "The SSE-C key provided does not match the key the object was encrypted with."},
	{ErrNotCustomerKeyed, s3api.ErrInvalidRequest, "The encryption parameters are not applicable to this object."},
	{ErrKMSKeyNotFound, s3api.ErrKMSNotFound, ""},
}

// belowS3Errors translates the errors of the layers below the gateway.
var belowS3Errors = [...]s3Error{
	{storagenode.ErrBucketNotFound, s3api.ErrNoSuchBucket, ""},
	{storagenode.ErrStaleToken, s3api.ErrServiceUnavailable, "A cluster-wide job's lease passed to another gateway."},
	{storagenode.ErrObjectNotFound, s3api.ErrNoSuchKey, ""},
	{storagenode.ErrUploadNotFound, s3api.ErrNoSuchUpload, ""},
	{storagenode.ErrDiskFull, s3api.ErrStorageFull, ""},
	{ec.ErrTooFewShards, s3api.ErrInsufficientReadQuorum, ""},
	{context.Canceled, s3api.ErrSlowDown, "The request was cancelled or timed out."},
	{context.DeadlineExceeded, s3api.ErrSlowDown, "The request was cancelled or timed out."},
}

// toS3 translates an error of the gateway, or of the layers below, into the
// S3 error to answer: the one place where they meet S3 codes. Each
// ObjectLayer method (and Object.Read) applies it to what it returns.
//
// The gateway's own errors come first (a write-quorum error caused by a
// cancelled context answers as a write-quorum error); then S3 errors raised
// above the gateway (by the request body's reader) or by the rules of
// package s3api pass through; then the errors of the layers below. The S3
// error keeps err as its cause, so errors.Is still finds the gateway's
// error and the log prints it. Errors it does not know pass through and
// become InternalError.
func toS3(err error) error {
	if _, ok := err.(*s3api.APIError); ok || err == nil {
		return err // nil, or translated already (by a method this one called)
	}
	if e, ok := lookup(err, s3Errors[:]); ok {
		return e
	}
	var ae *s3api.APIError
	var c s3api.ErrorCode
	if errors.As(err, &ae) || errors.As(err, &c) {
		return err
	}
	if e, ok := lookup(err, belowS3Errors[:]); ok {
		return e
	}
	return err
}

// lookup translates err by the first row of table it matches.
func lookup(err error, table []s3Error) (error, bool) {
	for _, row := range table {
		if !errors.Is(err, row.err) {
			continue
		}
		msg := row.msg
		var m *messageError
		if errors.As(err, &m) {
			msg = m.msg
		}
		if msg == "" {
			msg = row.code.Description()
		}
		return row.code.WithMessage("%s", msg).WithCause(err), true
	}
	return nil, false
}

// translate applies toS3 to *err: an ObjectLayer method defers it.
func translate(err *error) { *err = toS3(*err) }

// messageError is a gateway error with the message S3 clients get for it in
// place of the table's. The message is plain words about the request; it
// never names internal detail (paths, drives, hosts), which belongs in err.
type messageError struct {
	err error
	msg string
}

func (e *messageError) Error() string { return e.err.Error() }
func (e *messageError) Unwrap() error { return e.err }

// withMessage gives err the message the client gets (see messageError).
func withMessage(err error, format string, args ...any) error {
	return &messageError{err: err, msg: fmt.Sprintf(format, args...)}
}

// worstWriteError picks the error to report when a write missed its quorum:
// a disk-full anywhere is the most useful thing to tell the user.
func worstWriteError(errs []error) error {
	for _, e := range errs {
		if errors.Is(e, storagenode.ErrDiskFull) {
			return ErrStorageFull
		}
	}
	for _, e := range errs {
		if e != nil {
			return withMessage(fmt.Errorf("%w: %w", ErrWriteQuorum, e), "Not enough drives stored the data; please retry.")
		}
	}
	return ErrWriteQuorum
}
