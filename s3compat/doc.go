// Package s3compat is ecstore's S3 front end: everything S3-shaped and
// nothing about storage. It routes path-style requests (through a gin engine
// that never cleans or redirects paths, so keys keep "//", trailing "/" and
// ".."), authenticates them with AWS Signature V4 (package sigv4), parses
// and writes S3's XML, and answers every failure with S3's XML error body
// from the table of S3 errors in package s3api. Storage is reached only
// through the s3api.ObjectLayer interface; the gateway package implements it.
//
// Handlers return a response value or an error; one adapter writes status,
// headers, XML or streamed bodies, the request id and the access log.
//
// s3compat must never import the gateway, ec, placement or storagenode
// packages, even transitively (a test over `go list -deps` enforces it).
package s3compat
