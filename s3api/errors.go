package s3api

import (
	"errors"
	"fmt"
)

// ErrorCode names one S3 error of the table below. Two ErrorCodes are
// different errors even when S3 answers them with the same code string
// (ErrInsufficientReadQuorum and ErrInsufficientWriteQuorum are both
// ServiceUnavailable): errors.Is compares ErrorCodes, never strings.
//
// An ErrorCode is an error itself, answered with the table's description;
// WithMessage and WithCause make an *APIError that keeps the ErrorCode.
type ErrorCode int

// The S3 errors ecstore answers with. The zero value is InternalError.
// Where several share a code string, the first listed is the one
// ErrorCodeOf returns.
const (
	ErrInternalError ErrorCode = iota
	ErrAccessDenied
	ErrAuthorizationHeaderMalformed
	ErrAuthorizationQueryParamsError
	ErrBadDigest
	ErrBucketAlreadyExists
	ErrBucketAlreadyOwnedByYou
	ErrBucketNotEmpty
	ErrEntityTooLarge
	ErrEntityTooSmall
	ErrIncompleteBody
	ErrInvalidAccessKeyID
	ErrInvalidArgument
	ErrInvalidBucketName
	ErrInvalidDigest
	ErrInvalidPart
	ErrInvalidPartOrder
	ErrInvalidPartNumber
	ErrInvalidRange
	ErrInvalidRequest
	ErrKeyTooLong
	ErrMalformedXML
	ErrMalformedTrailer
	ErrMethodNotAllowed
	ErrMissingContentLength
	ErrMissingSecurityHeader
	ErrNoSuchBucket
	ErrNoSuchKey
	ErrNoSuchUpload
	ErrNotImplemented
	ErrPreconditionFailed
	ErrRequestTimeout
	ErrRequestTimeTooSkewed
	ErrServiceUnavailable
	ErrSignatureDoesNotMatch
	ErrSlowDown
	ErrXAmzContentSHA256Mismatch
	ErrInvalidObjectName
	ErrTooManyParts
	ErrMetadataTooLarge
	ErrInvalidStorageClass
	ErrNotModified
	ErrInvalidCopySource
	ErrInvalidCopyDest
	ErrUnexpectedContent
	ErrInvalidEncodingMethod
	ErrMaxKeysInvalid
	ErrInvalidContinuationToken
	ErrRequestHeaderSectionTooLarge
	ErrMissingRequestBodyError
	ErrInsufficientReadQuorum
	ErrInsufficientWriteQuorum
	ErrMalformedPOSTRequest
	ErrInvalidPolicyDocument
	ErrStorageFull
	ErrConditionalRequestConflict
	ErrIllegalVersioningConfiguration
	ErrInvalidTag
	ErrNoSuchTagSet
	ErrNoSuchLifecycleConfiguration
	ErrNoSuchBucketPolicy
	ErrNoSuchCORSConfiguration
	ErrNoSuchEncryptionConfiguration
	ErrKMSNotFound
	ErrNoSuchWebsiteConfiguration
	ErrNoSuchReplicationConfiguration
	ErrNoSuchPublicAccessBlockConfiguration
	ErrInvalidBucketState
	ErrObjectLockConfigurationNotFound
	ErrNoSuchObjectLockConfiguration
	ErrNoSuchVersion
	ErrIllegalLocationConstraint
	ErrInvalidRedirectLocation

	numErrorCodes // the number of ErrorCodes; not an error
)

// errorInfo is one row of the table: S3's code, the default message and
// the HTTP status S3 answers with.
type errorInfo struct {
	code        string
	description string
	status      int
}

// errorTable holds one row per ErrorCode. It is never written.
var errorTable = [numErrorCodes]errorInfo{
	ErrInternalError:                        {"InternalError", "We encountered an internal error. Please try again.", 500},
	ErrAccessDenied:                         {"AccessDenied", "Access Denied.", 403},
	ErrAuthorizationHeaderMalformed:         {"AuthorizationHeaderMalformed", "The authorization header is malformed.", 400},
	ErrAuthorizationQueryParamsError:        {"AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter.", 400},
	ErrBadDigest:                            {"BadDigest", "The Content-MD5 or checksum you specified did not match what we received.", 400},
	ErrBucketAlreadyExists:                  {"BucketAlreadyExists", "The requested bucket name is not available.", 409},
	ErrBucketAlreadyOwnedByYou:              {"BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.", 409},
	ErrBucketNotEmpty:                       {"BucketNotEmpty", "The bucket you tried to delete is not empty.", 409},
	ErrEntityTooLarge:                       {"EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.", 400},
	ErrEntityTooSmall:                       {"EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.", 400},
	ErrIncompleteBody:                       {"IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.", 400},
	ErrInvalidAccessKeyID:                   {"InvalidAccessKeyId", "The AWS access key ID you provided does not exist in our records.", 403},
	ErrInvalidArgument:                      {"InvalidArgument", "Invalid argument.", 400},
	ErrInvalidBucketName:                    {"InvalidBucketName", "The specified bucket is not valid.", 400},
	ErrInvalidDigest:                        {"InvalidDigest", "The Content-MD5 or checksum you specified is not valid.", 400},
	ErrInvalidPart:                          {"InvalidPart", "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.", 400},
	ErrInvalidPartOrder:                     {"InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.", 400},
	ErrInvalidPartNumber:                    {"InvalidPartNumber", "The requested partnumber is not satisfiable.", 416},
	ErrInvalidRange:                         {"InvalidRange", "The requested range is not satisfiable.", 416},
	ErrInvalidRequest:                       {"InvalidRequest", "Invalid request.", 400},
	ErrKeyTooLong:                           {"KeyTooLongError", "Your key is too long.", 400},
	ErrMalformedXML:                         {"MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.", 400},
	ErrMalformedTrailer:                     {"MalformedTrailerError", "The request contained trailing data that was not well-formed or did not conform to our published schema.", 400},
	ErrMethodNotAllowed:                     {"MethodNotAllowed", "The specified method is not allowed against this resource.", 405},
	ErrMissingContentLength:                 {"MissingContentLength", "You must provide the Content-Length HTTP header.", 411},
	ErrMissingSecurityHeader:                {"MissingSecurityHeader", "Your request was missing a required header.", 400},
	ErrNoSuchBucket:                         {"NoSuchBucket", "The specified bucket does not exist.", 404},
	ErrNoSuchKey:                            {"NoSuchKey", "The specified key does not exist.", 404},
	ErrNoSuchUpload:                         {"NoSuchUpload", "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.", 404},
	ErrNotImplemented:                       {"NotImplemented", "A header or query you provided requested a function that is not implemented.", 501},
	ErrPreconditionFailed:                   {"PreconditionFailed", "At least one of the preconditions you specified did not hold.", 412},
	ErrRequestTimeout:                       {"RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period.", 400},
	ErrRequestTimeTooSkewed:                 {"RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.", 403},
	ErrServiceUnavailable:                   {"ServiceUnavailable", "Please reduce your request rate.", 503},
	ErrSignatureDoesNotMatch:                {"SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.", 403},
	ErrSlowDown:                             {"SlowDown", "Please reduce your request rate.", 503},
	ErrXAmzContentSHA256Mismatch:            {"XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", 400},
	ErrInvalidObjectName:                    {"InvalidObjectName", "Object name contains unsupported characters.", 400},
	ErrTooManyParts:                         {"InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive.", 400},
	ErrMetadataTooLarge:                     {"MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.", 400},
	ErrInvalidStorageClass:                  {"InvalidStorageClass", "The storage class you specified is not valid.", 400},
	ErrNotModified:                          {"NotModified", "Not Modified.", 304},
	ErrInvalidCopySource:                    {"InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.", 400},
	ErrInvalidCopyDest:                      {"InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.", 400},
	ErrUnexpectedContent:                    {"UnexpectedContent", "This request does not support content.", 400},
	ErrInvalidEncodingMethod:                {"InvalidArgument", "Invalid Encoding Method specified in Request.", 400},
	ErrMaxKeysInvalid:                       {"InvalidArgument", "Argument max-keys must be an integer between 0 and 2147483647.", 400},
	ErrInvalidContinuationToken:             {"InvalidArgument", "The continuation token provided is incorrect.", 400},
	ErrRequestHeaderSectionTooLarge:         {"RequestHeaderSectionTooLarge", "Your request header section exceeds the maximum allowed size.", 400},
	ErrMissingRequestBodyError:              {"MissingRequestBodyError", "Request Body is empty.", 400},
	ErrInsufficientReadQuorum:               {"ServiceUnavailable", "Not enough drives answered to read this object safely; please retry.", 503},
	ErrInsufficientWriteQuorum:              {"ServiceUnavailable", "Not enough drives are online to store this object safely; please retry.", 503},
	ErrMalformedPOSTRequest:                 {"MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.", 400},
	ErrInvalidPolicyDocument:                {"InvalidPolicyDocument", "The content of the form does not meet the conditions specified in the policy document.", 400},
	ErrStorageFull:                          {"XMinioStorageFull", "Storage backend has reached its minimum free drive threshold.", 507},
	ErrConditionalRequestConflict:           {"ConditionalRequestConflict", "A conflicting operation occurred.", 409},
	ErrIllegalVersioningConfiguration:       {"IllegalVersioningConfigurationException", "The versioning configuration specified in the request is invalid.", 400},
	ErrInvalidTag:                           {"InvalidTag", "Your request contains tag input that is not valid.", 400},
	ErrNoSuchTagSet:                         {"NoSuchTagSet", "There is no tag set associated with the bucket.", 404},
	ErrNoSuchLifecycleConfiguration:         {"NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist.", 404},
	ErrNoSuchBucketPolicy:                   {"NoSuchBucketPolicy", "The specified bucket does not have a bucket policy.", 404},
	ErrNoSuchCORSConfiguration:              {"NoSuchCORSConfiguration", "The specified bucket does not have a CORS configuration.", 404},
	ErrNoSuchEncryptionConfiguration:        {"ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found.", 404},
	ErrKMSNotFound:                          {"KMS.NotFoundException", "The KMS key given in x-amz-server-side-encryption-aws-kms-key-id does not exist.", 400},
	ErrNoSuchWebsiteConfiguration:           {"NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration.", 404},
	ErrNoSuchReplicationConfiguration:       {"ReplicationConfigurationNotFoundError", "The replication configuration was not found.", 404},
	ErrNoSuchPublicAccessBlockConfiguration: {"NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found.", 404},
	ErrInvalidBucketState:                   {"InvalidBucketState", "The request is not valid with the current state of the bucket.", 409},
	ErrObjectLockConfigurationNotFound:      {"ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket.", 404},
	ErrNoSuchObjectLockConfiguration:        {"NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock configuration.", 404},
	ErrNoSuchVersion:                        {"NoSuchVersion", "The specified version does not exist.", 404},
	ErrIllegalLocationConstraint:            {"IllegalLocationConstraintException", "The location constraint is incompatible for the region specific endpoint this request was sent to.", 400},
	ErrInvalidRedirectLocation:              {"InvalidRedirectLocation", "The website redirect location must have a prefix of 'http://' or 'https://' or '/'.", 400},
}

func (c ErrorCode) info() errorInfo {
	if c < 0 || c >= numErrorCodes {
		return errorTable[ErrInternalError]
	}
	return errorTable[c]
}

// Code is S3's code for c, as sent in the error body ("NoSuchKey").
func (c ErrorCode) Code() string { return c.info().code }

// Description is the message sent with c unless WithMessage gives another.
func (c ErrorCode) Description() string { return c.info().description }

// HTTPStatus is the status S3 answers c with.
func (c ErrorCode) HTTPStatus() int { return c.info().status }

func (c ErrorCode) Error() string { return c.Code() + ": " + c.Description() }

// Is makes errors.Is(c, e) true for an *APIError e of the same ErrorCode.
func (c ErrorCode) Is(target error) bool {
	t, ok := target.(*APIError)
	return ok && t.code == c
}

// WithMessage returns c with a more specific message. The message goes to
// the client: never format an internal error into it (its text may name
// files, drives and hosts); give it to WithCause.
func (c ErrorCode) WithMessage(format string, args ...any) *APIError {
	return &APIError{code: c, message: fmt.Sprintf(format, args...)}
}

// WithCause returns c carrying cause, the internal error behind it: the
// client gets c's description alone, the log (which prints Error()) gets
// the cause too, and errors.Is/As see through to it.
func (c ErrorCode) WithCause(cause error) *APIError {
	return &APIError{code: c, message: c.Description(), cause: cause}
}

// ErrorCodeOf returns the ErrorCode of an S3 code string, the first listed
// of those sharing it; ok is false for a code not in the table.
func ErrorCodeOf(code string) (c ErrorCode, ok bool) {
	for c := range ErrorCode(numErrorCodes) {
		if errorTable[c].code == code {
			return c, true
		}
	}
	return ErrInternalError, false
}

// APIError is an S3 error with its message, and possibly the internal
// error behind it: what an ErrorCode's WithMessage or WithCause returns.
type APIError struct {
	code    ErrorCode
	message string
	// cause is what went wrong inside (see WithCause): logged, never sent.
	cause error
}

// ErrorCode is e's entry in the table.
func (e *APIError) ErrorCode() ErrorCode { return e.code }

// Code is S3's code for e ("NoSuchKey").
func (e *APIError) Code() string { return e.code.Code() }

// Message is the message the client gets.
func (e *APIError) Message() string { return e.message }

// HTTPStatus is the status S3 answers e with.
func (e *APIError) HTTPStatus() int { return e.code.HTTPStatus() }

func (e *APIError) Error() string {
	if e.cause != nil {
		return e.Code() + ": " + e.message + " (" + e.cause.Error() + ")"
	}
	return e.Code() + ": " + e.message
}

// Unwrap returns the cause given to WithCause, if any.
func (e *APIError) Unwrap() error { return e.cause }

// Is lets errors.Is match an APIError by ErrorCode, whatever its message:
// the target may be an ErrorCode or another *APIError.
func (e *APIError) Is(target error) bool {
	switch t := target.(type) {
	case ErrorCode:
		return t == e.code
	case *APIError:
		return t.code == e.code
	}
	return false
}

// WithMessage returns a copy of e with a more specific message (see
// ErrorCode.WithMessage).
func (e *APIError) WithMessage(format string, args ...any) *APIError {
	c := *e
	c.message = fmt.Sprintf(format, args...)
	return &c
}

// WithCause returns a copy of e that carries cause (see
// ErrorCode.WithCause).
func (e *APIError) WithCause(cause error) *APIError {
	c := *e
	c.cause = cause
	return &c
}

// ToAPIError returns the S3 error to answer err with: the first APIError
// or ErrorCode in its chain, or InternalError (known false) for any other
// error, which the caller logs.
func ToAPIError(err error) (ae *APIError, known bool) {
	if errors.As(err, &ae) {
		return ae, true
	}
	var c ErrorCode
	if errors.As(err, &c) {
		return &APIError{code: c, message: c.Description()}, true
	}
	return &APIError{code: ErrInternalError, message: ErrInternalError.Description()}, false
}
