package s3compat

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ecstore/ecstore/s3api"
)

// TestControlCharacterKeys: a key with a control character is sent as an
// XML character reference, as S3 does, in listings and error bodies.
func TestControlCharacterKeys(t *testing.T) {
	layer := newMemLayer("bkt")
	const key = "a\x01b\x1fc"
	layer.objects["bkt/"+key] = memObject{info: s3api.ObjectInfo{Bucket: "bkt", Key: key, ETag: "e"}}
	layer.uploads["upload-1"] = "bkt/" + key
	s, _ := newTestServer(layer, Config{})
	const want = "<Key>a&#x1;b&#x1F;c</Key>"
	for _, target := range []string{"/bkt", "/bkt?list-type=2", "/bkt?list-type=2&metadata=true", "/bkt?uploads", "/bkt/a%01b%1Fc%01missing"} {
		rec := do(s, testRequest{method: "GET", target: target})
		w := want
		if strings.Contains(target, "missing") {
			w = "<Key>a&#x1;b&#x1F;c&#x1;missing</Key>"
		}
		if !bytes.Contains(rec.Body.Bytes(), []byte(w)) || bytes.Contains(rec.Body.Bytes(), []byte("\uFFFD")) {
			t.Errorf("GET %s: body lacks %q:\n%q", target, w, rec.Body.Bytes())
		}
	}
	// encoding-type=url still percent-encodes.
	rec := do(s, testRequest{method: "GET", target: "/bkt?list-type=2&encoding-type=url"})
	if !strings.Contains(rec.Body.String(), "<Key>a%01b%1Fc</Key>") {
		t.Errorf("encoding-type=url: %s", rec.Body)
	}
}

// TestUploadKeyPrefixEscaping: prefixes and markers carrying control
// characters are sent as character references too.
func TestUploadKeyPrefixEscaping(t *testing.T) {
	s, _ := newTestServer(newMemLayer("bkt"), Config{})
	rec := do(s, testRequest{method: "GET", target: "/bkt?prefix=p%02&marker=m%03"})
	for _, w := range []string{"<Prefix>p&#x2;</Prefix>", "<Marker>m&#x3;</Marker>"} {
		if !strings.Contains(rec.Body.String(), w) {
			t.Errorf("ListObjects: body lacks %q: %q", w, rec.Body)
		}
	}
}

func TestAppendText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":        "plain",
		"a\x01b":       "a&#x1;b",
		"\x1f\x0b\x7f": "&#x1F;&#xB;\x7f",
		"t\tn\nr\r":    "t&#x9;n&#xA;r&#xD;",
		"<&>\"'":       "&lt;&amp;&gt;&#34;&#39;",
		"nul\x00":      "nul\uFFFD",
		"bad\xff":      "bad\uFFFD",
		"日本\uFFFE":     "日本\uFFFD",
		"":             "",
	} {
		if got := string(appendText(nil, in)); got != want {
			t.Errorf("appendText(%q) = %q, want %q", in, got, want)
		}
	}
}
