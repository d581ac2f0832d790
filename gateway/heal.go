package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/ecstore/ecstore/ec"
	"github.com/ecstore/ecstore/storagenode"
)

// HealResult says what HealObject found and did.
type HealResult struct {
	// Checked is the number of shards examined, Repaired how many were
	// rewritten (missing, wrong size, corrupt or stale), Unreachable how
	// many could not be examined because their drive was offline.
	Checked, Repaired, Unreachable int
	// Bytes is the number of shard bytes written.
	Bytes int64
	// Lost is set when fewer than k good shards remain: the object cannot
	// be rebuilt.
	Lost bool
	// Away counts shards still on fallback drives after the heal because
	// their home drive was unreachable (the object is fully redundant; the
	// move home waits for the drive).
	Away int
	// Moved counts shards moved to their placement drive (from a fallback
	// drive, or after a cluster map change).
	Moved int
}

// Degraded reports whether the object is below full redundancy after the
// heal (unreachable drives or lost).
func (r HealResult) Degraded() bool { return r.Unreachable > 0 || r.Lost }

// HealObject brings bucket/key back to full redundancy: every drive of its
// current version gets its metadata record and an intact shard file for
// every part, rebuilt from k healthy shards. With deep set, every block
// checksum of every shard is verified (bitrot scrub); otherwise presence
// and size are checked. While a write holds the object, HealObject waits
// at most healLockWait and then returns ErrKeyBusy, having done nothing.
//
// It runs in three steps: classify each shard against the quorum record,
// rebuild the bad ones from the good, then commit the records that make
// the rebuilt shards count.
func (r *Repair) HealObject(ctx context.Context, bucket, key string, deep bool) (HealResult, error) {
	l := r.l
	var res HealResult
	unlock, err := l.locks.tryHeal(ctx, bucket, key, l.healLockWait)
	if err != nil {
		return res, err
	}
	defer unlock()
	meta, err := l.readMeta(ctx, bucket, key)
	if errors.Is(err, ErrReadQuorum) {
		return r.healSplit(ctx, bucket, key)
	}
	if err != nil {
		return res, err
	}
	res, err = r.healVersion(ctx, meta, deep)
	if err == nil && l.versioningOf(bucket) != versioningOff {
		r.healNoncurrent(ctx, meta, deep, &res)
	}
	return res, err
}

// healVersion heals one version of an object, meta being its quorum
// record: classify, rebuild, commit. The caller holds the key's heal
// lock.
func (r *Repair) healVersion(ctx context.Context, meta *storagenode.ObjectMeta, deep bool) (HealResult, error) {
	l := r.l
	var res HealResult
	bucket, key := meta.Bucket, meta.Key
	coder, err := l.coder(meta.EC)
	if err != nil {
		return res, err
	}
	drives := l.drivesByID(meta.Drives)
	sh := l.classify(ctx, coder, meta, drives, deep)
	res.Checked, res.Unreachable = sh.checked(), sh.unreachable()
	good := sh.good()
	if good == len(drives)-res.Unreachable {
		if res.Unreachable == 0 {
			l.settleRecords(ctx, meta)
			l.moveHome(ctx, meta, coder, &res)
		}
		return res, nil // nothing to repair
	}
	if good < meta.EC.Data {
		res.Lost = true
		return res, fmt.Errorf("gateway: heal %s/%s: only %d good shards, need %d", bucket, key, good, meta.EC.Data)
	}
	rb, err := l.rebuild(ctx, coder, meta, drives, sh, &res)
	if err != nil {
		return res, fmt.Errorf("gateway: heal %s/%s: %w", bucket, key, err)
	}
	l.commitHeal(ctx, meta, drives, rb, &res)
	if res.Unreachable == 0 {
		// Repaired in place; shards still on fallback drives go home too.
		l.settleRecords(ctx, meta)
		l.moveHome(ctx, meta, coder, &res)
	}
	if res.Repaired > 0 {
		l.log.Info("healed object", "bucket", bucket, "key", key, "version", meta.VersionID, "repaired", res.Repaired, "bytes", res.Bytes)
	}
	return res, nil
}

// shardStates is what classify found on each drive of an object, by shard
// index.
type shardStates struct {
	reachable []bool   // the drive answered
	bad       []bool   // its record or a shard is missing, stale, short or corrupt
	inline    [][]byte // an inline object's good shards
}

func (s shardStates) unreachable() (n int) {
	for _, ok := range s.reachable {
		if !ok {
			n++
		}
	}
	return n
}

func (s shardStates) checked() int { return len(s.reachable) - s.unreachable() }

func (s shardStates) good() (n int) {
	for i := range s.reachable {
		if s.reachable[i] && !s.bad[i] {
			n++
		}
	}
	return n
}

// classify examines every drive of meta's version: its record, and the
// size (deep: every block checksum) of each shard file or inline shard.
func (l *Layer) classify(ctx context.Context, coder *ec.Coder, meta *storagenode.ObjectMeta, drives []storagenode.Drive, deep bool) shardStates {
	s := shardStates{reachable: make([]bool, len(drives)), bad: make([]bool, len(drives)), inline: make([][]byte, len(drives))}
	fanout(drives, func(i int, d storagenode.Drive) error {
		m, err := recordOf(ctx, d, meta)
		switch {
		case errors.Is(err, storagenode.ErrDriveOffline):
			return err
		case err != nil && !errors.Is(err, storagenode.ErrObjectNotFound) && !errors.Is(err, storagenode.ErrBucketNotFound) && !errors.Is(err, storagenode.ErrCorrupt):
			return err
		}
		s.reachable[i] = true
		if err != nil || m.VersionID != meta.VersionID || m.TagTime < meta.TagTime {
			s.bad[i] = true // (an older tag set: the record is rewritten)
			return nil
		}
		if meta.InlineData {
			if !inlineOK(coder, m.Inline, meta.Parts[0].DataSize(), deep) {
				s.bad[i] = true
				return nil
			}
			s.inline[i] = m.Inline
			return nil
		}
		for _, p := range meta.Parts {
			if !l.shardOK(ctx, d, coder, meta, p, deep) {
				s.bad[i] = true
				return nil
			}
		}
		return nil
	})
	return s
}

// rebuilt is what rebuild wrote: the drives that get a record (targets),
// which of them hold every rebuilt shard (ok), and an inline object's
// rebuilt shards, written with the records.
type rebuilt struct {
	targets []storagenode.Drive
	ok      []bool
	inline  [][]byte
}

// rebuild writes every bad shard of meta's version from the good ones:
// each part's shard files, or an inline object's shards (kept in memory
// for the records).
func (l *Layer) rebuild(ctx context.Context, coder *ec.Coder, meta *storagenode.ObjectMeta, drives []storagenode.Drive, sh shardStates, res *HealResult) (rebuilt, error) {
	rb := rebuilt{targets: make([]storagenode.Drive, len(drives)), ok: make([]bool, len(drives))}
	sources := make([]storagenode.Drive, len(drives))
	for i, d := range drives {
		switch {
		case sh.reachable[i] && sh.bad[i]:
			rb.targets[i], rb.ok[i] = d, true
		case sh.reachable[i]:
			sources[i] = d
		}
	}
	if meta.InlineData {
		shards, err := rebuildInline(ctx, coder, meta.Parts[0].DataSize(), sh.inline)
		if err != nil {
			return rb, err
		}
		for i := range shards {
			if rb.targets[i] == nil {
				shards[i] = nil
			} else {
				res.Bytes += int64(len(shards[i]))
				l.stats.BytesHealed.Add(int64(len(shards[i])))
			}
		}
		rb.inline = shards
		return rb, nil
	}
	for _, p := range meta.Parts {
		n, failed, err := l.rebuildPart(ctx, coder, meta, p, sources, rb.targets)
		if err != nil {
			return rb, fmt.Errorf("part %d: %w", p.Number, err)
		}
		for i := range failed {
			if failed[i] {
				rb.ok[i] = false
			}
		}
		res.Bytes += n
		l.stats.BytesHealed.Add(n)
	}
	return rb, nil
}

// commitHeal writes meta's record on every target drive that holds its
// rebuilt shards, which makes them count, and retires what the record
// replaced there.
func (l *Layer) commitHeal(ctx context.Context, meta *storagenode.ObjectMeta, drives []storagenode.Drive, rb rebuilt, res *HealResult) {
	errs := fanout(rb.targets, func(i int, d storagenode.Drive) error {
		if !rb.ok[i] {
			return storagenode.ErrDriveOffline
		}
		prev, err := d.PutMeta(ctx, withInline(meta, rb.inline, i))
		if err != nil {
			return err
		}
		if prev != nil && prev.DataDir != meta.DataDir {
			return d.DeleteVersion(context.WithoutCancel(ctx), meta.Bucket, prev.DataDir)
		}
		return nil
	})
	for i, e := range errs {
		if rb.targets[i] == nil {
			continue
		}
		if e == nil {
			res.Repaired++
			l.stats.ShardsHealed.Add(1)
		} else {
			l.log.Warn("heal: shard not repaired", "bucket", meta.Bucket, "key", meta.Key, "drive", drives[i].ID(), "err", e)
		}
	}
	if isMultipartETag(meta.ETag) && meta.DataDir == meta.VersionID {
		// A Complete that missed these drives left the upload's records
		// there: retire them (the drive keeps the folder its record now
		// names).
		fanout(rb.targets, func(i int, d storagenode.Drive) error {
			if errs[i] != nil {
				return nil
			}
			return d.AbortUpload(context.WithoutCancel(ctx), meta.Bucket, meta.Key, meta.DataDir)
		})
	}
}

// shardOK checks that a drive's shard file of one part exists with the
// right size (and, when deep, that every block checksum holds).
func (l *Layer) shardOK(ctx context.Context, d storagenode.Drive, coder *ec.Coder, meta *storagenode.ObjectMeta, p storagenode.PartInfo, deep bool) bool {
	r, err := d.OpenShard(ctx, storagenode.ShardRef{Bucket: meta.Bucket, VersionDir: meta.DataDir, Name: p.Name})
	if err != nil {
		return false
	}
	defer r.Close()
	if r.Size() != coder.ShardFileSize(p.DataSize()) {
		return false
	}
	return !deep || coder.VerifyShard(r, p.DataSize()) == nil
}

// inlineOK checks an inline shard's size (and, when deep, its checksums).
func inlineOK(coder *ec.Coder, shard []byte, size int64, deep bool) bool {
	if int64(len(shard)) != coder.ShardFileSize(size) {
		return false
	}
	return !deep || coder.VerifyShard(bytes.NewReader(shard), size) == nil
}

// rebuildInline decodes a small object from the inline shards it has (nil
// where missing) and re-encodes all k+m shards in memory.
func rebuildInline(ctx context.Context, coder *ec.Coder, size int64, have [][]byte) ([][]byte, error) {
	readers := make([]io.ReaderAt, len(have))
	for i, b := range have {
		if b != nil {
			readers[i] = bytes.NewReader(b)
		}
	}
	var data bytes.Buffer
	if _, err := coder.Decode(ctx, &data, readers, size, 0, size); err != nil {
		return nil, err
	}
	bufs := make([]bytes.Buffer, len(have))
	writers := make([]io.Writer, len(have))
	for i := range bufs {
		writers[i] = &bufs[i]
	}
	if _, _, err := coder.Encode(ctx, &data, writers, len(writers)); err != nil {
		return nil, err
	}
	out := make([][]byte, len(have))
	for i := range bufs {
		out[i] = bufs[i].Bytes()
	}
	return out, nil
}

// rebuildPart decodes one part from the source shards and re-encodes it,
// writing only the target shards. It returns the bytes written and which
// targets failed.
func (l *Layer) rebuildPart(ctx context.Context, coder *ec.Coder, meta *storagenode.ObjectMeta, p storagenode.PartInfo, sources, targets []storagenode.Drive) (int64, []bool, error) {
	ref := storagenode.ShardRef{Bucket: meta.Bucket, VersionDir: meta.DataDir, Name: p.Name}
	sws := make([]storagenode.ShardWriter, len(targets))
	failed := make([]bool, len(targets))
	createErrs := fanout(targets, func(i int, d storagenode.Drive) (err error) {
		sws[i], err = d.CreateShard(ctx, ref)
		return err
	})
	writers := make([]io.Writer, len(targets))
	counted := make([]*countingWriter, len(targets))
	for i := range targets {
		switch {
		case targets[i] == nil:
			writers[i] = io.Discard // a healthy shard: computed, not written
		case createErrs[i] != nil:
			failed[i] = true
			writers[i] = io.Discard
		default:
			counted[i] = &countingWriter{w: sws[i]}
			writers[i] = counted[i]
		}
	}
	readers := make([]io.ReaderAt, len(sources))
	lazy := make([]*lazyShard, len(sources))
	for i, d := range sources {
		if d != nil {
			lazy[i] = &lazyShard{ctx: ctx, d: d, ref: ref, size: coder.ShardFileSize(p.DataSize())}
			readers[i] = lazy[i]
		}
	}
	pr, pw := io.Pipe()
	decodeErr := make(chan error, 1)
	go func() {
		_, err := coder.Decode(ctx, pw, readers, p.DataSize(), 0, p.DataSize())
		pw.CloseWithError(err)
		decodeErr <- err
	}()
	_, shardErrs, err := coder.Encode(ctx, pr, writers, meta.EC.Data)
	pr.CloseWithError(io.ErrClosedPipe)
	derr := <-decodeErr
	for _, s := range lazy {
		if s != nil {
			s.close()
		}
	}
	if err == nil {
		err = derr
	}
	if err != nil {
		abortAll(sws)
		return 0, failed, err
	}
	var n int64
	commitErrs := commitShards(ctx, sws, shardErrs, failed)
	for i, e := range commitErrs {
		if targets[i] == nil {
			continue
		}
		if e != nil {
			failed[i] = true
			if sws[i] != nil {
				_ = sws[i].Abort()
			}
			continue
		}
		n += counted[i].n
	}
	return n, failed, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// copyShard copies one shard file, frames and checksums as they are, from
// one drive to another, then verifies every frame of the committed copy: a
// move reads the one shard it moves instead of k of them and a decode. A
// copy that fails the check (bitrot on the source) is removed, and the
// caller rebuilds the shard from the others instead.
func (l *Layer) copyShard(ctx context.Context, coder *ec.Coder, from, to storagenode.Drive, ref storagenode.ShardRef, partSize int64) (int64, error) {
	r, err := from.OpenShard(ctx, ref)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	want := coder.ShardFileSize(partSize)
	if r.Size() != want {
		return 0, fmt.Errorf("gateway: copy shard %s: %d bytes on %s, want %d: %w", ref, r.Size(), from.ID(), want, ec.ErrCorrupt)
	}
	w, err := to.CreateShard(ctx, ref)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, min(want, int64(4<<20)))
	for off := int64(0); off < want; {
		chunk := buf[:min(int64(len(buf)), want-off)]
		if _, err := r.ReadAt(chunk, off); err != nil {
			_ = w.Abort()
			return 0, fmt.Errorf("gateway: copy shard %s from %s: %w", ref, from.ID(), err)
		}
		if _, err := w.Write(chunk); err != nil {
			_ = w.Abort()
			return 0, fmt.Errorf("gateway: copy shard %s to %s: %w", ref, to.ID(), err)
		}
		off += int64(len(chunk))
	}
	if err := w.Commit(ctx); err != nil {
		return 0, err
	}
	cr, err := to.OpenShard(ctx, ref)
	if err == nil {
		err = coder.VerifyShard(cr, partSize)
		_ = cr.Close()
	}
	if err != nil {
		if errors.Is(err, ec.ErrCorrupt) {
			// Only a copy read back corrupt goes. One that could not be
			// read back (the drive went away, the job was stopped) may be
			// whole, and its name may meanwhile hold a shard another mover
			// committed: a job's lease can pass to another gateway while
			// this one is stopped (its stale token is refused anyway).
			_ = to.DeleteShard(context.WithoutCancel(ctx), ref)
		}
		return 0, fmt.Errorf("gateway: copy shard %s to %s: the copy does not verify: %w", ref, to.ID(), err)
	}
	return want, nil
}

// settleRecords makes every record of meta's version agree on its drive
// list, and removes the records (and shards) of this or an older version
// from the other drives a lookup asks: what a move cut short by a crash, or
// an overwrite during a rebalance, leaves behind. Records of newer
// versions (a write in progress) are left alone.
func (l *Layer) settleRecords(ctx context.Context, meta *storagenode.ObjectMeta) {
	fanout(l.drivesByID(meta.Drives), func(_ int, d storagenode.Drive) error {
		if d == nil {
			return nil
		}
		m, err := d.GetMeta(ctx, meta.Bucket, meta.Key)
		if err != nil || m.VersionID != meta.VersionID || slices.Equal(m.Drives, meta.Drives) {
			return nil
		}
		fixed := *meta
		fixed.Inline = m.Inline
		return rewriteVersion(ctx, d, &fixed)
	})
	lookup, err := l.lookupDrives(l.topo(), meta.Bucket, meta.Key)
	if err != nil {
		return
	}
	var strays []storagenode.Drive
	for _, d := range lookup {
		if !slices.Contains(meta.Drives, d.ID()) {
			strays = append(strays, d)
		}
	}
	cleanup := context.WithoutCancel(ctx)
	fanout(strays, func(_ int, d storagenode.Drive) error {
		m, err := d.GetMeta(ctx, meta.Bucket, meta.Key)
		if err != nil {
			return nil
		}
		// A stray copy of this version, or a null version this null
		// version replaced; never another version of a versioned key.
		replaced := meta.Newer(m) && !m.Versioned && !meta.Versioned
		if m.VersionID != meta.VersionID && !replaced {
			return nil
		}
		if m.VersionID == meta.VersionID && m.Layout > meta.Layout {
			return nil // a move (through another gateway) put a shard there since meta was read
		}
		if _, err := d.DeleteMeta(ctx, meta.Bucket, meta.Key, m.VersionID); err != nil {
			return err
		}
		l.log.Info("removed a stray object record", "bucket", meta.Bucket, "key", meta.Key, "drive", d.ID(), "version", m.VersionID)
		return d.DeleteVersion(cleanup, meta.Bucket, m.DataDir)
	})
}

// moveHome brings every shard of meta that is not on its placement drive
// there (shards a degraded write put on fallback drives, or whose placement
// a cluster map change moved), one at a time with moveShard, so the object
// keeps k+m shards at every step.
func (l *Layer) moveHome(ctx context.Context, meta *storagenode.ObjectMeta, coder *ec.Coder, res *HealResult) {
	home, err := l.place(meta.Bucket, meta.Key)
	if err != nil || len(home) != len(meta.Drives) {
		return
	}
	away0 := res.Away
	for round := 0; round < len(home); round++ {
		// Passes until nothing moves: a shard can wait for a later one to
		// free its home (a chain of moves).
		for pass := 0; pass < len(home); pass++ {
			res.Away = away0
			movedAny := false
			for i, h := range home {
				if h.ID() == meta.Drives[i] || slices.Contains(meta.Drives, h.ID()) || l.drivesByID(meta.Drives)[i] == nil {
					continue
				}
				if l.moveShard(ctx, meta, coder, res, i, h) {
					movedAny = true
				}
			}
			if !movedAny {
				break
			}
		}
		// What is left is a cycle (each home holds another shard whose
		// home is taken too, as after a weight change), or homes not
		// reachable. A cycle is broken by moving one of its shards to a
		// spare drive first: the next round then sees a chain.
		cycle := -1
		for i, h := range home {
			if h.ID() != meta.Drives[i] && slices.Contains(meta.Drives, h.ID()) {
				cycle = i
				break
			}
		}
		if cycle < 0 {
			return
		}
		spare := l.spareDrive(ctx, meta)
		if spare == nil || !l.moveShard(ctx, meta, coder, res, cycle, spare) {
			return
		}
	}
}

// spareDrive returns a reachable drive of the map that holds no shard of
// meta and takes shards (not draining), in the key's fallback order, or nil.
func (l *Layer) spareDrive(ctx context.Context, meta *storagenode.ObjectMeta) storagenode.Drive {
	t := l.topo()
	order, err := t.placer.Place(meta.Bucket, meta.DataDir, len(t.pdrv))
	if err != nil {
		return nil
	}
	for _, j := range order {
		if t.pidx[j] < 0 {
			continue
		}
		d := t.drives[t.pidx[j]]
		if slices.Contains(meta.Drives, d.ID()) || !online(d) {
			continue
		}
		if _, err := d.StatBucket(ctx, meta.Bucket); err == nil {
			return d
		}
	}
	return nil
}

// moveShard moves shard i of meta to drive h: copy (or rebuild), verify,
// commit the new drive list in every record, then delete the old copy. It
// updates meta and res, and reports whether the shard moved.
func (l *Layer) moveShard(ctx context.Context, meta *storagenode.ObjectMeta, coder *ec.Coder, res *HealResult, i int, h storagenode.Drive) bool {
	current := l.drivesByID(meta.Drives)
	if _, err := h.StatBucket(ctx, meta.Bucket); err != nil {
		res.Away++
		return false // home still unreachable (or not yet healed): later
	}
	targets := make([]storagenode.Drive, len(current))
	sources := slices.Clone(current)
	targets[i], sources[i] = h, nil
	var n int64
	ok := true
	var shards [][]byte // an inline object's shard i, written with h's record
	if meta.InlineData {
		have := make([][]byte, len(current))
		fanout(sources, func(j int, d storagenode.Drive) error {
			if m, err := recordOf(ctx, d, meta); err == nil && m.VersionID == meta.VersionID && inlineOK(coder, m.Inline, meta.Parts[0].DataSize(), false) {
				have[j] = m.Inline
			}
			return nil
		})
		rebuilt, err := rebuildInline(ctx, coder, meta.Parts[0].DataSize(), have)
		if err != nil {
			res.Away++
			return false
		}
		shards = make([][]byte, len(current))
		shards[i] = rebuilt[i]
		n = int64(len(rebuilt[i]))
	}
	for _, p := range meta.Parts {
		if meta.InlineData {
			break
		}
		ref := storagenode.ShardRef{Bucket: meta.Bucket, VersionDir: meta.DataDir, Name: p.Name}
		if w, err := l.copyShard(ctx, coder, current[i], h, ref, p.DataSize()); err == nil {
			n += w
			continue
		} else {
			l.log.Info("move: shard not copied as it is; rebuilding it from the others", "bucket", meta.Bucket, "key", meta.Key, "shard", i, "err", err)
		}
		w, failed, err := l.rebuildPart(ctx, coder, meta, p, sources, targets)
		if err != nil || failed[i] {
			ok = false
			break
		}
		n += w
	}
	if !ok {
		res.Away++
		if !l.holdsVersion(ctx, h, meta) {
			l.deleteVersion(ctx, []storagenode.Drive{h}, meta.Bucket, meta.DataDir)
		}
		return false
	}
	moved := *meta
	moved.Drives = slices.Clone(meta.Drives)
	moved.Drives[i] = h.ID()
	moved.Layout = meta.Layout + 1
	newDrives := l.drivesByID(moved.Drives)
	// The other drives first, each only over the drive list the move read
	// (its Layout): another mover's list, or a DELETE, since then fails
	// the move. The new drive gets its record last, once all of them took
	// theirs: a record there from a list another mover changed would name
	// drives for shards they no longer hold (or hold another shard of),
	// and a frame's checksum does not say which shard it is. A move that
	// fails keeps both copies: records that took the new list name the new
	// one (another mover of the same shard to the same drive may have had
	// its records taken), the others the old one; a later heal retries.
	errs := fanout(newDrives, func(j int, d storagenode.Drive) error {
		if j == i {
			return nil // last, below
		}
		_, err := d.RewriteMeta(ctx, withInline(&moved, shards, j), meta.Layout)
		return err
	})
	if countNil(errs) < len(errs) {
		res.Away++
		return false
	}
	if _, err := h.PutMeta(ctx, withInline(&moved, shards, i)); err != nil { // below quorum alone
		res.Away++
		return false
	}
	old := current[i]
	cleanup := context.WithoutCancel(ctx)
	if isMultipartETag(meta.ETag) && meta.DataDir == meta.VersionID {
		// A home that was down when the upload completed elsewhere still
		// holds the upload's record: retire it (the drive keeps the folder
		// its record now names).
		if err := h.AbortUpload(cleanup, meta.Bucket, meta.Key, meta.DataDir); err != nil && !errors.Is(err, storagenode.ErrUploadNotFound) {
			l.log.Warn("move: leftover upload record not retired", "bucket", meta.Bucket, "key", meta.Key, "drive", h.ID(), "err", err)
		}
	}
	if _, err := old.DeleteMeta(cleanup, meta.Bucket, meta.Key, meta.VersionID); err == nil {
		_ = old.DeleteVersion(cleanup, meta.Bucket, meta.DataDir)
	}
	l.log.Info("moved a shard home", "bucket", meta.Bucket, "key", meta.Key, "shard", i, "from", old.ID(), "to", h.ID())
	res.Repaired++
	res.Moved++
	res.Bytes += n
	l.stats.ShardsHealed.Add(1)
	l.stats.BytesHealed.Add(n)
	*meta = moved
	return true
}

// rewriteVersion rewrites drive d's record of m's version (a heal's new
// drive list, a tag change) only where the version still is
// (RewriteMeta): a DELETE through another gateway may have removed it
// since it was read, and a record put back would undo that acknowledged
// delete (the files it moved to the trash still read).
func rewriteVersion(ctx context.Context, d storagenode.Drive, m *storagenode.ObjectMeta) error {
	_, err := d.RewriteMeta(ctx, m, storagenode.AnyLayout)
	return err
}

// holdsVersion reports whether drive d holds a record of meta's version,
// or might (it did not answer): then a failed move to d must not delete
// the version's files there, which another mover (a heal queued on
// another gateway, not fenced against the rebalance) may have moved
// there and named in the records meanwhile.
func (l *Layer) holdsVersion(ctx context.Context, d storagenode.Drive, meta *storagenode.ObjectMeta) bool {
	m, err := recordOf(context.WithoutCancel(ctx), d, meta)
	switch {
	case errors.Is(err, storagenode.ErrObjectNotFound), errors.Is(err, storagenode.ErrBucketNotFound):
		return false
	case err != nil:
		return true
	}
	return m.VersionID == meta.VersionID
}

// recordOf reads drive d's record of meta's version: its current record
// when that is the version (every node version answers GetMeta), else,
// when the key may have other versions, the version by id.
func recordOf(ctx context.Context, d storagenode.Drive, meta *storagenode.ObjectMeta) (*storagenode.ObjectMeta, error) {
	m, err := d.GetMeta(ctx, meta.Bucket, meta.Key)
	if err == nil && m.VersionID != meta.VersionID && (m.Versioned || meta.Versioned || m.DeleteMarker) {
		return d.GetVersion(ctx, meta.Bucket, meta.Key, meta.VersionID)
	}
	return m, err
}

// healNoncurrent heals every version of meta's key but meta's (the
// current one, healed already) that its drives hold, adding to res. A
// version that cannot be read with quorum is counted lost.
func (r *Repair) healNoncurrent(ctx context.Context, meta *storagenode.ObjectMeta, deep bool, res *HealResult) {
	l := r.l
	bucket, key := meta.Bucket, meta.Key
	drives, err := l.lookupDrives(l.topo(), bucket, key)
	if err != nil {
		return
	}
	var mu sync.Mutex
	vids := map[string]bool{}
	fanout(drives, func(_ int, d storagenode.Drive) error {
		afterKey, afterVID := "", ""
		for {
			es, err := d.ListVersions(ctx, bucket, key, afterKey, afterVID, 1000)
			if err != nil {
				return err
			}
			more := len(es) == 1000
			for _, e := range es {
				if e.Key != key {
					more = false
					break
				}
				mu.Lock()
				vids[e.VersionID] = true
				mu.Unlock()
				afterKey, afterVID = e.Key, s3VersionID(e.Versioned, e.VersionID)
			}
			if !more {
				return nil
			}
		}
	})
	delete(vids, meta.VersionID)
	for vid := range vids {
		if ctx.Err() != nil {
			return
		}
		vm, _, err := l.readMetaWith(ctx, bucket, key, func(ctx context.Context, d storagenode.Drive) (*storagenode.ObjectMeta, error) {
			return d.GetVersion(ctx, bucket, key, vid)
		})
		if err != nil {
			if !errors.Is(err, ErrObjectNotFound) {
				res.Lost = true
				l.log.Warn("heal: a noncurrent version cannot be read", "bucket", bucket, "key", key, "version", vid, "err", err)
			}
			continue
		}
		vr, err := r.healVersion(ctx, vm, deep)
		res.Checked += vr.Checked
		res.Repaired += vr.Repaired
		res.Unreachable += vr.Unreachable
		res.Bytes += vr.Bytes
		res.Away += vr.Away
		res.Moved += vr.Moved
		res.Lost = res.Lost || vr.Lost
		if err != nil {
			l.log.Warn("heal: a noncurrent version not healed", "bucket", bucket, "key", key, "version", vid, "err", err)
		}
	}
}
