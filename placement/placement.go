package placement

import (
	"errors"
	"fmt"
	"strings"
)

// Drive is one drive of the cluster map.
type Drive struct {
	// ID names the drive for its whole life. It must be unique and non-empty,
	// and it must never be reused for another drive: it is hashed into every
	// placement decision.
	ID string
	// Node is the storage node (host) holding the drive: drives of one node
	// fail together. Drives with the same Node and Zone are on one node; the
	// empty string is a node name like any other.
	Node string
	// Zone is the failure zone (rack, room, site) of the node. The empty
	// string is the one default zone.
	Zone string
	// Weight is the drive's relative share of shards, for example its
	// capacity in TiB. It must be a positive finite number.
	Weight float64
	// Retired drives (draining, or removed and kept as tombstones) keep
	// their place in the list, so that every other drive's placement stays
	// as it was, but never hold a shard: where the simulation picks one,
	// the best drive that fits takes its index instead. Only the retired
	// drive's shards move.
	Retired bool
}

var (
	// ErrNotEnoughDrives means the map has fewer drives than the object has
	// shards. The caller should add drives or choose a smaller k+m.
	ErrNotEnoughDrives = errors.New("placement: not enough drives")

	// ErrInvalidDrives means the drive list is malformed (an empty or
	// repeated ID, a weight that is not a positive finite number, a node in
	// two zones). The errors returned wrap it and name the drive at fault.
	ErrInvalidDrives = errors.New("placement: invalid drive list")
)

// Place returns n distinct indexes into drives for the object (bucket, key),
// ordered by shard index: result[i] holds shard i.
//
// It is pure and deterministic: the same inputs give the same answer in every
// process, on every platform, for ever. The order of drives is meaningful: it
// is the cluster map's drive list, to which new drives are appended, and
// appending a drive moves at most one shard of each object (see the package
// documentation). The set of drives chosen does not depend on the order; only
// the shard indexes do.
//
// Shards are spread over failure domains: at most one per node while there
// are at least n nodes, and at most ceil(n/zones) per zone while the zones
// are large enough (caps are raised only as far as needed to place n shards).
// Place is PlaceEC with m = 0, and spreads over zones at least as evenly:
// whatever the parity count m, no zone holds more than m shards when that is
// possible. Use one of Place and PlaceEC for a cluster and stick to it: the
// two choose different drives when ceil(n/zones) < m (for 4+2: from 6 zones
// on).
//
// Place returns an error wrapping ErrNotEnoughDrives when len(drives) < n, and
// one wrapping ErrInvalidDrives when a drive has an empty ID or a weight that
// is not positive and finite. It does not look for repeated IDs: call
// Validate when the map is loaded. To place many objects on one list, a
// Placer does the same work faster.
func Place(bucket, key string, drives []Drive, n int) ([]int, error) {
	if n < 1 {
		return nil, badCount(n)
	}
	return placeOnce(bucket, key, drives, n, 0)
}

// PlaceEC is Place for k data and m parity shards (n = k+m) that uses the
// parity count to cap zones: no zone holds more than max(m, ceil(n/zones))
// shards, so that losing any one zone loses at most m shards whenever there
// are enough zones (at least n/m, each able to hold its share on distinct
// nodes). Compared with Place, the looser cap follows the drives' weights more
// closely and stays at m once there are n/m zones, so adding a zone then
// moves only its fair share of shards.
//
// The result for (k, m) depends only on n = k+m and m.
func PlaceEC(bucket, key string, drives []Drive, k, m int) ([]int, error) {
	if k < 1 || m < 0 || k+m < k {
		return nil, badCode(k, m)
	}
	return placeOnce(bucket, key, drives, k+m, m)
}

// placeOnce places one object on drives, preparing the drives on the way.
func placeOnce(bucket, key string, drives []Drive, n, minZoneCap int) ([]int, error) {
	if len(drives) < n {
		return nil, notEnough(n, len(drives))
	}
	t, err := newTopology(drives)
	if err != nil {
		return nil, err
	}
	return t.place(bucket, key, n, minZoneCap)
}

// A Placer is a drive list prepared for placing many objects: the drive IDs
// are hashed and the drives grouped into nodes and zones once, so that each
// placement only draws the scores (several times faster than Place on large
// lists; see BenchmarkPlace). Its answers are exactly those of Place and
// PlaceEC on the same list. Make one with NewPlacer (the zero Placer is not
// usable); it is immutable and safe for concurrent use.
type Placer struct {
	t *topology
}

// NewPlacer checks drives with Validate and prepares them. The Placer keeps
// no reference to drives: later changes to the slice do not affect it.
func NewPlacer(drives []Drive) (*Placer, error) {
	if err := Validate(drives); err != nil {
		return nil, err
	}
	t, err := newTopology(drives)
	if err != nil {
		return nil, err
	}
	return &Placer{t: t}, nil
}

// Place is Place on the Placer's drives.
func (p *Placer) Place(bucket, key string, n int) ([]int, error) {
	if n < 1 {
		return nil, badCount(n)
	}
	return p.t.place(bucket, key, n, 0)
}

// PlaceEC is PlaceEC on the Placer's drives.
func (p *Placer) PlaceEC(bucket, key string, k, m int) ([]int, error) {
	if k < 1 || m < 0 || k+m < k {
		return nil, badCode(k, m)
	}
	return p.t.place(bucket, key, k+m, m)
}

// Len returns the number of drives.
func (p *Placer) Len() int { return len(p.t.idHash) }

func badCount(n int) error {
	return fmt.Errorf("placement: shard count %d: an object needs at least 1 shard", n)
}

func badCode(k, m int) error {
	return fmt.Errorf("placement: erasure code %d+%d: need at least 1 data shard, no negative parity count, and a total that fits an int", k, m)
}

func notEnough(n, drives int) error {
	return fmt.Errorf("%w: %d shards need %d drives, the map has %d", ErrNotEnoughDrives, n, n, drives)
}

// Validate checks a drive list: at least one drive, unique non-empty IDs,
// weights that are positive finite numbers, and each node name in one zone
// only. The error wraps ErrInvalidDrives and names every drive at fault (up to
// a limit), in terms a user can act on.
func Validate(drives []Drive) error {
	if len(drives) == 0 {
		return fmt.Errorf("%w: no drives; add at least one drive to the map", ErrInvalidDrives)
	}
	var problems []string
	ids := make(map[string]int, len(drives))
	firstOnNode := make(map[string]int)  // node name -> first drive on it
	reported := make(map[[2]string]bool) // (zone, node) pairs already reported
	for i := range drives {
		d := &drives[i]
		if p := driveProblem(i, d); p != "" {
			problems = append(problems, p)
		}
		if j, dup := ids[d.ID]; dup && d.ID != "" {
			problems = append(problems, fmt.Sprintf(
				"drive ID %q is used by drives #%d and #%d; every drive needs its own ID", d.ID, j, i))
		} else if !dup {
			ids[d.ID] = i
		}
		j, seen := firstOnNode[d.Node]
		if !seen {
			firstOnNode[d.Node] = i
		} else if z := drives[j].Zone; z != d.Zone && !reported[[2]string{d.Zone, d.Node}] {
			reported[[2]string{d.Zone, d.Node}] = true
			problems = append(problems, fmt.Sprintf(
				"node %q is in zone %q (drive #%d) and in zone %q (drive #%d); a node belongs to one zone",
				d.Node, z, j, d.Zone, i))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	const limit = 10
	if len(problems) > limit {
		problems = append(problems[:limit:limit], fmt.Sprintf("and %d more problems", len(problems)-limit))
	}
	return fmt.Errorf("%w: %s", ErrInvalidDrives, strings.Join(problems, "; "))
}
