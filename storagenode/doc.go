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
//   - RemoteDrive (NewRemoteDrive): a drive of another process, reached
//     through the internode HTTP API that NewRPCHandler serves.
//
// All of them pass the shared conformance suite in package drivetest (the
// remote drive over a local and an in-memory one, through real HTTP).
//
// # On-disk layout of a LocalDrive
//
//	<dir>/drive.json                         format, drive ID and drive set (local_identity.go)
//	<dir>/index/                             pebble database: the sorted index
//	<dir>/data/<bucket>/<versionDir>/<name>  committed shard files
//	<dir>/tmp/                               shard files being written; emptied on open
//
// The index holds one key range per record kind (see codec.go): buckets
// "b\x00<bucket>", objects "o\x00<bucket>\x00<key>", uploads
// "u\x00<bucket>\x00<uploadID>", parts "p\x00<bucket>\x00<uploadID>\x00<n>",
// and the inline shards of small objects "i\x00<bucket>\x00<versionDir>"
// (beside, not inside, their records, so listings never read them), so that
// ListMeta and ListEntries are a single bounded range scan and never open a
// file per object. Records are CBOR (older JSON records still decode);
// ListEntries decodes only the listing fields of each (entry.go). Object keys appear only in the index, never in file paths; bucket,
// version directory, upload id and shard names are validated (ValidBucketName,
// ValidName) so that each is exactly one path element and nothing can escape
// the drive folder.
//
// # Durability
//
//   - A shard is written to a unique temporary file in tmp/; Commit flushes
//     and fsyncs it, renames it into data/ (atomic: readers see the old file
//     or the new one, never a part), then fsyncs the directory it entered and,
//     when they were created, the parent directories (at once).
//   - Every index write is a synchronous (fsynced) pebble write; pebble groups
//     concurrent syncs into one.
//   - PutMeta's ordering check and its write are atomic per key (lock
//     striping, no global lock). DeleteBucket removes the records, then the
//     shard files, then the bucket record, so an interrupted delete can be
//     repeated; a shard Commit into a bucket deleted meanwhile fails with
//     ErrBucketNotFound and leaves nothing behind.
//   - Leftovers of a crash are temporary files only, removed by the next
//     OpenLocal.
//   - A drive writes only into the folder it opened: it holds drive.json
//     open, and every call first checks (at most once a millisecond) that
//     the folder's drive.json is that file. When the file was removed (the
//     folder emptied or removed under the process) the drive answers
//     ErrDriveOffline until it is opened again; while the folder holds
//     another drive.json or none (renamed away, replaced, unmounted), until
//     it holds its own again. drive.json format 2 also names the drive set
//     (SetInfo); format 1, without it, is still read. A drive that cannot be
//     opened at all is stood in for by an OfflineDrive with its ID.
//
// # Internode API
//
// NewRPCHandler serves drives over HTTP/1.1 (standard library only); a
// RemoteDrive is its client. Every call is one request to
// /ecstore/v1/drive/<path-escaped drive ID>/<method>:
//
//   - Metadata calls (bucket/make, meta/put, meta/list, meta/entries,
//     upload/get, part/put, ...) are POSTs with a CBOR body of arguments (PutMeta and
//     PutUpload send the record itself; a JSON body is accepted too); the
//     answer is CBOR (application/cbor), or 204. Errors are JSON.
//   - shard/write?bucket=&dir=&name= is a POST whose chunked body is the
//     shard, streamed: CreateShard sends the headers with "Expect:
//     100-continue", the node creates the shard and says go ahead (or answers
//     an error before a byte is sent); Write feeds the body; Commit ends it
//     with the trailer X-Ecstore-Stream-Mac, and the node commits only when
//     the whole body arrived and the trailer's MAC matches; Abort, a cut
//     connection or a stall of IOTimeout aborts the temporary file. Neither
//     side holds more than a buffer of the shard.
//   - shard/stat (size, for OpenShard) and shard/read?off=&len=&size= (one
//     ReadAt, streamed straight into the caller's buffer) are GETs.
//   - Errors are {"code": ..., "message": ...} with an HTTP status; the code
//     names the sentinel (BucketNotFound, ObjectNotFound, Stale, DiskFull,
//     DriveOffline, ...) so that errors.Is works on the client side.
//     Unreachable or silent nodes, broken connections and answers that are
//     not ours become ErrDriveOffline; refused authentication becomes
//     ErrUnauthorized and ErrDriveOffline.
//
// Authentication. Every request carries X-Ecstore-Time (Unix seconds),
// X-Ecstore-Nonce (128 random bits), X-Ecstore-Content-Sha256 (SHA-256 of
// the body, or STREAMING-HMAC-SHA256-TRAILER for a shard stream) and
// "Authorization: ECSTORE-HMAC-SHA256 <sig>", sig being the HMAC-SHA256 of
// method, request target (escaped path and query as sent), time, nonce and
// content hash under a key derived from the cluster secret. A shard
// stream's body is authenticated by its trailer: HMAC-SHA256 under a second
// derived key over the request's signature and the body, verified before
// the commit (the ec layer's checksums catch corruption, not forgery). The
// node refuses (401 when authentication is missing or malformed, 403
// otherwise) requests without a valid signature, with a body that does not
// match, with a timestamp outside ±MaxSkew (default 5 minutes), or with a
// nonce it has seen: nonces are remembered, in a bounded cache, until their
// timestamp leaves the window. Refusals are logged with the peer and the
// reason; the secret and signatures never are (Secret formats as
// [REDACTED]). Answers are not signed: on a network that others can write
// to, use TLS (RPCOptions.TLSConfig, and the http.Server's TLSConfig).
//
// Cluster map. Every request carries the caller's map ID (X-Ecstore-Map);
// a node with a map refuses (409 MapMismatch) callers on another one, so no
// process writes on a map the node has left. With RPCOptions.Maps (a
// MapKeeper: the cluster package's Keeper) the ID is read at every request
// and the node also serves, exempt from the map check but signed like the
// rest, /ecstore/v1/node/identity (its id, zone and drive IDs, for an
// operator adding it) and /ecstore/v1/node/map (GET: the map as opaque
// bytes; POST: adopt it if newer). NodeClient makes those calls. What a map
// means is not this package's business.
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
