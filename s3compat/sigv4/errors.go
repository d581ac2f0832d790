package sigv4

// Error is an authentication or payload-verification failure with its S3
// error code (one of the Code constants) and a message for the client.
//
// Verify returns *Error for every failure it detects; Result.Body returns
// *Error from Read for a body that fails verification or is truncated.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return "sigv4: " + e.Code + ": " + e.Message }

// The S3 error codes this package returns.
const (
	CodeAccessDenied                  = "AccessDenied"
	CodeSignatureDoesNotMatch         = "SignatureDoesNotMatch"
	CodeInvalidAccessKeyID            = "InvalidAccessKeyId"
	CodeAuthorizationHeaderMalformed  = "AuthorizationHeaderMalformed"
	CodeAuthorizationQueryParamsError = "AuthorizationQueryParametersError"
	CodeMissingSecurityHeader         = "MissingSecurityHeader"
	CodeRequestTimeTooSkewed          = "RequestTimeTooSkewed"
	CodeXAmzContentSHA256Mismatch     = "XAmzContentSHA256Mismatch"
	CodeIncompleteBody                = "IncompleteBody"
	CodeInvalidRequest                = "InvalidRequest"
	CodeBadDigest                     = "BadDigest"
	CodeMalformedTrailerError         = "MalformedTrailerError"
	CodeInvalidDigest                 = "InvalidDigest"
	CodeInvalidArgument               = "InvalidArgument"
)

func newErr(code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Messages shared by several checks.
const (
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	msgChunkSignature    = "The chunk signature we calculated does not match the signature you provided."
	msgTrailerSignature  = "The trailer signature we calculated does not match the signature you provided."
	msgIncompleteBody    = "You did not provide the number of bytes specified by the Content-Length HTTP header."
	msgMalformedTrailer  = "The request contained trailing data that was not well-formed or did not conform to our published schema."
	msgMalformedChunked  = "The aws-chunked encoded body is malformed."
)

func errSignature() *Error      { return newErr(CodeSignatureDoesNotMatch, msgSignatureMismatch) }
func errChunkSignature() *Error { return newErr(CodeSignatureDoesNotMatch, msgChunkSignature) }
func errIncomplete() *Error     { return newErr(CodeIncompleteBody, msgIncompleteBody) }
func errMalformedTrailer(detail string) *Error {
	if detail == "" {
		return newErr(CodeMalformedTrailerError, msgMalformedTrailer)
	}
	return newErr(CodeMalformedTrailerError, msgMalformedTrailer+" ("+detail+")")
}
func errMalformedChunked(detail string) *Error {
	return newErr(CodeInvalidRequest, msgMalformedChunked+" ("+detail+")")
}
