package placement

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestPlaceErrors(t *testing.T) {
	six := cluster(3, 2, 1, nil)
	bad := func(mutate func(d *Drive)) []Drive {
		ds := slices.Clone(six)
		mutate(&ds[2])
		return ds
	}
	cases := []struct {
		name    string
		call    func() ([]int, error)
		is      error  // nil: only the prefix is checked
		mention string // a part of the message the user needs
	}{
		{"n=0", func() ([]int, error) { return Place("b", "k", six, 0) }, nil, "shard count 0"},
		{"n<0", func() ([]int, error) { return Place("b", "k", six, -3) }, nil, "shard count -3"},
		{"n>drives", func() ([]int, error) { return Place("b", "k", six, 7) }, ErrNotEnoughDrives, "the map has 6"},
		{"no drives", func() ([]int, error) { return Place("b", "k", nil, 1) }, ErrNotEnoughDrives, "the map has 0"},
		{"EC k=0", func() ([]int, error) { return PlaceEC("b", "k", six, 0, 2) }, nil, "0+2"},
		{"EC m<0", func() ([]int, error) { return PlaceEC("b", "k", six, 4, -1) }, nil, "4+-1"},
		{"EC overflow", func() ([]int, error) { return PlaceEC("b", "k", six, math.MaxInt, 1) }, nil, "erasure code"},
		{"EC too wide", func() ([]int, error) { return PlaceEC("b", "k", six, 4, 3) }, ErrNotEnoughDrives, "7 shards"},
		{"empty ID", func() ([]int, error) {
			return Place("b", "k", bad(func(d *Drive) { d.ID = "" }), 6)
		}, ErrInvalidDrives, "drive #2 has an empty ID"},
		{"zero weight", func() ([]int, error) {
			return Place("b", "k", bad(func(d *Drive) { d.Weight = 0 }), 6)
		}, ErrInvalidDrives, `drive "z1-n0-d0" (#2) has weight 0`},
		{"negative weight", func() ([]int, error) {
			return Place("b", "k", bad(func(d *Drive) { d.Weight = -1 }), 6)
		}, ErrInvalidDrives, "weight -1"},
		{"NaN weight", func() ([]int, error) {
			return Place("b", "k", bad(func(d *Drive) { d.Weight = math.NaN() }), 6)
		}, ErrInvalidDrives, "weight NaN"},
		{"infinite weight", func() ([]int, error) {
			return PlaceEC("b", "k", bad(func(d *Drive) { d.Weight = math.Inf(1) }), 4, 2)
		}, ErrInvalidDrives, "weight +Inf"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.call()
			if err == nil {
				t.Fatalf("got %v, want an error", got)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q does not wrap %q", err, c.is)
			}
			if c.is == nil && (errors.Is(err, ErrNotEnoughDrives) || errors.Is(err, ErrInvalidDrives)) {
				t.Errorf("error %q wraps a drive-list error; the arguments are at fault", err)
			}
			if !strings.HasPrefix(err.Error(), "placement: ") || !strings.Contains(err.Error(), c.mention) {
				t.Errorf("error %q: want the prefix %q and the words %q", err, "placement: ", c.mention)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := cluster(3, 2, 2, nil)
	mod := func(f func(ds []Drive) []Drive) []Drive { return f(slices.Clone(good)) }
	var many []Drive
	for i := range 15 {
		many = append(many, Drive{ID: "same", Node: fmt.Sprint(i), Weight: 1})
	}
	cases := []struct {
		name     string
		drives   []Drive
		mentions []string // nil: valid
	}{
		{"valid", good, nil},
		{"valid, no zones or nodes", []Drive{{ID: "a", Weight: 1}, {ID: "b", Weight: 2}}, nil},
		{"valid, one drive", []Drive{{ID: "a", Weight: 0.001}}, nil},
		{"empty", nil, []string{"no drives"}},
		{"empty ID", mod(func(ds []Drive) []Drive { ds[3].ID = ""; return ds }), []string{"drive #3 has an empty ID"}},
		{"repeated ID", mod(func(ds []Drive) []Drive { ds[5].ID = ds[1].ID; return ds }),
			[]string{`drive ID "z0-n0-d1" is used by drives #1 and #5`}},
		{"zero weight", mod(func(ds []Drive) []Drive { ds[0].Weight = 0; return ds }),
			[]string{`drive "z0-n0-d0" (#0) has weight 0`, "positive finite"}},
		{"NaN weight", mod(func(ds []Drive) []Drive { ds[0].Weight = math.NaN(); return ds }), []string{"weight NaN"}},
		{"node in two zones", mod(func(ds []Drive) []Drive { ds[1].Zone = "z9"; return ds }),
			[]string{`node "z0-n0" is in zone "z0" (drive #0) and in zone "z9" (drive #1)`}},
		{"several problems", mod(func(ds []Drive) []Drive {
			ds[0].Weight = -2
			ds[7].ID = ""
			return ds
		}), []string{"weight -2", "drive #7 has an empty ID"}},
		{"too many problems", many, []string{`drive ID "same" is used by drives #0 and #10`, "and 4 more problems"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.drives)
			if c.mentions == nil {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate: nil, want an error")
			}
			if !errors.Is(err, ErrInvalidDrives) {
				t.Errorf("error %q does not wrap ErrInvalidDrives", err)
			}
			if !strings.HasPrefix(err.Error(), "placement: invalid drive list: ") {
				t.Errorf("error %q lacks the prefix", err)
			}
			for _, m := range c.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
			if _, err := NewPlacer(c.drives); !errors.Is(err, ErrInvalidDrives) {
				t.Errorf("NewPlacer: %v, want the Validate error", err)
			}
		})
	}
}

// TestPlaceBasics: n distinct drives in range, the same answer every time,
// whether or not the strings share memory.
func TestPlaceBasics(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for round := range 300 {
		ds := randomDrives(r)
		n := 1 + r.IntN(len(ds))
		clone := deepClone(ds)
		for i := range 20 {
			key := testKey(round*100 + i)
			got := mustPlace(t, "bucket", key, ds, n)
			if len(got) != n {
				t.Fatalf("got %d drives, want %d", len(got), n)
			}
			seen := map[int]bool{}
			for _, d := range got {
				if d < 0 || d >= len(ds) || seen[d] {
					t.Fatalf("%v: not %d distinct indexes into %d drives", got, n, len(ds))
				}
				seen[d] = true
			}
			if again := mustPlace(t, "bucket", key, clone, n); !slices.Equal(got, again) {
				t.Fatalf("same inputs, different answers: %v and %v", got, again)
			}
		}
	}
}

// TestObjectIdentity: bucket and key are not simply concatenated.
func TestObjectIdentity(t *testing.T) {
	if objectHash("ab", "c") == objectHash("a", "bc") {
		t.Fatal(`("ab", "c") and ("a", "bc") hash the same`)
	}
	ds := cluster(1, 60, 1, nil)
	differ := 0
	for i := range 100 {
		a := mustPlace(t, "b1", testKey(i), ds, 6)
		b := mustPlace(t, "b2", testKey(i), ds, 6)
		if !slices.Equal(a, b) {
			differ++
		}
	}
	if differ < 90 {
		t.Errorf("only %d of 100 keys placed differently in two buckets", differ)
	}
}

// TestPlaceGolden pins down complete placements. These answers are where
// stored objects live: if this test fails, the change moves data. Revert it.
func TestPlaceGolden(t *testing.T) {
	w123 := func(i int) float64 { return float64(1 + i%3) }
	cases := []struct {
		drives []Drive
		bucket string
		key    string
		k, m   int
		want   []int
	}{
		{cluster(3, 2, 1, nil), "b", "k", 4, 2, []int{0, 1, 2, 3, 4, 5}},
		{cluster(3, 2, 1, nil), "b", "k2", 4, 2, []int{0, 1, 2, 3, 4, 5}},
		{cluster(1, 1, 6, nil), "photos", "2024/06/cat.jpg", 4, 2, []int{0, 1, 2, 3, 4, 5}},
		{cluster(4, 5, 3, w123), "bucket", "a/b/c", 4, 2, []int{47, 13, 28, 24, 58, 37}},
		{cluster(3, 20, 1, nil), "données", "clé/été-🙂.txt", 4, 2, []int{57, 17, 7, 39, 29, 58}},
		{cluster(4, 25, 6, nil), "logs", "2024/01/01/00/host-17.log.gz", 8, 4, []int{224, 189, 412, 335, 527, 470, 119, 520, 560, 62, 279, 291}},
		{cluster(1, 60, 1, w123), "x", "", 10, 0, []int{32, 1, 25, 53, 13, 5, 11, 17, 52, 9}},
	}
	for _, c := range cases {
		got, err := PlaceEC(c.bucket, c.key, c.drives, c.k, c.m)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("PlaceEC(%q, %q, %d drives, %d, %d) = %#v, want %#v",
				c.bucket, c.key, len(c.drives), c.k, c.m, got, c.want)
		}
	}
}

// TestPlacerMatchesPlace: a Placer gives exactly the answers of Place and
// PlaceEC, and does not see later changes to the slice it was built from.
func TestPlacerMatchesPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for round := range 200 {
		ds := randomDrives(r)
		p, err := NewPlacer(ds)
		if err != nil {
			t.Fatal(err)
		}
		if p.Len() != len(ds) {
			t.Fatalf("Len = %d, want %d", p.Len(), len(ds))
		}
		orig := deepClone(ds)
		ds[0].ID, ds[0].Weight = "changed", 1000 // must not affect p
		n := 1 + r.IntN(len(ds))
		m := r.IntN(n)
		for i := range 20 {
			key := testKey(round*100 + i)
			want, _ := Place("b", key, orig, n)
			got, err := p.Place("b", key, n)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("Placer.Place = %v, %v; Place = %v", got, err, want)
			}
			want, _ = PlaceEC("b", key, orig, n-m, m)
			got, err = p.PlaceEC("b", key, n-m, m)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("Placer.PlaceEC = %v, %v; PlaceEC = %v", got, err, want)
			}
		}
		if _, err := p.Place("b", "k", 0); err == nil {
			t.Fatal("Placer.Place with n=0: no error")
		}
		if _, err := p.PlaceEC("b", "k", len(ds), 1); !errors.Is(err, ErrNotEnoughDrives) {
			t.Fatalf("Placer.PlaceEC wider than the map: %v", err)
		}
	}
}

// TestPlacerConcurrent: one Placer used from several goroutines (run with
// -race).
func TestPlacerConcurrent(t *testing.T) {
	ds := cluster(3, 4, 5, nil)
	p, err := NewPlacer(ds)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := range 500 {
				key := testKey(g*1000 + i)
				got, err := p.PlaceEC("b", key, 4, 2)
				want, _ := PlaceEC("b", key, ds, 4, 2)
				if err != nil || !slices.Equal(got, want) {
					errs <- fmt.Errorf("key %s: Placer %v (%v), PlaceEC %v", key, got, err, want)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestPlaceECParameters: Place is PlaceEC with m = 0, and PlaceEC depends on
// k and m only through n = k+m and m.
func TestPlaceECParameters(t *testing.T) {
	ds := cluster(6, 2, 2, nil)
	for i := range 500 {
		key := testKey(i)
		a := mustPlace(t, "b", key, ds, 6)
		b, _ := PlaceEC("b", key, ds, 6, 0)
		if !slices.Equal(a, b) {
			t.Fatalf("Place %v != PlaceEC(6, 0) %v", a, b)
		}
		// 6 zones: Place caps zones at 1 shard, PlaceEC(4, 2) at 2.
		c, _ := PlaceEC("b", key, ds, 4, 2)
		perZone := map[string]int{}
		for _, d := range a {
			perZone[ds[d].Zone]++
		}
		if len(perZone) != 6 {
			t.Fatalf("Place on 6 zones: %v uses %d zones, want 6", a, len(perZone))
		}
		perZone = map[string]int{}
		for _, d := range c {
			perZone[ds[d].Zone]++
			if perZone[ds[d].Zone] > 2 {
				t.Fatalf("PlaceEC(4, 2): %v puts 3 shards in zone %s", c, ds[d].Zone)
			}
		}
	}
}

// TestSetIndependentOfOrder: the order of the list decides only the shard
// indexes; the set of drives is the same for every order.
func TestSetIndependentOfOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for round := range 200 {
		ds := randomDrives(r)
		shuffled := slices.Clone(ds)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		n := 1 + r.IntN(len(ds))
		m := r.IntN(n)
		for i := range 10 {
			key := testKey(round*100 + i)
			a, _ := PlaceEC("b", key, ds, n-m, m)
			b, _ := PlaceEC("b", key, shuffled, n-m, m)
			if !slices.Equal(idSet(ds, a), idSet(shuffled, b)) {
				t.Fatalf("order changed the set: %v vs %v", idSet(ds, a), idSet(shuffled, b))
			}
		}
	}
}

// TestMatchesGreedy checks the incremental construction against the plain
// definition, computed from scratch with independent code: sort all drives
// by score and take each in turn unless its node or zone is full. It also
// checks the failure-domain rules directly, on random topologies with nodes
// and zones of uneven sizes, drives of a node not listed together, and
// unequal weights: one shard per node when there are n nodes, and at most
// max(m, ceil(n/zones)) per zone when the zones can hold that on distinct
// nodes.
func TestMatchesGreedy(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	for round := range rounds {
		ds := randomDrives(r)
		n := 1 + r.IntN(len(ds))
		m := r.IntN(n)
		if r.IntN(4) == 0 {
			m = 0
		}
		nodes, zones := map[string]bool{}, map[string]int{}
		for _, d := range ds {
			if !nodes[d.Zone+"\x00"+d.Node] {
				nodes[d.Zone+"\x00"+d.Node] = true
				zones[d.Zone]++
			}
		}
		zoneTarget := max(m, (n+len(zones)-1)/len(zones))
		zonesSuffice := 0
		for _, c := range zones {
			zonesSuffice += min(c, zoneTarget)
		}
		for i := range 10 {
			key := testKey(round*100 + i)
			got, err := PlaceEC("b", key, ds, n-m, m)
			if err != nil {
				t.Fatal(err)
			}
			want := greedyReference("b", key, ds, n, m)
			if !slices.Equal(sortedCopy(got), want) {
				t.Fatalf("round %d, n=%d m=%d: set %v, reference %v\ndrives %v", round, n, m, sortedCopy(got), want, ds)
			}
			perNode, perZone := map[string]int{}, map[string]int{}
			for _, d := range got {
				perNode[ds[d].Zone+"\x00"+ds[d].Node]++
				perZone[ds[d].Zone]++
			}
			if len(nodes) >= n && len(perNode) != n {
				t.Fatalf("round %d: %d nodes, n=%d, but %v puts two shards on one node", round, len(nodes), n, got)
			}
			if len(nodes) >= n && zonesSuffice >= n {
				for z, c := range perZone {
					if c > zoneTarget {
						t.Fatalf("round %d: zone %q holds %d shards, want at most %d", round, z, c, zoneTarget)
					}
				}
			}
		}
	}
}

// greedyReference returns the sorted drive indexes chosen by the plain
// definition of the placement: scores for all drives, sorted; caps computed
// from their definition; greedy selection.
func greedyReference(bucket, key string, ds []Drive, n, m int) []int {
	nodeDrives := map[string]int{} // zone\x00node -> drives
	zoneNodes := map[string][]string{}
	for _, d := range ds {
		k := d.Zone + "\x00" + d.Node
		if nodeDrives[k] == 0 {
			zoneNodes[d.Zone] = append(zoneNodes[d.Zone], k)
		}
		nodeDrives[k]++
	}
	nodeCap := 1
	for ; ; nodeCap++ {
		sum := 0
		for _, c := range nodeDrives {
			sum += min(c, nodeCap)
		}
		if sum >= n {
			break
		}
	}
	zoneCap := max(m, (n+len(zoneNodes)-1)/len(zoneNodes))
	for ; ; zoneCap++ {
		sum := 0
		for _, nodes := range zoneNodes {
			size := 0
			for _, k := range nodes {
				size += min(nodeDrives[k], nodeCap)
			}
			sum += min(size, zoneCap)
		}
		if sum >= n {
			break
		}
	}
	type cand struct {
		score float64
		x     uint64
		i     int
	}
	obj := objectHash(bucket, key)
	cands := make([]cand, len(ds))
	for i, d := range ds {
		x := draw(obj, driveHash(d.ID))
		cands[i] = cand{expDraw(x) / d.Weight, x, i}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		switch {
		case a.score != b.score:
			if a.score < b.score {
				return -1
			}
			return 1
		case a.x != b.x:
			if a.x > b.x {
				return -1
			}
			return 1
		}
		return a.i - b.i
	})
	perNode, perZone := map[string]int{}, map[string]int{}
	var out []int
	for _, c := range cands {
		d := ds[c.i]
		k := d.Zone + "\x00" + d.Node
		if len(out) < n && perNode[k] < nodeCap && perZone[d.Zone] < zoneCap {
			out = append(out, c.i)
			perNode[k]++
			perZone[d.Zone]++
		}
	}
	slices.Sort(out)
	return out
}

func TestCaps(t *testing.T) {
	cases := []struct {
		name       string
		zones      [][]int // drives per node, per zone
		n, m       int
		node, zone int
	}{
		{"6 nodes in 3 zones, 4+2", [][]int{{1, 1}, {1, 1}, {1, 1}}, 6, 2, 1, 2},
		{"6 nodes in 3 zones, n=6", [][]int{{1, 1}, {1, 1}, {1, 1}}, 6, 0, 1, 2},
		{"6 nodes in 6 zones, n=6", [][]int{{1}, {1}, {1}, {1}, {1}, {1}}, 6, 0, 1, 1},
		{"6 nodes in 6 zones, 4+2", [][]int{{1}, {1}, {1}, {1}, {1}, {1}}, 6, 2, 1, 2},
		{"one node of 6", [][]int{{6}}, 6, 2, 6, 6},
		{"3 nodes of 2", [][]int{{2, 2, 2}}, 6, 2, 2, 6},
		{"nodes of 1 and 8", [][]int{{1, 8}}, 6, 2, 5, 6},
		{"2 zones, 4+2", [][]int{{1, 1, 1}, {1, 1, 1}}, 6, 2, 1, 3},
		{"skewed zones", [][]int{{1}, {1}, {1, 1, 1, 1, 1}}, 6, 2, 1, 4},
		{"skewed zones, big nodes", [][]int{{3}, {3}, {1, 1, 1, 1}}, 6, 2, 1, 4},
		{"more zones than shards", [][]int{{1}, {1}, {1}, {1}, {1}, {1}, {1}, {1}}, 6, 2, 1, 2},
		{"8+4 in 4 zones", [][]int{{1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}}, 12, 4, 1, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ds []Drive
			for z, nodes := range c.zones {
				for node, count := range nodes {
					for d := range count {
						ds = append(ds, Drive{ID: fmt.Sprint(z, node, d), Node: fmt.Sprint(z, node), Zone: fmt.Sprint(z), Weight: 1})
					}
				}
			}
			topo, err := newTopology(ds)
			if err != nil {
				t.Fatal(err)
			}
			node, zone := topo.caps(c.n, c.m)
			if node != c.node || zone != c.zone {
				t.Errorf("caps = %d per node, %d per zone; want %d, %d", node, zone, c.node, c.zone)
			}
		})
	}
}

// TestMalformedListsStillPlace: Place does not look for repeated IDs or for
// a node name in two zones (Validate does), but it still answers with n
// distinct drives.
func TestMalformedListsStillPlace(t *testing.T) {
	dup := cluster(2, 3, 1, nil)
	dup[4].ID = dup[1].ID
	twoZones := cluster(3, 2, 1, nil)
	for i := range twoZones {
		twoZones[i].Node = "same"
	}
	for _, ds := range [][]Drive{dup, twoZones} {
		for i := range 200 {
			got := mustPlace(t, "b", testKey(i), ds, 6)
			if s := sortedCopy(got); !slices.Equal(s, []int{0, 1, 2, 3, 4, 5}) {
				t.Fatalf("got %v, want all 6 drives", got)
			}
		}
	}
}

// randomDrives returns a random topology: 1 to 4 zones (possibly the
// unnamed one), 1 to 5 nodes per zone, 1 to 4 drives per node, mixed
// weights, sometimes with the list shuffled.
func randomDrives(r *rand.Rand) []Drive {
	var ds []Drive
	zones := 1 + r.IntN(4)
	for z := range zones {
		zone := fmt.Sprint("zone", z)
		if z == 0 && r.IntN(2) == 0 {
			zone = ""
		}
		for n := range 1 + r.IntN(5) {
			for d := range 1 + r.IntN(4) {
				w := []float64{1, 1, 2, 0.5, 3.7, 0.01 + 10*r.Float64()}[r.IntN(6)]
				ds = append(ds, Drive{
					ID:     fmt.Sprintf("%d/%d/%d", z, n, d),
					Node:   fmt.Sprintf("node%d.%d", z, n),
					Zone:   zone,
					Weight: w,
				})
			}
		}
	}
	if r.IntN(3) == 0 {
		r.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	}
	return ds
}

// deepClone copies ds with freshly allocated strings.
func deepClone(ds []Drive) []Drive {
	out := make([]Drive, len(ds))
	for i, d := range ds {
		out[i] = Drive{
			ID:     strings.Clone(d.ID),
			Node:   strings.Clone(d.Node),
			Zone:   strings.Clone(d.Zone),
			Weight: d.Weight,
		}
	}
	return out
}

func sortedCopy(s []int) []int {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func idSet(ds []Drive, idx []int) []string {
	var ids []string
	for _, i := range idx {
		ids = append(ids, ds[i].ID)
	}
	slices.Sort(ids)
	return ids
}
