// Package meta is the cluster metadata store: the one ordered, consistent
// home of what every gateway must agree on at once — the bucket table (name,
// creation time, owner, a settings document per bucket), the cluster map and
// its history, and leases with fencing tokens for cluster-wide jobs. It is a
// Raft group; storage nodes are its members (at most 5 voters, the others
// non-voters) and the embedded server runs it with a single voter.
//
// # Engine
//
// hashicorp/raft v1.7.2 with raft-boltdb/v2 (bbolt) as log and stable
// store, behind raft's LogCache, and raft's FileSnapshotStore: a snapshot is
// taken every SnapshotThreshold entries (checked every SnapshotInterval) and
// the log is then compacted to TrailingLogs entries; a member too far behind
// is sent the snapshot. We chose it over etcd's raft because it is a whole
// node (transport, storage, snapshots, membership changes) rather than a
// state-machine library we would have to drive, and its FSM, LogStore and
// StreamLayer are the small consumer-side interfaces STYLE.md asks for.
//
// # State machine and commands
//
// Every command entry of the log is a JSON envelope {v, op, t, fields...} with
// a version and an Op enum (op numbers are stored in logs: never reused).
// decodeCommand refuses unknown versions, ops and fields and commands
// without the fields their op needs; the Store refuses them before
// proposing, and Apply refuses them again (returning ErrUnknownOp) rather
// than ever applying one. A field added later therefore comes with a new
// op or envelope version: a member that does not know it refuses the entry
// instead of applying half of it. Apply is deterministic: it reads only the entry
// and the state, never the clock. The proposer stamps its time in the
// command, and that time is a bucket's creation time and the clock lease
// expiry is judged against. The whole state is one JSON document in
// snapshots (it is small).
//
// An epoch is a log position: the index of the entry that committed a
// cluster map. SetClusterMap is a compare-and-set on it (ErrEpochMismatch),
// so two administrators' changes are ordered and neither is lost silently.
// The last 32 versions are kept as history.
//
// A lease's fencing token is the log index of its grant, so every new grant
// of any lease has a higher token than every earlier one. Acquire refuses
// while another holder's lease runs (ErrLeaseHeld), judged by the command's
// time; the same holder asking again gets the same token, extended (a
// retry). Renew and Release need the current token (ErrStaleToken).
// CheckToken compares against the local copy and does not judge expiry:
// the next grant, with its higher token, is what fences an expired holder.
// Expiry is judged by the proposers' clocks, so clock skew between
// gateways can shorten or lengthen a lease; it can never let two tokens
// pass the same up-to-date CheckToken, which is what fencing rests on.
//
// # Forwarding
//
// hashicorp/raft has no forwarding, so a write on a follower is forwarded:
// the follower opens a connection of kind "forward" to the leader over the
// same authenticated listener, sends the encoded command (or a barrier or a
// membership change) and gets the result back with the sentinel error's
// wire code, so the caller sees the same errors.Is answers on any member.
// We chose forwarding over returning ErrNotLeader with the leader's address
// because every caller — gateways later, admin commands — would otherwise
// need its own retry loop and its own authenticated client to the leader;
// here that loop is in one place (Store.do), retrying only when the
// request certainly was not applied (no leader known, the leader could not
// be reached, or the member asked is not the leader any more), until the
// context's deadline (ApplyTimeout by default). A write whose leader lost
// its leadership while committing it fails with an error wrapping
// raft.ErrLeadershipLost: its outcome is unknown (it may still commit), and
// it is not retried, so a retry never reports ErrBucketExists for the
// caller's own create; the caller decides, after a Sync and a read.
//
// Sync is a read index: the leader confirms its leadership with a barrier
// (which returns once its state machine has applied everything before it)
// and returns the index of the last command its state holds; the member
// waits until its own state holds that command. The state machine counts
// that index itself (and keeps it in snapshots): raft.AppliedIndex counts
// entries handed to the state machine's goroutine, not yet applied. Reads
// after Sync are linearizable; reads without it are the local copy,
// usually a heartbeat or so behind.
//
// # Transport
//
// A raft.StreamLayer over TCP. Before any Raft byte flows both sides prove
// they hold the cluster secret: a mutual HMAC-SHA256 challenge-response
// over a fresh 32-byte nonce from each side, keyed by a key derived from
// the secret with a fixed label, the roles bound into each proof so one
// side's proof cannot be reflected as the other's, compared in constant
// time, the whole exchange under HandshakeTimeout. A connection that fails
// it is logged and closed; nothing else is accepted. The handshake
// authenticates the connection, not each message: it keeps out processes
// that lack the secret, not an attacker on the path who can hijack a TCP
// stream; the later wiring may wrap the stream in TLS for that.
//
// # Users and policies
//
// The state has room for users (access key, secret, policy names) and
// named policy documents (users.go), for the users-and-policies issue;
// nothing authenticates with them yet. A user's secret is sealed by the
// proposer with AES-256-GCM under a key derived from the cluster secret
// (HMAC-SHA256 with a fixed label), the access key as additional data:
// the log, the snapshots and every copy hold only the sealed form.
//
// # Holders: Store, Group, Client
//
// A Store is one member over TCP (a storage node). A Group is the embedded
// server's members in one process, one per drive folder, over raft's
// in-memory transport (group.go). A Client is a gateway's read-only copy,
// kept current by a long poll on any member, its changes sent through a
// member (client.go); it is not a member. All three read and change the
// state through the same operations (ops.go). A change from a Client
// carries a request ID that the state machine applies at most once (it
// keeps the results of the last 2,048), so the Client may send it again
// through another member when one does not answer.
//
// # The data path never waits on it
//
// Gateways read bucket existence and settings, the map and tokens from
// their local copy (Bucket, Buckets, ClusterMap, CheckToken: no network);
// object metadata stays on the drives, with quorum. Only metadata changes
// need a live majority, so losing the group stops bucket and map changes,
// not reads and writes of existing buckets.
//
// meta must never import gateway, s3compat (nor gin), server, or storagenode's
// implementations (storagenode/local, storagenode/rpc, pebble): it is
// below all of them, and the drives and the server will depend on it, not
// the other way round.
package meta
