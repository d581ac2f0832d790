package server

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ecstore/ecstore/gateway"
)

// MetricsPath is where Prometheus scrapes a gateway (on its S3 port; the
// leading '_' keeps it clear of every possible bucket name).
const MetricsPath = "/_ecstore/metrics"

// metrics holds one process's Prometheus registry.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(layer *gateway.Layer) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecstore_s3_requests_total", Help: "S3 requests served, by operation and HTTP status.",
		}, []string{"api", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ecstore_s3_request_duration_seconds", Help: "S3 request latency, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"api"}),
	}
	st := layer.Stats()
	counter := func(name, help string, v func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v()) })
	}
	m.reg.MustRegister(m.requests, m.latency,
		counter("ecstore_checksum_failures_total", "Shards found with a block failing its checksum during reads (bitrot).", st.ChecksumFailures.Load),
		counter("ecstore_degraded_reads_total", "Object reads that needed parity because shards were missing or corrupt.", st.DegradedReads.Load),
		counter("ecstore_partial_writes_total", "Writes acknowledged with fewer than k+m shards (queued for heal).", st.PartialWrites.Load),
		counter("ecstore_heal_shards_total", "Shards rewritten by heals.", st.ShardsHealed.Load),
		counter("ecstore_heal_bytes_total", "Shard bytes written by heals.", st.BytesHealed.Load),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ecstore_heal_queue_length", Help: "Objects waiting in the heal queue."},
			func() float64 { q, _, _ := layer.HealQueueStats(); return float64(q) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ecstore_heal_running", Help: "1 while a heal walk runs."},
			func() float64 {
				if layer.Healer().Status().Running {
					return 1
				}
				return 0
			}),
	)
	return m
}

func (m *metrics) observe(api string, status int, seconds float64) {
	m.requests.WithLabelValues(api, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(api).Observe(seconds)
}

// mount serves MetricsPath and passes every other request to next.
func (m *metrics) mount(next http.Handler) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == MetricsPath {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
