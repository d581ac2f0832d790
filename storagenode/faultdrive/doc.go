// Package faultdrive injects faults into any storagenode.Drive, for the
// tests of the layers above (as pebble's errorfs does for a file system):
// a drive going offline, a full disk, a read-only file system, failing or
// corrupted shard reads. New wraps a drive; the faults are switched on and
// off while it runs. They are an interceptor over the generic forwarder of
// storagenode/intercept, so every Drive method sees them.
//
// This package must never import pebble, net/http, storagenode/local or
// storagenode/rpc, nor the gateway or s3compat (enforced by storagenode's
// TestImports).
package faultdrive
