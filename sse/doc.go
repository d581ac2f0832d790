// Package sse is ecstore's server-side encryption: the key ring read from
// --kms-key-file, the sealing of per-object keys under a ring key or a
// customer's key (SSE-S3, SSE-C), and the streams that encrypt an object's
// bytes before they are erasure coded and decrypt any range of them.
//
// An object's bytes are encrypted in the DARE 2.0 format of
// github.com/minio/sio: independently authenticated packages of 64 KiB of
// plaintext (AES-256-GCM, a 16-byte header and a 16-byte tag each), so a
// range read decrypts only the packages it returns, and a flipped byte
// fails the package's tag instead of reaching the client.
//
// Keys, from the top:
//   - a ring key (32 bytes, from the key file; its id is written in every
//     record it sealed, its key check value in the metadata store);
//   - a key-encryption key derived from it (or from an SSE-C customer's
//     key) by HMAC-SHA256 with a label, never used for anything else;
//   - the object key: 32 random bytes per object version (per multipart
//     upload), sealed with AES-256-GCM under the key-encryption key, with
//     the bucket, object key and ring key id as additional data, so a
//     sealed key moved to another object does not open;
//   - a part key per part (HMAC-SHA256 of the object key and the part
//     number), which the DARE stream of that part runs under.
//
// It must never import anything networked (net, net/http) or any other
// ecstore package: it is pure cryptography over bytes and streams.
package sse
