package admin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/s3compat/sigv4"
)

// Prefix is the path prefix of every admin request.
const Prefix = "/_ecstore/admin/v1/"

// Cluster is what the admin API reads and drives on its gateway: the data
// path's drives and the repair work (server builds it from a gateway.Layer
// and its gateway.Repair).
type Cluster interface {
	// ECScheme is the erasure code of new objects.
	ECScheme() (data, parity int)
	// DriveStates probes every drive; Readiness counts the online ones and
	// says whether a write quorum answers.
	DriveStates(ctx context.Context) []gateway.DriveState
	Readiness(states []gateway.DriveState) (online int, ready bool)
	// Stats are the data path's running counters.
	Stats() *gateway.Stats
	// Epoch is the cluster map in use; Rebalancing says whether it still
	// has earlier layouts to move objects from.
	Epoch() int
	Rebalancing() bool
	// HealQueueStats, HealPending: objects queued for heal, healed and
	// dropped; objects waiting for an unreachable drive.
	HealQueueStats() (queued int, healed, dropped int64)
	HealPending() int
	// HealStatus and RebalanceStatus are the progress of the current (or
	// last) heal and rebalance walks; StartHeal starts an operator's heal.
	HealStatus() gateway.HealStatus
	LifecycleStatus() gateway.LifecycleStatus
	RebalanceStatus() gateway.HealStatus
	StartHeal(ctx context.Context, deep bool) error
}

// Handler serves the admin API for one gateway.
type Handler struct {
	layer    Cluster
	members  Membership // nil for the embedded server
	meta     Metadata   // nil: no metadata group
	kms      KMS        // nil: no key store
	verifier *sigv4.Verifier
	log      *slog.Logger
}

// NewHandler returns the admin API over a gateway's cluster; credentials
// map access keys to secrets.
func NewHandler(layer Cluster, credentials map[string]string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{layer: layer, log: log, verifier: &sigv4.Verifier{
		Lookup: func(ak string) (string, bool) { sk, ok := credentials[ak]; return sk, ok },
	}}
}

// SetMembership enables the node and rebalance operations.
func (h *Handler) SetMembership(m Membership) { h.members = m }

// Mount returns a handler that serves the admin API under Prefix and
// passes every other request to next (the S3 front end).
func (h *Handler) Mount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, Prefix) {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, err := h.verifier.Verify(r)
	if err == nil && res.Anonymous {
		err = errors.New("anonymous request")
	}
	if err != nil {
		h.log.Warn("admin request refused", "remote", r.RemoteAddr, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusForbidden, apiError{"access denied: sign admin requests with the root credentials"})
		return
	}
	switch op := strings.TrimPrefix(r.URL.Path, Prefix); {
	case op == "status" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, h.status(r.Context()))
	case op == "heal" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, h.layer.HealStatus())
	case op == "heal" && r.Method == http.MethodPost:
		deep, _ := strconv.ParseBool(r.URL.Query().Get("deep"))
		if err := h.layer.StartHeal(r.Context(), deep); err != nil {
			writeJSON(w, http.StatusConflict, apiError{err.Error()})
			return
		}
		h.log.Info("heal started by an operator", "deep", deep, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusAccepted, h.layer.HealStatus())
	case strings.HasPrefix(op, "kms/"):
		h.serveKMS(w, r, op)
	case strings.HasPrefix(op, "node/") || op == "rebalance":
		h.serveMembership(w, r, op)
	default:
		writeJSON(w, http.StatusNotFound, apiError{"no such admin operation: " + r.Method + " " + op})
	}
}
