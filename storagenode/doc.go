// Package storagenode is the contract of ecstore's drives: the Drive
// interface the gateway uses for one storage drive, local or remote, the
// records a drive keeps (buckets, per-object metadata, multipart uploads
// and parts, listing entries), the sentinel errors every implementation
// wraps, the name rules all of them enforce (ValidBucketName, ValidName and
// the Check functions) and the record encoding (CBOR, JSON still read).
// Nothing here does I/O.
//
// Implementations and wrappers live beside it:
//   - storagenode/local: a folder on a local file system (local.Open), with
//     a pebble index; local.NewMem keeps a drive in memory for tests.
//   - storagenode/rpc: a drive of another process (rpc.Client), reached
//     through the internode HTTP API that rpc.NewHandler serves.
//   - storagenode/intercept: the one generic forwarder (intercept.Wrap),
//     and the wrappers built on it: metrics (Observe) and the circuit
//     breaker (NewBreaker).
//   - storagenode/faultdrive: fault injection for tests (offline, full,
//     read-only, failing or corrupted shard reads), also on the forwarder.
//   - storagenode/scrub: re-reads a drive's shards and removes corrupt ones.
//   - OfflineDrive (NewOffline), here: the stand-in for a drive that could
//     not be opened.
//
// All of them pass the conformance suite in storagenode/drivetest.
//
// # Errors
//
// Errors wrap the sentinel errors of drive.go (and ErrCorrupt) with the
// operation and names, "storagenode: put meta bkt/key: ...". A full disk
// wraps ErrDiskFull as well as the system error.
//
// This package must never import pebble, net/http or any other ecstore
// package (enforced by TestImports): it is the leaf every drive package and
// the gateway build on.
package storagenode
