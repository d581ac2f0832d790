package admin

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// Metadata is the metadata group as a gateway sees it; the server
// implements it over the group's members.
type Metadata interface {
	MetaStatus(ctx context.Context) MetaStatus
}

// MetaStatus is the metadata group's state: its leader and term, its
// members (voters and non-voters) with how far each has applied the log,
// and this gateway's copy.
type MetaStatus struct {
	Leader  string       `json:"leader"` // "" when none is known
	Term    uint64       `json:"term"`
	Index   uint64       `json:"index"` // the newest state any member holds
	Copy    uint64       `json:"copy"`  // this gateway's copy
	Members []MetaMember `json:"members"`
	// Jobs are the cluster-wide jobs' leases: who runs each.
	Jobs []JobLease `json:"jobs,omitempty"`
}

// JobLease is a cluster-wide job's lease: the holder runs the job; the
// token is its fencing token.
type JobLease struct {
	Job     string    `json:"job"`
	Holder  string    `json:"holder"`
	Token   uint64    `json:"token"`
	Expires time.Time `json:"expires"`
}

// MetaMember is one member of the group. Lag is how many entries it is
// behind the newest state a member answered with; a member that did not
// answer is Down (State "down", Err why).
type MetaMember struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
	State   string `json:"state"` // Leader, Follower, Candidate, down
	Applied uint64 `json:"applied"`
	Lag     uint64 `json:"lag"`
	Down    bool   `json:"down,omitempty"`
	Err     string `json:"error,omitempty"`
}

// SetMetadata adds the metadata group to the status.
func (h *Handler) SetMetadata(m Metadata) { h.meta = m }

// formatMeta renders the metadata group's part of a status.
func formatMeta(b *strings.Builder, m *MetaStatus) {
	leader := m.Leader
	if leader == "" {
		leader = "NONE (no majority of voters answers: bucket and map changes fail, reads and writes go on)"
	}
	fmt.Fprintf(b, "\nmetadata group: leader %s  term %d  index %d  this gateway's copy %d\n", leader, m.Term, m.Index, m.Copy)
	tw := tabwriter.NewWriter(b, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tROLE\tSTATE\tAPPLIED\tLAG\tADDRESS")
	for _, mm := range m.Members {
		role := "non-voter"
		if mm.Voter {
			role = "voter"
		}
		state := mm.State
		if mm.Down {
			state = "DOWN"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", mm.ID, role, state, mm.Applied, mm.Lag, mm.Address)
	}
	tw.Flush()
	for _, j := range m.Jobs {
		fmt.Fprintf(b, "job %s: run by %s (token %d, lease until %s)\n", j.Job, j.Holder, j.Token, j.Expires.Format(time.RFC3339))
	}
}
