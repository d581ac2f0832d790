package scrub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ecstore/ecstore/ec"
	"github.com/ecstore/ecstore/storagenode"
)

// ScrubStats counts a scrubber's work. All fields only grow.
type Stats struct {
	Shards  atomic.Int64 // shard files verified
	Bytes   atomic.Int64 // shard bytes read
	Corrupt atomic.Int64 // shard files found corrupt (and removed)
	Passes  atomic.Int64 // full passes over the drive completed
}

// Scrubber re-reads a drive's shard files at a bounded rate and verifies
// every block checksum. A corrupt shard file is reported and removed, so
// that the gateways' heal (which checks that every shard is present) rebuilds
// it from the other drives' shards: scrub finds, heal repairs.
type Scrubber struct {
	Drive storagenode.Drive
	// BytesPerSec bounds the read rate. Default 32 MiB/s.
	BytesPerSec int64
	// Pause between passes, and before the first one. Default 24h.
	Pause  time.Duration
	Logger *slog.Logger
	Stats  Stats
}

// Run scrubs until ctx ends.
func (s *Scrubber) Run(ctx context.Context) {
	if s.BytesPerSec <= 0 {
		s.BytesPerSec = 32 << 20
	}
	if s.Pause <= 0 {
		s.Pause = 24 * time.Hour
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.Pause):
		}
		if err := s.Pass(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Warn("scrub pass failed", "drive", s.Drive.ID(), "err", err)
		}
	}
}

// Pass verifies every shard the drive holds once.
func (s *Scrubber) Pass(ctx context.Context) error {
	d := s.Drive
	buckets, err := d.ListBuckets(ctx)
	if err != nil {
		return err
	}
	coders := map[storagenode.ECInfo]*ec.Coder{}
	start := time.Now()
	var read int64
	// check verifies every shard of m this drive holds, at the bounded rate.
	check := func(m *storagenode.ObjectMeta) error {
		if !slices.Contains(m.Drives, d.ID()) {
			return nil
		}
		c := coders[m.EC]
		if c == nil {
			var err error
			if c, err = ec.New(m.EC.Data, m.EC.Parity, ec.WithBlockSize(int(m.EC.BlockSize))); err != nil {
				return nil
			}
			coders[m.EC] = c
		}
		for _, p := range m.Parts {
			n, err := s.verify(ctx, c, m, p)
			read += n
			if err != nil {
				return err
			}
			// Bound the rate: sleep off any lead over BytesPerSec.
			ahead := time.Duration(float64(read)/float64(s.BytesPerSec)*float64(time.Second)) - time.Since(start)
			if ahead > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(ahead):
				}
			}
		}
		return nil
	}
	for _, b := range buckets {
		// The current versions, whole records a page at a time.
		after := ""
		for {
			metas, err := d.ListMeta(ctx, b.Name, "", after, 1000)
			if err != nil {
				return err
			}
			for _, m := range metas {
				after = m.Key
				if err := check(m); err != nil {
					return err
				}
			}
			if len(metas) < 1000 {
				break
			}
		}
		// Then the noncurrent versions (each key's versions after its
		// first), each record read by id.
		if err := s.noncurrent(ctx, b.Name, check); err != nil {
			return err
		}
	}
	s.Stats.Passes.Add(1)
	return nil
}

// noncurrent calls check with the record of every noncurrent version of
// the bucket the drive holds.
func (s *Scrubber) noncurrent(ctx context.Context, bucket string, check func(*storagenode.ObjectMeta) error) error {
	d := s.Drive
	afterKey, afterVID := "", ""
	prevKey := ""
	for {
		es, err := d.ListVersions(ctx, bucket, "", afterKey, afterVID, 1000)
		if err != nil {
			return err
		}
		for _, e := range es {
			vid := e.VersionID
			if !e.Versioned {
				vid = "null"
			}
			afterKey, afterVID = e.Key, vid
			first := e.Key != prevKey
			prevKey = e.Key
			if first || e.DeleteMarker {
				continue // the current version (checked above), or no data
			}
			m, err := d.GetVersion(ctx, bucket, e.Key, e.VersionID)
			if err != nil {
				continue // gone meanwhile
			}
			if err := check(m); err != nil {
				return err
			}
		}
		if len(es) < 1000 {
			return nil
		}
	}
}

// verify checks one shard file; a corrupt one is removed. It returns the
// bytes read and only errors that should stop the pass.
func (s *Scrubber) verify(ctx context.Context, c *ec.Coder, m *storagenode.ObjectMeta, p storagenode.PartInfo) (int64, error) {
	ref := storagenode.ShardRef{Bucket: m.Bucket, VersionDir: m.DataDir, Name: p.Name}
	r, err := s.Drive.OpenShard(ctx, ref)
	switch {
	case errors.Is(err, storagenode.ErrShardNotFound):
		return 0, nil // missing: the heal scanner's job
	case err != nil:
		return 0, err
	}
	size := r.Size()
	verr := c.VerifyShard(r, p.DataSize())
	_ = r.Close()
	s.Stats.Shards.Add(1)
	s.Stats.Bytes.Add(size)
	if verr == nil {
		return size, nil
	}
	if !errors.Is(verr, ec.ErrCorrupt) {
		return size, fmt.Errorf("storagenode: scrub %s: %w", ref, verr)
	}
	s.Stats.Corrupt.Add(1)
	s.Logger.Error("scrub: corrupt shard removed for rebuild", "drive", s.Drive.ID(), "bucket", m.Bucket, "key", m.Key,
		"version", m.VersionID, "part", p.Number, "err", verr)
	if err := s.Drive.DeleteShard(ctx, ref); err != nil {
		return size, err
	}
	return size, nil
}
