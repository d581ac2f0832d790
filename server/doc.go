// Package server runs the embedded ecstore: local drives (one folder each,
// each its own failure domain), the erasure-coded gateway over them and the
// S3 HTTP endpoint, in one process. cmd/ecstore turns flags and environment
// into a Config and calls Run.
package server
