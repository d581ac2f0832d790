// Package admin is ecstore's operator API and its client: heal (start, and
// progress), served by every gateway under /_ecstore/admin/v1/ (a path no
// S3 bucket can have: bucket names never contain '_') and authenticated
// with AWS Signature V4 under the root credentials, and the `ecstore admin`
// command's client with its progress bar.
//
// It reads and drives a gateway through interfaces it defines (Cluster,
// Membership), so it must never import the S3 front end (s3compat, gin), a
// drive implementation (storagenode/local, storagenode/rpc, pebble) or the
// server package (TestBoundaries in internal/importtest enforces it).
package admin
