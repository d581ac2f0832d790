// Package bench is ecstore's S3 load generator, behind `ecstore bench`: it
// drives any S3 endpoint (ecstore, MinIO, AWS) through timed phases (PUT,
// GET, MIXED, LIST, LISTVERSIONS, DELETE) from a fixed number of workers,
// verifies a sample of the bytes it reads back, and reports per phase the
// operations, errors by S3 code, MiB/s, objects/s and latency percentiles.
//
// It is built to cost the server as little CPU as possible when both share
// a machine: plain net/http with one idle connection per worker, SigV4
// signing with UNSIGNED-PAYLOAD (no body hashing), request bodies that are
// windows of one random buffer generated once, and response bodies drained
// into a reused per-worker buffer.
//
// bench is a client of the S3 protocol only: it must never import another
// ecstore package (a test enforces this), so that it measures every
// endpoint the same way.
package bench
