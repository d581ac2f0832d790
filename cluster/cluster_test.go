package cluster

import (
	"slices"
	"strings"
	"testing"
)

const sample = `
epoch: 3
ec: 4+2
nodes:
  - id: n1
    address: 127.0.0.1:9101
    zone: z1
    drives: [{id: n1-d1}, {id: n1-d2, weight: 2}]
  - id: n2
    address: 127.0.0.1:9102
    zone: z2
    drives: [{id: n2-d1}, {id: n2-d2}]
  - id: n3
    address: 127.0.0.1:9103
    zone: z3
    drives: [{id: n3-d1}, {id: n3-d2}]
`

func TestParse(t *testing.T) {
	m, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if k, p := m.Code(); k != 4 || p != 2 {
		t.Fatalf("code %d+%d", k, p)
	}
	if m.Nodes[0].Drives[0].Weight != 1 || m.Nodes[0].Drives[1].Weight != 2 {
		t.Fatalf("weights %+v", m.Nodes[0].Drives)
	}
	if n := m.Node("n2"); n == nil || n.Zone != "z2" {
		t.Fatalf("Node(n2) = %+v", n)
	}
	id := m.ID()
	if !strings.HasPrefix(id, "e3-") || len(id) != len("e3-")+12 {
		t.Fatalf("ID %q", id)
	}
	again, _ := Parse([]byte(sample))
	if again.ID() != id {
		t.Fatal("the same map gave two IDs")
	}
	changed, _ := Parse([]byte(strings.Replace(sample, "9103", "9104", 1)))
	if changed.ID() == id {
		t.Fatal("a changed address kept the map ID")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct{ edit, want string }{
		{"ec: 4+2\nnodes: []", "lists no nodes"},
		{strings.Replace(sample, "ec: 4+2", "ec: 6+2", 1), "needs at least 8 drives, but the map has 6"},
		{strings.Replace(sample, "ec: 4+2", "ec: four", 1), "want K+M"},
		{strings.Replace(sample, "id: n2-d1", "id: n1-d1", 1), `drive id "n1-d1" appears twice`},
		{strings.Replace(sample, "id: n2\n", "id: n1\n", 1), `node id "n1" appears twice`},
		{strings.Replace(sample, "127.0.0.1:9102", "127.0.0.1:9101", 1), "given to two nodes"},
		{strings.Replace(sample, "zone: z1", "zone: z1\n    color: red", 1), "color"},
	} {
		_, err := Parse([]byte(tc.edit))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want error containing %q, got %v", tc.want, err)
		}
	}
}

// TestMetaMembers: voters come from the zones in turn, at most 5 and an
// odd number; metadata addresses default to the next port.
func TestMetaMembers(t *testing.T) {
	m, err := Parse([]byte(`epoch: 1
ec: 2+1
nodes:
  - {id: a1, address: "h:9100", zone: a, drives: [{id: a1d}]}
  - {id: a2, address: "h:9200", zone: a, drives: [{id: a2d}]}
  - {id: a3, address: "h:9300", zone: a, drives: [{id: a3d}]}
  - {id: b1, address: "h:9400", zone: b, drives: [{id: b1d}]}
  - {id: c1, address: "h:9500", meta: "h:7000", zone: c, drives: [{id: c1d}]}
  - {id: c2, address: "h:9600", zone: c, drives: [{id: c2d}]}
  - {id: gone, address: "h:9700", zone: c, drives: [{id: g}], removed: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	voters, non := m.MetaMembers()
	ids := func(ns []Node) (out []string) {
		for _, n := range ns {
			out = append(out, n.ID)
		}
		return out
	}
	if got := ids(voters); !slices.Equal(got, []string{"a1", "a2", "b1", "c1", "c2"}) {
		t.Fatalf("voters %v", got)
	}
	if got := ids(non); !slices.Equal(got, []string{"a3"}) {
		t.Fatalf("non-voters %v", got)
	}
	if a, _ := m.Node("a1").MetaAddress(); a != "h:10100" {
		t.Fatalf("default meta address %s", a)
	}
	if a, _ := m.Node("c1").MetaAddress(); a != "h:7000" {
		t.Fatalf("given meta address %s", a)
	}
	m.Nodes = m.Nodes[:4]
	if v, _ := m.MetaMembers(); len(v) != 3 {
		t.Fatalf("4 nodes: %d voters, want 3", len(v))
	}
	m.Nodes[1].Meta = "h:9100"
	if err := m.Validate(); err == nil {
		t.Fatal("a meta address equal to another node's address was accepted")
	}
}
