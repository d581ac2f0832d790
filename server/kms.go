package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ecstore/ecstore/admin"
	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/meta"
	"github.com/ecstore/ecstore/sse"
)

// kmsStore is where the local key store keeps its named keys: the
// metadata store (*meta.Store or *meta.Client).
type kmsStore interface {
	keyRegistry
	KMSKey(name string) (meta.KMSKey, bool)
	KMSKeys() []meta.KMSKey
	CreateKMSKey(ctx context.Context, k meta.KMSKey) error
	ResealKMSKey(ctx context.Context, name string, sealed []byte, by, oldBy string) error
	ForgetKey(ctx context.Context, id string) error
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

	// The rotation: run by StartRotate in a goroutine of its own, ended
	// by ctx (the server's) and waited for by wait.
	ctx    context.Context
	repair *gateway.Repair
	wg     sync.WaitGroup
	rmu    sync.Mutex
	rot    admin.RotateStatus
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
	if err := ensureRegistered(ctx, k.ring, k.store); err != nil {
		return err
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
	for _, c := range k.store.Keys() {
		st.Registered = append(st.Registered, admin.RingKey{ID: c.ID, Check: c.Check})
	}
	for _, n := range k.store.KMSKeys() {
		_, err := k.ring.Unseal(n.SealedBy, sse.KeyStoreAAD(n.SealedBy, n.Name), n.Sealed)
		st.Keys = append(st.Keys, admin.NamedKey{Name: n.Name, SealedBy: n.SealedBy, Created: n.Created, Opens: err == nil})
	}
	return st
}

// ensureRegistered registers the ring's active key unless the store's
// copy has it (a rotation may have forgotten it while this process went
// on sealing with it).
func ensureRegistered(ctx context.Context, ring *sse.Ring, store keyRegistry) error {
	id := ring.Active()
	for _, k := range store.Keys() {
		if k.ID == id {
			return nil
		}
	}
	err := store.RegisterKey(ctx, id, ring.CheckValue(id))
	if errors.Is(err, meta.ErrKeyMismatch) {
		return fmt.Errorf("master key %q: another key is registered under this id: %w", id, err)
	}
	return err
}

// registeredRing is the ring as the gateway seals with it: the active key
// is registered before it seals an object key.
type registeredRing struct {
	*sse.Ring
	store keyRegistry
}

func (r registeredRing) Seal(aad, objectKey []byte) (string, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ensureRegistered(ctx, r.Ring, r.store); err != nil {
		return "", nil, err
	}
	return r.Ring.Seal(aad, objectKey)
}

// attach gives the key store the gateway's repair work (the rotation
// walks objects with it) and the server's context.
func (k *localKMS) attach(ctx context.Context, r *gateway.Repair) { k.ctx, k.repair = ctx, r }

// wait returns once a rotation running has ended.
func (k *localKMS) wait() { k.wg.Wait() }

// StartRotate starts a rotation to ring key to (admin.KMS).
func (k *localKMS) StartRotate(to string) error {
	if !k.ring.Has(to) {
		return fmt.Errorf("the key file has no key %q", to)
	}
	if k.repair == nil || k.ctx == nil {
		return errors.New("the gateway is not started yet")
	}
	k.rmu.Lock()
	defer k.rmu.Unlock()
	if k.rot.Running {
		return gateway.ErrRotating
	}
	k.rot = admin.RotateStatus{RotateStatus: gateway.RotateStatus{Running: true, To: to, Started: time.Now()}}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		err := k.rotate(k.ctx, to)
		k.rmu.Lock()
		k.rot.RotateStatus = k.repair.RotateStatus()
		k.rot.Running, k.rot.Ended = false, time.Now()
		if err != nil {
			k.rot.Error = err.Error()
		}
		k.rot.Done = err == nil && k.rot.Failed == 0
		k.rmu.Unlock()
	}()
	return nil
}

// RotateStatus is the progress of the current or last rotation.
func (k *localKMS) RotateStatus() admin.RotateStatus {
	k.rmu.Lock()
	defer k.rmu.Unlock()
	st := k.rot
	if st.Running && k.repair != nil {
		kms, forgotten := st.KMSKeys, st.Forgotten
		st.RotateStatus = k.repair.RotateStatus()
		st.Running, st.KMSKeys, st.Forgotten = true, kms, forgotten
	}
	return st
}

// rotate seals everything under ring key to: the named SSE-KMS keys, then
// every SSE-S3 object key; when nothing failed, the master keys that no
// longer seal anything are forgotten by the store (so a key file without
// them starts), except this ring's active key, which goes on sealing.
func (k *localKMS) rotate(ctx context.Context, to string) error {
	if err := k.store.RegisterKey(ctx, to, k.ring.CheckValue(to)); err != nil {
		return fmt.Errorf("register %q: %w", to, err)
	}
	for _, n := range k.store.KMSKeys() {
		if n.SealedBy == to {
			continue
		}
		material, err := k.ring.Unseal(n.SealedBy, sse.KeyStoreAAD(n.SealedBy, n.Name), n.Sealed)
		if err != nil {
			return fmt.Errorf("KMS key %q: %w", n.Name, err)
		}
		sealed, err := k.ring.SealUnder(to, sse.KeyStoreAAD(to, n.Name), material)
		if err != nil {
			return err
		}
		if err := k.store.ResealKMSKey(ctx, n.Name, sealed, to, n.SealedBy); err != nil {
			return fmt.Errorf("KMS key %q: %w", n.Name, err)
		}
		k.rmu.Lock()
		k.rot.KMSKeys++
		k.rmu.Unlock()
	}
	if err := k.repair.RotateKeys(ctx, to); err != nil {
		return err
	}
	if st := k.repair.RotateStatus(); st.Failed > 0 {
		return fmt.Errorf("%d versions or uploads were not resealed (see the log); run the rotation again", st.Failed)
	}
	for _, c := range k.store.Keys() {
		if c.ID == to || c.ID == k.ring.Active() {
			continue
		}
		if err := k.store.ForgetKey(ctx, c.ID); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("forget %q: %w", c.ID, err)
		}
		k.rmu.Lock()
		k.rot.Forgotten = append(k.rot.Forgotten, c.ID)
		k.rmu.Unlock()
	}
	return nil
}
