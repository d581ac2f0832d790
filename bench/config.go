package bench

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Phase is one stage of a run.
type Phase string

// The phases, in the order they are usually run.
const (
	// PhasePut writes new objects and remembers their keys.
	PhasePut Phase = "put"
	// PhaseGet reads the objects written so far (round robin), draining
	// every body and verifying a sample of them.
	PhaseGet Phase = "get"
	// PhaseMixed is 60% GET of the objects written before the phase, 30%
	// PUT of new objects and 10% DELETE of an object the same worker PUT
	// during the phase (a PUT when it has none yet). A worker deletes only
	// its own new objects, so no GET ever races a DELETE.
	PhaseMixed Phase = "mixed"
	// PhaseList walks the run's prefix with ListObjectsV2, pages of 1000
	// keys; one operation is one page, and a walk that finds a different
	// number of keys than were written counts as an error. Over a prefix
	// that held objects before the run (an existing data set, with Keep),
	// it writes none and every walk must find what the phase's first
	// complete walk found.
	PhaseList Phase = "list"
	// PhaseListVersions walks the run's prefix with ListObjectVersions,
	// pages of 1000 versions and delete markers (both counted as objects:
	// its objects/s are versions/s), following NextKeyMarker and
	// NextVersionIdMarker; one operation is one page. A walk must find
	// every object written as a key whose latest entry is a version;
	// over an existing data set, as PhaseList, the same number of entries
	// as the phase's first complete walk. It works on any bucket (one
	// never versioned lists each object once, as its null version).
	PhaseListVersions Phase = "listversions"
	// PhaseDelete deletes the objects written, once each, until there are
	// none left or the phase's bound is reached.
	PhaseDelete Phase = "delete"
)

// Phases lists every phase in its usual order.
var Phases = []Phase{PhasePut, PhaseGet, PhaseMixed, PhaseList, PhaseListVersions, PhaseDelete}

// listing reports whether p only walks the prefix.
func listing(p Phase) bool { return p == PhaseList || p == PhaseListVersions }

// Mix of PhaseMixed, in percent of operations.
const (
	MixGetPercent    = 60
	MixPutPercent    = 30
	MixDeletePercent = 10
)

// Config configures a run. Zero fields take the defaults stated beside
// them (see EnsureDefaults).
type Config struct {
	// Endpoint is the S3 endpoint URL, http:// or https://. Default
	// "http://127.0.0.1:9000".
	Endpoint string
	// AccessKey and SecretKey sign every request (SigV4). Required.
	AccessKey, SecretKey string
	// Region signs requests, and is the bucket's location when it is
	// created. Default "us-east-1".
	Region string
	// Bucket holds the run's objects; it is created when missing (and then
	// removed again at the end unless Keep). Default "ecstore-bench".
	Bucket string
	// Prefix under which every key of the run lives. Default
	// "bench-<UTC timestamp>", unique per run.
	Prefix string
	// Phases to run, in order. Default put, get, delete.
	Phases []Phase
	// Size of every object in bytes. Default 1 MiB; at most 5 GiB (one PUT).
	Size int64
	// Concurrency is the number of workers, each with one request in
	// flight. Default 8.
	Concurrency int
	// Duration bounds each phase in time, Ops in operations; a phase ends
	// at whichever bound comes first. When both are zero, Duration is 30s.
	Duration time.Duration
	Ops      int64
	// FixedData sends the same byte in every position instead of random
	// data (for endpoints whose compression or dedup should be measured
	// at best case). Default false: random bytes.
	FixedData bool
	// VerifySample is the fraction of GETs compared byte for byte with what
	// was written, 0 to 1. Default 0.05; negative disables verification.
	VerifySample float64
	// Insecure skips TLS certificate verification.
	Insecure bool
	// SSE, when set, asks every PUT for server-side encryption with this
	// x-amz-server-side-encryption value ("AES256": SSE-S3). Default none.
	SSE string
	// ServerPID, when set, is the server's process on this machine
	// (Linux): each phase then also reports the CPU time it used
	// (ServerCPUSeconds, from /proc/PID/stat). Default none.
	ServerPID int
	// Keep leaves the objects (and a bucket the run created) in place.
	// Default false: everything under Prefix is deleted at the end.
	Keep bool
	// RequestTimeout bounds each request, body included. Default 5m.
	RequestTimeout time.Duration
	// Progress, when non-nil, receives a progress line every second.
	// ProgressTerminal overwrites it in place with \r rather than writing
	// one line per second.
	Progress         io.Writer
	ProgressTerminal bool
	// Log receives notes (preparation, clean-up) and every verification
	// failure. Default io.Discard.
	Log io.Writer

	// pageKeys is the max-keys of the list phases' pages. Default 1000,
	// the most S3 answers; tests set fewer to walk small data sets over
	// several pages.
	pageKeys int
}

// MaxSize is the largest object one PUT can write on S3.
const MaxSize = 5 << 30

// DefaultConfig returns a Config with every default filled in, except the
// credentials.
func DefaultConfig() Config {
	c := Config{}
	c.EnsureDefaults()
	return c
}

// EnsureDefaults fills unset fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.Endpoint == "" {
		c.Endpoint = "http://127.0.0.1:9000"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Bucket == "" {
		c.Bucket = "ecstore-bench"
	}
	if c.Prefix == "" {
		c.Prefix = "bench-" + time.Now().UTC().Format("20060102-150405.000000")
	}
	if len(c.Phases) == 0 {
		c.Phases = []Phase{PhasePut, PhaseGet, PhaseDelete}
	}
	if c.Size == 0 {
		c.Size = 1 << 20
	}
	if c.Concurrency == 0 {
		c.Concurrency = 8
	}
	if c.Duration == 0 && c.Ops == 0 {
		c.Duration = 30 * time.Second
	}
	if c.VerifySample == 0 {
		c.VerifySample = 0.05
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 5 * time.Minute
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.pageKeys == 0 {
		c.pageKeys = 1000
	}
}

// Validate checks the configuration with messages a user can act on.
func (c *Config) Validate() error {
	if c.SSE != "" && c.SSE != "AES256" && c.SSE != "aws:kms" {
		return fmt.Errorf("bench: --sse %q: want AES256 or aws:kms", c.SSE)
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("bench: endpoint %q: want a URL such as http://127.0.0.1:9000", c.Endpoint)
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("bench: endpoint %q: give the server's root URL, without a path (the bucket is --bucket)", c.Endpoint)
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return errors.New("bench: set both an access key and a secret key")
	}
	if c.Bucket == "" || strings.ContainsAny(c.Bucket, "/ ") {
		return fmt.Errorf("bench: bucket %q is not a bucket name", c.Bucket)
	}
	if strings.HasPrefix(c.Prefix, "/") {
		return fmt.Errorf("bench: prefix %q must not start with /", c.Prefix)
	}
	for _, p := range c.Phases {
		if !knownPhase(p) {
			return fmt.Errorf("bench: unknown phase %q: want %s", p, phaseNames())
		}
	}
	if c.Size < 0 || c.Size > MaxSize {
		return fmt.Errorf("bench: size %d: want 0 to %s (the largest single PUT)", c.Size, FormatSize(MaxSize))
	}
	if c.Concurrency < 1 || c.Concurrency > 10000 {
		return fmt.Errorf("bench: concurrency %d: want 1 to 10000", c.Concurrency)
	}
	if c.Duration < 0 || c.Ops < 0 {
		return errors.New("bench: duration and ops must not be negative")
	}
	if c.Duration == 0 && c.Ops == 0 {
		return errors.New("bench: give a duration or a number of operations per phase")
	}
	if c.VerifySample > 1 || math.IsNaN(c.VerifySample) {
		return fmt.Errorf("bench: verify sample %v: want a fraction from 0 to 1", c.VerifySample)
	}
	if c.RequestTimeout < 0 {
		return errors.New("bench: request timeout must not be negative")
	}
	return nil
}

func knownPhase(p Phase) bool {
	for _, q := range Phases {
		if p == q {
			return true
		}
	}
	return false
}

func phaseNames() string {
	s := make([]string, len(Phases))
	for i, p := range Phases {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// ParsePhases parses a comma-separated list of phases, such as
// "put,get,delete", or "all" for every phase in its usual order.
func ParsePhases(s string) ([]Phase, error) {
	if strings.TrimSpace(s) == "all" {
		return append([]Phase(nil), Phases...), nil
	}
	var out []Phase
	for _, f := range strings.Split(s, ",") {
		p := Phase(strings.ToLower(strings.TrimSpace(f)))
		if p == "" {
			continue
		}
		if !knownPhase(p) {
			return nil, fmt.Errorf("bench: unknown phase %q: want %s, or all", f, phaseNames())
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bench: no phases in %q: want some of %s", s, phaseNames())
	}
	return out, nil
}

// sizeUnits maps a lower-cased unit to its multiplier: SI (KB = 1000) and
// binary (KiB = 1024).
var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseSize parses a byte count: a plain number ("1000"), an SI size
// ("10MB" = 10,000,000) or a binary one ("4KiB" = 4096, "1.5MiB"). Units
// are case-insensitive; a bare "K", "M" or "G" is refused as ambiguous.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		if len(unit) == 1 && strings.Contains("kmgt", unit) {
			return 0, fmt.Errorf("bench: size %q is ambiguous: write %s%siB (binary) or %s%sB (SI)", s, num, strings.ToUpper(unit), num, strings.ToUpper(unit))
		}
		return 0, fmt.Errorf("bench: size %q: unknown unit %q; want B, KB, MB, GB, KiB, MiB or GiB", s, unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("bench: size %q: want a number with an optional unit, such as 4KiB, 1MiB or 10MB", s)
	}
	v := f * mult
	if v != math.Trunc(v) || v > math.MaxInt64/2 {
		return 0, fmt.Errorf("bench: size %q is not a whole number of bytes", s)
	}
	return int64(v), nil
}

// FormatSize renders n bytes in the largest binary unit that divides it
// exactly ("4KiB", "64MiB", "1000B").
func FormatSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n != 0 && n%1024 == 0 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return strconv.FormatInt(n, 10) + units[i]
}
