package cluster

import (
	"fmt"
	"net"
	"strconv"
)

// MaxMetaVoters is the most voters the metadata group starts with.
const MaxMetaVoters = 5

// MetaPortOffset: a node's metadata listener defaults to its address's
// port plus this (9100 → 10100), clear of the node ports a cluster on one
// host usually numbers in a row.
const MetaPortOffset = 1000

// MetaAddress is the node's metadata (Raft) address: Meta, or the host of
// Address with its port plus MetaPortOffset.
func (n *Node) MetaAddress() (string, error) {
	if n.Meta != "" {
		if _, _, err := net.SplitHostPort(n.Meta); err != nil {
			return "", fmt.Errorf("cluster: node %q: meta address %q: want host:port", n.ID, n.Meta)
		}
		return n.Meta, nil
	}
	host, port, err := net.SplitHostPort(n.Address)
	if err != nil {
		return "", fmt.Errorf("cluster: node %q: address %q: want host:port", n.ID, n.Address)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p+MetaPortOffset > 65535 {
		return "", fmt.Errorf("cluster: node %q: address %q: give the metadata listener's address with meta: host:port (by default it takes the port plus %d)", n.ID, n.Address, MetaPortOffset)
	}
	return net.JoinHostPort(host, strconv.Itoa(p+MetaPortOffset)), nil
}

// MetaMembers splits the live nodes into the metadata group's voters (an
// odd number, at most MaxMetaVoters, taken from the zones in turn so that
// the loss of one zone leaves as many voters as it can) and non-voters,
// each in map order. Every process computes the same split from the same
// map: it is the configuration a new group is bootstrapped with.
func (m *Map) MetaMembers() (voters, nonvoters []Node) {
	var zones []string
	byZone := map[string][]Node{}
	live := 0
	for _, n := range m.Nodes {
		if n.Removed {
			continue
		}
		if _, ok := byZone[n.Zone]; !ok {
			zones = append(zones, n.Zone)
		}
		byZone[n.Zone] = append(byZone[n.Zone], n)
		live++
	}
	want := min(live, MaxMetaVoters)
	if want%2 == 0 {
		want--
	}
	chosen := map[string]bool{}
	for round := 0; len(chosen) < want; round++ {
		for _, z := range zones {
			if round < len(byZone[z]) && len(chosen) < want {
				chosen[byZone[z][round].ID] = true
			}
		}
	}
	for _, n := range m.Nodes {
		switch {
		case n.Removed:
		case chosen[n.ID]:
			voters = append(voters, n)
		default:
			nonvoters = append(nonvoters, n)
		}
	}
	return voters, nonvoters
}
