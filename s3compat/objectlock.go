package s3compat

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
	"time"

	"github.com/ecstore/ecstore/s3api"
)

// parseLockHeaders reads x-amz-object-lock-mode, -retain-until-date and
// -legal-hold: mode and date go together, the date in the future.
func parseLockHeaders(h http.Header) (s3api.ObjectLock, error) {
	var lock s3api.ObjectLock
	mode, until := h.Get("x-amz-object-lock-mode"), h.Get("x-amz-object-lock-retain-until-date")
	if (mode == "") != (until == "") {
		return lock, s3api.ErrInvalidArgument.WithMessage("x-amz-object-lock-mode and x-amz-object-lock-retain-until-date must both be given.")
	}
	if mode != "" {
		if mode != "GOVERNANCE" && mode != "COMPLIANCE" {
			return lock, s3api.ErrInvalidArgument.WithMessage("Unknown object lock mode %q.", mode)
		}
		t, err := time.Parse(time.RFC3339, until)
		if err != nil {
			return lock, s3api.ErrInvalidArgument.WithMessage("The retain-until date must be an ISO 8601 date and time.")
		}
		if !t.After(time.Now()) {
			return lock, s3api.ErrInvalidArgument.WithMessage("The retain until date must be in the future.")
		}
		lock.Mode, lock.RetainUntil = mode, t
	}
	switch v := h.Get("x-amz-object-lock-legal-hold"); v {
	case "":
	case "ON":
		lock.LegalHold = true
	case "OFF":
	default:
		return lock, s3api.ErrInvalidArgument.WithMessage("Legal hold status must be ON or OFF.")
	}
	return lock, nil
}

type objectLockConfiguration struct {
	XMLName           xml.Name `xml:"ObjectLockConfiguration"`
	Xmlns             string   `xml:"xmlns,attr,omitempty"`
	ObjectLockEnabled string   `xml:"ObjectLockEnabled,omitempty"`
	Rule              *struct {
		DefaultRetention struct {
			Mode  string `xml:"Mode"`
			Days  int    `xml:"Days,omitempty"`
			Years int    `xml:"Years,omitempty"`
		} `xml:"DefaultRetention"`
	} `xml:"Rule,omitempty"`
}

type retentionXML struct {
	XMLName         xml.Name `xml:"Retention"`
	Xmlns           string   `xml:"xmlns,attr,omitempty"`
	Mode            string   `xml:"Mode,omitempty"`
	RetainUntilDate string   `xml:"RetainUntilDate,omitempty"`
}

type legalHoldXML struct {
	XMLName xml.Name `xml:"LegalHold"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Status  string   `xml:"Status"`
}

// lockDoc is the bucket's object lock document (zero: not enabled).
func (s *Server) lockDoc(ctx context.Context, bucket string) (s3api.ObjectLockDoc, error) {
	var d s3api.ObjectLockDoc
	set, err := s.bucketSettings(ctx, bucket)
	if err != nil {
		return d, err
	}
	if doc := set.Get(s3api.SettingObjectLock); doc != nil {
		if err := json.Unmarshal(doc, &d); err != nil {
			return d, err
		}
	}
	return d, nil
}

func (s *Server) getObjectLockConfig(ctx context.Context, q *request) (*response, error) {
	d, err := s.lockDoc(ctx, q.bucket)
	if err != nil {
		return nil, err
	}
	if !d.Enabled {
		return nil, s3api.ErrObjectLockConfigurationNotFound
	}
	out := objectLockConfiguration{Xmlns: s3NS, ObjectLockEnabled: "Enabled"}
	if d.Mode != "" {
		out.Rule = &struct {
			DefaultRetention struct {
				Mode  string `xml:"Mode"`
				Days  int    `xml:"Days,omitempty"`
				Years int    `xml:"Years,omitempty"`
			} `xml:"DefaultRetention"`
		}{}
		out.Rule.DefaultRetention.Mode, out.Rule.DefaultRetention.Days, out.Rule.DefaultRetention.Years = d.Mode, d.Days, d.Years
	}
	return &response{xml: out}, nil
}

// putObjectLockConfig sets the default retention of a bucket that has
// object lock (enabled when it was created).
func (s *Server) putObjectLockConfig(ctx context.Context, q *request) (*response, error) {
	var cfg objectLockConfiguration
	if err := readXML(q, &cfg); err != nil {
		return nil, err
	}
	if cfg.ObjectLockEnabled != "Enabled" {
		return nil, s3api.ErrMalformedXML.WithMessage("ObjectLockEnabled must be Enabled.")
	}
	d, err := s.lockDoc(ctx, q.bucket)
	if err != nil {
		return nil, err
	}
	if !d.Enabled {
		return nil, s3api.ErrInvalidBucketState.WithMessage("Object Lock is enabled when a bucket is created (x-amz-bucket-object-lock-enabled); this bucket was created without it.")
	}
	d.Mode, d.Days, d.Years = "", 0, 0
	if r := cfg.Rule; r != nil {
		dr := r.DefaultRetention
		switch {
		case dr.Mode != "GOVERNANCE" && dr.Mode != "COMPLIANCE":
			return nil, s3api.ErrMalformedXML.WithMessage("Unknown default retention mode %q.", dr.Mode)
		case (dr.Days > 0) == (dr.Years > 0) || dr.Days < 0 || dr.Years < 0:
			return nil, s3api.ErrMalformedXML.WithMessage("A default retention has either Days or Years, a positive number.")
		}
		d.Mode, d.Days, d.Years = dr.Mode, dr.Days, dr.Years
	}
	doc, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	if err := s.putBucketSetting(ctx, q.bucket, s3api.SettingObjectLock, doc); err != nil {
		return nil, err
	}
	return &response{}, nil
}

func (s *Server) getObjectRetention(ctx context.Context, q *request) (*response, error) {
	lock, vid, err := s.layer.(s3api.LockLayer).GetObjectLock(ctx, q.bucket, q.key, q.query.Get("versionId"))
	if err != nil {
		return nil, err
	}
	if lock.Mode == "" {
		return nil, s3api.ErrNoSuchObjectLockConfiguration
	}
	h := http.Header{}
	addVersionHeader(h, vid)
	return &response{xml: retentionXML{Xmlns: s3NS, Mode: lock.Mode, RetainUntilDate: lock.RetainUntil.UTC().Format("2006-01-02T15:04:05.000Z")}, header: h}, nil
}

func (s *Server) putObjectRetention(ctx context.Context, q *request) (*response, error) {
	var r retentionXML
	if err := readXML(q, &r); err != nil {
		return nil, err
	}
	var lock s3api.ObjectLock
	if r.Mode != "" || r.RetainUntilDate != "" {
		h := http.Header{}
		h.Set("x-amz-object-lock-mode", r.Mode)
		h.Set("x-amz-object-lock-retain-until-date", r.RetainUntilDate)
		var err error
		if lock, err = parseLockHeaders(h); err != nil {
			return nil, s3api.ErrMalformedXML.WithMessage("%s", strings.TrimSpace(err.Error()))
		}
	}
	bypass := strings.EqualFold(q.r.Header.Get("x-amz-bypass-governance-retention"), "true")
	vid, err := s.layer.(s3api.LockLayer).PutObjectRetention(ctx, q.bucket, q.key, q.query.Get("versionId"), lock, bypass)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	addVersionHeader(h, vid)
	return &response{header: h}, nil
}

func (s *Server) getObjectLegalHold(ctx context.Context, q *request) (*response, error) {
	lock, vid, err := s.layer.(s3api.LockLayer).GetObjectLock(ctx, q.bucket, q.key, q.query.Get("versionId"))
	if err != nil {
		return nil, err
	}
	status := "OFF"
	if lock.LegalHold {
		status = "ON"
	}
	h := http.Header{}
	addVersionHeader(h, vid)
	return &response{xml: legalHoldXML{Xmlns: s3NS, Status: status}, header: h}, nil
}

func (s *Server) putObjectLegalHold(ctx context.Context, q *request) (*response, error) {
	var lh legalHoldXML
	if err := readXML(q, &lh); err != nil {
		return nil, err
	}
	if lh.Status != "ON" && lh.Status != "OFF" {
		return nil, s3api.ErrMalformedXML.WithMessage("Legal hold status must be ON or OFF.")
	}
	vid, err := s.layer.(s3api.LockLayer).PutObjectLegalHold(ctx, q.bucket, q.key, q.query.Get("versionId"), lh.Status == "ON")
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	addVersionHeader(h, vid)
	return &response{header: h}, nil
}
