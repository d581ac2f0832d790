package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ecstore/ecstore/ec"
	"github.com/ecstore/ecstore/internal/md5pool"
	"github.com/ecstore/ecstore/storagenode"
)

// Drive is one drive of the cluster with its place in the failure domains.
type Drive struct {
	storagenode.Drive
	Node   string  // node (host) the drive belongs to
	Zone   string  // zone (rack, room) of the node; "" is one default zone
	Weight float64 // relative capacity; 0 means 1
	// Draining drives take no new shards; a rebalance moves theirs away.
	Draining bool
	// Removed marks a tombstone: a drive taken out of the cluster that
	// keeps its place in the placement list (so that removing it moves
	// nothing). It has no Drive, only RemovedID.
	Removed   bool
	RemovedID string
}

// Config configures a Layer.
type Config struct {
	// Drives is the cluster's drive list, in cluster-map order (new drives
	// are appended). Required.
	Drives []Drive
	// Epoch is the cluster map's epoch (0 for the embedded server).
	Epoch int
	// Prior are the drive lists of earlier maps a rebalance has not
	// finished moving objects away from (see Topology).
	Prior [][]Drive
	// DataShards (k) and ParityShards (m) of new objects. Default 4+2.
	DataShards, ParityShards int
	// MD5 hands out the MD5 hashes of bodies (ETags); its owner closes it
	// once the layer's requests have ended. Default nil: crypto/md5 for
	// every body.
	MD5 *md5pool.Pool
	// BlockSize is the object bytes per stripe. Default ec.DefaultBlockSize.
	BlockSize int
	// SlowWriteTimeout, when positive, bounds every write to a shard: a
	// drive that takes longer is dropped from that PUT (which goes on while
	// the write quorum holds, and is healed later). Default 0: no bound
	// (local drives); gateways over remote nodes set it.
	SlowWriteTimeout time.Duration
	// InlineMax: objects of at most this many bytes (of known size, single
	// PUT) keep their shards inline in the drives' metadata index instead of
	// in shard files: one synced write per drive. Default DefaultInlineMax;
	// negative disables.
	InlineMax int64
	// Keys seals the object keys of SSE-S3 versions (the key ring of
	// --kms-key-file); nil refuses SSE-S3. SSE-C needs none.
	Keys KeyRing
	// KMS is SSE-KMS's key store; nil refuses SSE-KMS.
	KMS KMS
	// RebalanceDelay is how long a rebalance waits after the map change
	// before its walk starts, so that other gateways adopt the new map
	// first (their writes on the old map could otherwise land behind the
	// walk). Default 0; gateways over remote nodes set a few map polls.
	RebalanceDelay time.Duration
	// Catalog is the bucket table (the metadata store's copy). Nil: the
	// drives' bucket records are the table (see Catalog).
	Catalog Catalog
	// Logger for errors and heal notices. Default slog.Default().
	Logger *slog.Logger
	// LifecycleDay is the length of a lifecycle day (a test hook: days
	// counted from a version's time, not rounded to midnight). Default
	// 0: S3's days, rounded up to the next midnight UTC.
	LifecycleDay time.Duration
	// InFlightWindow: a record newer than the read quorum's version and
	// younger than this is taken for a write being committed by another
	// writer (a conditional write or a lifecycle action answers
	// ErrWriteConflict); an older one for a leftover, such as a crashed
	// writer's. Default 0: 10 minutes. Tests shorten it.
	InFlightWindow time.Duration
}

// DefaultInlineMax is the default size limit of inline objects.
const DefaultInlineMax = 128 << 10

// DefaultConfig returns a Config with every default set and no drives.
func DefaultConfig() Config {
	return Config{DataShards: 4, ParityShards: 2, BlockSize: ec.DefaultBlockSize}
}

func (c *Config) ensureDefaults() {
	if c.DataShards == 0 && c.ParityShards == 0 {
		c.DataShards, c.ParityShards = 4, 2
	}
	if c.BlockSize == 0 {
		c.BlockSize = ec.DefaultBlockSize
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.InlineMax == 0 {
		c.InlineMax = DefaultInlineMax
	}
	for i := range c.Drives {
		if c.Drives[i].Weight == 0 {
			c.Drives[i].Weight = 1
		}
	}
}

// Validate checks the configuration with messages a user can act on.
func (c *Config) Validate() error {
	k, m := c.DataShards, c.ParityShards
	if k < 1 || m < 0 {
		return fmt.Errorf("gateway: erasure coding %d+%d: need at least 1 data shard and no negative parity", k, m)
	}
	if k+m > len(c.Drives) {
		return fmt.Errorf("gateway: erasure coding %d+%d needs at least %d drives, but %d are configured; add drives or lower k+m", k, m, k+m, len(c.Drives))
	}
	if len(c.Drives) == 0 {
		return errors.New("gateway: no drives configured")
	}
	seen := map[string]bool{}
	for _, d := range c.Drives {
		if d.Drive == nil && !d.Removed {
			return errors.New("gateway: nil drive in configuration")
		}
		if seen[d.id()] {
			return fmt.Errorf("gateway: drive id %q appears twice; every drive needs its own folder", d.id())
		}
		seen[d.id()] = true
	}
	return nil
}
