package lifecycle

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func rules(body string) string {
	return `<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + body + `</LifecycleConfiguration>`
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      error // nil: accepted
	}{
		{"days", rules(`<Rule><ID>a</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>`), nil},
		{"legacy prefix", rules(`<Rule><Prefix>x</Prefix><Status>Disabled</Status><Expiration><Days>3</Days></Expiration></Rule>`), nil},
		{"empty filter", rules(`<Rule><Filter></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`), nil},
		{"and", rules(`<Rule><Filter><And><Prefix>p</Prefix><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value>2</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status><Expiration><Date>2027-01-01T00:00:00Z</Date></Expiration></Rule>`), nil},
		{"abort", rules(`<Rule><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`), nil},
		{"eodm", rules(`<Rule><Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`), nil},
		{"not xml", `<LifecycleConfiguration><Rule>`, ErrMalformed},
		{"other root", `<Tagging></Tagging>`, ErrMalformed},
		{"no rules", rules(``), ErrMalformed},
		{"bad status", rules(`<Rule><Status>On</Status><Expiration><Days>1</Days></Expiration></Rule>`), ErrMalformed},
		{"no action", rules(`<Rule><Status>Enabled</Status></Rule>`), ErrInvalid},
		{"zero days", rules(`<Rule><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule>`), ErrInvalid},
		{"days and date", rules(`<Rule><Status>Enabled</Status><Expiration><Days>1</Days><Date>2027-01-01T00:00:00Z</Date></Expiration></Rule>`), ErrMalformed},
		{"date not midnight", rules(`<Rule><Status>Enabled</Status><Expiration><Date>2027-01-01T10:00:00Z</Date></Expiration></Rule>`), ErrInvalid},
		{"date garbage", rules(`<Rule><Status>Enabled</Status><Expiration><Date>soon</Date></Expiration></Rule>`), ErrInvalid},
		{"prefix and filter", rules(`<Rule><Prefix>a</Prefix><Filter><Prefix>b</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`), ErrMalformed},
		{"two conditions", rules(`<Rule><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`), ErrMalformed},
		{"eodm with tags", rules(`<Rule><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`), ErrInvalid},
		{"abort with tags", rules(`<Rule><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`), ErrInvalid},
		{"duplicate tag keys", rules(`<Rule><Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`), ErrInvalid},
		{"sizes crossed", rules(`<Rule><Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`), ErrInvalid},
		{"noncurrent without days", rules(`<Rule><Status>Enabled</Status><NoncurrentVersionExpiration><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`), ErrInvalid},
		{"newer too many", rules(`<Rule><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`), ErrInvalid},
		{"duplicate ids", rules(`<Rule><ID>x</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule><Rule><ID>x</ID><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>`), ErrInvalid},
		{"long id", rules(`<Rule><ID>` + strings.Repeat("i", 256) + `</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`), ErrInvalid},
		{"transition", rules(`<Rule><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>`), ErrNotImplemented},
		{"noncurrent transition", rules(`<Rule><Status>Enabled</Status><Expiration><Days>1</Days></Expiration><NoncurrentVersionTransition><NoncurrentDays>30</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition></Rule>`), ErrNotImplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.doc))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				for _, r := range c.Rules {
					if r.ID == "" {
						t.Errorf("a rule has no ID after Parse")
					}
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestRoundTrip: what the store keeps (JSON) and what GET answers (XML)
// say the same as the document put.
func TestRoundTrip(t *testing.T) {
	doc := rules(`<Rule><ID>r1</ID><Filter><And><Prefix>p/</Prefix><Tag><Key>a</Key><Value>1</Value></Tag><ObjectSizeLessThan>100</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Date>2027-03-01</Date></Expiration><NoncurrentVersionExpiration><NoncurrentDays>5</NoncurrentDays></NoncurrentVersionExpiration></Rule>` +
		`<Rule><ID>r2</ID><Prefix></Prefix><Status>Disabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`)
	c, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := *c.Rules[0].Expiration.Date; got != "2027-03-01T00:00:00.000Z" {
		t.Errorf("Date = %q, want S3's form", got)
	}
	stored, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Configuration
	if err := json.Unmarshal(stored, &back); err != nil {
		t.Fatal(err)
	}
	x, err := back.XML()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(x)
	if err != nil {
		t.Fatalf("Parse of GET's answer: %v\n%s", err, x)
	}
	again.XMLName = c.XMLName
	again.Xmlns = c.Xmlns
	if !reflect.DeepEqual(again, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v\n%s", again, c, x)
	}
	if !strings.Contains(string(x), `<Prefix></Prefix>`) {
		t.Errorf("the empty legacy prefix is lost: %s", x)
	}
}

func TestClock(t *testing.T) {
	at := time.Date(2026, 12, 6, 15, 30, 0, 0, time.UTC)
	if got, want := (Clock{}).after(at, 1), time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("one S3 day after %v = %v, want %v (rounded up to midnight UTC)", at, got, want)
	}
	midnight := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	if got, want := (Clock{}).after(midnight, 2), time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("two days after midnight = %v, want %v", got, want)
	}
	if got, want := (Clock{Day: time.Second}).after(at, 3), at.Add(3*time.Second); !got.Equal(want) {
		t.Errorf("test clock: %v, want %v", got, want)
	}
}

func mustParse(t *testing.T, body string) *Configuration {
	t.Helper()
	c, err := Parse([]byte(rules(body)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEvaluate(t *testing.T) {
	day := Clock{Day: time.Hour}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tags := func(kv ...string) func() map[string]string {
		return func() map[string]string {
			m := map[string]string{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i]] = kv[i+1]
			}
			return m
		}
	}
	expire2 := mustParse(t, `<Rule><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>`)
	disabled := mustParse(t, `<Rule><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)
	tagged := mustParse(t, `<Rule><Filter><And><Tag><Key>tier</Key><Value>tmp</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)
	date := mustParse(t, `<Rule><Filter/><Status>Enabled</Status><Expiration><Date>2026-01-03T00:00:00Z</Date></Expiration></Rule>`)
	eodm := mustParse(t, `<Rule><Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`)
	noncur := mustParse(t, `<Rule><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>3</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`)
	for _, tc := range []struct {
		name string
		c    *Configuration
		v    Version
		now  time.Time
		want Action
	}{
		{"young", expire2, Version{Key: "logs/a", ModTime: t0, Latest: true}, t0.Add(time.Hour), None},
		{"due", expire2, Version{Key: "logs/a", ModTime: t0, Latest: true}, t0.Add(2 * time.Hour), ExpireCurrent},
		{"other prefix", expire2, Version{Key: "data/a", ModTime: t0, Latest: true}, t0.Add(9 * time.Hour), None},
		{"noncurrent untouched by Days", expire2, Version{Key: "logs/a", ModTime: t0, NoncurrentSince: t0}, t0.Add(9 * time.Hour), None},
		{"disabled", disabled, Version{Key: "a", ModTime: t0, Latest: true}, t0.Add(9 * time.Hour), None},
		{"tags match", tagged, Version{Key: "a", Size: 11, ModTime: t0, Latest: true, Tags: tags("tier", "tmp", "x", "y")}, t0.Add(time.Hour), ExpireCurrent},
		{"tag differs", tagged, Version{Key: "a", Size: 11, ModTime: t0, Latest: true, Tags: tags("tier", "keep")}, t0.Add(time.Hour), None},
		{"no tags", tagged, Version{Key: "a", Size: 11, ModTime: t0, Latest: true}, t0.Add(time.Hour), None},
		{"too small", tagged, Version{Key: "a", Size: 10, ModTime: t0, Latest: true, Tags: tags("tier", "tmp")}, t0.Add(time.Hour), None},
		{"before date", date, Version{Key: "a", ModTime: t0, Latest: true}, t0.Add(47 * time.Hour), None},
		{"on date", date, Version{Key: "a", ModTime: t0, Latest: true}, t0.Add(48 * time.Hour), ExpireCurrent},
		{"lone marker", eodm, Version{Key: "a", ModTime: t0, Latest: true, DeleteMarker: true, Alone: true}, t0, RemoveVersion},
		{"marker over versions", eodm, Version{Key: "a", ModTime: t0, Latest: true, DeleteMarker: true}, t0.Add(99 * time.Hour), None},
		{"lone marker, Days", expire2, Version{Key: "logs/a", ModTime: t0, Latest: true, DeleteMarker: true, Alone: true}, t0.Add(2 * time.Hour), RemoveVersion},
		{"lone marker, Days young", expire2, Version{Key: "logs/a", ModTime: t0, Latest: true, DeleteMarker: true, Alone: true}, t0.Add(time.Hour), None},
		{"noncurrent due", noncur, Version{Key: "a", ModTime: t0, NoncurrentSince: t0.Add(time.Hour), NewerNoncurrent: 2}, t0.Add(4 * time.Hour), RemoveVersion},
		{"noncurrent young", noncur, Version{Key: "a", ModTime: t0, NoncurrentSince: t0.Add(time.Hour), NewerNoncurrent: 2}, t0.Add(3 * time.Hour), None},
		{"noncurrent kept newest", noncur, Version{Key: "a", ModTime: t0, NoncurrentSince: t0, NewerNoncurrent: 1}, t0.Add(99 * time.Hour), None},
		{"noncurrent marker", noncur, Version{Key: "a", ModTime: t0, DeleteMarker: true, NoncurrentSince: t0, NewerNoncurrent: 5}, t0.Add(99 * time.Hour), RemoveVersion},
		{"current untouched by noncurrent", noncur, Version{Key: "a", ModTime: t0, Latest: true}, t0.Add(99 * time.Hour), None},
	} {
		if got := tc.c.Evaluate(tc.v, tc.now, day); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAbortUpload(t *testing.T) {
	c := mustParse(t, `<Rule><Filter><Prefix>up/</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clk := Clock{Day: time.Hour}
	if c.AbortUpload("up/a", t0, t0.Add(time.Hour), clk) || c.AbortUpload("other", t0, t0.Add(9*time.Hour), clk) {
		t.Error("aborted too early or out of the rule's prefix")
	}
	if !c.AbortUpload("up/a", t0, t0.Add(2*time.Hour), clk) {
		t.Error("not aborted when due")
	}
	if !c.HasUploadRules() || c.HasVersionRules() {
		t.Error("Has*Rules wrong")
	}
}

// FuzzParse: any document is accepted or refused with one of Parse's
// errors, never a panic; an accepted one encodes and parses back.
func FuzzParse(f *testing.F) {
	f.Add([]byte(rules(`<Rule><ID>a</ID><Filter><And><Prefix>p</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>`)))
	f.Add([]byte(rules(`<Rule><Status>Enabled</Status><Expiration><Date>2027-01-01</Date></Expiration></Rule>`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotImplemented) {
				t.Fatalf("Parse error %v wraps none of the package's errors", err)
			}
			return
		}
		x, err := c.XML()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(x); err != nil {
			t.Fatalf("accepted configuration does not parse back: %v\n%s", err, x)
		}
		c.Evaluate(Version{Key: "k", Latest: true}, time.Now(), Clock{})
	})
}
