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
// Errors from the layers below are translated to S3 errors in one place
// (errors.go). The gateway never imports net/http.
package gateway
