package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ErrStaleMap is returned when a map older than the current one is offered.
var ErrStaleMap = errors.New("cluster: map is older than the current one")

// DefaultGrace is how long a process keeps accepting callers on the map it
// just replaced, so that gateways polling for the new map catch up without
// failed requests.
const DefaultGrace = 15 * time.Second

// Keeper holds the cluster map a process runs with and stores every map it
// adopts in its files (temp file, fsync, rename), so that a restart comes
// back on the newest one. It satisfies storagenode/rpc.MapKeeper.
type Keeper struct {
	// Check, when set, vets a map before it is adopted (a node checks that
	// the map lists it with its drives).
	Check func(*Map) error
	// OnAdopt, when set, is called after a map is adopted, outside the lock.
	OnAdopt func(*Map)
	// Grace is how long the replaced map's ID stays accepted. Default
	// DefaultGrace.
	Grace time.Duration

	paths []string

	mu        sync.Mutex
	cur       *Map
	data      []byte
	id        string
	prevID    string
	prevUntil time.Time
}

// NewKeeper returns a keeper storing maps at paths (the file names, one per
// drive of a node, say). It starts on the newest of initial (may be nil)
// and the maps stored at paths.
func NewKeeper(initial *Map, paths []string) (*Keeper, error) {
	k := &Keeper{paths: paths}
	best := initial
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cluster: stored map: %w", err)
		}
		m, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("cluster: stored map %s: %w", p, err)
		}
		if best == nil || m.Epoch > best.Epoch {
			best = m
		}
	}
	if best != nil {
		k.set(best)
	}
	return k, nil
}

func (k *Keeper) set(m *Map) {
	k.cur, k.data, k.id = m, m.Encode(), m.ID()
}

// Map returns the current map (do not modify it), or nil.
func (k *Keeper) Map() *Map {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cur
}

// MapID names the current map; "" when there is none.
func (k *Keeper) MapID() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.id
}

// MapAccepted reports whether a caller on map id may act: the current map,
// the one just replaced (within the grace period), or anything while this
// process has no map yet.
func (k *Keeper) MapAccepted(id string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case k.id == "" || id == k.id:
		return true
	case id != "" && id == k.prevID:
		return time.Now().Before(k.prevUntil)
	}
	return false
}

// MapData returns the current map encoded, or nil.
func (k *Keeper) MapData() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.data
}

// AdoptMap parses data and adopts it if it is newer; see Adopt.
func (k *Keeper) AdoptMap(data []byte, replace bool) error {
	m, err := Parse(data)
	if err != nil {
		return err
	}
	_, err = k.Adopt(m, replace)
	return err
}

// Adopt makes m current if its epoch is higher than the current map's (or
// equal with other content, when replace is set), after storing it. It
// reports whether m was adopted; the same map again is no change and no
// error; an older one fails with ErrStaleMap.
func (k *Keeper) Adopt(m *Map, replace bool) (bool, error) {
	return k.adopt(m, func(cur *Map) bool { return m.Epoch > cur.Epoch || (m.Epoch == cur.Epoch && replace) })
}

// Follow makes m current, after storing it, whatever the current map's
// epoch: m comes from the authority that orders map changes (the metadata
// group), which may renumber epochs (a map's epoch is its log position
// there). The same map again is no change.
func (k *Keeper) Follow(m *Map) (bool, error) {
	return k.adopt(m, func(*Map) bool { return true })
}

// adopt makes m current if newer reports so of the current map.
func (k *Keeper) adopt(m *Map, newer func(cur *Map) bool) (bool, error) {
	if err := m.Validate(); err != nil {
		return false, err
	}
	if k.Check != nil {
		if err := k.Check(m); err != nil {
			return false, err
		}
	}
	k.mu.Lock()
	if k.cur != nil {
		id := m.ID()
		switch {
		case id == k.id:
			k.mu.Unlock()
			return false, nil
		case !newer(k.cur):
			cur := k.id
			k.mu.Unlock()
			return false, fmt.Errorf("%w: offered %s, have %s", ErrStaleMap, id, cur)
		}
	}
	data := m.Encode()
	for _, p := range k.paths {
		if err := writeFileSync(p, data); err != nil {
			k.mu.Unlock()
			return false, fmt.Errorf("cluster: storing map: %w", err)
		}
	}
	grace := k.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	k.prevID, k.prevUntil = k.id, time.Now().Add(grace)
	k.set(m)
	k.mu.Unlock()
	if k.OnAdopt != nil {
		k.OnAdopt(m)
	}
	return true, nil
}

// writeFileSync writes data to path atomically: temp file, fsync, rename,
// fsync of the folder.
func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
