// Package sigv4 authenticates S3 requests signed with AWS Signature Version 4
// and turns their bodies into verified payload streams.
//
// A Verifier checks the Authorization header (AWS4-HMAC-SHA256) or a
// presigned query (X-Amz-Algorithm=AWS4-HMAC-SHA256, valid up to 7 days)
// against the canonical request S3 defines: the decoded path re-encoded per
// byte with '/' kept and no normalization, the query sorted and encoded the
// same way, the signed headers trimmed and joined. Its Result.Body then
// yields the payload: aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
// its -TRAILER form, and STREAMING-UNSIGNED-PAYLOAD-TRAILER) are decoded,
// each signed chunk verified against the signature chain before its bytes
// are released; a hex x-amz-content-sha256 and any x-amz-checksum-* header
// or trailer (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) are checked at EOF,
// where a failure replaces io.EOF with a *Error carrying the S3 error code.
// Every input is bounded (see the constants in auth.go and chunked.go).
//
// This package knows nothing of buckets, objects or storage: it imports the
// standard library only and must never import other ecstore packages.
package sigv4
