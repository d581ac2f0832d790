package s3compat

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
)

// APIError is one S3 error: its code, the HTTP status S3 answers with, and a
// default message. The table below holds one value per code; handlers and the
// ObjectLayer return these values (possibly with a more specific message via
// WithMessage), and the response adapter turns them into S3's XML error body.
type APIError struct {
	Code       string
	Message    string
	HTTPStatus int
	// cause is what went wrong inside (see WithCause): logged, never sent.
	cause error
}

func (e *APIError) Error() string {
	if e.cause != nil {
		return e.Code + ": " + e.Message + " (" + e.cause.Error() + ")"
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause given to WithCause, if any.
func (e *APIError) Unwrap() error { return e.cause }

// Is lets errors.Is match an APIError by code, whatever its message.
func (e *APIError) Is(target error) bool {
	t, ok := target.(*APIError)
	return ok && t.Code == e.Code
}

// WithMessage returns a copy of e with a more specific message. The
// message goes to the client: never format an internal error into it (its
// text may name files, drives and hosts); give it to WithCause.
func (e *APIError) WithMessage(format string, args ...any) *APIError {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// WithCause returns a copy of e that carries cause, the internal error
// behind it: the client gets e's message alone, the log (which prints
// Error()) gets the cause too, and errors.Is/As see through to it.
func (e *APIError) WithCause(cause error) *APIError {
	c := *e
	c.cause = cause
	return &c
}

func apiErr(code string, status int, msg string) *APIError {
	e := &APIError{Code: code, Message: msg, HTTPStatus: status}
	errorTable[code] = e
	return e
}

// errorTable indexes every APIError by code (see ErrorByCode).
var errorTable = map[string]*APIError{}

// ErrorByCode returns the table entry for an S3 error code, or nil.
func ErrorByCode(code string) *APIError { return errorTable[code] }

// The S3 errors ecstore answers with.
var (
	ErrAccessDenied                   = apiErr("AccessDenied", http.StatusForbidden, "Access Denied.")
	ErrAuthorizationHeaderMalformed   = apiErr("AuthorizationHeaderMalformed", http.StatusBadRequest, "The authorization header is malformed.")
	ErrAuthorizationQueryParamsError  = apiErr("AuthorizationQueryParametersError", http.StatusBadRequest, "Error parsing the X-Amz-Credential parameter.")
	ErrBadDigest                      = apiErr("BadDigest", http.StatusBadRequest, "The Content-MD5 or checksum you specified did not match what we received.")
	ErrBucketAlreadyExists            = apiErr("BucketAlreadyExists", http.StatusConflict, "The requested bucket name is not available.")
	ErrBucketAlreadyOwnedByYou        = apiErr("BucketAlreadyOwnedByYou", http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it.")
	ErrBucketNotEmpty                 = apiErr("BucketNotEmpty", http.StatusConflict, "The bucket you tried to delete is not empty.")
	ErrEntityTooLarge                 = apiErr("EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size.")
	ErrEntityTooSmall                 = apiErr("EntityTooSmall", http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size.")
	ErrIncompleteBody                 = apiErr("IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	ErrInternalError                  = apiErr("InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again.")
	ErrInvalidAccessKeyID             = apiErr("InvalidAccessKeyId", http.StatusForbidden, "The AWS access key ID you provided does not exist in our records.")
	ErrInvalidArgument                = apiErr("InvalidArgument", http.StatusBadRequest, "Invalid argument.")
	ErrInvalidBucketName              = apiErr("InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid.")
	ErrInvalidDigest                  = apiErr("InvalidDigest", http.StatusBadRequest, "The Content-MD5 or checksum you specified is not valid.")
	ErrInvalidPart                    = apiErr("InvalidPart", http.StatusBadRequest, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.")
	ErrInvalidPartOrder               = apiErr("InvalidPartOrder", http.StatusBadRequest, "The list of parts was not in ascending order. The parts list must be specified in order by part number.")
	ErrInvalidPartNumber              = apiErr("InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable.")
	ErrInvalidRange                   = apiErr("InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable.")
	ErrInvalidRequest                 = apiErr("InvalidRequest", http.StatusBadRequest, "Invalid request.")
	ErrKeyTooLong                     = apiErr("KeyTooLongError", http.StatusBadRequest, "Your key is too long.")
	ErrMalformedXML                   = apiErr("MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema.")
	ErrMalformedTrailer               = apiErr("MalformedTrailerError", http.StatusBadRequest, "The request contained trailing data that was not well-formed or did not conform to our published schema.")
	ErrMethodNotAllowed               = apiErr("MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource.")
	ErrMissingContentLength           = apiErr("MissingContentLength", http.StatusLengthRequired, "You must provide the Content-Length HTTP header.")
	ErrMissingSecurityHeader          = apiErr("MissingSecurityHeader", http.StatusBadRequest, "Your request was missing a required header.")
	ErrNoSuchBucket                   = apiErr("NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist.")
	ErrNoSuchKey                      = apiErr("NoSuchKey", http.StatusNotFound, "The specified key does not exist.")
	ErrNoSuchUpload                   = apiErr("NoSuchUpload", http.StatusNotFound, "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.")
	ErrNotImplemented                 = apiErr("NotImplemented", http.StatusNotImplemented, "A header or query you provided requested a function that is not implemented.")
	ErrPreconditionFailed             = apiErr("PreconditionFailed", http.StatusPreconditionFailed, "At least one of the preconditions you specified did not hold.")
	ErrRequestTimeout                 = apiErr("RequestTimeout", http.StatusBadRequest, "Your socket connection to the server was not read from or written to within the timeout period.")
	ErrRequestTimeTooSkewed           = apiErr("RequestTimeTooSkewed", http.StatusForbidden, "The difference between the request time and the server's time is too large.")
	ErrServiceUnavailable             = apiErr("ServiceUnavailable", http.StatusServiceUnavailable, "Please reduce your request rate.")
	ErrSignatureDoesNotMatch          = apiErr("SignatureDoesNotMatch", http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	ErrSlowDown                       = apiErr("SlowDown", http.StatusServiceUnavailable, "Please reduce your request rate.")
	ErrXAmzContentSHA256Mismatch      = apiErr("XAmzContentSHA256Mismatch", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	ErrInvalidObjectName              = apiErr("InvalidObjectName", http.StatusBadRequest, "Object name contains unsupported characters.")
	ErrTooManyParts                   = apiErr("InvalidArgument", http.StatusBadRequest, "Part number must be an integer between 1 and 10000, inclusive.")
	ErrMetadataTooLarge               = apiErr("MetadataTooLarge", http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size.")
	ErrInvalidStorageClass            = apiErr("InvalidStorageClass", http.StatusBadRequest, "The storage class you specified is not valid.")
	ErrNotModified                    = apiErr("NotModified", http.StatusNotModified, "Not Modified.")
	ErrInvalidCopySource              = apiErr("InvalidArgument", http.StatusBadRequest, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.")
	ErrInvalidCopyDest                = apiErr("InvalidRequest", http.StatusBadRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	ErrUnexpectedContent              = apiErr("UnexpectedContent", http.StatusBadRequest, "This request does not support content.")
	ErrInvalidEncodingMethod          = apiErr("InvalidArgument", http.StatusBadRequest, "Invalid Encoding Method specified in Request.")
	ErrMaxKeysInvalid                 = apiErr("InvalidArgument", http.StatusBadRequest, "Argument max-keys must be an integer between 0 and 2147483647.")
	ErrInvalidContinuationToken       = apiErr("InvalidArgument", http.StatusBadRequest, "The continuation token provided is incorrect.")
	ErrRequestHeaderSectionTooLarge   = apiErr("RequestHeaderSectionTooLarge", http.StatusBadRequest, "Your request header section exceeds the maximum allowed size.")
	ErrMissingRequestBodyError        = apiErr("MissingRequestBodyError", http.StatusBadRequest, "Request Body is empty.")
	ErrInsufficientReadQuorum         = apiErr("ServiceUnavailable", http.StatusServiceUnavailable, "Not enough drives answered to read this object safely; please retry.")
	ErrInsufficientWriteQuorum        = apiErr("ServiceUnavailable", http.StatusServiceUnavailable, "Not enough drives are online to store this object safely; please retry.")
	ErrMalformedPOSTRequest           = apiErr("MalformedPOSTRequest", http.StatusBadRequest, "The body of your POST request is not well-formed multipart/form-data.")
	ErrInvalidPolicyDocument          = apiErr("InvalidPolicyDocument", http.StatusBadRequest, "The content of the form does not meet the conditions specified in the policy document.")
	ErrStorageFull                    = apiErr("XMinioStorageFull", http.StatusInsufficientStorage, "Storage backend has reached its minimum free drive threshold.")
	ErrConditionalRequestConflict     = apiErr("ConditionalRequestConflict", http.StatusConflict, "A conflicting operation occurred.")
	ErrIllegalVersioningConfiguration = apiErr("IllegalVersioningConfigurationException", http.StatusBadRequest, "The versioning configuration specified in the request is invalid.")
)

// The table maps codes to the first (canonical) value; aliases registered
// with a shared code above (InvalidArgument, InvalidRequest, ServiceUnavailable)
// must not replace the canonical entries.
func init() {
	for _, e := range []*APIError{ErrInvalidArgument, ErrInvalidRequest, ErrServiceUnavailable} {
		errorTable[e.Code] = e
	}
}

// errorResponse is S3's XML error body.
type errorResponse struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	Resource   xmlText  `xml:"Resource,omitempty"`
	BucketName xmlText  `xml:"BucketName,omitempty"`
	Key        xmlText  `xml:"Key,omitempty"`
	RequestID  string   `xml:"RequestId"`
	HostID     string   `xml:"HostId"`
}

// toAPIError turns any error into the APIError to send; unknown errors become
// InternalError (the caller logs the original).
func toAPIError(err error) (*APIError, bool) {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae, true
	}
	return ErrInternalError, false
}
