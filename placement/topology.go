package placement

import (
	"fmt"
	"math"
)

// topology is the failure-domain structure of a drive list: which node each
// drive is on, which zone each node is in, and the caps that follow from it
// for a given shard count.
type topology struct {
	idHash     []uint64  // per drive: driveHash of its ID
	weight     []float64 // per drive: its weight
	nodeOf     []int32   // per drive: its node's number
	nodeSize   []int32   // per node: its number of drives
	zoneOfNode []int32   // per node: its zone's number
	zones      int       // number of zones
	// retired[i] marks a retired drive; active counts the others, and
	// activeNodeSize/activeZones are nodeSize/zones over them alone.
	retired        []bool
	anyRetired     bool
	active         int
	activeNodeSize []int32
	activeZones    int
}

// newTopology hashes the drives' IDs, numbers their nodes and zones in order
// of first appearance, and checks each drive's ID and weight.
//
// A node is identified by its zone and its name together, so that nodes
// always nest inside zones (a name that appears in two zones is two nodes;
// Validate reports it as a mistake). Nodes and zones are found through small
// open-addressing tables keyed by XXH64 of their names, with the names
// compared on a hash match; this runs on every placement and is several times
// faster than Go maps of strings.
func newTopology(drives []Drive) (*topology, error) {
	// Cluster maps list a node's drives together, so mark the runs of drives
	// on one node first: there are at most that many nodes.
	t := &topology{
		idHash: make([]uint64, len(drives)),
		weight: make([]float64, len(drives)),
		nodeOf: make([]int32, len(drives)),
	}
	runs := 0
	for i := range drives {
		d := &drives[i]
		if d.ID == "" || !(d.Weight > 0 && d.Weight <= math.MaxFloat64) {
			return nil, checkDrive(i, d)
		}
		t.idHash[i] = driveHash(d.ID)
		t.weight[i] = d.Weight
		if i == 0 || !sameNode(d, &drives[i-1]) {
			t.nodeOf[i] = 1 // starts a run
			runs++
		}
	}
	size := 8 // a power of two, at least 1.5 times the number of nodes
	for size < runs+runs/2 {
		size *= 2
	}
	mask := uint64(size - 1)
	ints := make([]int32, 4*runs+2*size)
	hashes := make([]uint64, 2*size)
	t.nodeSize, ints = ints[:0:runs], ints[runs:]
	t.zoneOfNode, ints = ints[:0:runs], ints[runs:]
	nodeRep, ints := ints[:0:runs], ints[runs:]    // per node: its first drive
	zoneRep, ints := ints[:0:runs], ints[runs:]    // per zone: its first drive
	nodeSlot, zoneSlot := ints[:size], ints[size:] // number+1 of the node/zone in a slot; 0: empty
	nodeHash, zoneHash := hashes[:size], hashes[size:]

	var hz uint64 // hash of the zone name of the previous run
	for i := range drives {
		d := &drives[i]
		if t.nodeOf[i] == 0 { // same node as drive i-1
			g := t.nodeOf[i-1]
			t.nodeOf[i] = g
			t.nodeSize[g]++
			continue
		}
		sameZone := i > 0 && d.Zone == drives[i-1].Zone
		if !sameZone {
			hz = xxh64(d.Zone, 0)
		}
		h := xxh64(d.Node, hz)
		j := h & mask
		for nodeSlot[j] != 0 && (nodeHash[j] != h || !sameNode(d, &drives[nodeRep[nodeSlot[j]-1]])) {
			j = (j + 1) & mask
		}
		if nodeSlot[j] == 0 { // a new node
			var z int32
			if sameZone {
				z = t.zoneOfNode[t.nodeOf[i-1]]
			} else {
				k := hz & mask
				for zoneSlot[k] != 0 && (zoneHash[k] != hz || d.Zone != drives[zoneRep[zoneSlot[k]-1]].Zone) {
					k = (k + 1) & mask
				}
				if zoneSlot[k] == 0 { // a new zone
					zoneRep = append(zoneRep, int32(i))
					zoneSlot[k] = int32(len(zoneRep))
					zoneHash[k] = hz
				}
				z = zoneSlot[k] - 1
			}
			nodeRep = append(nodeRep, int32(i))
			t.nodeSize = append(t.nodeSize, 0)
			t.zoneOfNode = append(t.zoneOfNode, z)
			nodeSlot[j] = int32(len(nodeRep))
			nodeHash[j] = h
		}
		g := nodeSlot[j] - 1
		t.nodeOf[i] = g
		t.nodeSize[g]++
	}
	t.zones = len(zoneRep)
	t.retired = make([]bool, len(drives))
	t.activeNodeSize = make([]int32, len(t.nodeSize))
	zoneActive := make([]bool, t.zones)
	for i := range drives {
		if drives[i].Retired {
			t.retired[i], t.anyRetired = true, true
			continue
		}
		t.active++
		t.activeNodeSize[t.nodeOf[i]]++
		zoneActive[t.zoneOfNode[t.nodeOf[i]]] = true
	}
	for _, a := range zoneActive {
		if a {
			t.activeZones++
		}
	}
	return t, nil
}

func sameNode(a, b *Drive) bool { return a.Node == b.Node && a.Zone == b.Zone }

// checkDrive reports what Place cannot work with: an empty ID, or a weight
// that is not a positive finite number.
func checkDrive(i int, d *Drive) error {
	if p := driveProblem(i, d); p != "" {
		return fmt.Errorf("%w: %s", ErrInvalidDrives, p)
	}
	return nil
}

// driveProblem describes what is wrong with drive #i on its own, or returns "".
func driveProblem(i int, d *Drive) string {
	if d.ID == "" {
		return fmt.Sprintf("drive #%d has an empty ID", i)
	}
	if !(d.Weight > 0 && d.Weight <= math.MaxFloat64) {
		return fmt.Sprintf("drive %q (#%d) has weight %v; a weight must be a positive finite number, e.g. the capacity in TiB",
			d.ID, i, d.Weight)
	}
	return ""
}

// caps returns the most shards one node and one zone may hold for n shards,
// with minZoneCap the smallest zone cap wanted (see PlaceEC). Both are the
// smallest caps, at least as large as asked, under which n shards fit at all:
//
//   - nodeCap is the smallest c >= 1 with sum over nodes of min(c, drives on
//     the node) >= n. It is 1 whenever there are at least n nodes.
//   - zoneCap is the smallest c >= max(minZoneCap, ceil(n/zones)) with sum
//     over zones of min(c, capacity of the zone) >= n, where a zone's
//     capacity is the sum over its nodes of min(nodeCap, drives on the
//     node). It is max(minZoneCap, ceil(n/zones)) whenever the zones are big
//     enough to hold that many shards on distinct nodes.
//
// The node rule is settled first: "one shard per node while there are n
// nodes" holds unconditionally, and the zone rule holds whenever it can
// together with it. The caller must ensure len(drives) >= n.
func (t *topology) caps(n, minZoneCap int) (nodeCap, zoneCap int) {
	return t.capsOver(t.nodeSize, t.zones, n, minZoneCap)
}

// activeCaps are the caps over the drives that are not retired: at least
// caps, as fewer drives never need smaller caps.
func (t *topology) activeCaps(n, minZoneCap int) (nodeCap, zoneCap int) {
	return t.capsOver(t.activeNodeSize, t.activeZones, n, minZoneCap)
}

func (t *topology) capsOver(nodeSize []int32, zones, n, minZoneCap int) (nodeCap, zoneCap int) {
	for nodeCap = 1; ; nodeCap++ {
		sum := 0
		for _, s := range nodeSize {
			sum += min(nodeCap, int(s))
		}
		if sum >= n {
			break
		}
	}
	zoneSize := make([]int, t.zones)
	for g, s := range nodeSize {
		zoneSize[t.zoneOfNode[g]] += min(nodeCap, int(s))
	}
	for zoneCap = max(minZoneCap, (n+zones-1)/zones, 1); ; zoneCap++ {
		sum := 0
		for _, s := range zoneSize {
			sum += min(zoneCap, s)
		}
		if sum >= n {
			break
		}
	}
	return nodeCap, zoneCap
}
