package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// sessionTTL is how long a login lasts.
const sessionTTL = 12 * time.Hour

// maxSessions bounds the sessions kept in memory; a login beyond it is
// refused until some expire or log out.
const maxSessions = 10000

// cookieName is the session cookie.
const cookieName = "ecstore_console"

// session is one logged-in user.
type session struct {
	accessKey string
	expires   time.Time
}

// sessions is the in-memory session store. Tokens are kept only as their
// SHA-256, so the table itself holds nothing a client could present.
type sessions struct {
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	byID map[[sha256.Size]byte]session
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, byID: map[[sha256.Size]byte]session{}}
}

// create starts a session and returns its token, or "" when the store is full.
func (s *sessions) create(accessKey string) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ss := range s.byID {
		if !now.Before(ss.expires) {
			delete(s.byID, id)
		}
	}
	if len(s.byID) >= maxSessions {
		return "", nil
	}
	s.byID[sha256.Sum256([]byte(token))] = session{accessKey: accessKey, expires: now.Add(s.ttl)}
	return token, nil
}

// lookup returns the live session of token.
func (s *sessions) lookup(token string) (session, bool) {
	id := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return session{}, false
	}
	if !s.now().Before(ss.expires) {
		delete(s.byID, id)
		return session{}, false
	}
	return ss, true
}

// remove ends the session of token.
func (s *sessions) remove(token string) {
	id := sha256.Sum256([]byte(token))
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
}

// checkCredentials reports whether the pair is one of creds, comparing in
// constant time with every configured pair so that the answer's timing
// tells nothing about which part was wrong.
func checkCredentials(creds map[string]string, accessKey, secretKey string) bool {
	ok := 0
	for ak, sk := range creds {
		a := subtle.ConstantTimeCompare([]byte(ak), []byte(accessKey))
		b := subtle.ConstantTimeCompare([]byte(sk), []byte(secretKey))
		ok |= a & b
	}
	return ok == 1 && accessKey != ""
}

type loginRequest struct {
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
}

type sessionInfo struct {
	AccessKey string    `json:"accessKey"`
	Expires   time.Time `json:"expires"`
}

// login: POST /console/api/login {accessKey, secretKey}.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	client := clientOf(r)
	wait, first := h.throttle.begin(client)
	if wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, "TooManyLoginAttempts",
			fmt.Sprintf("too many failed logins from your address; try again in %d seconds", secs))
		return
	}
	if first {
		h.log.Warn("console logins from this address are being throttled: too many failed attempts", "remote", r.RemoteAddr)
	}
	var req loginRequest
	if !readJSON(w, r, &req) {
		return
	}
	if !checkCredentials(h.creds, req.AccessKey, req.SecretKey) {
		h.log.Warn("console login refused", "remote", r.RemoteAddr, "access_key", truncate(req.AccessKey, 64))
		writeError(w, http.StatusUnauthorized, "InvalidCredentials", "the access key or secret key is wrong")
		return
	}
	h.throttle.succeeded(client)
	token, err := h.sessions.create(req.AccessKey)
	if err != nil {
		h.log.Error("console: no session token", "err", err)
		writeError(w, http.StatusInternalServerError, "InternalError", "could not start a session")
		return
	}
	if token == "" {
		writeError(w, http.StatusServiceUnavailable, "TooManySessions", "too many console sessions; try again later")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: token, Path: Prefix + "/",
		MaxAge: int(sessionTTL / time.Second), HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	h.log.Info("console login", "remote", r.RemoteAddr, "access_key", req.AccessKey)
	writeJSON(w, http.StatusOK, sessionInfo{AccessKey: req.AccessKey, Expires: h.now().Add(sessionTTL).UTC()})
}

// logout: POST /console/api/logout.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		h.sessions.remove(c.Value)
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: "", Path: Prefix + "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	w.WriteHeader(http.StatusNoContent)
}

// authenticate returns the request's live session, or answers 401.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (session, bool) {
	c, err := r.Cookie(cookieName)
	if err == nil {
		if ss, ok := h.sessions.lookup(c.Value); ok {
			return ss, true
		}
	}
	writeError(w, http.StatusUnauthorized, "Unauthenticated", "log in first (or again: the session ended)")
	return session{}, false
}

// csrfOK reports whether a state-changing request carries the console's
// header, answering 403 when it does not.
func csrfOK(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	}
	if r.Header.Get(CSRFHeader) == "1" {
		return true
	}
	writeError(w, http.StatusForbidden, "MissingCSRFHeader", "state-changing console calls must send the header "+CSRFHeader+": 1")
	return false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
