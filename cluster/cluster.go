package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Map is a cluster map.
type Map struct {
	// Epoch counts the map's versions; a changed map gets a higher epoch.
	Epoch int `yaml:"epoch" json:"epoch"`
	// EC is the erasure code of new objects, "K+M".
	EC    string `yaml:"ec" json:"ec"`
	Nodes []Node `yaml:"nodes" json:"nodes"`
	// Prior lists the layouts of earlier epochs whose objects may not have
	// moved yet: readers look there too, and a rebalance moves them. It is
	// emptied (in a new epoch) when a rebalance finishes.
	Prior []Layout `yaml:"prior,omitempty" json:"prior,omitempty"`
	// RebalanceBy names the gateway (its address) that made the change
	// Prior waits for. Versions before the metadata group ran the
	// rebalance there; now the holder of the group's rebalance lease runs
	// it, whichever gateway that is.
	RebalanceBy string `yaml:"rebalance_by,omitempty" json:"rebalance_by,omitempty"`
}

// Layout is the node list of an earlier epoch.
type Layout struct {
	Epoch int    `yaml:"epoch" json:"epoch"`
	Nodes []Node `yaml:"nodes" json:"nodes"`
}

// Node is one storage node process.
type Node struct {
	ID      string `yaml:"id" json:"id"`
	Address string `yaml:"address" json:"address"` // host:port of its internode API
	// Meta is host:port of its metadata (Raft) listener; default: the
	// host of Address and its port plus 1000 (see MetaAddress).
	Meta   string  `yaml:"meta,omitempty" json:"meta,omitempty"`
	Zone   string  `yaml:"zone" json:"zone"`
	Drives []Drive `yaml:"drives" json:"drives"`
	// Draining nodes take no new shards: a rebalance moves theirs away,
	// after which the node can be removed.
	Draining bool `yaml:"draining,omitempty" json:"draining,omitempty"`
	// Removed nodes are tombstones: they stay in the list, so that the
	// placement of every other object stays as it was, but serve nothing.
	// Their ids (and drive ids) are never used again.
	Removed bool `yaml:"removed,omitempty" json:"removed,omitempty"`
}

// Live reports whether the node serves drives (is not a tombstone).
func (n *Node) Live() bool { return !n.Removed }

// Drive is one drive of a node. Its ID is unique in the cluster.
type Drive struct {
	ID     string  `yaml:"id" json:"id"`
	Weight float64 `yaml:"weight" json:"weight"` // default 1
}

// Load reads and validates a cluster map file.
func Load(path string) (*Map, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return Parse(data)
}

// Parse decodes and validates a cluster map.
func Parse(data []byte) (*Map, error) {
	var m Map
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("cluster: map: %w", err)
	}
	m.ensureDefaults()
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Map) ensureDefaults() {
	if m.EC == "" {
		m.EC = "4+2"
	}
	for i := range m.Nodes {
		for j := range m.Nodes[i].Drives {
			if m.Nodes[i].Drives[j].Weight == 0 {
				m.Nodes[i].Drives[j].Weight = 1
			}
		}
	}
}

// ParseEC parses "K+M".
func ParseEC(s string) (k, m int, err error) {
	ks, ms, ok := strings.Cut(s, "+")
	if ok {
		k, err = strconv.Atoi(strings.TrimSpace(ks))
		if err == nil {
			m, err = strconv.Atoi(strings.TrimSpace(ms))
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("erasure coding %q: want K+M, for example 4+2", s)
	}
	if k < 1 || m < 0 || k+m > 256 {
		return 0, 0, fmt.Errorf("erasure coding %d+%d is not possible: need 1 or more data shards, 0 or more parity shards, at most 256 in all", k, m)
	}
	return k, m, nil
}

// Validate checks the map with messages a user can act on.
func (m *Map) Validate() error {
	k, p, err := ParseEC(m.EC)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if len(m.Nodes) == 0 {
		return errors.New("cluster: the map lists no nodes")
	}
	nodes, drives, addrs := map[string]bool{}, map[string]bool{}, map[string]bool{}
	total := 0
	for _, n := range m.Nodes {
		switch {
		case n.ID == "":
			return errors.New("cluster: a node has no id")
		case nodes[n.ID]:
			return fmt.Errorf("cluster: node id %q appears twice", n.ID)
		case n.Address == "" && !n.Removed:
			return fmt.Errorf("cluster: node %q has no address (host:port)", n.ID)
		case addrs[n.Address] && !n.Removed:
			return fmt.Errorf("cluster: address %s is given to two nodes", n.Address)
		case len(n.Drives) == 0:
			return fmt.Errorf("cluster: node %q lists no drives", n.ID)
		}
		nodes[n.ID] = true
		if !n.Removed {
			addrs[n.Address] = true
			meta, err := n.MetaAddress()
			if err != nil {
				return err
			}
			if addrs[meta] {
				return fmt.Errorf("cluster: node %q's metadata address %s is another's address; give it its own with meta: host:port", n.ID, meta)
			}
			addrs[meta] = true
		}
		for _, d := range n.Drives {
			switch {
			case d.ID == "":
				return fmt.Errorf("cluster: a drive of node %q has no id", n.ID)
			case drives[d.ID]:
				return fmt.Errorf("cluster: drive id %q appears twice", d.ID)
			case d.Weight < 0:
				return fmt.Errorf("cluster: drive %q has a negative weight", d.ID)
			}
			drives[d.ID] = true
			total++
		}
	}
	if k+p > total {
		return fmt.Errorf("cluster: erasure coding %s needs at least %d drives, but the map has %d", m.EC, k+p, total)
	}
	if active := m.activeDrives(); k+p > active {
		return fmt.Errorf("cluster: erasure coding %s needs at least %d drives that are not draining, but the map has %d", m.EC, k+p, active)
	}
	return nil
}

func (m *Map) activeDrives() int {
	n := 0
	for _, nd := range m.Nodes {
		if !nd.Draining && !nd.Removed {
			n += len(nd.Drives)
		}
	}
	return n
}

// Encode returns the map as canonical JSON, the form passed between
// processes and stored by nodes (Parse reads it back).
func (m *Map) Encode() []byte {
	b, _ := json.Marshal(m) // plain structs: cannot fail
	return b
}

// Clone returns a deep copy of the map.
func (m *Map) Clone() *Map {
	var c Map
	_ = json.Unmarshal(m.Encode(), &c)
	return &c
}

// ID names this exact map: "e<epoch>-<first 12 hex digits of the SHA-256
// of its canonical JSON>". Two processes with the same ID act on the same
// map.
func (m *Map) ID() string {
	canon, _ := json.Marshal(m) // struct fields in fixed order: canonical
	sum := sha256.Sum256(canon)
	return fmt.Sprintf("e%d-%s", m.Epoch, hex.EncodeToString(sum[:6]))
}

// Node returns the node with the given id, or nil.
func (m *Map) Node(id string) *Node {
	for i := range m.Nodes {
		if m.Nodes[i].ID == id {
			return &m.Nodes[i]
		}
	}
	return nil
}

// Code returns the map's erasure code.
func (m *Map) Code() (k, p int) {
	k, p, _ = ParseEC(m.EC)
	return k, p
}
