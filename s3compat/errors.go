package s3compat

import (
	"encoding/xml"

	"github.com/ecstore/ecstore/s3api"
)

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

// toAPIError turns any error into the s3api.APIError to send; unknown errors become
// InternalError (the caller logs the original).
func toAPIError(err error) (*s3api.APIError, bool) { return s3api.ToAPIError(err) }

// isS3Error reports whether err is, or wraps, an S3 error of the table.
func isS3Error(err error) bool {
	_, ok := s3api.ToAPIError(err)
	return ok
}
