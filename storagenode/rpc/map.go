package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ecstore/ecstore/storagenode"
)

// rpcNodePrefix is the path prefix of the node-wide calls: the cluster map
// exchange and the node's identity.
const nodePrefix = "/ecstore/v1/node/"

// MapKeeper keeps the cluster map a process runs with. The internode API
// needs only its ID (sent and checked on every call) and its encoded form
// (passed between processes as opaque bytes); what a map means is the
// cluster package's business, so storagenode stays free of it.
type MapKeeper interface {
	// MapID names the current map; "" when there is none yet (a node
	// waiting to join accepts every caller).
	MapID() string
	// MapAccepted reports whether a caller running with map id may act
	// here: the current map, or the one it just replaced while gateways
	// catch up.
	MapAccepted(id string) bool
	// MapData returns the current map, encoded; nil when there is none.
	MapData() []byte
	// AdoptMap validates an encoded map and makes it current if it is newer
	// (a higher epoch) than the current one, storing it durably first. With
	// replace, a map of the same epoch but other content replaces the
	// current one too (a gateway settling two concurrent changes). An older
	// map fails with ErrMapMismatch.
	AdoptMap(data []byte, replace bool) error
}

// NodeIdentity is what a node says about itself to a caller that asks (an
// operator adding it to the cluster).
type NodeIdentity struct {
	ID     string   `json:"id"`
	Zone   string   `json:"zone,omitempty"`
	Drives []string `json:"drives"`
	MapID  string   `json:"map_id,omitempty"`
}

// mapAccepted applies the map check to a caller's map ID.
func (s *handler) mapAccepted(got string) bool {
	if s.opts.Maps != nil {
		return s.opts.Maps.MapAccepted(got)
	}
	want := s.opts.MapID
	return want == "" || got == want
}

// serveNode answers the node-wide calls: GET identity, GET map, POST map.
func (s *handler) serveNode(w http.ResponseWriter, r *http.Request, content string) {
	op := strings.TrimPrefix(r.URL.Path, nodePrefix)
	switch {
	case op == "identity" && r.Method == http.MethodGet:
		id := s.opts.Node
		id.Drives = append([]string(nil), s.order...)
		id.MapID = s.auth.mapID()
		s.reply(w, id)
	case op == "map" && r.Method == http.MethodGet:
		if s.opts.Maps == nil || s.opts.Maps.MapData() == nil {
			s.fail(w, r, fmt.Errorf("%w: this node has no cluster map", storagenode.ErrObjectNotFound))
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set(hdrMap, s.opts.Maps.MapID())
		_, _ = w.Write(s.opts.Maps.MapData())
	case op == "map" && r.Method == http.MethodPost:
		if s.opts.Maps == nil {
			s.fail(w, r, fmt.Errorf("%w: this node does not keep a cluster map", errBadRequest))
			return
		}
		body, aerr := s.readBody(r, content)
		if aerr != nil {
			s.refuse(w, r, aerr)
			return
		}
		if err := s.opts.Maps.AdoptMap(body, r.URL.Query().Get("replace") == "1"); err != nil {
			// Refused (older, or not valid for this node): the caller gets
			// the reason, and ErrMapMismatch.
			s.log.Warn("internode: cluster map refused", "remote", r.RemoteAddr, "err", err)
			writeError(w, http.StatusConflict, codeMapMismatch, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		s.fail(w, r, fmt.Errorf("%w: no node call %s %s", errBadRequest, r.Method, op))
	}
}

// NodeClient makes the node-wide calls of one node: its identity and the
// cluster map exchange. Requests are signed like every internode call.
type NodeClient struct {
	d *Client // carries the base URL, options, signer and client
}

// NewNodeClient returns a client of the node at baseURL
// ("http://host:port"). It panics on what NewClient panics on.
func NewNodeClient(baseURL string, opts Options) *NodeClient {
	d := NewClient(baseURL, "", opts)
	d.where = "storagenode: node at " + d.base.String()
	return &NodeClient{d: d}
}

// Close releases the client's idle connections when it made its own.
func (c *NodeClient) Close() error { return c.d.Close() }

// URL returns the node's base URL.
func (c *NodeClient) URL() string { return c.d.URL() }

func (c *NodeClient) do(ctx context.Context, op, method, path string, q url.Values, body []byte) (*http.Response, context.CancelFunc, error) {
	d := c.d
	u := d.base
	u.Path = nodePrefix + path
	u.RawQuery = q.Encode()
	return d.send(ctx, op, method, &u, body)
}

// Identity asks the node who it is.
func (c *NodeClient) Identity(ctx context.Context) (NodeIdentity, error) {
	var id NodeIdentity
	resp, cancel, err := c.do(ctx, "identity", http.MethodGet, "identity", nil, nil)
	if err != nil {
		return id, err
	}
	defer cancel()
	defer resp.Body.Close()
	if err := decodeWire(resp.Body, resp.Header.Get("Content-Type"), &id); err != nil {
		return id, c.d.netErr(ctx, "identity", fmt.Errorf("decoding the answer: %w", err))
	}
	return id, nil
}

// ErrNoMap is returned by FetchMap for a node that has no cluster map yet.
var ErrNoMap = errors.New("storagenode: the node has no cluster map")

// FetchMap returns the node's current cluster map, encoded, and its ID.
func (c *NodeClient) FetchMap(ctx context.Context) ([]byte, string, error) {
	resp, cancel, err := c.do(ctx, "fetch map", http.MethodGet, "map", nil, nil)
	if errors.Is(err, storagenode.ErrObjectNotFound) {
		return nil, "", fmt.Errorf("%s: %w", c.d.where, ErrNoMap)
	}
	if err != nil {
		return nil, "", err
	}
	defer cancel()
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.d.opts.MaxBodySize))
	if err != nil {
		return nil, "", c.d.netErr(ctx, "fetch map", err)
	}
	return data, resp.Header.Get(hdrMap), nil
}

// PushMap offers the node a cluster map; see MapKeeper.AdoptMap.
func (c *NodeClient) PushMap(ctx context.Context, data []byte, replace bool) error {
	q := url.Values{}
	if replace {
		q.Set("replace", "1")
	}
	resp, cancel, err := c.do(ctx, "push map", http.MethodPost, "map", q, data)
	if err != nil {
		return err
	}
	defer cancel()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}
