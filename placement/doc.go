// Package placement decides which drives hold the shards of an object: a
// pure, deterministic function from (bucket, key, drive list, shard count) to
// an ordered list of distinct drives, result[i] holding shard i. Every
// gateway computes the same answer from the same drive list, with no I/O and
// no central service. The package must never import networking, files,
// storage or any other ecstore package (TestImports enforces it, and TestDeps
// that nothing networked is among its transitive dependencies): it is
// arithmetic on its arguments.
//
// The entry points are [Place] and [PlaceEC] (one object), [NewPlacer] (the
// same answers, faster, for a list used many times) and [Validate] (for the
// cluster map when it is loaded).
//
// # Scores
//
// Weighted rendezvous hashing, the idea of CRUSH's straw2: for each object,
// every drive draws u uniform on (0, 1] from a hash of the object and the
// drive's ID, and scores -ln(u)/weight, an exponential variable with rate
// weight. The lowest score wins, so a drive wins with probability
// weight/(sum of weights), and removing or adding a drive never changes how
// the other drives compare.
//
// # Failure domains
//
// Two caps bound each object's shards: nodeCap per node (drives with the same
// Zone and Node) and zoneCap per zone. They are the smallest caps under which
// n shards fit at all, starting from:
//
//   - nodeCap 1: one shard per node whenever there are at least n nodes; on
//     fewer nodes (the embedded server is one node), the smallest cap that
//     fits, so shards still spread as evenly as the nodes' sizes allow;
//   - zoneCap max(m, ceil(n/zones)) for PlaceEC(k, m), and ceil(n/zones) for
//     Place (which is PlaceEC with m = 0): no zone holds more than m shards
//     when there are enough zones, so a lost zone loses no data.
//
// The node cap is settled first and the zone cap raised only if the zones,
// filled one shard per node, cannot hold n shards under it. So "one shard
// per node while there are n nodes" always holds and "at most m per zone"
// holds whenever it can together with it. On a lopsided map, say zones A
// and B of one 3-drive node each and zone C of 4 one-drive nodes, 4+2 puts
// one shard on each node and so 4 in zone C; putting 2 shards on each of the
// big nodes instead would keep every zone at 2. We chose the literal node
// rule; a map with balanced zones never meets the conflict.
//
// # The set of drives
//
// The set for an object is the best one in score order under the caps: take
// drives by increasing score, skipping a drive whose node or zone is full,
// until there are n. The sets that respect the caps (a cap per node, per
// zone, and n in all, nodes nesting in zones) are the independent sets of a
// laminar matroid, so this greedy set is the unique best set, it does not
// depend on the order of the list, and no "relax the caps" or repair step
// is ever needed: the caps are computed so that n always fit.
//
// # Shard indexes and minimal movement
//
// Ranking by score would give the set its indexes, but a new drive landing
// in the middle of the ranking would shift the index of every drive below it,
// and every shifted shard would have to move. Instead Place simulates the
// drive list as if its drives had been appended one at a time, in list
// order, keeping the best set of the drives seen so far. By the matroid
// exchange property, each arriving drive either joins the set (the first n
// that fit take indexes 0, 1, ...), or replaces exactly one member (the
// worst member of the smallest full group around it: its node, its zone, or
// the whole set) and takes that member's index, or is turned away.
//
// Appending a drive to the list is then exactly one more step of the
// simulation: for every object, either nothing changes, or the new drive
// replaces one drive and takes its shard index. No shard moves between two
// old drives, and the fraction of shards that move is the new drive's fair
// share. Measured over 100,000 keys (TestMinimalMovement, 4+2): 6 equal
// nodes in 3 zones plus one in a new zone: 0.14303 of shards moved (expected
// 1/7 = 0.14286); plus one in an existing zone, whose 2-shard cap it shares
// with 2 nodes: 0.11115 (1/9); 60 nodes in one zone plus one: 0.01631
// (1/61); 60 nodes in 3 zones plus one: 0.01581 (1/63); a drive of weight 3
// next to 60 of weight 1: 0.04400 (0.04386).
//
// This holds while the caps stay the same. A drive that changes them (the
// n-th node arriving, a zone count at which ceil(n/zones) changes for Place,
// a small zone growing enough to lower a raised cap) re-spreads more
// objects, once, to reach the better layout. PlaceEC's zone cap stays at m
// from n/m zones on, so with it adding zones is minimal too.
//
// Finally the indexes are rotated by an offset drawn from the object alone.
// Without it, on a list of exactly n drives drive i would hold shard i of
// every object, and the last m drives, holding only parity, would serve no
// healthy read; in general drives early in the list would hold data shards
// more often. The offset is the same before and after an append, so the
// guarantee above is unchanged.
//
// # Removing drives
//
// A drive that drains, or has been removed, stays in the list marked
// Retired (the cluster map keeps a removed node as a tombstone in its
// place), so that the simulation keeps its history: it runs with the drive
// present, then, where the set holds a retired drive, the best drive that is
// not retired and fits the caps over the drives that remain takes its index.
// Those caps are at least the caps the set was built under, so the members
// that stay fit them, and by matroid augmentation a fitting drive always
// exists. Only the retired drive's shards move, and none moves between two
// other drives (TestRetiredDriveMovesOnlyItsShards: 7 nodes in 3 zones, one
// retired, 0.1430 of shards moved; 9 nodes in 3 zones, 0.1121; 8 nodes in
// one zone, two retired, 0.2507; one node of 2 drives of 6 nodes, 0.1667).
// Removing the tombstone from the list would re-run the simulation without
// it and move far more: the map never does.
//
// A weight change re-runs the simulation with new scores for the drive:
// correct, but not minimal, and it can permute an object's drives, which the
// rebalancer leaves in place (see gateway).
//
// # Load
//
// A drive's expected share of all shards follows its weight, within limits.
// Choosing n drives without replacement (a drive holds at most one shard of
// an object) gives heavy drives less than their weight share once
// n*weight/(sum of weights) is no longer small, and the caps bound a node's
// share by nodeCap/n and a zone's by zoneCap/n whatever their weight: of 7
// nodes, one holding half the weight gets at most one shard in 6. Within
// a node, the node cap picks a drive exactly in proportion to weight. Over
// 100,000 keys at 4+2 (TestLoadProportional), every drive's share was within
// ±5% of its weight share: 60 equal drives on 12 nodes, worst +2.4%; 60
// drives of weights 1, 2, 3 on 60 nodes, worst +4.7% (mean share/weight
// ratio by weight 1.029, 1.006, 0.986: the without-replacement effect); the
// same drives on 20 nodes of weights 1+2+3, worst +4.0% (ratios 1.000, 0.999,
// 1.000). The spread of the worst drive is mostly sampling noise (about
// ±1.4% per standard deviation for a weight-1 drive).
//
// # Hashing
//
// Every bit below is part of the on-disk format: it decides where stored
// objects live, and must never change (TestHashGolden and TestPlaceGolden
// pin it). The object hash is XXH64 of the key seeded with XXH64 of the
// bucket; a drive's hash is XXH64 of its ID; a drive's draw for an object is
// the splitmix64 finalizer of their exclusive or; u is its top 53 bits plus
// one, over 2^53. The index offset is the high word of n times the
// splitmix64 finalizer of the object hash xor a constant. XXH64 is written out in this package (checked against
// reference vectors) so that it can never change under us. hash/maphash was
// ruled out (seeded per process), FNV-1a is slower on IDs (a byte per
// multiply) and needs a finalizer anyway, and SHA-256 costs tens of times
// more per drive for no benefit here. The hash is not keyed: someone who can choose
// object keys can aim many of them at the same drives, as with any public
// placement function.
//
// -ln(u) is computed by a series with every product explicitly rounded,
// never by math.Log: the latter is assembly on amd64 and Go elsewhere, where
// the compiler contracts it into fused multiply-adds (arm64, ppc64, s390x,
// riscv64), so its last bit differs between machines and two gateways could
// disagree on a near tie.
//
// Objects are placed by key, not through a fixed number of partitions as in
// Swift, Ceph or Garage. Partitions would let a rebalancer list what moved
// without scanning, at the price of coarser load balance; they can be added
// in front of this package (place "partition p" instead of the key) if the
// rebalancer needs them.
//
// # Cost
//
// Place hashes every drive's ID and groups the drives into nodes and zones on
// each call; a [Placer] does that once. Most drives are then turned away by a
// cheap lower bound of their score, without the series. Time per 4+2
// placement (BenchmarkPlace, BenchmarkPlacer; shared 2-core development
// machine, wall time): 6 drives, 0.6 µs with Place and 0.26 µs with a
// Placer; 60 drives, 3.8 µs and 1.6 µs; 600 drives on 100 nodes, 25 µs and
// 6.8 µs; 600 drives on 600 nodes, 37 µs and 8.4 µs.
package placement
