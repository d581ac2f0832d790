package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ecstore/ecstore/gateway"
)

// KMS is the server-side encryption key store the admin API reads and
// changes: the master keys of the ring (--kms-key-file) and SSE-KMS's
// named keys.
type KMS interface {
	// CreateKey makes a named SSE-KMS key.
	CreateKey(ctx context.Context, name string) error
	// Status says which ring keys this gateway holds and every named key.
	Status(ctx context.Context) KMSStatus
	// StartRotate starts sealing every object key and named key under
	// ring key to; RotateStatus follows it.
	StartRotate(to string) error
	RotateStatus() RotateStatus
}

// RotateStatus is a rotation's progress: the object walk, the named keys
// resealed, and the master keys the store forgot at the end (a key file
// without them starts). Done: it ended with nothing left sealed by any
// other master key.
type RotateStatus struct {
	gateway.RotateStatus
	KMSKeys   int      `json:"kmsKeys"`
	Forgotten []string `json:"forgotten,omitempty"`
	Done      bool     `json:"done"`
}

// KMSStatus is the key store as one gateway sees it.
type KMSStatus struct {
	// Ring: the master keys of this gateway's key file, the first active.
	Ring []RingKey `json:"ring"`
	// Registered: the master keys the metadata store says sealed objects.
	Registered []RingKey `json:"registered"`
	// Keys: SSE-KMS's named keys.
	Keys []NamedKey `json:"keys"`
}

// RingKey is a master key by id and key check value.
type RingKey struct {
	ID     string `json:"id"`
	Check  string `json:"check"`
	Active bool   `json:"active,omitempty"`
}

// NamedKey is an SSE-KMS key: its name, the master key that sealed it,
// and whether this gateway's ring opens it.
type NamedKey struct {
	Name     string    `json:"name"`
	SealedBy string    `json:"sealedBy"`
	Created  time.Time `json:"created"`
	Opens    bool      `json:"opens"`
}

// SetKMS enables the kms operations.
func (h *Handler) SetKMS(k KMS) { h.kms = k }

// serveKMS answers GET kms/status and POST kms/key?name=NAME.
func (h *Handler) serveKMS(w http.ResponseWriter, r *http.Request, op string) {
	if h.kms == nil {
		writeJSON(w, http.StatusNotImplemented, apiError{"no key store: start ecstore with --kms-key-file"})
		return
	}
	switch {
	case op == "kms/status" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, h.kms.Status(r.Context()))
	case op == "kms/rotate" && r.Method == http.MethodPost:
		to := r.URL.Query().Get("to")
		if err := h.kms.StartRotate(to); err != nil {
			writeJSON(w, http.StatusConflict, apiError{err.Error()})
			return
		}
		h.log.Info("key rotation started by an operator", "to", to, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusAccepted, h.kms.RotateStatus())
	case op == "kms/rotate" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, h.kms.RotateStatus())
	case op == "kms/key" && r.Method == http.MethodPost:
		name := r.URL.Query().Get("name")
		if err := h.kms.CreateKey(r.Context(), name); err != nil {
			status := http.StatusBadRequest
			if strings.Contains(err.Error(), "exists") {
				status = http.StatusConflict
			}
			writeJSON(w, status, apiError{err.Error()})
			return
		}
		h.log.Info("KMS key created by an operator", "name", name, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusCreated, h.kms.Status(r.Context()))
	default:
		writeJSON(w, http.StatusNotFound, apiError{"no such admin operation: " + r.Method + " " + op})
	}
}

// KMSStatus reads the key store's status.
func (c *Client) KMSStatus(ctx context.Context) (KMSStatus, error) {
	var st KMSStatus
	err := c.do(ctx, http.MethodGet, "kms/status", &st)
	return st, err
}

// StartRotate starts a rotation to ring key to.
func (c *Client) StartRotate(ctx context.Context, to string) (RotateStatus, error) {
	var st RotateStatus
	err := c.do(ctx, http.MethodPost, "kms/rotate?to="+url.QueryEscape(to), &st)
	return st, err
}

// RotateStatus reads the rotation's progress.
func (c *Client) RotateStatus(ctx context.Context) (RotateStatus, error) {
	var st RotateStatus
	err := c.do(ctx, http.MethodGet, "kms/rotate", &st)
	return st, err
}

// CreateKMSKey makes a named SSE-KMS key.
func (c *Client) CreateKMSKey(ctx context.Context, name string) (KMSStatus, error) {
	var st KMSStatus
	err := c.do(ctx, http.MethodPost, "kms/key?name="+url.QueryEscape(name), &st)
	return st, err
}

// FormatKMS prints a key store status for people.
func FormatKMS(st KMSStatus) string {
	var b strings.Builder
	b.WriteString("master keys (key file):\n")
	for _, k := range st.Ring {
		active := ""
		if k.Active {
			active = "  (active: seals new keys)"
		}
		fmt.Fprintf(&b, "  %-20s check %s%s\n", k.ID, k.Check, active)
	}
	b.WriteString("master keys that sealed objects (metadata store):\n")
	for _, k := range st.Registered {
		fmt.Fprintf(&b, "  %-20s check %s\n", k.ID, k.Check)
	}
	fmt.Fprintf(&b, "SSE-KMS keys: %d\n", len(st.Keys))
	for _, k := range st.Keys {
		opens := "opens"
		if !k.Opens {
			opens = "DOES NOT OPEN with this ring"
		}
		fmt.Fprintf(&b, "  %-20s sealed by %-12s created %s  %s\n", k.Name, k.SealedBy, k.Created.UTC().Format(time.RFC3339), opens)
	}
	return b.String()
}
