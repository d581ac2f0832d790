package server

import (
	"context"
	"sync"
	"time"

	"github.com/ecstore/ecstore/admin"
	"github.com/ecstore/ecstore/meta"
	"github.com/prometheus/client_golang/prometheus"
)

// metaView is admin.Metadata over the members a process can ask: each
// probe returns one member's view of the group (meta.Status).
type metaView struct {
	copyIndex func() uint64
	lease     func(job string) (meta.Lease, bool)
	probes    []metaProbe
}

type metaProbe struct {
	addr   string // the member's metadata address ("" in process)
	status func(ctx context.Context) (meta.Status, error)
}

var _ admin.Metadata = (*metaView)(nil)

// embeddedMetaView asks the embedded server's members (in process).
func embeddedMetaView(g *meta.Group) *metaView {
	v := &metaView{copyIndex: g.Store().Index, lease: g.Store().Lease}
	for _, s := range g.Members() {
		v.probes = append(v.probes, metaProbe{status: func(context.Context) (meta.Status, error) { return s.Status() }})
	}
	return v
}

// clientMetaView asks each member at addrs through a gateway's client.
func clientMetaView(c *meta.Client, addrs []string) *metaView {
	v := &metaView{copyIndex: c.Index, lease: c.Lease}
	for _, a := range addrs {
		v.probes = append(v.probes, metaProbe{addr: a, status: func(ctx context.Context) (meta.Status, error) { return c.MemberStatus(ctx, a) }})
	}
	return v
}

// MetaStatus asks every member at once (1 s each) and joins the answers:
// the configuration of the member that leads (or of any that answered),
// each member's applied index and lag behind the newest, and the members
// that did not answer as down.
func (v *metaView) MetaStatus(ctx context.Context) admin.MetaStatus {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	sts := make([]meta.Status, len(v.probes))
	errs := make([]error, len(v.probes))
	var wg sync.WaitGroup
	for i, p := range v.probes {
		wg.Go(func() { sts[i], errs[i] = p.status(ctx) })
	}
	wg.Wait()
	out := admin.MetaStatus{Copy: v.copyIndex()}
	for _, job := range []string{leaseScanner, leaseUploadExpiry, leaseLifecycle, leaseRebalance} {
		if l, ok := v.lease(job); ok {
			out.Jobs = append(out.Jobs, admin.JobLease{Job: l.Job, Holder: l.Holder, Token: l.Token, Expires: l.Expires})
		}
	}
	byID := map[string]meta.Status{}
	errByAddr := map[string]error{}
	var conf *meta.Status
	for i, st := range sts {
		if errs[i] != nil {
			errByAddr[v.probes[i].addr] = errs[i]
			continue
		}
		byID[st.ID] = st
		out.Index = max(out.Index, st.StateIndex)
		out.Term = max(out.Term, st.Term)
		if st.Leader.ID != "" && out.Leader == "" {
			out.Leader = st.Leader.ID
		}
		if conf == nil || st.State == "Leader" {
			conf = &sts[i]
		}
	}
	if conf == nil {
		return out
	}
	if conf.State == "Leader" {
		out.Leader = conf.ID
	}
	add := func(p meta.Peer, voter bool) {
		m := admin.MetaMember{ID: p.ID, Address: p.Address, Voter: voter}
		if st, ok := byID[p.ID]; ok {
			m.State, m.Applied, m.Lag = st.State, st.StateIndex, out.Index-st.StateIndex
		} else {
			m.State, m.Down = "down", true
			if err := errByAddr[p.Address]; err != nil {
				m.Err = err.Error()
			}
		}
		out.Members = append(out.Members, m)
	}
	for _, p := range conf.Voters {
		add(p, true)
	}
	for _, p := range conf.Nonvoters {
		add(p, false)
	}
	return out
}

// metaCollector exports the metadata group's state as gauges.
type metaCollector struct{ v *metaView }

var (
	metaLeaderDesc = prometheus.NewDesc("ecstore_meta_leader_known", "1 when a leader of the metadata group is known (a majority of voters answers).", nil, nil)
	metaTermDesc   = prometheus.NewDesc("ecstore_meta_term", "The metadata group's Raft term.", nil, nil)
	metaIndexDesc  = prometheus.NewDesc("ecstore_meta_index", "The newest metadata state index a member holds.", nil, nil)
	metaCopyDesc   = prometheus.NewDesc("ecstore_meta_copy_index", "This process's copy of the metadata state.", nil, nil)
	metaMemberUp   = prometheus.NewDesc("ecstore_meta_member_up", "1 when the metadata member answers.", []string{"member", "role"}, nil)
	metaMemberLag  = prometheus.NewDesc("ecstore_meta_member_lag", "Entries a metadata member is behind the newest state.", []string{"member", "role"}, nil)
)

func (c metaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{metaLeaderDesc, metaTermDesc, metaIndexDesc, metaCopyDesc, metaMemberUp, metaMemberLag} {
		ch <- d
	}
}

func (c metaCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.v.MetaStatus(context.Background())
	ch <- prometheus.MustNewConstMetric(metaLeaderDesc, prometheus.GaugeValue, b2f(st.Leader != ""))
	ch <- prometheus.MustNewConstMetric(metaTermDesc, prometheus.GaugeValue, float64(st.Term))
	ch <- prometheus.MustNewConstMetric(metaIndexDesc, prometheus.GaugeValue, float64(st.Index))
	ch <- prometheus.MustNewConstMetric(metaCopyDesc, prometheus.GaugeValue, float64(st.Copy))
	for _, m := range st.Members {
		role := "nonvoter"
		if m.Voter {
			role = "voter"
		}
		ch <- prometheus.MustNewConstMetric(metaMemberUp, prometheus.GaugeValue, b2f(!m.Down), m.ID, role)
		ch <- prometheus.MustNewConstMetric(metaMemberLag, prometheus.GaugeValue, float64(m.Lag), m.ID, role)
	}
}
