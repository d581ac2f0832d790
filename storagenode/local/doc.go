// Package local is the drive of ecstore that keeps its data in a folder:
// shard files, and a pebble database as the sorted index of records
// (Open). It implements the storagenode.Drive contract, as checked by the
// storagenode/drivetest suite. Its file I/O goes through a pebble vfs.FS:
// the operating system's (Options.FS's default), or pebble's in-memory
// one, which NewMem uses for tests and throw-away servers: one
// implementation of the drive's rules, on disk or in memory.
//
// # On-disk layout
//
//	<dir>/drive.json                         format, drive ID and drive set (identity.go)
//	<dir>/index/                             pebble database: the sorted index
//	<dir>/data/<bucket>/<versionDir>~part.1  committed single-PUT shard files (flat)
//	<dir>/data/<bucket>/<versionDir>/<name>  other committed shard files (multipart parts;
//	                                         single-PUT files of earlier releases)
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
//     when they were created, the parent directories (at once), also when
//     another commit created them and has not synced their parents yet
//     (mkdirDurable). A flat file
//     (storagenode.SinglePartName) enters the bucket's folder: one inode and
//     one directory sync per PUT and drive, where a version folder costs two
//     of each.
//   - Every index write is a synchronous (fsynced) pebble write; pebble groups
//     concurrent syncs into one.
//   - PutMeta's ordering check and its write are atomic per key (lock
//     striping, no global lock). DeleteBucket removes the records, then the
//     shard files, then the bucket record, so an interrupted delete can be
//     repeated; a shard Commit into a bucket deleted meanwhile fails with
//     ErrBucketNotFound and leaves nothing behind.
//   - Leftovers of a crash are temporary files only, removed by the next
//     Open.
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
// This package must never import net/http (it serves nothing: the
// internode API is storagenode/rpc's), nor storagenode/rpc, the wrappers
// (storagenode/intercept, storagenode/faultdrive), the gateway or s3compat
// (enforced by storagenode's TestImports; pebble itself depends on
// net/http, so the rule is on this package's own imports).
package local
