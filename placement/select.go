package placement

import (
	"fmt"
	"math"
)

// member is a drive in the selection, or a candidate for it.
type member struct {
	score float64 // exponential draw / weight: lower is better
	x     uint64  // the raw draw, to break ties in score
	drive int32   // index into the drive list
	node  int32
	zone  int32
}

// better orders drives by score, lowest first. Exact ties of score (which
// need equal 53-bit draws) fall back on the draw, then on the list index, so
// that the order is total.
func (a *member) better(b *member) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	if a.x != b.x {
		return a.x > b.x
	}
	return a.drive < b.drive
}

// place is the algorithm described in the package documentation: weighted
// rendezvous scores, and the set of n best drives under the node and zone
// caps, built by adding the drives one at a time in list order so that a
// drive that enters the set takes the shard index of the one it displaces.
func (t *topology) place(bucket, key string, n, minZoneCap int) ([]int, error) {
	if t.active < n {
		return nil, notEnough(n, t.active)
	}
	nodeCap, zoneCap := t.caps(n, minZoneCap)
	nodeCount := make([]int32, len(t.nodeSize)+t.zones)
	zoneCount := nodeCount[len(t.nodeSize):]
	obj := objectHash(bucket, key)

	// set[i] holds shard i (before the rotation below). The sets of drives
	// that respect the caps (at most nodeCap per node, zoneCap per zone, n
	// in all) form a laminar matroid, so the best set for a list plus one
	// drive e is the best set for the list, or that set plus e, or that set
	// with e in place of one member f, where f is the worst member of the
	// smallest group around e (its node, its zone, or the whole set) that
	// is already full: only removing a member of that group makes room for
	// e. Then e takes f's index.
	set := make([]member, 0, n)
	// Once the set is full, limit is its worst score: a drive whose score
	// is surely above it cannot enter. This cheap test (see surelyAbove),
	// and the same test against the worst member of the drive's node or
	// zone, turn most drives away without computing their score.
	limit := math.Inf(1)
	for i, h := range t.idHash {
		w := t.weight[i]
		x := draw(obj, h)
		lb := expLowerBound(x)
		if len(set) == n && surelyAbove(lb, float64(limit*w)) {
			continue
		}
		node := t.nodeOf[i]
		zone := t.zoneOfNode[node]
		nodeFull := int(nodeCount[node]) >= nodeCap
		zoneFull := int(zoneCount[zone]) >= zoneCap
		if !nodeFull && !zoneFull && len(set) < n {
			set = append(set, member{expDraw(x) / w, x, int32(i), node, zone})
			nodeCount[node]++
			zoneCount[zone]++
			if len(set) == n {
				limit = worstScore(set)
			}
			continue
		}
		// The set with this drive breaks a cap. Only removing a member of
		// the smallest full group around the drive (its node, else its
		// zone, else the whole set) mends it; the drive replaces the worst
		// such member if it is better.
		worst := -1
		for j := range set {
			switch {
			case nodeFull && set[j].node != node:
				continue
			case !nodeFull && zoneFull && set[j].zone != zone:
				continue
			}
			if worst < 0 || set[worst].better(&set[j]) {
				worst = j
			}
		}
		if surelyAbove(lb, float64(set[worst].score*w)) {
			continue
		}
		e := member{expDraw(x) / w, x, int32(i), node, zone}
		if !e.better(&set[worst]) {
			continue
		}
		nodeCount[set[worst].node]--
		zoneCount[set[worst].zone]--
		set[worst] = e
		nodeCount[node]++
		zoneCount[zone]++
		if len(set) == n {
			limit = worstScore(set)
		}
	}
	if len(set) != n {
		// The caps are chosen so that n drives always fit.
		panic(fmt.Sprintf("placement: bug: placed %d of %d shards (node cap %d, zone cap %d)",
			len(set), n, nodeCap, zoneCap))
	}
	if t.anyRetired {
		t.replaceRetired(obj, set, nodeCount, zoneCount, n, minZoneCap)
	}
	// The construction gives the first drives admitted the first indexes:
	// on a list of exactly n drives, drive i would hold shard i of every
	// object, and the data shards (0..k-1, the only ones read while all are
	// healthy) would never be on the last m drives. Rotating the indexes by
	// an offset drawn from the object alone spreads data and parity shards
	// evenly, and keeps a shard's index with its drive across appends.
	rot := rotation(obj, n)
	out := make([]int, n)
	for i := range set {
		out[(i+rot)%n] = int(set[i].drive)
	}
	return out, nil
}

// worstScore returns the highest score in set.
func worstScore(set []member) float64 {
	w := set[0].score
	for i := range set[1:] {
		w = max(w, set[i+1].score)
	}
	return w
}

// replaceRetired gives the index of each retired drive in set to the best
// drive, not retired and not in the set, that fits the caps over the drives
// that are not retired. The members that stay respect those caps (they are
// at least the caps the set was built under), and the sets under them form
// a matroid, so by augmentation a fitting drive always exists.
func (t *topology) replaceRetired(obj uint64, set []member, nodeCount, zoneCount []int32, n, minZoneCap int) {
	nodeCap, zoneCap := t.activeCaps(n, minZoneCap)
	for j := range set {
		if !t.retired[set[j].drive] {
			continue
		}
		nodeCount[set[j].node]--
		zoneCount[set[j].zone]--
		var best member
		found := false
		for i, h := range t.idHash {
			node := t.nodeOf[i]
			zone := t.zoneOfNode[node]
			if t.retired[i] || int(nodeCount[node]) >= nodeCap || int(zoneCount[zone]) >= zoneCap || inSet(set, int32(i)) {
				continue
			}
			x := draw(obj, h)
			e := member{expDraw(x) / t.weight[i], x, int32(i), node, zone}
			if !found || e.better(&best) {
				best, found = e, true
			}
		}
		if !found {
			panic(fmt.Sprintf("placement: bug: no drive fits in place of a retired one (node cap %d, zone cap %d)", nodeCap, zoneCap))
		}
		set[j] = best
		nodeCount[best.node]++
		zoneCount[best.zone]++
	}
}

func inSet(set []member, drive int32) bool {
	for _, m := range set {
		if m.drive == drive {
			return true
		}
	}
	return false
}
