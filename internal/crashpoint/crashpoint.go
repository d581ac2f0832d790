package crashpoint

import (
	"os"
	"sync"
	"syscall"
)

// Env is the environment variable naming the point to crash at.
const Env = "ECSTORE_CRASH_AT"

// The named points. Each sits between two steps of a write path whose order
// the crash tests check.
const (
	// CompleteArbiter: a Complete committed on its first drive only.
	CompleteArbiter = "complete.arbiter"
	// CondAcquire: a conditional write (PUT or Complete) took its first
	// drive by compare-and-set, short of the quorum that wins its race.
	CondAcquire = "cond.acquire"
	// CompleteCommitted: a Complete committed with quorum, before replaced
	// versions' files are removed.
	CompleteCommitted = "complete.committed"
	// DeleteRecords: a DELETE removed the records with quorum, before the
	// shard files.
	DeleteRecords = "delete.records"
	// DeleteSplit: a DELETE removed the records of n-k+1 of the key's n
	// drives (the first in placement order), short of its quorum: neither
	// the object's version nor its absence is on k drives.
	DeleteSplit = "delete.split"
	// PutCommitted: an overwrite committed its record with quorum, before
	// the replaced version's files are removed.
	PutCommitted = "put.committed"
	// RecordPartial: a change of a version's record (tags, retention,
	// legal hold) stored on a first drive, short of the write quorum.
	RecordPartial = "record.partial"
	// BucketRecords: a CreateBucket wrote the drives' bucket records,
	// before the metadata store commits the bucket.
	BucketRecords = "bucket.records"
	// BucketCataloged: a CreateBucket committed the bucket in the
	// metadata store, before it answers.
	BucketCataloged = "bucket.cataloged"
	// BucketUncataloged: a DeleteBucket removed the bucket from the
	// metadata store, before the drives' records.
	BucketUncataloged = "bucket.uncataloged"
)

var at = sync.OnceValue(func() string { return os.Getenv(Env) })

// Armed reports whether name is the point ECSTORE_CRASH_AT names: a path
// that cannot reach its point deterministically otherwise (a fan-out whose
// calls finish in any order) takes a fixed order when armed.
func Armed(name string) bool { return at() == name }

// Hit kills the process if name is the point ECSTORE_CRASH_AT names.
func Hit(name string) {
	if at() != name {
		return
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}
