package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// loginFrom posts a login from remote (host:port) with the given secret.
func (f *fixture) loginFrom(remote, secret string) *httptest.ResponseRecorder {
	f.t.Helper()
	req := httptest.NewRequest("POST", "/console/api/login", jsonBody(loginRequest{testAK, secret}))
	req.RemoteAddr = remote
	req.Header.Set(CSRFHeader, "1")
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

// Wrong secrets from one address are throttled: the first 5 are checked,
// then every attempt waits twice as long as the last, an early one answers
// 429 with Retry-After (even with the right secret, which is then not
// checked), other addresses are unaffected, and a success clears the
// record.
func TestLoginThrottle(t *testing.T) {
	f := newFixture(t)
	const attacker, other = "198.51.100.7:4000", "203.0.113.9:5000"
	checked := 0
	for i := range 1000 {
		w := f.loginFrom(attacker, fmt.Sprintf("guess-%d", i))
		switch w.Code {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
			if ra := w.Header().Get("Retry-After"); ra != "1" {
				t.Fatalf("attempt %d: Retry-After %q, want 1", i, ra)
			}
		default:
			t.Fatalf("attempt %d: %d %s", i, w.Code, w.Body)
		}
	}
	if checked != freeLogins+1 {
		t.Fatalf("1,000 wrong secrets at once: %d were checked, want %d", checked, freeLogins+1)
	}
	wantStatus(t, "right secret while throttled", f.loginFrom(attacker, testSK), http.StatusTooManyRequests, "TooManyLoginAttempts")
	wantStatus(t, "another address", f.loginFrom(other, "wrong"), http.StatusUnauthorized, "InvalidCredentials")

	// The waits double: 1 s, 2 s, 4 s, ...
	for _, want := range []int{2, 4, 8, 16} {
		f.now = f.now.Add(time.Duration(want/2) * time.Second)
		wantStatus(t, "wrong secret after the wait", f.loginFrom(attacker, "wrong"), http.StatusUnauthorized, "InvalidCredentials")
		w := f.loginFrom(attacker, "wrong")
		wantStatus(t, "wrong secret before the next wait", w, http.StatusTooManyRequests, "TooManyLoginAttempts")
		if ra, _ := strconv.Atoi(w.Header().Get("Retry-After")); ra != want {
			t.Fatalf("Retry-After %d, want %d", ra, want)
		}
	}
	// A success after the wait clears the record: 5 free attempts again.
	f.now = f.now.Add(16 * time.Second)
	wantStatus(t, "right secret after the wait", f.loginFrom(attacker, testSK), http.StatusOK, "")
	for i := range freeLogins {
		wantStatus(t, fmt.Sprintf("wrong secret %d after a success", i), f.loginFrom(attacker, "wrong"), http.StatusUnauthorized, "InvalidCredentials")
	}

	// The wait never exceeds 5 minutes, and an hour of quiet forgets.
	for range 40 {
		f.now = f.now.Add(maxLoginDelay)
		f.loginFrom(attacker, "wrong")
	}
	w := f.loginFrom(attacker, "wrong")
	if ra, _ := strconv.Atoi(w.Header().Get("Retry-After")); w.Code != http.StatusTooManyRequests || ra > int(maxLoginDelay/time.Second) {
		t.Fatalf("after 40 more failures: %d, Retry-After %d", w.Code, ra)
	}
	f.now = f.now.Add(forgetLogins + maxLoginDelay)
	for i := range freeLogins {
		wantStatus(t, fmt.Sprintf("wrong secret %d after an hour", i), f.loginFrom(attacker, "wrong"), http.StatusUnauthorized, "InvalidCredentials")
	}
}

// The throttle's table stays bounded however many addresses try, and one
// IPv6 /64 is one client.
func TestLoginThrottleBounded(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	th := newLoginThrottle(func() time.Time { return now })
	for i := range maxThrottled + 500 {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)
		th.begin(clientOf(r))
		now = now.Add(time.Millisecond)
	}
	if n := th.size(); n > maxThrottled {
		t.Fatalf("%d clients kept, want at most %d", n, maxThrottled)
	}
	a := httptest.NewRequest("POST", "/", nil)
	a.RemoteAddr = "[2001:db8:1:2::1]:443"
	b := httptest.NewRequest("POST", "/", nil)
	b.RemoteAddr = "[2001:db8:1:2:ffff::9]:443"
	if clientOf(a) != clientOf(b) {
		t.Errorf("two addresses of one /64 are different clients: %v, %v", clientOf(a), clientOf(b))
	}
	c := httptest.NewRequest("POST", "/", nil)
	c.RemoteAddr = "[::ffff:192.0.2.1]:80"
	d := httptest.NewRequest("POST", "/", nil)
	d.RemoteAddr = "192.0.2.1:81"
	if clientOf(c) != clientOf(d) {
		t.Errorf("an IPv4-mapped address differs from its IPv4 address: %v, %v", clientOf(c), clientOf(d))
	}
}
