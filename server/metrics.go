package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/s3compat"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/intercept"
)

// metrics holds one process's Prometheus registry.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec

	driveOps     *prometheus.CounterVec
	driveErrors  *prometheus.CounterVec
	driveBytes   *prometheus.CounterVec
	driveLatency *prometheus.HistogramVec
}

// newMetrics registers the request and drive metrics; attach adds the
// layer's once it exists (drives are wrapped before the layer is built).
func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecstore_s3_requests_total", Help: "S3 requests served, by operation and HTTP status.",
		}, []string{"api", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ecstore_s3_request_duration_seconds", Help: "S3 request latency, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"api"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecstore_s3_received_bytes_total", Help: "Request body bytes received from S3 clients, by operation.",
		}, []string{"api"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecstore_s3_sent_bytes_total", Help: "Response body bytes sent to S3 clients, by operation.",
		}, []string{"api"}),
		driveOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecstore_drive_operations_total", Help: "Calls to a drive, by drive and operation class (shard_write, shard_read, meta_write, meta_read, list, other).",
		}, []string{"drive", "op"}),
		driveErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecstore_drive_errors_total", Help: "Drive calls that failed because of the drive (offline, I/O error, timeout), by drive and operation class.",
		}, []string{"drive", "op"}),
		driveBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecstore_drive_shard_bytes_total", Help: "Shard bytes written to and read from a drive, by drive and operation class.",
		}, []string{"drive", "op"}),
		driveLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ecstore_drive_operation_duration_seconds", Help: "Drive call latency, by drive and operation class (a shard write counts from create to commit).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"drive", "op"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.bytesIn, m.bytesOut, m.driveOps, m.driveErrors, m.driveBytes, m.driveLatency)
	return m
}

// observe records one S3 request.
func (m *metrics) observe(s s3compat.RequestStats) {
	m.requests.WithLabelValues(s.API, strconv.Itoa(s.Status)).Inc()
	m.latency.WithLabelValues(s.API).Observe(s.Duration.Seconds())
	if s.BytesIn > 0 {
		m.bytesIn.WithLabelValues(s.API).Add(float64(s.BytesIn))
	}
	if s.BytesOut > 0 {
		m.bytesOut.WithLabelValues(s.API).Add(float64(s.BytesOut))
	}
}

// driveOpClasses are the operation classes intercept.Observe reports.
var driveOpClasses = []string{
	intercept.ClassShardWrite, intercept.ClassShardRead, intercept.ClassMetaWrite,
	intercept.ClassMetaRead, intercept.ClassList, intercept.ClassOther,
}

// driveOpMetrics are one drive's series for one operation class, looked up
// once (a label lookup per shard read would be on the GET path).
type driveOpMetrics struct {
	ops, errs, bytes prometheus.Counter
	latency          prometheus.Observer
}

// opSeries looks up one drive's series for one operation class.
func (m *metrics) opSeries(drive, op string) *driveOpMetrics {
	return &driveOpMetrics{
		ops: m.driveOps.WithLabelValues(drive, op), errs: m.driveErrors.WithLabelValues(drive, op),
		bytes: m.driveBytes.WithLabelValues(drive, op), latency: m.driveLatency.WithLabelValues(drive, op),
	}
}

// instrument wraps a drive so its calls show in the metrics.
func (m *metrics) instrument(d storagenode.Drive) storagenode.Drive {
	series := make(map[string]*driveOpMetrics, len(driveOpClasses))
	for _, op := range driveOpClasses {
		series[op] = m.opSeries(d.ID(), op)
	}
	return intercept.Observe(d, func(drive, op string, took time.Duration, n int64, failed bool) {
		s := series[op]
		if s == nil { // a class this list does not know yet
			s = m.opSeries(drive, op)
		}
		s.ops.Inc()
		s.latency.Observe(took.Seconds())
		if n > 0 {
			s.bytes.Add(float64(n))
		}
		if failed {
			s.errs.Inc()
		}
	})
}

// attach registers the layer's counters and the drive health gauges.
func (m *metrics) attach(gw gatewayView) {
	st := gw.Stats()
	counter := func(name, help string, v func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v()) })
	}
	heal := gw.HealStatus
	m.reg.MustRegister(
		counter("ecstore_checksum_failures_total", "Shards found with a block failing its checksum during reads (bitrot).", st.ChecksumFailures.Load),
		counter("ecstore_degraded_reads_total", "Object reads that needed parity because shards were missing or corrupt.", st.DegradedReads.Load),
		counter("ecstore_partial_writes_total", "Writes acknowledged with fewer than k+m shards (queued for heal).", st.PartialWrites.Load),
		counter("ecstore_heal_shards_total", "Shards rewritten by heals.", st.ShardsHealed.Load),
		counter("ecstore_heal_bytes_total", "Shard bytes written by heals.", st.BytesHealed.Load),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ecstore_heal_queue_length", Help: "Objects waiting in the heal queue."},
			func() float64 { q, _, _ := gw.HealQueueStats(); return float64(q) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ecstore_heal_running", Help: "1 while a heal walk (operator's or background scanner's) runs."},
			func() float64 { return b2f(heal().Running) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ecstore_heal_objects_scanned", Help: "Objects examined by the current or last heal walk."},
			func() float64 { return float64(heal().ObjectsScanned) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ecstore_heal_objects_total", Help: "Objects the current or last heal walk counted before it started."},
			func() float64 { return float64(heal().ObjectsTotal) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ecstore_heal_objects_repaired", Help: "Objects repaired by the current or last heal walk."},
			func() float64 { return float64(heal().ObjectsRepaired) }),
		counter("ecstore_lifecycle_versions_scanned_total", "Versions examined by lifecycle passes of this process.", func() int64 { return gw.LifecycleStatus().Scanned }),
		counter("ecstore_lifecycle_expired_total", "Current versions expired by lifecycle rules (removed, or hidden by a delete marker).", func() int64 { return gw.LifecycleStatus().Expired }),
		counter("ecstore_lifecycle_versions_removed_total", "Noncurrent versions and lone delete markers removed by lifecycle rules.", func() int64 { return gw.LifecycleStatus().Removed }),
		counter("ecstore_lifecycle_uploads_aborted_total", "Incomplete multipart uploads aborted by lifecycle rules.", func() int64 { return gw.LifecycleStatus().Aborted }),
		counter("ecstore_lifecycle_locked_skipped_total", "Versions a lifecycle rule made due that object lock kept.", func() int64 { return gw.LifecycleStatus().SkippedLocked }),
		counter("ecstore_lifecycle_errors_total", "Lifecycle actions that failed (tried again next pass).", func() int64 { return gw.LifecycleStatus().Errors }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ecstore_lifecycle_running", Help: "1 while this process runs a lifecycle pass."},
			func() float64 { return b2f(gw.LifecycleStatus().Running) }),
		&driveCollector{layer: gw.Layer},
	)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// driveCollector reports drive and node liveness and capacity, probing the
// drives at scrape time.
type driveCollector struct{ layer *gateway.Layer }

var (
	descDriveOnline   = prometheus.NewDesc("ecstore_drive_online", "1 when the drive answers, 0 when it is offline.", []string{"drive", "node", "zone"}, nil)
	descDriveTotal    = prometheus.NewDesc("ecstore_drive_capacity_bytes", "Size of the drive's file system.", []string{"drive", "node"}, nil)
	descDriveFree     = prometheus.NewDesc("ecstore_drive_free_bytes", "Space the drive may still use.", []string{"drive", "node"}, nil)
	descDriveUsed     = prometheus.NewDesc("ecstore_drive_used_bytes", "Space used on the drive's file system.", []string{"drive", "node"}, nil)
	descNodeOnline    = prometheus.NewDesc("ecstore_node_online", "1 when at least one drive of the node answers.", []string{"node"}, nil)
	descDrivesOnline  = prometheus.NewDesc("ecstore_drives_online", "Drives that answer.", nil, nil)
	descDrivesTotal   = prometheus.NewDesc("ecstore_drives_total", "Drives in the cluster map.", nil, nil)
	descClusterReady  = prometheus.NewDesc("ecstore_ready", "1 when enough drives answer for read and write quorum.", nil, nil)
	driveCollectorAll = []*prometheus.Desc{descDriveOnline, descDriveTotal, descDriveFree, descDriveUsed, descNodeOnline, descDrivesOnline, descDrivesTotal, descClusterReady}
)

func (c *driveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range driveCollectorAll {
		ch <- d
	}
}

func (c *driveCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	states := c.layer.DriveStates(ctx)
	nodes := map[string]bool{}
	for _, s := range states {
		ch <- prometheus.MustNewConstMetric(descDriveOnline, prometheus.GaugeValue, b2f(s.Online), s.ID, s.Node, s.Zone)
		if s.Online && s.Disk.Total > 0 {
			ch <- prometheus.MustNewConstMetric(descDriveTotal, prometheus.GaugeValue, float64(s.Disk.Total), s.ID, s.Node)
			ch <- prometheus.MustNewConstMetric(descDriveFree, prometheus.GaugeValue, float64(s.Disk.Free), s.ID, s.Node)
			ch <- prometheus.MustNewConstMetric(descDriveUsed, prometheus.GaugeValue, float64(s.Disk.Used), s.ID, s.Node)
		}
		nodes[s.Node] = nodes[s.Node] || s.Online
	}
	for n, on := range nodes {
		ch <- prometheus.MustNewConstMetric(descNodeOnline, prometheus.GaugeValue, b2f(on), n)
	}
	online, ready := c.layer.Readiness(states)
	ch <- prometheus.MustNewConstMetric(descDrivesOnline, prometheus.GaugeValue, float64(online))
	ch <- prometheus.MustNewConstMetric(descDrivesTotal, prometheus.GaugeValue, float64(len(states)))
	ch <- prometheus.MustNewConstMetric(descClusterReady, prometheus.GaugeValue, b2f(ready))
}

// Operator endpoints on the S3 port. They answer only requests that carry
// no S3 authentication: ecstore allows no anonymous S3 access, so an
// unsigned GET /metrics can never be a valid S3 request (ListObjects of a
// bucket named "metrics"), while a signed one still reaches S3.
const (
	// MetricsPath is where Prometheus scrapes a gateway.
	MetricsPath = "/metrics"
	// LivePath answers 200 while the process serves HTTP.
	LivePath = "/health/live"
	// ReadyPath answers 200 when enough drives answer for read and write
	// quorum (a read-only drive counts for reads only), 503 otherwise (with
	// the counts in the body).
	ReadyPath = "/health/ready"
	// legacyMetricsPath is the path earlier versions used; kept.
	legacyMetricsPath = "/_ecstore/metrics"
)

// readOnlyDrives counts the drives online that take no writes.
func readOnlyDrives(states []gateway.DriveState) int {
	n := 0
	for _, s := range states {
		if s.Online && s.Disk.ReadOnly {
			n++
		}
	}
	return n
}

// unsigned reports whether r carries no S3 authentication.
func unsigned(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return false
	}
	q := r.URL.Query()
	return !q.Has("X-Amz-Signature") && !q.Has("X-Amz-Credential") && !q.Has("AWSAccessKeyId") && !q.Has("Signature")
}

// mount serves the metrics and health endpoints and passes every other
// request to next.
func (m *metrics) mount(layer *gateway.Layer, next http.Handler) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			switch {
			case r.URL.Path == legacyMetricsPath, r.URL.Path == MetricsPath && unsigned(r):
				h.ServeHTTP(w, r)
				return
			case r.URL.Path == LivePath && unsigned(r):
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				_, _ = w.Write([]byte("live\n"))
				return
			case r.URL.Path == ReadyPath && unsigned(r):
				states := layer.DriveStates(r.Context())
				online, ready := layer.Readiness(states)
				counts := strconv.Itoa(online) + " drives online"
				if n := readOnlyDrives(states); n > 0 {
					counts += " (" + strconv.Itoa(n) + " read-only)"
				}
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				if !ready {
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = w.Write([]byte("not ready: " + counts + ", too few for quorum\n"))
					return
				}
				_, _ = w.Write([]byte("ready: " + counts + "\n"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
