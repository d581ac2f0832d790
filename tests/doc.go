// Package tests holds ecstore's end-to-end tests: they build the real
// ecstore binary, start it on a free 127.0.0.1 port over temporary drive
// folders, and drive it with real clients (the aws CLI, minio-go, plain
// net/http). Nothing here is mocked.
//
// Each test starts its own servers or clusters, so the tests run in
// parallel: a test calls parallelHeavy or parallelLight first, and the
// slots of each kind (see heavySlots) bound how many run at once. A test
// that asserts a tight time bound, or changes state the others share,
// stays serial and says why. -parallel=1 runs them one at a time.
//
// The tests drive the binary: they must never import the packages it is
// built from beyond the shared vocabulary (the cluster map, the crash point
// names, the storagenode contract and its RPC client for a node's own
// answers): never the gateway, the server, the S3 front end or the local
// drive (TestBoundaries in internal/importtest enforces it).
package tests
