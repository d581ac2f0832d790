// Package rpc is ecstore's internode API: the signed HTTP API through which
// a gateway uses the drives of a storage node. NewHandler serves a node's
// drives; Client is one remote drive (a storagenode.Drive); NodeClient
// asks a node for its identity and exchanges cluster maps.
//
// NewHandler serves drives over HTTP/1.1 (standard library only); a
// Client is its client. Every call is one request to
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
//     ReadAt, or the range a hint asks for, streamed straight into the
//     caller's buffer) are GETs. Over plain TCP a node sends a read of more
//     than 1 MiB past its first 4 KiB with sendfile when the drive's reader
//     is a file of the operating system (storagenode.FileReader); the reader
//     checks every block's checksum (ec.Decode), not the node.
//   - Errors are {"code": ..., "message": ...} with an HTTP status; the code
//     names the sentinel (BucketNotFound, ObjectNotFound, Stale, DiskFull,
//     DriveOffline, ...) so that errors.Is works on the client side.
//     Unreachable or silent nodes, broken connections and answers that are
//     not ours become ErrDriveOffline; refused authentication becomes
//     ErrUnauthorized and ErrDriveOffline.
//
// Authentication. Every request carries X-Ecstore-Time (Unix seconds),
// X-Ecstore-Nonce (128 random bits), X-Ecstore-Content-Sha256 (SHA-256 of
// the body, or STREAMING-AESGMAC-TRAILER for a shard stream) and
// "Authorization: ECSTORE-HMAC-SHA256 <sig>", sig being the HMAC-SHA256 of
// method, request target (escaped path and query as sent), time, nonce and
// content hash under a key derived from the cluster secret. A shard
// stream's body is authenticated by its trailer: AES-GMAC over 64 KiB
// segments under a key derived from a second derived key and the request's
// signature, the segments' tags bound by an HMAC (gmacStream), verified
// before the commit (the ec layer's checksums catch corruption, not
// forgery); streams marked STREAMING-HMAC-SHA256-TRAILER, as gateways of
// earlier releases send them, carry HMAC-SHA256 instead and are accepted
// (so a cluster upgrades its nodes before its gateways: a gateway of this
// release sends only the new markers).
// Over TLS a stream is marked STREAMING-TLS-TRAILER and carries only its
// length (TLS authenticates it); a node takes that marker only on a TLS
// connection. The node refuses (401 when authentication is missing or
// malformed, 403 otherwise) requests without a valid signature, with a
// body that does not match, with a timestamp outside ±MaxSkew (default 5 minutes), or with a
// nonce it has seen: nonces are remembered, in a bounded cache, until their
// timestamp leaves the window. Refusals are logged with the peer and the
// reason; the secret and signatures never are (Secret formats as
// [REDACTED]). Answers are not signed: on a network that others can write
// to, use TLS (Options.TLSConfig, and the http.Server's TLSConfig).
//
// Cluster map. Every request carries the caller's map ID (X-Ecstore-Map);
// a node with a map refuses (409 MapMismatch) callers on another one, so no
// process writes on a map the node has left. With Options.Maps (a
// MapKeeper: the cluster package's Keeper) the ID is read at every request
// and the node also serves, exempt from the map check but signed like the
// rest, /ecstore/v1/node/identity (its id, zone and drive IDs, for an
// operator adding it) and /ecstore/v1/node/map (GET: the map as opaque
// bytes; POST: adopt it if newer). NodeClient makes those calls. What a map
// means is not this package's business.
//
// This package must never import pebble or storagenode/local (it serves
// any storagenode.Drive), nor the gateway or s3compat (enforced by
// storagenode's TestImports).
package rpc
