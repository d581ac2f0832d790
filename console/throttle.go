package console

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Login throttling: per client address, the first freeLogins attempts in a
// row go through; each attempt after them makes the next one wait
// loginDelay, doubled for every further attempt, up to maxLoginDelay. An
// attempt made before its wait is over is answered 429 Too Many Requests
// with Retry-After, and its credentials are not even checked, so a guesser
// learns nothing from it. A successful login forgets the client; so does an
// hour without attempts.
const (
	freeLogins    = 5
	loginDelay    = time.Second
	maxLoginDelay = 5 * time.Minute
	forgetLogins  = time.Hour
	// maxThrottled bounds the table: beyond it the client whose last
	// attempt is oldest is forgotten first.
	maxThrottled = 10000
)

// loginAttempts is one client's record of attempts not yet cleared by a
// successful login.
type loginAttempts struct {
	n     int       // attempts counted (a successful one clears the record)
	next  time.Time // no attempt before this
	last  time.Time // the last attempt counted
	alert bool      // the throttling of this client was logged
}

// loginThrottle is the table of clients' recent attempts. It is safe for
// concurrent use.
type loginThrottle struct {
	now func() time.Time

	mu      sync.Mutex
	clients map[netip.Prefix]*loginAttempts
}

func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{now: now, clients: map[netip.Prefix]*loginAttempts{}}
}

// clientOf is the throttled unit of r's remote address: the IPv4 address,
// or the /64 of an IPv6 address (one host usually holds a whole /64).
// Forwarding headers are ignored: a client could forge them.
func clientOf(r *http.Request) netip.Prefix {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{} // unknown addresses share one record
	}
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// begin counts an attempt of client before its credentials are checked.
// It returns 0 when the attempt may go on, else how long the client must
// still wait (the attempt is then not counted). first is set on the attempt
// that starts the client's throttling, so that it is logged once.
func (t *loginThrottle) begin(client netip.Prefix) (wait time.Duration, first bool) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.clients[client]
	if a != nil && now.Sub(a.last) > forgetLogins && !now.Before(a.next) {
		a = nil
	}
	if a == nil {
		if len(t.clients) >= maxThrottled {
			t.evict(now)
		}
		a = &loginAttempts{}
		t.clients[client] = a
	}
	if now.Before(a.next) {
		return a.next.Sub(now), false
	}
	a.n++
	a.last = now
	if a.n > freeLogins {
		d := maxLoginDelay
		if shift := a.n - freeLogins - 1; shift < 20 {
			d = min(loginDelay<<shift, maxLoginDelay)
		}
		a.next = now.Add(d)
		if !a.alert {
			a.alert = true
			return 0, true
		}
	}
	return 0, false
}

// succeeded forgets client after a successful login.
func (t *loginThrottle) succeeded(client netip.Prefix) {
	t.mu.Lock()
	delete(t.clients, client)
	t.mu.Unlock()
}

// evict makes room in a full table: first every forgotten record, then, if
// none was, the one whose last attempt is oldest. t.mu is held.
func (t *loginThrottle) evict(now time.Time) {
	var oldest netip.Prefix
	var oldestAt time.Time
	for c, a := range t.clients {
		if now.Sub(a.last) > forgetLogins && !now.Before(a.next) {
			delete(t.clients, c)
			continue
		}
		if oldestAt.IsZero() || a.last.Before(oldestAt) {
			oldest, oldestAt = c, a.last
		}
	}
	if len(t.clients) >= maxThrottled {
		delete(t.clients, oldest)
	}
}

// size is the number of clients in the table.
func (t *loginThrottle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.clients)
}
