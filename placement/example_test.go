package placement_test

import (
	"fmt"
	"log"

	"github.com/ecstore/ecstore/placement"
)

func ExamplePlaceEC() {
	// Six drives on six nodes, two nodes per zone.
	var drives []placement.Drive
	for i := range 6 {
		drives = append(drives, placement.Drive{
			ID:     fmt.Sprintf("drive-%d", i),
			Node:   fmt.Sprintf("node-%d", i),
			Zone:   fmt.Sprintf("zone-%d", i/2),
			Weight: 1,
		})
	}
	if err := placement.Validate(drives); err != nil {
		log.Fatal(err)
	}
	shards, err := placement.PlaceEC("photos", "2024/06/dog.jpg", drives, 4, 2)
	if err != nil {
		log.Fatal(err)
	}
	for i, d := range shards {
		fmt.Printf("shard %d: %s\n", i, drives[d].ID)
	}

	// Append a seventh drive in a new zone: at most one shard moves, to it.
	drives = append(drives, placement.Drive{ID: "drive-6", Node: "node-6", Zone: "zone-3", Weight: 1})
	after, err := placement.PlaceEC("photos", "2024/06/dog.jpg", drives, 4, 2)
	if err != nil {
		log.Fatal(err)
	}
	for i := range shards {
		if after[i] != shards[i] {
			fmt.Printf("shard %d moves from %s to %s\n", i, drives[shards[i]].ID, drives[after[i]].ID)
		}
	}
	// Output:
	// shard 0: drive-1
	// shard 1: drive-2
	// shard 2: drive-3
	// shard 3: drive-4
	// shard 4: drive-5
	// shard 5: drive-0
	// shard 1 moves from drive-2 to drive-6
}

func ExampleNewPlacer() {
	drives := []placement.Drive{
		{ID: "a1", Node: "a", Weight: 4}, {ID: "a2", Node: "a", Weight: 4},
		{ID: "b1", Node: "b", Weight: 4}, {ID: "b2", Node: "b", Weight: 4},
		{ID: "c1", Node: "c", Weight: 8}, {ID: "d1", Node: "d", Weight: 8},
	}
	p, err := placement.NewPlacer(drives) // validates, then prepares once
	if err != nil {
		log.Fatal(err)
	}
	for _, key := range []string{"k1", "k2", "k3"} {
		shards, err := p.PlaceEC("bucket", key, 2, 1)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(key, ":")
		for _, d := range shards {
			fmt.Print(" ", drives[d].ID)
		}
		fmt.Println()
	}
	// Output:
	// k1: c1 a1 b2
	// k2: a2 d1 c1
	// k3: b1 c1 a1
}
