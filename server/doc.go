// Package server runs the embedded ecstore: local drives (one folder each,
// each its own failure domain), the erasure-coded gateway over them and the
// S3 HTTP endpoint, in one process. cmd/ecstore turns flags and environment
// into a Config and calls Run.
//
// It is the composition root: it may import every ecstore package but
// those that exist for tests only, which it must never import: fault
// injection (storagenode/faultdrive), the conformance suite
// (storagenode/drivetest) and the import checker (internal/importtest)
// (TestBoundaries in internal/importtest enforces it).
package server
