package cluster

import (
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

const metricsNamespace = "conflux"

// metrics are this node's Prometheus metrics. They are registered with
// Config.Registerer (never a global registry) and unregistered when the node
// stops, so a new Node can reuse the registerer.
type metrics struct {
	reg        prometheus.Registerer
	collectors []prometheus.Collector

	leaderChanges prometheus.Counter
	state         *prometheus.GaugeVec
	applyLatency  prometheus.Histogram
	peers         *prometheus.GaugeVec
	gossipMembers *prometheus.GaugeVec
	tlsRefused    *prometheus.CounterVec
	impostors     prometheus.Gauge
}

// newMetrics creates the metrics; index gauges read r on scrape.
func newMetrics(reg prometheus.Registerer, r *raft.Raft) (*metrics, error) {
	m := &metrics{
		reg: reg,
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: "raft", Name: "leader_changes_total",
			Help: "Number of leader changes this node has observed.",
		}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Subsystem: "raft", Name: "state",
			Help: "1 for the node's current raft state (Follower, Candidate, Leader, Shutdown), 0 otherwise.",
		}, []string{"state"}),
		applyLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Subsystem: "raft", Name: "apply_duration_seconds",
			Help:    "Time from raft.Apply until the entry is committed and applied to the FSM.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5ms .. ~16s
		}),
		peers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Subsystem: "raft", Name: "peers",
			Help: "Servers in the raft configuration by suffrage.",
		}, []string{"suffrage"}),
		gossipMembers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Subsystem: "gossip", Name: "members",
			Help: "Gossip members known to this node by state.",
		}, []string{"state"}),
		tlsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: "cluster", Name: "tls_refused_total",
			Help: "Raft TLS handshakes refused by this node: reason certificate (not from this cluster's CA, no node id) or key_mismatch (a node id bound to another key).",
		}, []string{"reason"}),
		impostors: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Subsystem: "cluster", Name: "impostor_members",
			Help: "Gossip members this node refused to trust because they could not prove the node id they claim (see /v1/status untrusted).",
		}),
	}
	gauge := func(name, help string, f func() uint64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Subsystem: "raft", Name: name, Help: help,
		}, func() float64 { return float64(f()) })
	}
	m.collectors = []prometheus.Collector{
		m.leaderChanges, m.state, m.applyLatency, m.peers, m.gossipMembers, m.tlsRefused, m.impostors,
		gauge("last_index", "Last index in the raft log.", r.LastIndex),
		gauge("commit_index", "Highest committed raft index known to this node.", r.CommitIndex),
		gauge("applied_index", "Highest raft index applied to the FSM.", r.AppliedIndex),
	}
	if reg == nil {
		return m, nil
	}
	for i, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collectors[:i] {
				reg.Unregister(done)
			}
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("cluster: register metrics (each Node needs its own Registerer): %w", err)
			}
			return nil, fmt.Errorf("cluster: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) setState(s raft.RaftState) {
	for _, st := range []raft.RaftState{raft.Follower, raft.Candidate, raft.Leader, raft.Shutdown} {
		v := 0.0
		if st == s {
			v = 1
		}
		m.state.WithLabelValues(st.String()).Set(v)
	}
}

func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}
