package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one phase's outcome. The JSON field names are stable.
type Result struct {
	Phase       Phase `json:"phase"`
	SizeBytes   int64 `json:"size_bytes"`
	Concurrency int   `json:"concurrency"`
	// Ops counts the requests that completed, successfully or not
	// (requests cut off by cancellation are not counted).
	Ops int64 `json:"ops"`
	// Errors counts the failed ones, ErrorCodes by S3 error code (or one
	// of the Code* constants); ErrorSamples holds the first message seen
	// for each code.
	Errors       int64             `json:"errors"`
	ErrorCodes   map[string]int64  `json:"error_codes"`
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	// Objects counts the objects written, read or deleted successfully
	// (for LIST: the keys listed; for LISTVERSIONS: the versions and delete
	// markers listed); Bytes the object bytes moved.
	Objects         int64   `json:"objects"`
	Bytes           int64   `json:"bytes"`
	DurationSeconds float64 `json:"duration_seconds"`
	// MiBPerSecond is Bytes/2^20 per second of the phase.
	MiBPerSecond     float64 `json:"mib_per_second"`
	ObjectsPerSecond float64 `json:"objects_per_second"`
	// Latency of the successful requests, from sending the request to the
	// last byte of the answer.
	Latency LatencyMS `json:"latency_ms"`
	// Verified counts GETs compared byte for byte with what was written,
	// VerifyFailures those that differed (each one is also an error).
	// ServerCPUSeconds is the CPU time (user and system) the server's
	// process used during the phase, with Config.ServerPID.
	ServerCPUSeconds float64 `json:"server_cpu_seconds,omitempty"`

	Verified       int64 `json:"verified"`
	VerifyFailures int64 `json:"verify_failures"`
	// Interrupted is set when the run was cancelled during the phase.
	Interrupted bool `json:"interrupted,omitempty"`
}

// LatencyMS holds latency percentiles in milliseconds.
type LatencyMS struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value with at least p% of the values
// at or below it. It returns 0 for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// tally is one worker's counts for one phase. Only its worker writes it,
// so it needs no locking; the phase merges every tally at the end.
type tally struct {
	ops, errors, objects, bytes int64
	verified, verifyFailures    int64
	latencies                   []time.Duration
	codes                       map[string]int64
	samples                     map[string]string
}

func newTally(expectOps int64) *tally {
	return &tally{
		latencies: make([]time.Duration, 0, min(max(expectOps, 64), 1<<20)),
		codes:     map[string]int64{},
		samples:   map[string]string{},
	}
}

// fail records one failed request.
func (t *tally) fail(code string, err error) {
	t.ops++
	t.errors++
	t.codes[code]++
	if _, ok := t.samples[code]; !ok && err != nil {
		t.samples[code] = err.Error()
	}
}

// ok records one successful request.
func (t *tally) ok(lat time.Duration, objects, bytes int64) {
	t.ops++
	t.objects += objects
	t.bytes += bytes
	t.latencies = append(t.latencies, lat)
}

// merge sums tallies into a Result.
func merge(phase Phase, cfg *Config, elapsed time.Duration, tallies []*tally) Result {
	r := Result{Phase: phase, SizeBytes: cfg.Size, Concurrency: cfg.Concurrency,
		ErrorCodes: map[string]int64{}, DurationSeconds: elapsed.Seconds()}
	var n int
	for _, t := range tallies {
		n += len(t.latencies)
	}
	all := make([]time.Duration, 0, n)
	for _, t := range tallies {
		r.Ops += t.ops
		r.Errors += t.errors
		r.Objects += t.objects
		r.Bytes += t.bytes
		r.Verified += t.verified
		r.VerifyFailures += t.verifyFailures
		all = append(all, t.latencies...)
		for c, k := range t.codes {
			r.ErrorCodes[c] += k
		}
		for c, m := range t.samples {
			if r.ErrorSamples == nil {
				r.ErrorSamples = map[string]string{}
			}
			if _, ok := r.ErrorSamples[c]; !ok {
				r.ErrorSamples[c] = m
			}
		}
	}
	slices.Sort(all)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r.Latency = LatencyMS{P50: ms(Percentile(all, 50)), P90: ms(Percentile(all, 90)),
		P99: ms(Percentile(all, 99)), Max: ms(Percentile(all, 100))}
	if s := elapsed.Seconds(); s > 0 {
		r.MiBPerSecond = float64(r.Bytes) / (1 << 20) / s
		r.ObjectsPerSecond = float64(r.Objects) / s
	}
	return r
}

// WriteTable writes results as an aligned table, followed by one line per
// error code with its first message.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tsize\tconc\tops\terrors\ttime\tMiB/s\tobj/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tverified\t")
	for _, r := range results {
		phase := string(r.Phase)
		if r.Interrupted {
			phase += "*"
		}
		mibs := fmt.Sprintf("%.2f", r.MiBPerSecond)
		if listing(r.Phase) || r.Phase == PhaseDelete {
			mibs = "-" // no object bytes move
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.2fs\t%s\t%.1f\t%s\t%s\t%s\t%s\t%d\t\n",
			phase, FormatSize(r.SizeBytes), r.Concurrency, r.Ops, r.Errors, r.DurationSeconds,
			mibs, r.ObjectsPerSecond, msString(r.Latency.P50), msString(r.Latency.P90),
			msString(r.Latency.P99), msString(r.Latency.Max), r.Verified)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	for _, r := range results {
		if r.ServerCPUSeconds > 0 {
			note := fmt.Sprintf("%s: server CPU %.2f s", r.Phase, r.ServerCPUSeconds)
			if r.Bytes > 0 && !listing(r.Phase) && r.Phase != PhaseDelete {
				note += fmt.Sprintf(", %.2f s per GiB", r.ServerCPUSeconds/(float64(r.Bytes)/(1<<30)))
			}
			notes = append(notes, note)
		}
		if r.Interrupted {
			notes = append(notes, fmt.Sprintf("%s: * interrupted, figures cover the part that ran", r.Phase))
		}
		if r.VerifyFailures > 0 {
			notes = append(notes, fmt.Sprintf("%s: VERIFICATION FAILED for %d of %d sampled GETs: the endpoint returned other bytes than were written",
				r.Phase, r.VerifyFailures, r.Verified))
		}
		codes := make([]string, 0, len(r.ErrorCodes))
		for c := range r.ErrorCodes {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for _, c := range codes {
			notes = append(notes, fmt.Sprintf("%s: %d x %s (first: %s)", r.Phase, r.ErrorCodes[c], c, r.ErrorSamples[c]))
		}
	}
	if len(notes) > 0 {
		_, err := fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
		return err
	}
	return nil
}

func msString(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// WriteJSON writes results as an indented JSON array, one object per phase.
func WriteJSON(w io.Writer, results []Result) error {
	if results == nil {
		results = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}
