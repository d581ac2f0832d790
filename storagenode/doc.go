// Package storagenode is the shard store of ecstore: everything one storage
// drive keeps, behind the Drive interface the gateway uses. A Drive holds
// bucket records, shard files (the erasure-coded bytes, opaque here),
// per-object metadata records in a sorted index, and multipart upload state.
//
// Implementations:
//   - LocalDrive (OpenLocal): a folder on a local file system.
//   - MemDrive (NewMem): in memory, same semantics; for tests and throw-away
//     servers.
//   - FaultyDrive (NewFaulty): wraps any Drive and injects faults (offline,
//     failing or corrupted shard reads) for tests of the layers above.
//
// Later the internode HTTP API will serve Drives to remote gateways, and a
// Client will be a Drive too; all of them pass the shared conformance suite in
// package drivetest.
//
// # On-disk layout of a LocalDrive
//
//	<dir>/drive.json                         format and drive ID, written once
//	<dir>/index/                             pebble database: the sorted index
//	<dir>/data/<bucket>/<versionDir>/<name>  committed shard files
//	<dir>/tmp/                               shard files being written; emptied on open
//
// The index holds one key range per record kind (see codec.go): buckets
// "b\x00<bucket>", objects "o\x00<bucket>\x00<key>", uploads
// "u\x00<bucket>\x00<uploadID>", parts "p\x00<bucket>\x00<uploadID>\x00<n>",
// so that ListMeta is a single bounded range scan and never opens a file per
// object. Object keys appear only in the index, never in file paths; bucket,
// version directory, upload id and shard names are validated (ValidBucketName,
// ValidName) so that each is exactly one path element and nothing can escape
// the drive folder.
//
// # Durability
//
//   - A shard is written to a unique temporary file in tmp/; Commit flushes
//     and fsyncs it, renames it into data/ (atomic: readers see the old file
//     or the new one, never a part), then fsyncs the directory it entered and,
//     when they were created, the parent directories.
//   - Every index write is a synchronous (fsynced) pebble write; pebble groups
//     concurrent syncs into one.
//   - PutMeta's ordering check and its write are atomic per key (lock
//     striping, no global lock). DeleteBucket removes the records, then the
//     shard files, then the bucket record, so an interrupted delete can be
//     repeated; a shard Commit into a bucket deleted meanwhile fails with
//     ErrBucketNotFound and leaves nothing behind.
//   - Leftovers of a crash are temporary files only, removed by the next
//     OpenLocal.
//
// # Errors
//
// Errors wrap the sentinel errors of drive.go (and ErrCorrupt) with the
// operation and names, "storagenode: put meta bkt/key: ...". A full disk
// wraps ErrDiskFull as well as the system error.
//
// This package must never import the gateway or s3compat packages (enforced
// by TestImports): it knows nothing about S3.
package storagenode
