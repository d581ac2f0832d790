package sigv4

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

const (
	testAK     = "AKIDTEST0123456789"
	testSK     = "testSecretKey/with+chars=0123456789abcd"
	testRegion = "us-east-1"

	exampleAK = "AKIAIOSFODNN7EXAMPLE"
	exampleSK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func testLookup(ak string) (string, bool) {
	switch ak {
	case testAK:
		return testSK, true
	case exampleAK:
		return exampleSK, true
	}
	return "", false
}

func newTestVerifier() *Verifier {
	return &Verifier{Lookup: testLookup, Region: testRegion}
}

// outcome is what the test server saw: an error code, or the decoded body.
type outcome struct {
	Stage         string // "verify" or "read" when Code is set
	Code          string
	Message       string
	Body          []byte
	AccessKey     string
	Anonymous     bool
	ContentLength int64
	Algo, Value   string
	HasChecksum   bool
}

// verifyAndRead runs Verify and reads the body to EOF, in process.
func verifyAndRead(v *Verifier, r *http.Request) outcome {
	res, err := v.Verify(r)
	if err != nil {
		return errOutcome("verify", err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		o := errOutcome("read", err)
		o.Body = body
		return o
	}
	// A second read after EOF must still say EOF.
	if n, err := res.Body.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		return outcome{Stage: "read", Code: "NotEOFAfterEOF"}
	}
	o := outcome{Body: body, AccessKey: res.AccessKey, Anonymous: res.Anonymous, ContentLength: res.ContentLength}
	o.Algo, o.Value, o.HasChecksum = res.Checksum()
	return o
}

func errOutcome(stage string, err error) outcome {
	var e *Error
	if errors.As(err, &e) {
		return outcome{Stage: stage, Code: e.Code, Message: e.Message}
	}
	return outcome{Stage: stage, Code: "non-sigv4 error: " + err.Error()}
}

// newServer starts an HTTP server that verifies each request and answers
// with its outcome as JSON, so requests go through real net/http parsing.
func newServer(t *testing.T, v *Verifier) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(verifyAndRead(v, r))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// do sends req and decodes the server's outcome.
func do(t *testing.T, req *http.Request) outcome {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var o outcome
	if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
		t.Fatalf("decode outcome: %v", err)
	}
	return o
}

func wantCode(t *testing.T, o outcome, code string) {
	t.Helper()
	if o.Code != code {
		t.Fatalf("got code %q (%s at %s), want %q", o.Code, o.Message, o.Stage, code)
	}
}

func fixedNow(s string) func() time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return func() time.Time { return t }
}
