// Package scrub re-reads a drive's shard files at a bounded rate and
// verifies their block checksums (package ec); a corrupt shard file is
// removed so that the gateways' heal rebuilds it. It works over any
// storagenode.Drive.
//
// This package must never import pebble, net/http, storagenode/local or
// storagenode/rpc, nor the gateway or s3compat (enforced by storagenode's
// TestImports).
package scrub
