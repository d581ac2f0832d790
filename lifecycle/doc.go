// Package lifecycle reads S3 bucket lifecycle configurations and decides,
// for one object version or one multipart upload at a time, what a
// configuration does to it now: nothing, expire the current version,
// remove a version for good, or abort the upload. It is arithmetic on its
// arguments: the worker that walks buckets and acts (package gateway) and
// the S3 front end that stores configurations (package s3compat) call it.
//
// The package must never import any other ecstore package or networking
// (TestBoundaries in internal/importtest enforces it): the standard library only.
//
// # What a rule does
//
//   - Expiration Days / Date: the current version of an object expires
//     Days after it was written (rounded up to the next midnight UTC, as
//     S3 counts), or once Date has come. What "expire" means is the
//     bucket's: a bucket without versioning loses the object, a versioned
//     or suspended one gets a delete marker (the caller decides).
//   - ExpiredObjectDeleteMarker, and Days: a delete marker that is the
//     only version left of its key is removed (with Days, once it is
//     Days old, as S3 does).
//   - NoncurrentVersionExpiration: a noncurrent version is removed for
//     good NoncurrentDays after it became noncurrent (when the next newer
//     version was written), keeping the NewerNoncurrentVersions newest
//     noncurrent versions whatever their age.
//   - AbortIncompleteMultipartUpload: an upload is aborted
//     DaysAfterInitiation after it began.
//   - Transitions to other storage classes are refused (ErrNotImplemented):
//     ecstore has one storage class.
//
// A [Clock] with a Day other than 24 hours (a test hook) counts days of
// that length from the version's time, without rounding.
package lifecycle
