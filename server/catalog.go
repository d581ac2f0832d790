package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ecstore/ecstore/cluster"
	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/meta"
	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode"
)

// metaTable is the bucket table of the metadata store, as a member
// (*meta.Store, the embedded server) or a client (*meta.Client, a
// gateway of a cluster) holds it.
type metaTable interface {
	Bucket(name string) (meta.Bucket, bool)
	Buckets() []meta.Bucket
	CreateBucket(ctx context.Context, name, owner string) error
	DeleteBucket(ctx context.Context, name string) error
	PutBucketSettings(ctx context.Context, name string, set meta.BucketSettings) error
	Sync(ctx context.Context) error
	Imported() bool
	ImportBuckets(ctx context.Context, buckets []meta.Bucket) error
}

var (
	_ metaTable = (*meta.Store)(nil)
	_ metaTable = (*meta.Client)(nil)
)

// catalog adapts the metadata store to the gateway's Catalog: meta's
// sentinels become the gateway's, and a store without a majority is a 503.
type catalog struct {
	s metaTable
	// alone: this process is the only one that changes the table (the
	// embedded server), and every change waits for s's copy, so the copy
	// is always current and Sync has nothing to wait for.
	alone bool
}

var _ gateway.Catalog = catalog{}

func (c catalog) Bucket(name string) (s3api.BucketInfo, bool) {
	b, ok := c.s.Bucket(name)
	return s3api.BucketInfo{Name: b.Name, Created: b.Created}, ok
}

func (c catalog) Buckets() []s3api.BucketInfo {
	bs := c.s.Buckets()
	out := make([]s3api.BucketInfo, len(bs))
	for i, b := range bs {
		out[i] = s3api.BucketInfo{Name: b.Name, Created: b.Created}
	}
	return out
}

// The catalog's bounds: a change that the group cannot commit fails
// within changeTimeout (a 503 the client retries); a read index that
// does not come within
// syncTimeout makes HeadBucket and ListBuckets answer 503 (the copy may be
// behind), long enough to ride out an election.
const (
	changeTimeout = 6 * time.Second
	syncTimeout   = 4 * time.Second
)

func (c catalog) CreateBucket(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, changeTimeout)
	defer cancel()
	return catalogErr(c.s.CreateBucket(ctx, name, ""))
}

func (c catalog) DeleteBucket(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, changeTimeout)
	defer cancel()
	return catalogErr(c.s.DeleteBucket(ctx, name))
}

func (c catalog) Settings(name string) (s3api.BucketSettings, bool) {
	b, ok := c.s.Bucket(name)
	if !ok {
		return s3api.BucketSettings{}, false
	}
	var out s3api.BucketSettings
	for _, s := range s3api.Settings() {
		if d := *settingField(&b.Settings, s); d != nil {
			out.Docs[s] = d
		}
	}
	return out, true
}

// PutSetting commits one document of the bucket's settings; the store
// merges it into the others (a nil document is sent as JSON null, which
// removes it) and the change returns once this process's copy holds it.
func (c catalog) PutSetting(ctx context.Context, name string, s s3api.Setting, doc []byte) error {
	f := settingField(nil, s)
	if f == nil {
		return fmt.Errorf("settings of %q: unknown setting %v", name, s)
	}
	var set meta.BucketSettings
	switch {
	case len(doc) == 0:
		*settingField(&set, s) = json.RawMessage("null")
	case !json.Valid(doc) || string(doc) == "null":
		return fmt.Errorf("settings of %q: the %v document is not a JSON value", name, s)
	default:
		*settingField(&set, s) = json.RawMessage(doc)
	}
	ctx, cancel := context.WithTimeout(ctx, changeTimeout)
	defer cancel()
	return catalogErr(c.s.PutBucketSettings(ctx, name, set))
}

// settingField is the field of set holding s's document, or nil for a
// Setting the store has no field for. With a nil set it only answers
// whether there is one (a non-nil pointer into a scratch value).
func settingField(set *meta.BucketSettings, s s3api.Setting) *json.RawMessage {
	if set == nil {
		set = &meta.BucketSettings{}
	}
	switch s {
	case s3api.SettingVersioning:
		return &set.Versioning
	case s3api.SettingObjectLock:
		return &set.ObjectLock
	case s3api.SettingLifecycle:
		return &set.Lifecycle
	case s3api.SettingPolicy:
		return &set.Policy
	case s3api.SettingCORS:
		return &set.CORS
	case s3api.SettingTags:
		return &set.Tags
	case s3api.SettingEncryption:
		return &set.Encryption
	}
	return nil
}

func (c catalog) Sync(ctx context.Context) error {
	if c.alone {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	return catalogErr(c.s.Sync(ctx))
}

// catalogErr translates the store's errors for the gateway.
func catalogErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, meta.ErrBucketExists):
		return fmt.Errorf("%w: %w", gateway.ErrBucketExists, err)
	case errors.Is(err, meta.ErrBucketNotFound):
		return fmt.Errorf("%w: %w", gateway.ErrBucketNotFound, err)
	}
	return fmt.Errorf("%w: the metadata store cannot commit changes now (%w)", gateway.ErrUnavailable, err)
}

// groupMembers picks the embedded server's metadata voters: the first 5
// drive folders (3 with 3 or 4 drives, 1 with fewer), each member named
// after its drive and kept in the folder's meta/ (the drive's identity
// check keeps folders in their places, so a member's state stays its own).
// A drive that could not be opened is an offline member.
func groupMembers(dirs []string, drives []storagenode.Drive) []meta.GroupMember {
	n := min(len(dirs), meta.MaxVoters)
	if n%2 == 0 {
		n--
	}
	ms := make([]meta.GroupMember, n)
	for i := range ms {
		_, offline := drives[i].(*storagenode.OfflineDrive)
		ms[i] = meta.GroupMember{ID: drives[i].ID(), Dir: filepath.Join(dirs[i], metaDir), Offline: offline}
	}
	return ms
}

// metaDir is the folder of a metadata member in a drive folder.
const metaDir = "meta"

// importBuckets moves the bucket records of a store written before the
// metadata store existed into it, once: the first start of this version
// reads the drives' buckets (those a majority holds, as that version
// decided) and commits them in one entry.
func importBuckets(ctx context.Context, s metaTable, layer *gateway.Layer, log *slog.Logger) error {
	if s.Imported() {
		return nil
	}
	// The copy may be behind (a member replays its log once a leader is
	// known): ask the group.
	if err := s.Sync(ctx); err != nil {
		return fmt.Errorf("metadata store: %w", err)
	}
	if s.Imported() {
		return nil
	}
	old, err := layer.DriveBuckets(ctx)
	if err != nil {
		return fmt.Errorf("read the drives' buckets to import them: %w", err)
	}
	bs := make([]meta.Bucket, len(old))
	for i, b := range old {
		bs[i] = meta.Bucket{Name: b.Name, Created: b.Created}
	}
	if err := s.ImportBuckets(ctx, bs); err != nil {
		return fmt.Errorf("import buckets into the metadata store: %w", err)
	}
	if len(bs) > 0 {
		log.Info("imported the drives' buckets into the metadata store (first start of this version)", "buckets", len(bs))
	}
	return nil
}

// openNodeMeta starts the node's member of the metadata group, its log in
// the first drive folder that can hold it, listening on the node's
// metadata address in the map. The group it may create is the one the
// map describes (MetaMembers): the nodes of a new cluster all bootstrap
// that same configuration, and a node that joins later is added by the
// leader (reconcile).
func openNodeMeta(cfg NodeConfig, m *cluster.Map, log *slog.Logger) (*nodeStore, error) {
	self := m.Node(cfg.ID)
	if self == nil {
		return nil, fmt.Errorf("node %q is not in the cluster map", cfg.ID)
	}
	addr, err := self.MetaAddress()
	if err != nil {
		return nil, err
	}
	var dir string
	for _, d := range cfg.DriveDirs {
		if err := os.MkdirAll(filepath.Join(d, metaDir), 0o755); err == nil {
			dir = filepath.Join(d, metaDir)
			break
		}
	}
	if dir == "" {
		return nil, fmt.Errorf("no drive folder of %v can hold it", cfg.DriveDirs)
	}
	voters, nonvoters := m.MetaMembers()
	mc := meta.Config{ID: cfg.ID, Dir: dir, Bind: addr, Secret: cfg.Secret, Logger: log, Cut: metaCutHook()}
	if cfg.CertFile != "" {
		if mc.TLS, err = internodeTLS(cfg.CertFile, cfg.KeyFile, cfg.InternodeCA); err != nil {
			return nil, err
		}
	}
	voter := false
	for i, n := range append(slices.Clone(voters), nonvoters...) {
		a, err := n.MetaAddress()
		if err != nil {
			return nil, err
		}
		switch {
		case n.ID == cfg.ID:
			voter = i < len(voters)
		case i < len(voters):
			mc.Peers = append(mc.Peers, meta.Peer{ID: n.ID, Address: a})
		default:
			mc.Nonvoters = append(mc.Nonvoters, meta.Peer{ID: n.ID, Address: a})
		}
	}
	if len(cfg.MetaRecover) > 0 {
		var survivors []meta.Peer
		for _, id := range cfg.MetaRecover {
			n := m.Node(id)
			if n == nil {
				return nil, fmt.Errorf("--meta-recover: node %q is not in the cluster map", id)
			}
			a, err := n.MetaAddress()
			if err != nil {
				return nil, err
			}
			survivors = append(survivors, meta.Peer{ID: id, Address: a})
		}
		// Once per list: a restart that still carries the flag must not
		// take the members added back since out of the group again.
		marker := filepath.Join(dir, "recovered-"+strings.Join(cfg.MetaRecover, "+"))
		if _, err := os.Stat(marker); err == nil {
			log.Info("metadata group: --meta-recover with this list ran before; ignored", "voters", cfg.MetaRecover)
		} else {
			if err := meta.Recover(mc, survivors); err != nil {
				return nil, err
			}
			if err := os.WriteFile(marker, nil, 0o644); err != nil {
				return nil, fmt.Errorf("--meta-recover: %w", err)
			}
			log.Warn("metadata group recovered: its voters are now the survivors given; the others are added back as they return", "voters", cfg.MetaRecover)
		}
	}
	has, err := meta.HasState(dir)
	if err != nil {
		return nil, err
	}
	s, err := meta.Open(mc)
	if err != nil {
		return nil, err
	}
	// Only a voter of the map's first configuration, without state, may
	// create the group, and only once every other such voter answers that
	// it is in no group (bootstrapWhenAlone); the others are sent the log.
	return &nodeStore{Store: s, bootstrap: !has && voter, voters: voterAddrs(mc)}, nil
}

// nodeStore is a node's member and whether it may have to create the
// group (see bootstrapWhenAlone).
type nodeStore struct {
	*meta.Store
	bootstrap bool
	voters    []string // the other first voters' metadata addresses
}

func voterAddrs(c meta.Config) []string {
	var out []string
	for _, p := range c.Peers {
		out = append(out, p.Address)
	}
	return out
}

// bootstrapWhenAlone creates the group once every other first voter
// answers that it belongs to none, and returns without creating it as
// soon as one does (it was created meanwhile, or it existed: this member
// lost its state and is sent the log). While a voter does not answer it
// waits: a member whose state is lost must never start a group of its own
// beside one that exists, which could take the place of the group's
// newer log.
func (s *nodeStore) bootstrapWhenAlone(ctx context.Context, secret []byte, log *slog.Logger) error {
	start := time.Now()
	warned := time.Time{}
	for {
		fresh := 0
		var silent []string
		for _, a := range s.voters {
			st, err := meta.PeerStatus(ctx, a, secret, s.TLSConfig(), 2*time.Second)
			switch {
			case err != nil:
				silent = append(silent, a)
			case len(st.Voters) > 0:
				log.Info("metadata store: joining the existing group")
				return nil
			default:
				fresh++
			}
		}
		if st, err := s.Status(); err == nil && len(st.Voters) > 0 {
			return nil // added to a group meanwhile
		}
		if len(silent) == 0 {
			return s.Bootstrap()
		}
		if time.Since(warned) > 10*time.Second && time.Since(start) > 5*time.Second {
			log.Warn("metadata store: waiting for every first voter to answer before creating the metadata group", "silent", silent)
			warned = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// openGatewayMeta starts a gateway's client of the metadata group (the
// metadata addresses of the map's live nodes) and waits for its first
// copy of the state.
func openGatewayMeta(ctx context.Context, m *cluster.Map, secret []byte, tlsConf *tls.Config, log *slog.Logger) (*meta.Client, error) {
	addrs := metaAddrs(m)
	c, err := meta.NewClient(meta.ClientConfig{Members: addrs, Secret: secret, Logger: log, TLS: tlsConf})
	if err != nil {
		return nil, err
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.WaitReady(wctx)
		cancel()
		if err == nil && staleCatalogHook() {
			err = freezeCopy(ctx, c, log)
		}
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			c.Close()
			return nil, fmt.Errorf("metadata store: %w", ctx.Err())
		}
		log.Warn("waiting for a member of the metadata group to answer", "members", addrs)
	}
}

// serveMetaStatus answers /health/meta: this member's view of the
// metadata group (state, leader, term, indexes, members) as JSON; 503
// when the node is no member.
func serveMetaStatus(w http.ResponseWriter, s *meta.Store) {
	w.Header().Set("Content-Type", "application/json")
	if s == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":"this node is no member of the metadata group (started without --cluster)"}` + "\n"))
		return
	}
	st, err := s.Status()
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(st)
}

// metaCutHook is a test fault: with ECSTORE_TEST_META_CUT naming a file,
// the node's metadata member is cut off from the group and its clients
// while that file exists (its drives go on serving). Tests use it to take
// the majority of the voters away without stopping their drives.
func metaCutHook() func() bool {
	path := os.Getenv("ECSTORE_TEST_META_CUT")
	if path == "" {
		return nil
	}
	return func() bool {
		_, err := os.Stat(path)
		return err == nil
	}
}

// staleCatalogHook is a test fault: with ECSTORE_TEST_STALE_CATALOG=1 a
// gateway's copy of the bucket table stops following the group (see
// freezeCopy). Tests use it to prove that their linearizability checker
// catches a stale copy.
func staleCatalogHook() bool { return os.Getenv("ECSTORE_TEST_STALE_CATALOG") == "1" }

// freezeCopy waits until c's copy holds the import (the other gateway
// does it, or did), then stops c's watch: the copy keeps that state for
// good, and the gateway's catalog skips its Syncs (alone), so HeadBucket
// and ListBuckets answer from the frozen copy as if it were current: a
// gateway whose read index is broken. Changes through this gateway commit
// but answer 503.
func freezeCopy(ctx context.Context, c *meta.Client, log *slog.Logger) error {
	for !c.Imported() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	c.Close()
	log.Warn("test fault ECSTORE_TEST_STALE_CATALOG: this gateway's copy of the bucket table no longer follows the metadata group", "index", c.Index())
	return nil
}

// metaAddrs are the metadata addresses of the map's live nodes (the map
// was validated: every one parses).
func metaAddrs(m *cluster.Map) []string {
	var addrs []string
	for _, n := range m.Nodes {
		if a, err := n.MetaAddress(); err == nil && !n.Removed {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// importMap stores the map a gateway runs with in the metadata group when
// the group holds none (a store from before the group, or a new one), so
// that map changes are ordered there from the first. Another gateway
// doing it first is fine; a group without a majority is left for the
// first map change (see membership.commitMap).
func importMap(ctx context.Context, mc *meta.Client, m *cluster.Map, log *slog.Logger) {
	if m == nil || mc.ClusterMap().Epoch > 0 {
		return
	}
	_, err := mc.ImportClusterMap(ctx, uint64(m.Epoch), m.Encode())
	switch {
	case err == nil:
		log.Info("stored the cluster map in the metadata group", "map", m.ID())
	case errors.Is(err, meta.ErrEpochMismatch):
	default:
		log.Warn("could not store the cluster map in the metadata group; the first map change will", "err", err)
	}
}
