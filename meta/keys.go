package meta

import (
	"context"
	"time"
)

// KeyCheck is a master key that sealed object keys (server-side
// encryption): its id in the operator's key ring and its key check value
// (package sse), never the key.
type KeyCheck struct {
	ID         string    `json:"id"`
	Check      string    `json:"check"`
	Registered time.Time `json:"registered"` // the proposer's clock
}

// RegisterKey records that key id, whose check value is check, seals
// object keys; registering it again is a no-op, and another check value
// under the id fails with ErrKeyMismatch.
func (c changes) RegisterKey(ctx context.Context, id, check string) error {
	_, err := c.propose(ctx, command{Op: OpRegisterKey, Name: id, Check: check})
	return err
}

// ForgetKey removes a key's registration (ErrNotFound if there is none),
// once no version is sealed under it any more.
func (c changes) ForgetKey(ctx context.Context, id string) error {
	_, err := c.propose(ctx, command{Op: OpForgetKey, Name: id})
	return err
}

// Keys returns the local copy's registered keys, sorted by id.
func (v view) Keys() []KeyCheck { return v.fsm.keys() }

// KMSKey is a named key of SSE-KMS's local key store: 32 bytes sealed by a
// master key of the operator's ring (SealedBy: its id), never in clear.
type KMSKey struct {
	Name     string    `json:"name"`
	Sealed   []byte    `json:"sealed"`
	SealedBy string    `json:"sealedBy"`
	Created  time.Time `json:"created"` // the proposer's clock
}

// CreateKMSKey stores a new named key (ErrKeyExists if the name is taken).
func (c changes) CreateKMSKey(ctx context.Context, k KMSKey) error {
	_, err := c.propose(ctx, command{Op: OpCreateKMSKey, KMSKey: &k})
	return err
}

// KMSKey returns a named key of the local copy.
func (v view) KMSKey(name string) (KMSKey, bool) { return v.fsm.kmsKey(name) }

// KMSKeys returns the local copy's named keys, sorted by name.
func (v view) KMSKeys() []KMSKey { return v.fsm.kmsKeys() }

// ResealKMSKey replaces a named key's sealed bytes (the same key sealed
// by another master key, a rotation) if it is still sealed by oldBy
// (ErrKeyMismatch otherwise, ErrNotFound for no such key).
func (c changes) ResealKMSKey(ctx context.Context, name string, sealed []byte, by, oldBy string) error {
	_, err := c.propose(ctx, command{Op: OpResealKMSKey, KMSKey: &KMSKey{Name: name, Sealed: sealed, SealedBy: by}, Holder: oldBy})
	return err
}
