// Package md5pool hands out the MD5 hashes of object bodies (S3's ETag of a
// single-part object is the MD5 of its bytes). A hash is the standard
// library's while few are in use; beyond that, new ones are lanes of one
// shared github.com/minio/md5-simd server, which hashes up to 16 streams at
// once with AVX-512 (8 with AVX2) and on this project's 2-core machines
// sums 8 streams about three times as fast as crypto/md5 on both cores,
// while one or two streams are faster on crypto/md5.
//
// It must never import anything of ecstore's own: the gateway and the
// server both use it.
package md5pool
