// Package s3api is the seam between ecstore's S3 front end (package
// s3compat) and its storage (package gateway): the ObjectLayer interface
// and its optional capabilities (UploadChecksumer; SettingsLayer, a
// bucket's settings documents, one per Setting), the value types their
// methods take and return, S3's tag rules (CheckTags), the S3 checksum
// rules an ObjectLayer applies on CompleteMultipartUpload, and the table of
// S3 errors, keyed by the ErrorCode enum ({Code, Description, HTTPStatus},
// as versitygw's s3err).
//
// Errors are values of the table: an ErrorCode is an error, and
// WithMessage or WithCause turn it into an *APIError that keeps it.
// errors.Is compares ErrorCodes, so two different errors never compare
// equal because S3 answers both with the same code string.
//
// s3api is a leaf: it must never import anything but the standard library,
// and of it nothing networked (net, net/http; net/netip's address values
// are allowed): the gateway imports it and must stay free of HTTP. A test
// over `go list -deps` enforces this.
package s3api
