package lifecycle

import (
	"strings"
	"time"
)

// Action is what a configuration does to a version now.
type Action uint8

const (
	// None: the version stays.
	None Action = iota
	// ExpireCurrent: the current version expires; the bucket's versioning
	// says how (removed, or hidden behind a delete marker).
	ExpireCurrent
	// RemoveVersion: the version (noncurrent, or a delete marker left
	// alone) goes for good.
	RemoveVersion
)

func (a Action) String() string {
	switch a {
	case ExpireCurrent:
		return "expire-current"
	case RemoveVersion:
		return "remove-version"
	}
	return "none"
}

// Clock counts lifecycle days. The zero Clock is S3's: a version's age in
// days is counted from its time rounded up to the next midnight UTC. A
// Clock with Day set (a test hook) counts days of that length from the
// version's time itself.
type Clock struct {
	Day time.Duration
}

// after returns when days have passed since t.
func (c Clock) after(t time.Time, days int) time.Time {
	if c.Day > 0 {
		return t.Add(time.Duration(days) * c.Day)
	}
	t = t.UTC()
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !midnight.Equal(t) {
		midnight = midnight.AddDate(0, 0, 1)
	}
	return midnight.AddDate(0, 0, days)
}

// Version is what the rules look at of one version of an object. A
// key's versions are seen newest first: the first is Latest; each other
// became noncurrent when the one before it was written.
type Version struct {
	Key          string
	Size         int64
	ModTime      time.Time
	DeleteMarker bool
	// Latest is the key's current version (its newest).
	Latest bool
	// Alone: a Latest delete marker with no other version of its key.
	Alone bool
	// NoncurrentSince is when a noncurrent version became noncurrent: the
	// time of the next newer version.
	NoncurrentSince time.Time
	// NewerNoncurrent counts the key's noncurrent versions newer than
	// this one.
	NewerNoncurrent int
	// Tags returns the version's tags; it is called only when a rule
	// filters on tags (reading them costs a metadata read). Nil: none.
	Tags func() map[string]string
}

// Evaluate returns what c does to v at now: the first enabled rule that
// selects v and whose action is due decides.
func (c *Configuration) Evaluate(v Version, now time.Time, clk Clock) Action {
	var tags map[string]string
	tagsRead := false
	tagsOf := func() map[string]string {
		if !tagsRead && v.Tags != nil {
			tags, tagsRead = v.Tags(), true
		}
		return tags
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.Status != statusEnabled || !r.selects(v, tagsOf) {
			continue
		}
		if a := r.action(v, now, clk); a != None {
			return a
		}
	}
	return None
}

// action is what r, which selects v, does to it at now.
func (r *Rule) action(v Version, now time.Time, clk Clock) Action {
	e := r.Expiration
	switch {
	case v.Latest && !v.DeleteMarker:
		if e != nil && e.Days != nil && !now.Before(clk.after(v.ModTime, *e.Days)) {
			return ExpireCurrent
		}
		if e != nil && e.Date != nil {
			if d, err := parseDate(*e.Date); err == nil && !now.Before(d) {
				return ExpireCurrent
			}
		}
	case v.Latest:
		// A delete marker: removed once it is alone, at once with
		// ExpiredObjectDeleteMarker, Days old with Days.
		if !v.Alone || e == nil {
			return None
		}
		if e.ExpiredObjectDeleteMarker != nil && *e.ExpiredObjectDeleteMarker {
			return RemoveVersion
		}
		if e.Days != nil && !now.Before(clk.after(v.ModTime, *e.Days)) {
			return RemoveVersion
		}
	default:
		ne := r.NoncurrentVersionExpiration
		if ne == nil || ne.NoncurrentDays == nil {
			return None
		}
		if ne.NewerNoncurrentVersions != nil && v.NewerNoncurrent < *ne.NewerNoncurrentVersions {
			return None
		}
		if !now.Before(clk.after(v.NoncurrentSince, *ne.NoncurrentDays)) {
			return RemoveVersion
		}
	}
	return None
}

// AbortUpload reports whether c aborts an upload of key begun at
// initiated, at now.
func (c *Configuration) AbortUpload(key string, initiated, now time.Time, clk Clock) bool {
	for i := range c.Rules {
		r := &c.Rules[i]
		a := r.AbortIncompleteMultipartUpload
		if r.Status != statusEnabled || a == nil || a.DaysAfterInitiation == nil {
			continue
		}
		// Such a rule has no tag filter (Validate); sizes are an object's.
		if !r.selects(Version{Key: key, Size: -1}, func() map[string]string { return nil }) {
			continue
		}
		if !now.Before(clk.after(initiated, *a.DaysAfterInitiation)) {
			return true
		}
	}
	return false
}

// HasUploadRules reports whether any enabled rule aborts uploads.
func (c *Configuration) HasUploadRules() bool {
	for _, r := range c.Rules {
		if r.Status == statusEnabled && r.AbortIncompleteMultipartUpload != nil {
			return true
		}
	}
	return false
}

// HasVersionRules reports whether any enabled rule acts on versions.
func (c *Configuration) HasVersionRules() bool {
	for _, r := range c.Rules {
		if r.Status == statusEnabled && (r.Expiration != nil || r.NoncurrentVersionExpiration != nil) {
			return true
		}
	}
	return false
}

// selects reports whether r's filter takes v. A Size of -1 (an upload)
// passes the size conditions.
func (r *Rule) selects(v Version, tags func() map[string]string) bool {
	if r.Prefix != nil {
		return strings.HasPrefix(v.Key, *r.Prefix)
	}
	f := r.Filter
	if f == nil {
		return true
	}
	if f.And != nil {
		a := f.And
		if a.Prefix != nil && !strings.HasPrefix(v.Key, *a.Prefix) || !sizeOK(v.Size, a.ObjectSizeGreaterThan, a.ObjectSizeLessThan) {
			return false
		}
		if len(a.Tags) == 0 {
			return true
		}
		have := tags()
		for _, t := range a.Tags {
			if got, ok := have[t.Key]; !ok || got != t.Value {
				return false
			}
		}
		return true
	}
	switch {
	case f.Prefix != nil:
		return strings.HasPrefix(v.Key, *f.Prefix)
	case f.Tag != nil:
		got, ok := tags()[f.Tag.Key]
		return ok && got == f.Tag.Value
	}
	return sizeOK(v.Size, f.ObjectSizeGreaterThan, f.ObjectSizeLessThan)
}

func sizeOK(size int64, gt, lt *int64) bool {
	if size < 0 {
		return true
	}
	return (gt == nil || size > *gt) && (lt == nil || size < *lt)
}
