package gateway

import (
	"context"
	"slices"

	"github.com/ecstore/ecstore/storagenode"
)

// Parts on fallback drives.
//
// A part is written like a single PUT: a shard whose drive (of the upload's
// list, fixed at CreateMultipartUpload) is offline goes to a fallback drive
// further down the placement order, which first gets the upload's record.
// The part's record then names the drives it went to (PartMeta.Drives); a
// record without that list (every record written before it existed) is on
// the upload's drives. A completed object keeps one drive per shard index
// for all its parts, so Complete settles the parts onto one list (see
// settleParts) and GET, heal, rebalance and delete need not know parts ever
// differed.

// partDrives returns the drive IDs by shard index part p was written to.
func partDrives(u *storagenode.UploadMeta, p *storagenode.PartMeta) []string {
	if len(p.Drives) == len(u.Drives) {
		return p.Drives
	}
	return u.Drives
}

// extraDriveIDs returns the drives the part records name that are not the
// upload's (the fallback drives its parts used), each once, in a fixed
// order.
func extraDriveIDs(u *storagenode.UploadMeta, lists [][]*storagenode.PartMeta) []string {
	var out []string
	for _, list := range lists {
		for _, p := range list {
			for _, id := range p.Drives {
				if !slices.Contains(u.Drives, id) && !slices.Contains(out, id) {
					out = append(out, id)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// withExtra returns drives followed by the drives of extra that are in the
// map (the upload's drives, then its fallback drives).
func (l *Layer) withExtra(drives []storagenode.Drive, extra []string) []storagenode.Drive {
	out := slices.Clone(drives)
	for _, d := range l.drivesByID(extra) {
		if d != nil {
			out = append(out, d)
		}
	}
	return out
}

// settleParts chooses the drive of each shard index of the object a
// Complete commits, and copies there the shards of parts written elsewhere,
// so that the object has one drive list for all its parts.
//
// The upload's drive keeps its index when it is online: shards that went to
// a fallback while it was down are copied home (one shard each, not a
// decode). When it is down, the fallback drive holding the most bytes of
// that index takes it, provided it is online and holds no listed part's
// shard at another index (two indexes never share a drive); the other
// parts' shards of the index are copied there. A shard that cannot be
// copied (its drive is down too) is left to the heal: complete reports
// false, and the object then has one shard fewer for that part, as any
// write that lost a drive has.
func (l *Layer) settleParts(ctx context.Context, u *storagenode.UploadMeta, parts []*storagenode.PartMeta) (target []string, complete bool) {
	n := len(u.Drives)
	target = slices.Clone(u.Drives)
	byID := l.topo().byID
	at := map[string]map[int]bool{} // fallback drive -> indexes where listed parts use it
	bytes := make([]map[string]int64, n)
	for _, p := range parts {
		for i, id := range partDrives(u, p) {
			if id == u.Drives[i] {
				continue
			}
			if at[id] == nil {
				at[id] = map[int]bool{}
			}
			at[id][i] = true
			if bytes[i] == nil {
				bytes[i] = map[string]int64{}
			}
			bytes[i][id] += p.DataSize()
		}
	}
	if len(at) == 0 {
		return target, true // every part on the upload's drives
	}
	// alt: each index's best fallback, for a home that is down.
	alt := make([]string, n)
	for i := range u.Drives {
		for id, b := range bytes[i] {
			if d := byID[id]; d == nil || !online(d) || len(at[id]) != 1 {
				continue
			}
			if alt[i] == "" || b > bytes[i][alt[i]] || b == bytes[i][alt[i]] && id < alt[i] {
				alt[i] = id
			}
		}
		if d := byID[u.Drives[i]]; (d == nil || !online(d)) && alt[i] != "" {
			target[i] = alt[i]
		}
	}
	coder, err := l.coder(u.EC)
	if err != nil {
		return target, false
	}
	// One index at a time per drive, the indexes in parallel.
	errs := fanout(l.drivesByID(target), func(i int, to storagenode.Drive) error {
		if target[i] == u.Drives[i] && alt[i] != "" {
			// A home not known to be down yet (its breaker still closed)
			// that does not answer: the fallback takes the index.
			if _, err := to.StatBucket(ctx, u.Bucket); err != nil {
				target[i], to = alt[i], byID[alt[i]]
			}
		}
		var failed error
		for _, p := range parts {
			from := byID[partDrives(u, p)[i]]
			if from == to {
				continue
			}
			ref := storagenode.ShardRef{Bucket: u.Bucket, VersionDir: u.UploadID, Name: p.Name}
			if from == nil {
				failed = storagenode.ErrDriveOffline
				continue
			}
			if _, err := l.copyShard(ctx, coder, from, to, ref, p.DataSize()); err != nil {
				l.log.Warn("complete: a part's shard not copied to the object's drive; heal queued", "bucket", u.Bucket,
					"upload", u.UploadID, "part", p.Number, "shard", i, "from", from.ID(), "to", to.ID(), "err", err)
				failed = err
				continue
			}
			// The drive's record of the part names this file (a record of
			// an older upload of the number would fail the Complete there).
			if _, err := to.PutPart(ctx, u.Bucket, u.UploadID, p); err != nil {
				failed = err
			}
		}
		return failed
	})
	return target, countNil(errs) == n
}
