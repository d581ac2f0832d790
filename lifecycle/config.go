package lifecycle

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The errors of Parse, each wrapped with what was wrong: ErrMalformed for a
// document that does not have the schema's shape (S3's MalformedXML),
// ErrInvalid for values the schema allows but S3 refuses (InvalidArgument),
// ErrNotImplemented for what ecstore does not do (transitions).
var (
	ErrMalformed      = errors.New("lifecycle: malformed configuration")
	ErrInvalid        = errors.New("lifecycle: invalid configuration")
	ErrNotImplemented = errors.New("lifecycle: not implemented")
)

// Error is a configuration Parse refuses: Kind is ErrMalformed, ErrInvalid
// or ErrNotImplemented, Msg what is wrong, in words for the client.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

// refuse makes an *Error.
func refuse(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// S3's bounds.
const (
	MaxRules             = 1000
	maxIDLen             = 255
	maxNewerNoncurrent   = 100
	maxTagKeyLen         = 128
	maxTagValueLen       = 256
	dateLayout           = "2006-01-02T15:04:05.000Z"
	s3NS                 = "http://s3.amazonaws.com/doc/2006-03-01/"
	statusEnabled        = "Enabled"
	statusDisabled       = "Disabled"
	generatedIDAlphabet  = "abcdefghijklmnopqrstuvwxyz234567"
	generatedIDRandBytes = 10
)

// Configuration is a bucket's lifecycle configuration. Its XML form is
// S3's LifecycleConfiguration; its JSON form is how the metadata store
// keeps it (Parse normalises it, so both say the same).
type Configuration struct {
	XMLName xml.Name `xml:"LifecycleConfiguration" json:"-"`
	Xmlns   string   `xml:"xmlns,attr,omitempty" json:"-"`
	Rules   []Rule   `xml:"Rule" json:"rules"`
}

// Rule is one lifecycle rule. Prefix is the older form of a filter on the
// key's prefix, at the rule's level; a rule has it or Filter, not both.
type Rule struct {
	ID                             string                `xml:"ID,omitempty" json:"id,omitempty"`
	Status                         string                `xml:"Status" json:"status"`
	Prefix                         *string               `xml:"Prefix" json:"prefix,omitempty"`
	Filter                         *Filter               `xml:"Filter" json:"filter,omitempty"`
	Expiration                     *Expiration           `xml:"Expiration" json:"expiration,omitempty"`
	NoncurrentVersionExpiration    *NoncurrentExpiration `xml:"NoncurrentVersionExpiration" json:"noncurrent,omitempty"`
	AbortIncompleteMultipartUpload *AbortIncomplete      `xml:"AbortIncompleteMultipartUpload" json:"abort,omitempty"`
	// Transitions are read only to be refused.
	Transitions           []struct{} `xml:"Transition" json:"-"`
	NoncurrentTransitions []struct{} `xml:"NoncurrentVersionTransition" json:"-"`
}

// Filter selects the objects a rule applies to: at most one of its fields
// (several conditions go in And).
type Filter struct {
	Prefix                *string `xml:"Prefix" json:"prefix,omitempty"`
	Tag                   *Tag    `xml:"Tag" json:"tag,omitempty"`
	ObjectSizeGreaterThan *int64  `xml:"ObjectSizeGreaterThan" json:"gt,omitempty"`
	ObjectSizeLessThan    *int64  `xml:"ObjectSizeLessThan" json:"lt,omitempty"`
	And                   *And    `xml:"And" json:"and,omitempty"`
}

// And is a filter of several conditions, all of which must hold.
type And struct {
	Prefix                *string `xml:"Prefix" json:"prefix,omitempty"`
	Tags                  []Tag   `xml:"Tag" json:"tags,omitempty"`
	ObjectSizeGreaterThan *int64  `xml:"ObjectSizeGreaterThan" json:"gt,omitempty"`
	ObjectSizeLessThan    *int64  `xml:"ObjectSizeLessThan" json:"lt,omitempty"`
}

// Tag is an object tag a filter asks for.
type Tag struct {
	Key   string `xml:"Key" json:"k"`
	Value string `xml:"Value" json:"v"`
}

// Expiration expires current versions (Days or Date) or removes delete
// markers left alone (ExpiredObjectDeleteMarker): exactly one of them.
// Date is kept as S3 shows it (midnight UTC, dateLayout).
type Expiration struct {
	Days                      *int    `xml:"Days" json:"days,omitempty"`
	Date                      *string `xml:"Date" json:"date,omitempty"`
	ExpiredObjectDeleteMarker *bool   `xml:"ExpiredObjectDeleteMarker" json:"eodm,omitempty"`
}

// NoncurrentExpiration removes noncurrent versions.
type NoncurrentExpiration struct {
	NoncurrentDays          *int `xml:"NoncurrentDays" json:"days,omitempty"`
	NewerNoncurrentVersions *int `xml:"NewerNoncurrentVersions" json:"newer,omitempty"`
}

// AbortIncomplete aborts multipart uploads left unfinished.
type AbortIncomplete struct {
	DaysAfterInitiation *int `xml:"DaysAfterInitiation" json:"days,omitempty"`
}

// Parse reads and checks a LifecycleConfiguration document as S3 does,
// and returns it normalised: every rule has an ID (S3 makes one up when
// none is given), Date is in S3's form. Its errors wrap ErrMalformed,
// ErrInvalid or ErrNotImplemented with what was wrong.
func Parse(data []byte) (*Configuration, error) {
	var c Configuration
	if err := xml.Unmarshal(data, &c); err != nil {
		return nil, refuse(ErrMalformed, "%v", err)
	}
	if c.XMLName.Local != "LifecycleConfiguration" {
		return nil, refuse(ErrMalformed, "the root element is not LifecycleConfiguration")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.ID == "" {
			r.ID = newID()
		}
		if r.Expiration != nil && r.Expiration.Date != nil {
			d, _ := parseDate(*r.Expiration.Date)
			s := d.Format(dateLayout)
			r.Expiration.Date = &s
		}
	}
	return &c, nil
}

// Validate checks c as S3 checks a configuration it is given.
func (c *Configuration) Validate() error {
	if len(c.Rules) == 0 {
		return refuse(ErrMalformed, "a lifecycle configuration needs at least one Rule")
	}
	if len(c.Rules) > MaxRules {
		return refuse(ErrInvalid, "at most %d rules are allowed", MaxRules)
	}
	ids := map[string]bool{}
	for i := range c.Rules {
		r := &c.Rules[i]
		if err := r.validate(); err != nil {
			var e *Error
			if errors.As(err, &e) {
				if r.ID != "" {
					e.Msg = fmt.Sprintf("rule %q: %s", r.ID, e.Msg)
				} else {
					e.Msg = fmt.Sprintf("rule %d: %s", i+1, e.Msg)
				}
			}
			return err
		}
		if r.ID != "" {
			if ids[r.ID] {
				return refuse(ErrInvalid, "rule ID %q is used by more than one rule; IDs must be unique", r.ID)
			}
			ids[r.ID] = true
		}
	}
	return nil
}

func (r *Rule) validate() error {
	if len(r.ID) > maxIDLen {
		return refuse(ErrInvalid, "the ID is longer than %d characters", maxIDLen)
	}
	if r.Status != statusEnabled && r.Status != statusDisabled {
		return refuse(ErrMalformed, "Status must be Enabled or Disabled")
	}
	if len(r.Transitions) > 0 || len(r.NoncurrentTransitions) > 0 {
		return refuse(ErrNotImplemented, "transitions to other storage classes (ecstore has one storage class, STANDARD)")
	}
	if r.Prefix != nil && r.Filter != nil {
		return refuse(ErrMalformed, "a rule has a Filter or a Prefix, not both")
	}
	if err := r.Filter.validate(); err != nil {
		return err
	}
	if r.Expiration == nil && r.NoncurrentVersionExpiration == nil && r.AbortIncompleteMultipartUpload == nil {
		return refuse(ErrInvalid, "at least one action needs to be specified in a rule")
	}
	hasTags := r.Filter != nil && (r.Filter.Tag != nil || r.Filter.And != nil && len(r.Filter.And.Tags) > 0)
	if e := r.Expiration; e != nil {
		n := 0
		if e.Days != nil {
			n++
			if *e.Days <= 0 {
				return refuse(ErrInvalid, "'Days' for Expiration action must be a positive integer")
			}
		}
		if e.Date != nil {
			n++
			d, err := parseDate(*e.Date)
			if err != nil {
				return refuse(ErrInvalid, "'Date' %q is not an ISO 8601 date", *e.Date)
			}
			if d.Hour() != 0 || d.Minute() != 0 || d.Second() != 0 || d.Nanosecond() != 0 {
				return refuse(ErrInvalid, "'Date' must be at midnight GMT")
			}
		}
		if e.ExpiredObjectDeleteMarker != nil {
			n++
			if hasTags {
				return refuse(ErrInvalid, "ExpiredObjectDeleteMarker cannot be specified with object tags")
			}
		}
		if n != 1 {
			return refuse(ErrMalformed, "an Expiration has exactly one of Days, Date and ExpiredObjectDeleteMarker")
		}
	}
	if ne := r.NoncurrentVersionExpiration; ne != nil {
		if ne.NoncurrentDays == nil || *ne.NoncurrentDays <= 0 {
			return refuse(ErrInvalid, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
		}
		if n := ne.NewerNoncurrentVersions; n != nil && (*n <= 0 || *n > maxNewerNoncurrent) {
			return refuse(ErrInvalid, "'NewerNoncurrentVersions' must be between 1 and %d", maxNewerNoncurrent)
		}
	}
	if a := r.AbortIncompleteMultipartUpload; a != nil {
		if a.DaysAfterInitiation == nil || *a.DaysAfterInitiation <= 0 {
			return refuse(ErrInvalid, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
		}
		if hasTags {
			return refuse(ErrInvalid, "AbortIncompleteMultipartUpload cannot be specified with Tags")
		}
	}
	return nil
}

func (f *Filter) validate() error {
	if f == nil {
		return nil
	}
	n := 0
	for _, set := range []bool{f.Prefix != nil, f.Tag != nil, f.ObjectSizeGreaterThan != nil, f.ObjectSizeLessThan != nil, f.And != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return refuse(ErrMalformed, "a Filter holds one condition; several go in And")
	}
	if f.Tag != nil {
		if err := validTag(*f.Tag); err != nil {
			return err
		}
	}
	if a := f.And; a != nil {
		keys := map[string]bool{}
		for _, t := range a.Tags {
			if err := validTag(t); err != nil {
				return err
			}
			if keys[t.Key] {
				return refuse(ErrInvalid, "duplicate Tag Keys are not allowed")
			}
			keys[t.Key] = true
		}
		return validSizes(a.ObjectSizeGreaterThan, a.ObjectSizeLessThan)
	}
	return validSizes(f.ObjectSizeGreaterThan, f.ObjectSizeLessThan)
}

func validTag(t Tag) error {
	switch {
	case t.Key == "" || len([]rune(t.Key)) > maxTagKeyLen:
		return refuse(ErrInvalid, "a tag key must be 1 to %d characters", maxTagKeyLen)
	case len([]rune(t.Value)) > maxTagValueLen:
		return refuse(ErrInvalid, "a tag value must be at most %d characters", maxTagValueLen)
	}
	return nil
}

func validSizes(gt, lt *int64) error {
	switch {
	case gt != nil && *gt < 0:
		return refuse(ErrInvalid, "ObjectSizeGreaterThan must not be negative")
	case lt != nil && *lt <= 0:
		return refuse(ErrInvalid, "ObjectSizeLessThan must be a positive integer")
	case gt != nil && lt != nil && *gt >= *lt:
		return refuse(ErrInvalid, "ObjectSizeGreaterThan must be less than ObjectSizeLessThan")
	}
	return nil
}

// parseDate reads an ISO 8601 date or date-time.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO 8601 date: %q", s)
}

// newID makes up a rule ID, as S3 does for a rule without one.
func newID() string {
	b := make([]byte, generatedIDRandBytes)
	rand.Read(b)
	return base32.NewEncoding(generatedIDAlphabet).WithPadding(base32.NoPadding).EncodeToString(b)
}

// XML returns c as S3 answers GetBucketLifecycleConfiguration.
func (c *Configuration) XML() ([]byte, error) {
	out := *c
	out.Xmlns = s3NS
	b, err := xml.Marshal(&out)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: encode: %w", err)
	}
	return append([]byte(xml.Header), b...), nil
}
