// Package gateway implements s3api.ObjectLayer over erasure-coded drives.
// A PUT is split by package ec into k data and m parity shard streams,
// placed by package placement on k+m drives (each a storagenode.Drive, local
// or remote), committed shards first and metadata second, and acknowledged
// once the write quorum holds it. A GET reads the metadata from the object's
// drives, takes the newest version that a read quorum agrees on and decodes
// the requested range, reconstructing from parity when drives are missing or
// blocks fail their checksums. Listings merge the sorted metadata indexes of
// the drives: all of them, or, when every object lives on every drive, the
// max(k, m+1) that suffice to find each current version (list.go).
//
// The Layer is the data path only. Repair, built beside it with NewRepair,
// does the work that brings objects back to full redundancy and placement:
// the heal queue's worker (fed by the Layer's degraded reads and partial
// writes), the background scanner and operator heals, the rebalance walk
// after a cluster map change (one Walker type, its kind an enum), the
// expiry of abandoned multipart uploads, and the lifecycle passes
// (lifecycle.go, rules decided by package lifecycle). HealObject runs in three steps:
// classify the shards, rebuild the bad ones, commit their records.
//
// The gateway returns its own sentinel errors (ErrObjectNotFound,
// ErrReadQuorum, ...; errors.go), wrapped with context, and those of the
// layers below; each ObjectLayer method translates them to S3 errors once,
// at the boundary, from one table (toS3). Internal code branches on the
// gateway's errors, never on S3 codes.
//
// Buckets: with a Catalog (catalog.go; the server adapts the metadata
// store to it) the bucket table is the catalog's local copy, one lookup on
// the data path; without one, the drives' bucket records decide. A
// bucket's settings documents (s3api.SettingsLayer; settings.go) live in
// the catalog too; without one a bucket has none.
//
// The gateway reaches S3 only through package s3api, drives only through
// the storagenode contract and the metadata store only through Catalog: it
// must never import, even transitively, s3compat, gin, net/http, meta, the
// local drive, the RPC client or pebble (a test over `go list -deps`
// enforces it).
package gateway
