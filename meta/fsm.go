package meta

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// mapHistory is how many cluster map versions the state keeps, the
// current one included.
const mapHistory = 32

// BucketSettings is a bucket's settings document: one optional JSON
// document per feature, owned by the issue that implements it. A nil field
// is unset. PutBucketSettings changes only the fields it carries; a field
// carrying JSON null clears it.
type BucketSettings struct {
	Versioning json.RawMessage `json:"versioning,omitempty"`
	ObjectLock json.RawMessage `json:"objectLock,omitempty"`
	Lifecycle  json.RawMessage `json:"lifecycle,omitempty"`
	Policy     json.RawMessage `json:"policy,omitempty"`
	CORS       json.RawMessage `json:"cors,omitempty"`
	Tags       json.RawMessage `json:"tags,omitempty"`
	Encryption json.RawMessage `json:"encryption,omitempty"`
}

// fields lists the settings' fields, for merging.
func (s *BucketSettings) fields() []*json.RawMessage {
	return []*json.RawMessage{&s.Versioning, &s.ObjectLock, &s.Lifecycle, &s.Policy, &s.CORS, &s.Tags, &s.Encryption}
}

// merge applies a PutBucketSettings document to s.
func (s *BucketSettings) merge(u BucketSettings) {
	dst, src := s.fields(), u.fields()
	for i := range dst {
		switch v := *src[i]; {
		case v == nil:
		case string(v) == "null":
			*dst[i] = nil
		default:
			*dst[i] = slices.Clone(v)
		}
	}
}

func (s BucketSettings) clone() BucketSettings {
	c := s
	for _, f := range c.fields() {
		*f = slices.Clone(*f)
	}
	return c
}

// Bucket is one row of the bucket table.
type Bucket struct {
	Name     string         `json:"name"`
	Created  time.Time      `json:"created"` // the proposer's clock
	Owner    string         `json:"owner"`
	Settings BucketSettings `json:"settings"`
}

// MapVersion is one version of the cluster map: opaque bytes (package
// cluster gives them meaning) and its epoch, the index of the log entry
// that committed it. Epoch 0 is "no map yet". Epochs only grow: the map
// imported into the group (from a store older than it, or the cluster file
// of a new one) keeps its own epoch (command.Floor), so that nothing the
// nodes hold is renumbered, and a map after one whose epoch is ahead of the
// log counts on from it until the log's index passes it.
type MapVersion struct {
	Epoch uint64    `json:"epoch"`
	Time  time.Time `json:"time"`
	Data  []byte    `json:"data"`
}

// Lease is a cluster-wide job's lease. Token is the fencing token, the log
// index of the grant: every new grant of any lease has a higher one.
type Lease struct {
	Job     string    `json:"job"`
	Holder  string    `json:"holder"`
	Token   uint64    `json:"token"`
	Expires time.Time `json:"expires"` // judged against commands' clocks
}

// state is everything the state machine holds; it is also the snapshot.
type state struct {
	Buckets map[string]Bucket `json:"buckets"`
	Maps    []MapVersion      `json:"maps"` // oldest first; the last is current
	Leases  map[string]Lease  `json:"leases"`
	// Imported: the buckets of a store written before the metadata group
	// existed were imported (ImportBuckets runs once).
	Imported bool `json:"imported,omitempty"`
	// Users by access key, and named policies (documents the IAM issue
	// gives meaning; stored as given).
	Users    map[string]User            `json:"users,omitempty"`
	Policies map[string]json.RawMessage `json:"policies,omitempty"`
	// Keys are the master keys that have sealed object keys (SSE), by id:
	// their key check values, so a process started with a wrong key file
	// refuses to start instead of failing every read.
	Keys map[string]KeyCheck `json:"keys,omitempty"`
	// KMSKeys are SSE-KMS's named keys, each sealed by a master key.
	KMSKeys map[string]KMSKey `json:"kmsKeys,omitempty"`
	// Recent are the results of the last recentMax commands that carried
	// an ID, oldest first (deduplication of retried requests).
	Recent []recentResult `json:"recent,omitempty"`
}

// recentMax is how many request results the state keeps for retries.
const recentMax = 2048

// recentResult is an applied request's result: its ID, the sentinel's
// wire code of its error ("" for none) and its values.
type recentResult struct {
	ID    string `json:"id"`
	Code  string `json:"code,omitempty"`
	Token uint64 `json:"token,omitempty"`
	Epoch uint64 `json:"epoch,omitempty"`
	Index uint64 `json:"index"`
}

// result is what Apply returns for one entry.
type result struct {
	err   error
	index uint64 // the entry's log index
	token uint64 // AcquireLease, RenewLease
	epoch uint64 // SetClusterMap
}

// fsm is the raft.FSM: the state, guarded for the Store's readers. Apply
// is deterministic: it reads nothing but the entry and the state.
type fsm struct {
	mu      sync.RWMutex
	st      state
	applied uint64 // the index of the last command entry applied (Sync waits on it)
	// changed is closed (and replaced) whenever applied moves: waiters
	// (watching clients, Sync) wake without polling.
	changed chan struct{}
}

var _ raft.FSM = (*fsm)(nil)

func newFSM() *fsm {
	return &fsm{st: state{Buckets: map[string]Bucket{}, Leases: map[string]Lease{}}, changed: make(chan struct{})}
}

// Apply applies one committed entry and returns a *result.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return &result{}
	}
	c, err := decodeCommand(l.Data)
	if err != nil {
		f.mu.Lock()
		f.setApplied(l.Index)
		f.mu.Unlock()
		return &result{err: fmt.Errorf("entry %d: %w", l.Index, err), index: l.Index}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setApplied(l.Index)
	if c.ID != "" {
		for _, rr := range f.st.Recent {
			if rr.ID == c.ID {
				// A retry of a request applied before: its first result.
				r := &result{token: rr.Token, epoch: rr.Epoch, index: rr.Index}
				if rr.Code != "" {
					r.err = fmt.Errorf("an earlier try of this request: %w", codes[rr.Code])
				}
				return r
			}
		}
	}
	r := f.apply(l.Index, c)
	r.index = l.Index
	if c.ID != "" {
		f.st.Recent = append(f.st.Recent, recentResult{ID: c.ID, Code: codeOf(r.err), Token: r.token, Epoch: r.epoch, Index: l.Index})
		if n := len(f.st.Recent); n > recentMax {
			f.st.Recent = slices.Clone(f.st.Recent[n-recentMax:])
		}
	}
	return r
}

// setApplied moves applied and wakes the waiters; f.mu is held.
func (f *fsm) setApplied(index uint64) {
	f.applied = index
	close(f.changed)
	f.changed = make(chan struct{})
}

// appliedSince returns the applied index and a channel closed when it
// moves next.
func (f *fsm) appliedSince() (uint64, <-chan struct{}) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.applied, f.changed
}

// encode returns the state as a snapshot file (what Restore reads);
// forClient leaves out what only members need (the recent requests).
func (f *fsm) encode(forClient bool) ([]byte, uint64, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	st := f.st
	if forClient {
		st.Recent = nil
	}
	b, err := json.Marshal(snapshotFile{V: cmdVersion, Applied: f.applied, State: st})
	if err != nil {
		return nil, 0, fmt.Errorf("meta: encode the state: %w", err)
	}
	return b, f.applied, nil
}

func (f *fsm) apply(index uint64, c command) *result {
	st := &f.st
	switch c.Op {
	case OpCreateBucket:
		if _, ok := st.Buckets[c.Bucket]; ok {
			return &result{err: fmt.Errorf("create %q: %w", c.Bucket, ErrBucketExists)}
		}
		st.Buckets[c.Bucket] = Bucket{Name: c.Bucket, Created: c.time(), Owner: c.Owner}
	case OpDeleteBucket:
		if _, ok := st.Buckets[c.Bucket]; !ok {
			return &result{err: fmt.Errorf("delete %q: %w", c.Bucket, ErrBucketNotFound)}
		}
		delete(st.Buckets, c.Bucket)
	case OpPutBucketSettings:
		b, ok := st.Buckets[c.Bucket]
		if !ok {
			return &result{err: fmt.Errorf("settings of %q: %w", c.Bucket, ErrBucketNotFound)}
		}
		b.Settings = b.Settings.clone()
		b.Settings.merge(*c.Settings)
		st.Buckets[c.Bucket] = b
	case OpSetClusterMap:
		if cur := st.epoch(); c.Epoch != cur {
			return &result{err: fmt.Errorf("set map at epoch %d, current %d: %w", c.Epoch, cur, ErrEpochMismatch)}
		}
		epoch := max(index, st.epoch()+1)
		if c.Floor > 0 { // an import keeps the map's own epoch
			epoch = max(c.Floor, st.epoch()+1)
		}
		st.Maps = append(st.Maps, MapVersion{Epoch: epoch, Time: c.time(), Data: slices.Clone(c.Map)})
		if n := len(st.Maps); n > mapHistory {
			st.Maps = slices.Clone(st.Maps[n-mapHistory:])
		}
		return &result{epoch: epoch}
	case OpAcquireLease:
		now := c.time()
		if l, ok := st.Leases[c.Job]; ok && now.Before(l.Expires) {
			if l.Holder != c.Holder {
				return &result{err: fmt.Errorf("lease %q held by %q until %s: %w", c.Job, l.Holder, l.Expires.Format(time.RFC3339Nano), ErrLeaseHeld)}
			}
			// The holder asks again (a retry): same grant, extended.
			l.Expires = now.Add(time.Duration(c.TTL))
			st.Leases[c.Job] = l
			return &result{token: l.Token}
		}
		st.Leases[c.Job] = Lease{Job: c.Job, Holder: c.Holder, Token: index, Expires: now.Add(time.Duration(c.TTL))}
		return &result{token: index}
	case OpRenewLease:
		l, ok := st.Leases[c.Job]
		if !ok || l.Holder != c.Holder || l.Token != c.Token || !c.time().Before(l.Expires) {
			return &result{err: fmt.Errorf("renew lease %q token %d: %w", c.Job, c.Token, ErrStaleToken)}
		}
		l.Expires = c.time().Add(time.Duration(c.TTL))
		st.Leases[c.Job] = l
		return &result{token: l.Token}
	case OpReleaseLease:
		l, ok := st.Leases[c.Job]
		if !ok || l.Holder != c.Holder || l.Token != c.Token {
			return &result{err: fmt.Errorf("release lease %q token %d: %w", c.Job, c.Token, ErrStaleToken)}
		}
		delete(st.Leases, c.Job)
	case OpPutUser:
		if st.Users == nil {
			st.Users = map[string]User{}
		}
		u := *c.User
		u.SealedSecret = slices.Clone(u.SealedSecret)
		u.Policies = slices.Clone(u.Policies)
		if old, ok := st.Users[u.AccessKey]; ok {
			u.Created = old.Created
		} else {
			u.Created = c.time()
		}
		st.Users[u.AccessKey] = u
	case OpDeleteUser:
		if _, ok := st.Users[c.Name]; !ok {
			return &result{err: fmt.Errorf("user %q: %w", c.Name, ErrNotFound)}
		}
		delete(st.Users, c.Name)
	case OpRegisterKey:
		if k, ok := st.Keys[c.Name]; ok {
			if k.Check != c.Check {
				return &result{err: fmt.Errorf("key %q: %w", c.Name, ErrKeyMismatch)}
			}
			break
		}
		if st.Keys == nil {
			st.Keys = map[string]KeyCheck{}
		}
		st.Keys[c.Name] = KeyCheck{ID: c.Name, Check: c.Check, Registered: c.time()}
	case OpCreateKMSKey:
		if _, ok := st.KMSKeys[c.KMSKey.Name]; ok {
			return &result{err: fmt.Errorf("KMS key %q: %w", c.KMSKey.Name, ErrKeyExists)}
		}
		if st.KMSKeys == nil {
			st.KMSKeys = map[string]KMSKey{}
		}
		k := *c.KMSKey
		k.Sealed, k.Created = slices.Clone(k.Sealed), c.time()
		st.KMSKeys[k.Name] = k
	case OpResealKMSKey:
		old, ok := st.KMSKeys[c.KMSKey.Name]
		if !ok {
			return &result{err: fmt.Errorf("KMS key %q: %w", c.KMSKey.Name, ErrNotFound)}
		}
		if old.SealedBy != c.Holder {
			return &result{err: fmt.Errorf("KMS key %q is sealed by %q, not %q: %w", c.KMSKey.Name, old.SealedBy, c.Holder, ErrKeyMismatch)}
		}
		old.Sealed, old.SealedBy = slices.Clone(c.KMSKey.Sealed), c.KMSKey.SealedBy
		st.KMSKeys[old.Name] = old
	case OpForgetKey:
		if _, ok := st.Keys[c.Name]; !ok {
			return &result{err: fmt.Errorf("key %q: %w", c.Name, ErrNotFound)}
		}
		delete(st.Keys, c.Name)
	case OpPutPolicy:
		if st.Policies == nil {
			st.Policies = map[string]json.RawMessage{}
		}
		st.Policies[c.Name] = slices.Clone(c.Policy)
	case OpDeletePolicy:
		if _, ok := st.Policies[c.Name]; !ok {
			return &result{err: fmt.Errorf("policy %q: %w", c.Name, ErrNotFound)}
		}
		delete(st.Policies, c.Name)
	case OpImportBuckets:
		if st.Imported {
			return &result{} // another member's start imported them first
		}
		for _, b := range c.Import {
			if _, ok := st.Buckets[b.Name]; !ok {
				b.Settings = b.Settings.clone()
				st.Buckets[b.Name] = b
			}
		}
		st.Imported = true
	default: // decodeCommand refuses these already; never apply one anyway
		return &result{err: fmt.Errorf("%w: %v", ErrUnknownOp, c.Op)}
	}
	return &result{}
}

func (st *state) epoch() uint64 {
	if len(st.Maps) == 0 {
		return 0
	}
	return st.Maps[len(st.Maps)-1].Epoch
}

// Snapshot encodes the whole state at once (it is small) so Persist can
// run while Apply goes on.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	b, _, err := f.encode(false)
	if err != nil {
		return nil, err
	}
	return fsmSnapshot(b), nil
}

// snapshotFile is the snapshot's encoding: the state under a version.
type snapshotFile struct {
	V       uint8  `json:"v"`
	Applied uint64 `json:"applied"` // fsm.applied
	State   state  `json:"state"`
}

// Restore replaces the state with a snapshot's.
func (f *fsm) Restore(r io.ReadCloser) error {
	defer r.Close()
	var s snapshotFile
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return fmt.Errorf("meta: restore: %w", err)
	}
	if s.V != cmdVersion {
		return fmt.Errorf("meta: restore: snapshot version %d: %w", s.V, ErrUnknownOp)
	}
	if s.State.Buckets == nil {
		s.State.Buckets = map[string]Bucket{}
	}
	if s.State.Leases == nil {
		s.State.Leases = map[string]Lease{}
	}
	f.mu.Lock()
	f.st = s.State
	f.setApplied(s.Applied)
	f.mu.Unlock()
	return nil
}

type fsmSnapshot []byte

func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("meta: persist snapshot: %w", err)
	}
	return sink.Close()
}

func (fsmSnapshot) Release() {}

// Readers of the local copy.

// appliedIndex is the index of the last command entry the state holds.
// raft.AppliedIndex is not that: it counts entries handed to the FSM's
// goroutine, not applied yet, and entries (barriers, configuration) that
// never reach Apply.
func (f *fsm) appliedIndex() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.applied
}

func (f *fsm) bucket(name string) (Bucket, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	b, ok := f.st.Buckets[name]
	if ok {
		b.Settings = b.Settings.clone()
	}
	return b, ok
}

func (f *fsm) buckets() []Bucket {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]Bucket, 0, len(f.st.Buckets))
	for _, name := range slices.Sorted(maps.Keys(f.st.Buckets)) {
		b := f.st.Buckets[name]
		b.Settings = b.Settings.clone()
		out = append(out, b)
	}
	return out
}

func (f *fsm) clusterMap() MapVersion {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if len(f.st.Maps) == 0 {
		return MapVersion{}
	}
	m := f.st.Maps[len(f.st.Maps)-1]
	m.Data = slices.Clone(m.Data)
	return m
}

func (f *fsm) mapHistory() []MapVersion {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := slices.Clone(f.st.Maps)
	for i := range out {
		out[i].Data = slices.Clone(out[i].Data)
	}
	return out
}

func (f *fsm) user(accessKey string) (User, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	u, ok := f.st.Users[accessKey]
	u.SealedSecret, u.Policies = slices.Clone(u.SealedSecret), slices.Clone(u.Policies)
	return u, ok
}

func (f *fsm) policy(name string) (json.RawMessage, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	p, ok := f.st.Policies[name]
	return slices.Clone(p), ok
}

func (f *fsm) keys() []KeyCheck {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]KeyCheck, 0, len(f.st.Keys))
	for _, k := range f.st.Keys {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b KeyCheck) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (f *fsm) kmsKey(name string) (KMSKey, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	k, ok := f.st.KMSKeys[name]
	k.Sealed = slices.Clone(k.Sealed)
	return k, ok
}

func (f *fsm) kmsKeys() []KMSKey {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]KMSKey, 0, len(f.st.KMSKeys))
	for _, k := range f.st.KMSKeys {
		k.Sealed = slices.Clone(k.Sealed)
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b KMSKey) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (f *fsm) imported() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.Imported
}

func (f *fsm) lease(job string) (Lease, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	l, ok := f.st.Leases[job]
	return l, ok
}
