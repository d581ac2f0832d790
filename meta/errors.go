package meta

import "errors"

// Sentinel errors. Every error the Store returns wraps one of these or an
// error of the Raft engine, with context; compare with errors.Is.
var (
	// ErrBucketExists: CreateBucket of a name the table already holds.
	ErrBucketExists = errors.New("meta: bucket already exists")
	// ErrBucketNotFound: a bucket operation on a name the table lacks.
	ErrBucketNotFound = errors.New("meta: bucket not found")
	// ErrEpochMismatch: SetClusterMap's expected epoch is not the current one.
	ErrEpochMismatch = errors.New("meta: cluster map epoch mismatch")
	// ErrLeaseHeld: another holder has the lease and it has not expired.
	ErrLeaseHeld = errors.New("meta: lease held by another holder")
	// ErrStaleToken: a fencing token that is no longer the lease's current one
	// (a newer grant exists, the lease was released or, for a renewal, it
	// expired).
	ErrStaleToken = errors.New("meta: stale fencing token")
	// ErrUnknownOp: a command whose op (or envelope version) this version
	// does not know; it is refused, never applied.
	ErrUnknownOp = errors.New("meta: unknown command")
	// ErrBadCommand: a command that cannot be decoded or misses a field.
	ErrBadCommand = errors.New("meta: malformed command")
	// ErrNotLeader: no leader is known (an election is under way or no
	// majority is reachable) within the caller's deadline.
	ErrNotLeader = errors.New("meta: no leader")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("meta: store closed")
	// ErrNotFound: a user or policy the state lacks.
	ErrNotFound = errors.New("meta: not found")
	// ErrHandshake: a connection failed the cluster-secret handshake.
	ErrHandshake = errors.New("meta: handshake failed")
	// ErrKeyMismatch: a master key registered under an id that has
	// another key check value (a different key under the same id).
	ErrKeyMismatch = errors.New("meta: another key is registered under that id")
	// ErrKeyExists: a KMS key of that name exists already.
	ErrKeyExists = errors.New("meta: a key of that name exists")
)

// codes name the sentinels on the forwarding wire, so a write forwarded to
// the leader fails with the same sentinel on the follower.
var codes = map[string]error{
	"bucket_exists":    ErrBucketExists,
	"bucket_not_found": ErrBucketNotFound,
	"epoch_mismatch":   ErrEpochMismatch,
	"lease_held":       ErrLeaseHeld,
	"stale_token":      ErrStaleToken,
	"unknown_op":       ErrUnknownOp,
	"bad_command":      ErrBadCommand,
	"not_leader":       ErrNotLeader,
	"closed":           ErrClosed,
	"not_found":        ErrNotFound,
	"key_mismatch":     ErrKeyMismatch,
	"key_exists":       ErrKeyExists,
}

// codeOf returns the wire code of err's sentinel, or "" for any other error.
func codeOf(err error) string {
	for c, s := range codes {
		if errors.Is(err, s) {
			return c
		}
	}
	return ""
}
