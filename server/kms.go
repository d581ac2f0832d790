package server

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ecstore/ecstore/admin"
	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/meta"
	"github.com/ecstore/ecstore/sse"
)

// kmsStore is where the local key store keeps its named keys: the
// metadata store (*meta.Store or *meta.Client).
type kmsStore interface {
	KMSKey(name string) (meta.KMSKey, bool)
	KMSKeys() []meta.KMSKey
	CreateKMSKey(ctx context.Context, k meta.KMSKey) error
	Sync(ctx context.Context) error
}

var (
	_ kmsStore    = (*meta.Store)(nil)
	_ kmsStore    = (*meta.Client)(nil)
	_ gateway.KMS = (*localKMS)(nil)
	_ admin.KMS   = (*localKMS)(nil)
)

// defaultKMSKey is the key SSE-KMS requests without a key id use; it is
// made on first use.
const defaultKMSKey = "default"

// localKMS is SSE-KMS's local key store: named 32-byte keys, each sealed
// by the ring's active key and kept in the metadata store, so every
// gateway with the same ring opens them; opened keys stay in memory.
type localKMS struct {
	ring  *sse.Ring
	store kmsStore
	mu    sync.Mutex
	open  map[string][]byte // name -> key
}

func newLocalKMS(ring *sse.Ring, store kmsStore) *localKMS {
	return &localKMS{ring: ring, store: store, open: map[string][]byte{}}
}

func (k *localKMS) DefaultKey() string { return defaultKMSKey }

// CreateKey makes a named key (meta.ErrKeyExists when the name is taken).
func (k *localKMS) CreateKey(ctx context.Context, name string) error {
	if !validKMSName(name) {
		return fmt.Errorf("KMS key name %q: use 1 to 64 letters, digits, '.', '_', '-', '/' or ':'", name)
	}
	material := sse.NewObjectKey()
	id := k.ring.Active()
	_, sealed, err := k.ring.Seal(sse.KeyStoreAAD(id, name), material)
	if err != nil {
		return err
	}
	return k.store.CreateKMSKey(ctx, meta.KMSKey{Name: name, Sealed: sealed, SealedBy: id})
}

// key returns a named key, opened; the default key is made when missing.
func (k *localKMS) key(ctx context.Context, name string) ([]byte, error) {
	k.mu.Lock()
	b, ok := k.open[name]
	k.mu.Unlock()
	if ok {
		return b, nil
	}
	rec, ok := k.store.KMSKey(name)
	if !ok {
		// Made through another gateway a moment ago?
		if err := k.store.Sync(ctx); err != nil {
			return nil, err
		}
		rec, ok = k.store.KMSKey(name)
	}
	if !ok && name == defaultKMSKey {
		if err := k.CreateKey(ctx, name); err != nil && !errors.Is(err, meta.ErrKeyExists) {
			return nil, err
		}
		rec, ok = k.store.KMSKey(name)
	}
	if !ok {
		return nil, fmt.Errorf("KMS key %q: %w", name, gateway.ErrKMSKeyNotFound)
	}
	b, err := k.ring.Unseal(rec.SealedBy, sse.KeyStoreAAD(rec.SealedBy, name), rec.Sealed)
	if err != nil {
		return nil, fmt.Errorf("KMS key %q: %w", name, err)
	}
	k.mu.Lock()
	k.open[name] = b
	k.mu.Unlock()
	return b, nil
}

func (k *localKMS) Seal(ctx context.Context, name string, aad, objectKey []byte) ([]byte, error) {
	key, err := k.key(ctx, name)
	if err != nil {
		return nil, err
	}
	return sse.KMSSeal(key, aad, objectKey)
}

func (k *localKMS) Unseal(ctx context.Context, name string, aad, sealed []byte) ([]byte, error) {
	key, err := k.key(ctx, name)
	if err != nil {
		return nil, err
	}
	return sse.KMSUnseal(key, aad, sealed)
}

func validKMSName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '/' || c == ':') {
			return false
		}
	}
	return true
}

// Status is the key store for the admin API.
func (k *localKMS) Status(ctx context.Context) admin.KMSStatus {
	var st admin.KMSStatus
	for i, id := range k.ring.IDs() {
		st.Ring = append(st.Ring, admin.RingKey{ID: id, Check: k.ring.CheckValue(id), Active: i == 0})
	}
	if reg, ok := k.store.(keyRegistry); ok {
		for _, c := range reg.Keys() {
			st.Registered = append(st.Registered, admin.RingKey{ID: c.ID, Check: c.Check})
		}
	}
	for _, n := range k.store.KMSKeys() {
		_, err := k.ring.Unseal(n.SealedBy, sse.KeyStoreAAD(n.SealedBy, n.Name), n.Sealed)
		st.Keys = append(st.Keys, admin.NamedKey{Name: n.Name, SealedBy: n.SealedBy, Created: n.Created, Opens: err == nil})
	}
	return st
}
