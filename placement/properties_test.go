package placement

import (
	"fmt"
	"math"
	"testing"
)

// The required properties, each checked over propertyKeys objects.
const propertyKeys = 100_000

// keysFor returns the number of keys a property test uses: all of them, or a
// tenth under -short.
func keysFor(t *testing.T) int {
	if testing.Short() {
		return propertyKeys / 10
	}
	return propertyKeys
}

// tolerance scales a tolerance stated for propertyKeys keys to the number
// of keys in use: statistical noise grows as 1/sqrt(keys).
func tolerance(tol float64, keys int) float64 {
	return tol * math.Sqrt(float64(propertyKeys)/float64(keys))
}

// TestFailureDomains: 6 nodes in 3 zones (nodes of 1 or 2 drives), 4+2: every
// object has exactly one shard per node and at most 2 (= m) per zone.
func TestFailureDomains(t *testing.T) {
	var ds []Drive
	for z := range 3 {
		for n := range 2 {
			for d := range 1 + (z+n)%2 { // nodes of 1 and 2 drives
				ds = append(ds, Drive{
					ID:     fmt.Sprintf("z%d-n%d-d%d", z, n, d),
					Node:   fmt.Sprintf("z%d-n%d", z, n),
					Zone:   fmt.Sprintf("z%d", z),
					Weight: 1,
				})
			}
		}
	}
	if len(ds) != 9 {
		t.Fatalf("topology has %d drives, want 9", len(ds))
	}
	for _, f := range []struct {
		name  string
		place func(key string) ([]int, error)
	}{
		{"Place", func(key string) ([]int, error) { return Place("b", key, ds, 6) }},
		{"PlaceEC", func(key string) ([]int, error) { return PlaceEC("b", key, ds, 4, 2) }},
	} {
		t.Run(f.name, func(t *testing.T) {
			for i := range keysFor(t) {
				got, err := f.place(testKey(i))
				if err != nil {
					t.Fatal(err)
				}
				perNode := map[string]int{}
				perZone := map[string]int{}
				for _, d := range got {
					perNode[ds[d].Node]++
					perZone[ds[d].Zone]++
				}
				if len(perNode) != 6 {
					t.Fatalf("key %d: %v uses %d nodes, want all 6 (one shard each): %v", i, got, len(perNode), perNode)
				}
				for z, c := range perZone {
					if c > 2 {
						t.Fatalf("key %d: zone %s holds %d shards, want at most 2: %v", i, z, c, got)
					}
				}
			}
		})
	}
}

// TestFewerNodesThanShards: with fewer nodes than shards (the embedded server
// is one node), Place still returns n distinct drives, spread as evenly over
// the nodes as their drive counts allow.
func TestFewerNodesThanShards(t *testing.T) {
	cases := []struct {
		name       string
		nodeDrives []int // drives per node, all in one zone
		n          int
		wantMax    int // most shards on one node
	}{
		{"1 node of 6 drives", []int{6}, 6, 6},
		{"1 node of 12 drives", []int{12}, 6, 6},
		{"3 nodes of 2 drives", []int{2, 2, 2}, 6, 2},
		{"3 nodes of 4 drives", []int{4, 4, 4}, 6, 2},
		{"2 nodes of 1 and 8 drives", []int{1, 8}, 6, 5},
		{"4 nodes of 1, 1, 4, 4 drives", []int{1, 1, 4, 4}, 6, 2},
		{"5 nodes of 3 drives, 8+4", []int{3, 3, 3, 3, 3}, 12, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ds []Drive
			for node, count := range c.nodeDrives {
				for d := range count {
					ds = append(ds, Drive{ID: fmt.Sprintf("n%d-d%d", node, d), Node: fmt.Sprint("n", node), Weight: 1})
				}
			}
			for i := range 2000 {
				got := mustPlace(t, "b", testKey(i), ds, c.n)
				seen := map[int]bool{}
				perNode := map[string]int{}
				for _, d := range got {
					if seen[d] || d < 0 || d >= len(ds) {
						t.Fatalf("key %d: %v is not %d distinct drives", i, got, c.n)
					}
					seen[d] = true
					perNode[ds[d].Node]++
				}
				for node, k := range perNode {
					if k > c.wantMax {
						t.Fatalf("key %d: node %s holds %d shards, want at most %d: %v", i, node, k, c.wantMax, got)
					}
				}
			}
		})
	}
}

// TestMinimalMovement appends one drive and checks, for every key, that at
// most one shard moved, that it moved to the new drive and kept its shard
// index, and that the fraction of shards moved is the new drive's fair share.
//
// Expected fractions: with n shards per object and the new drive in the set
// of a fraction p of the objects, p*N objects move one of their n shards, so
// p/n of all shards move. With 7 equal drives on 7 nodes and the zone caps
// not binding, p = 6/7 and 1/7 of the shards move. When the new drive's zone
// is capped (2 shards per zone, 3 zones), it competes only with its zone's
// drives: 3 nodes in the zone give p = 2/3, so 1/9 of the shards move.
func TestMinimalMovement(t *testing.T) {
	oneZone := func(nodes int) []Drive { return cluster(1, nodes, 1, nil) }
	cases := []struct {
		name   string
		before []Drive
		added  Drive
		k, m   int
		want   float64 // expected fraction of shards moved
		within string  // "node": moves stay within the new drive's node
	}{
		{"6 nodes in 3 zones, 7th node in a new zone", cluster(3, 2, 1, nil),
			Drive{ID: "new", Node: "new", Zone: "z3", Weight: 1}, 4, 2, 1.0 / 7, ""},
		{"6 nodes in 3 zones, 7th node in zone z0", cluster(3, 2, 1, nil),
			Drive{ID: "new", Node: "new", Zone: "z0", Weight: 1}, 4, 2, 1.0 / 9, ""},
		{"6 nodes in 1 zone, 7th node", oneZone(6),
			Drive{ID: "new", Node: "new", Zone: "z0", Weight: 1}, 4, 2, 1.0 / 7, ""},
		{"60 nodes in 1 zone, 61st node", oneZone(60),
			Drive{ID: "new", Node: "new", Zone: "z0", Weight: 1}, 4, 2, 1.0 / 61, ""},
		{"60 nodes in 3 zones, 61st node in zone z0", cluster(3, 20, 1, nil),
			Drive{ID: "new", Node: "new", Zone: "z0", Weight: 1}, 4, 2, 1.0 / 63, ""},
		// Every node holds exactly one shard of every object (6 nodes, 6
		// shards); the new drive takes a third of its node's: 1/18.
		{"6 nodes of 2 drives, 3rd drive on node z0-n0", cluster(3, 2, 2, nil),
			Drive{ID: "new", Node: "z0-n0", Zone: "z0", Weight: 1}, 4, 2, 1.0 / 18, "node"},
		// A drive of weight 3 among 60 of weight 1 is in the set of an
		// object with probability p = integral of 3 exp(-3s) P[Bin(60,
		// 1-exp(-s)) <= 5] ds = 0.26318 (numerically), a little less than
		// 6 * 3/63 because a drive holds at most one shard of an object.
		{"60 nodes of weight 1, 61st of weight 3", oneZone(60),
			Drive{ID: "new", Node: "new", Zone: "z0", Weight: 3}, 4, 2, 0.26318 / 6, ""},
		// 8+4: zone cap max(4, ceil(12/13)) = 4 never binds with 2 nodes
		// per zone, so p = 12/25 and 1/25 of the shards move.
		{"8+4 on 24 nodes in 12 zones, 25th node in a new zone", cluster(12, 2, 1, nil),
			Drive{ID: "new", Node: "new", Zone: "z12", Weight: 1}, 8, 4, 1.0 / 25, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			after := withDrive(c.before, c.added)
			newIdx := len(c.before)
			n := c.k + c.m
			keys := keysFor(t)
			moved := 0
			for i := range keys {
				key := testKey(i)
				old, err := PlaceEC("b", key, c.before, c.k, c.m)
				if err != nil {
					t.Fatal(err)
				}
				cur, err := PlaceEC("b", key, after, c.k, c.m)
				if err != nil {
					t.Fatal(err)
				}
				changed := 0
				for s := range n {
					if old[s] == cur[s] {
						continue
					}
					changed++
					if cur[s] != newIdx {
						t.Fatalf("key %d: shard %d moved from drive %d to old drive %d, want only moves to the new drive %d\nbefore %v\nafter  %v",
							i, s, old[s], cur[s], newIdx, old, cur)
					}
					if c.within == "node" && c.before[old[s]].Node != c.added.Node {
						t.Fatalf("key %d: shard %d moved from node %s to the new drive on node %s",
							i, s, c.before[old[s]].Node, c.added.Node)
					}
				}
				if changed > 1 {
					t.Fatalf("key %d: %d shards moved, want at most 1\nbefore %v\nafter  %v", i, changed, old, cur)
				}
				moved += changed
			}
			got := float64(moved) / float64(keys*n)
			t.Logf("moved %d of %d shards: %.5f (expected %.5f, %+.1f%%)",
				moved, keys*n, got, c.want, 100*(got/c.want-1))
			// About 5 standard deviations at 100,000 keys.
			tol := tolerance(0.05, keys)
			if math.Abs(got/c.want-1) > tol {
				t.Errorf("moved fraction %.5f, want %.5f ± %.0f%%", got, c.want, 100*tol)
			}
		})
	}
}

// TestLoadProportional checks that each drive's share of all shards is
// within ±10% of its share of the weight, and logs the worst deviation.
//
// Choosing n of the drives without replacement cannot follow the weights
// exactly when a drive's weight share times n is large (a drive holds at most
// one shard of an object), so the mixed-weight cases are chosen where the
// property is meaningful: n/drives = 0.1, or nodes of equal total weight,
// where the node cap picks one drive per node in exact proportion to weight.
func TestLoadProportional(t *testing.T) {
	w123 := func(i int) float64 { return float64(1 + i%3) }
	cases := []struct {
		name   string
		drives []Drive
		k, m   int
		tol    float64
	}{
		{"6 drives on 6 nodes in 3 zones, 4+2", cluster(3, 2, 1, nil), 4, 2, 0.10},
		{"60 equal drives, 12 nodes of 5 in 3 zones, 4+2", cluster(3, 4, 5, nil), 4, 2, 0.10},
		{"60 equal drives on 60 nodes, 4+2", cluster(1, 60, 1, nil), 4, 2, 0.10},
		{"60 drives of weight 1,2,3 on 60 nodes, 4+2", cluster(1, 60, 1, w123), 4, 2, 0.10},
		{"60 drives of weight 1,2,3 on 20 nodes in 4 zones, 4+2", cluster(4, 5, 3, w123), 4, 2, 0.10},
		{"120 drives of weight 1,2,3 on 40 nodes in 4 zones, 8+4", cluster(4, 10, 3, w123), 8, 4, 0.10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keys := keysFor(t)
			n := c.k + c.m
			p, err := NewPlacer(c.drives)
			if err != nil {
				t.Fatal(err)
			}
			tol := tolerance(c.tol, keys)
			count := make([]int, len(c.drives))
			for i := range keys {
				got, err := p.PlaceEC("b", testKey(i), c.k, c.m)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range got {
					count[d]++
				}
			}
			total := 0.0
			for _, d := range c.drives {
				total += d.Weight
			}
			worst, worstAt := 0.0, 0
			byWeight := map[float64][2]float64{} // weight -> {sum of ratios, count}
			for i, d := range c.drives {
				share := float64(count[i]) / float64(keys*n)
				ratio := share / (d.Weight / total)
				if dev := math.Abs(ratio - 1); dev > worst {
					worst, worstAt = dev, i
				}
				r := byWeight[d.Weight]
				byWeight[d.Weight] = [2]float64{r[0] + ratio, r[1] + 1}
				if math.Abs(ratio-1) > tol {
					t.Errorf("drive %s (weight %v): %.4f%% of shards, %.4f%% of weight (ratio %.3f), want within ±%.0f%%",
						d.ID, d.Weight, 100*share, 100*d.Weight/total, ratio, 100*tol)
				}
			}
			mean := ""
			for _, w := range []float64{1, 2, 3} {
				if r, ok := byWeight[w]; ok {
					mean += fmt.Sprintf(" w=%v: %.3f", w, r[0]/r[1])
				}
			}
			t.Logf("worst drive %s: share/weight share = 1%+.2f%%; mean ratio by weight:%s",
				c.drives[worstAt].ID, 100*(float64(count[worstAt])/float64(keys*n)/(c.drives[worstAt].Weight/total)-1), mean)
		})
	}
}

// TestShardIndexesSpread: every drive holds data shards (indexes below k,
// the ones read while all shards are healthy) in k/n of the objects it
// holds, within ±5%. Without the per-object rotation, drive i of a 6-drive
// cluster would hold shard i of every object, and the 2 last drives would
// serve no healthy read.
func TestShardIndexesSpread(t *testing.T) {
	cases := []struct {
		name   string
		drives []Drive
		k, m   int
	}{
		{"6 drives on 1 node", cluster(1, 1, 6, nil), 4, 2},
		{"6 drives on 6 nodes in 3 zones", cluster(3, 2, 1, nil), 4, 2},
		{"60 drives, 12 nodes in 3 zones", cluster(3, 4, 5, nil), 4, 2},
		{"16 drives on 16 nodes, 8+4", cluster(4, 4, 1, nil), 8, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := c.k + c.m
			keys := keysFor(t)
			held := make([]int, len(c.drives))
			data := make([]int, len(c.drives))
			byIndex := make([][]int, len(c.drives)) // drive -> shard index -> count
			for i := range byIndex {
				byIndex[i] = make([]int, n)
			}
			for i := range keys {
				got, err := PlaceEC("b", testKey(i), c.drives, c.k, c.m)
				if err != nil {
					t.Fatal(err)
				}
				for s, d := range got {
					held[d]++
					byIndex[d][s]++
					if s < c.k {
						data[d]++
					}
				}
			}
			want := float64(c.k) / float64(n)
			tol := tolerance(0.05, keys)
			worst := 0.0
			for d := range c.drives {
				frac := float64(data[d]) / float64(held[d])
				worst = max(worst, math.Abs(frac/want-1))
				if math.Abs(frac/want-1) > tol {
					t.Errorf("drive %s holds data shards in %.3f of its objects, want %.3f ± %.0f%% (by index: %v)",
						c.drives[d].ID, frac, want, 100*tol, byIndex[d])
				}
			}
			t.Logf("data-shard fraction per drive within %.2f%% of %.3f", 100*worst, want)
		})
	}
}

// TestRetiredDriveMovesOnlyItsShards: retiring a drive (drain, or a
// tombstone after removal) moves exactly the shards it held, each to a
// drive not already holding a shard of that object, within the caps over
// the remaining drives; no shard moves between two other drives.
func TestRetiredDriveMovesOnlyItsShards(t *testing.T) {
	cases := []struct {
		name   string
		drives []Drive
		retire []int
	}{
		{"7 nodes in 3 zones, the 3rd retired", cluster(3, 3, 1, nil)[:7], []int{2}},
		{"9 nodes in 3 zones, the 1st retired", cluster(3, 3, 1, nil), []int{0}},
		{"8 nodes in 1 zone, 2 retired", cluster(1, 8, 1, nil), []int{1, 4}},
		{"6 nodes of 2 drives, one node retired", cluster(3, 2, 2, nil), []int{4, 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			after := append([]Drive(nil), c.drives...)
			retired := map[int]bool{}
			for _, i := range c.retire {
				after[i].Retired = true
				retired[i] = true
			}
			moved, total := 0, 0
			for i := range 20000 {
				key := testKey(i)
				before, err := PlaceEC("b", key, c.drives, 4, 2)
				if err != nil {
					t.Fatal(err)
				}
				now, err := PlaceEC("b", key, after, 4, 2)
				if err != nil {
					t.Fatal(err)
				}
				seen := map[int]bool{}
				nodes := map[string]int{}
				for j := range now {
					if retired[now[j]] {
						t.Fatalf("%s: shard %d on retired drive %d", key, j, now[j])
					}
					if seen[now[j]] {
						t.Fatalf("%s: drive %d twice: %v", key, now[j], now)
					}
					seen[now[j]] = true
					nodes[after[now[j]].Zone+"/"+after[now[j]].Node]++
					total++
					if now[j] != before[j] {
						moved++
						if !retired[before[j]] {
							t.Fatalf("%s shard %d moved from %d to %d, and %d is not retired", key, j, before[j], now[j], before[j])
						}
					}
				}
				active := map[string]bool{}
				for i, d := range after {
					if !retired[i] {
						active[d.Zone+"/"+d.Node] = true
					}
				}
				if len(active) >= 6 {
					for n, cnt := range nodes {
						if cnt > 1 {
							t.Fatalf("%s: node %s holds %d shards with %d nodes active", key, n, cnt, len(active))
						}
					}
				}
			}
			if moved == 0 {
				t.Fatal("nothing moved")
			}
			t.Logf("%.4f of shards moved", float64(moved)/float64(total))
		})
	}
}
