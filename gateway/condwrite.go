package gateway

import (
	"context"
	"errors"
	"slices"

	"github.com/ecstore/ecstore/internal/crashpoint"
	"github.com/ecstore/ecstore/storagenode"
)

// Conditional writes (If-None-Match: *, If-Match) are a compare-and-set on
// a quorum of the key's drives, so that of two racing conditional writers
// exactly one wins, through one gateway or several, whatever drives each
// can reach:
//
//   - checkWriteConditions reads every placed drive's record and notes, per
//     drive, the version it holds (writeCond.expect). Two writers that race
//     read the same state, so they expect the same of each drive.
//   - The write then takes the drives one at a time, in the placement's
//     order, each by a compare-and-set against that expectation
//     (PutMetaIf, CompleteUpload with expect), skipping drives it cannot
//     reach. The first drive that holds something else (ErrConflict) was
//     taken by a racer: the write has lost, takes back what it stored and
//     answers 412.
//   - Once it holds writeCond.quorum drives (more than half of the placed
//     drives, and the write quorum) it has won: no racer can take a
//     majority of the same drives. The other drives follow in parallel,
//     still compare-and-set (a conflict there is a drive to heal).
//
// Two racers cannot both lose: a writer that lost at drive x lost it to
// the other, which took x before asking for any drive the first took
// (everything the first took lies before x in the common order, and the
// other asks for drives in that order too; a drive left between a loser's
// take-back and its restore counts as taken by the loser). So if each lost
// to the other, each took its drive before the other's: impossible. The
// one who did not lose finds every drive it needs either untouched or
// given back, and wins when enough drives answer.
//
// The cost is the sequential part: quorum drive round trips, one after the
// other, for conditional writes only.

// writeCond is a conditional write's compare-and-set: the drives it takes
// must still hold what they held when the conditions were checked.
type writeCond struct {
	// placed are the IDs of the key's placed drives in shard order: every
	// conditional writer of the key asks for drives in this order.
	placed []string
	// expect is the VersionID each placed drive held ("" for no record),
	// by drive ID. A drive whose record could not be read has none and is
	// left out of the race (it is written after the race is won, as a
	// drive to heal).
	expect map[string]string
}

// quorum is how many placed drives a conditional write must take before
// it has won: more than half of them, so that two writers cannot both
// take that many of the same drives, and the write quorum.
func (c *writeCond) quorum(wq int) int {
	return max(len(c.placed)/2+1, wq)
}

// raceOrder returns the indices of drives (a write's drives by shard index,
// fallbacks included) that take part in the race, in the placement's
// order: placed drives whose record was read and for which use(i) holds.
// A fallback drive is no placed drive and takes no part.
func (c *writeCond) raceOrder(drives []storagenode.Drive, use func(i int) bool) []int {
	var idx []int
	for i, d := range drives {
		if d == nil || !use(i) {
			continue
		}
		if _, ok := c.expect[d.ID()]; ok {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		return slices.Index(c.placed, drives[a].ID()) - slices.Index(c.placed, drives[b].ID())
	})
	return idx
}

// expectOf returns the drive's expectation: nil for an unconditional write
// (c nil) and for a drive that is not part of the race (its stored record
// was not read, or it is a fallback).
func (c *writeCond) expectOf(d storagenode.Drive) *string {
	if c == nil {
		return nil
	}
	if e, ok := c.expect[d.ID()]; ok {
		return &e
	}
	return nil
}

// casResult is what one drive's compare-and-set told a conditional write.
type casResult int

const (
	casSkipped casResult = iota // the drive failed: not part of this race
	casTaken                    // the drive now holds this write
	casLost                     // the drive holds another writer's record
)

// acquire asks the drives of order one at a time with cas, until need of
// them are taken or one is lost. It returns how many were taken (lost
// set: the write lost its race). cas runs on the caller's goroutine.
func acquire(order []int, need int, cas func(i int) casResult) (taken int, lost bool) {
	for _, i := range order {
		if taken >= need {
			break
		}
		switch cas(i) {
		case casTaken:
			taken++
			if taken == 1 && need > 1 {
				crashpoint.Hit(crashpoint.CondAcquire)
			}
		case casLost:
			return taken, true
		}
	}
	return taken, false
}

// takeBack undoes a conditional write that lost its race (or its quorum)
// on the drives it stored its record on (mine), each time only while
// that record is still the stored one: it removes the record (DeleteMeta
// of its own version), then puts back the one it replaced (prevs) only
// where the key still has no record (PutMetaIf expecting none). A racer
// that took the drive in between keeps it. (A plain PutMeta of the old
// record could overwrite a winner whose clock runs behind.) It runs to the
// end even when the request is cancelled.
//
// A drive that holds no record between the two steps looks taken to a
// racer asking for it then: that racer loses, and so it must, for the
// argument above (the drive counts as the loser's until restored).
func takeBack(ctx context.Context, drives []storagenode.Drive, mine []bool, meta *storagenode.ObjectMeta, prevs []*storagenode.ObjectMeta) []error {
	ctx = context.WithoutCancel(ctx)
	return fanout(drives, func(i int, d storagenode.Drive) error {
		if !mine[i] {
			return nil
		}
		if _, err := d.DeleteMeta(ctx, meta.Bucket, meta.Key, meta.VersionID); err != nil {
			if errors.Is(err, storagenode.ErrObjectNotFound) {
				return nil // replaced already by a newer write: nothing to undo
			}
			return err
		}
		if prevs[i] == nil {
			return nil
		}
		_, err := d.PutMetaIf(ctx, prevs[i], "")
		if errors.Is(err, storagenode.ErrConflict) {
			return nil // a racer took the drive meanwhile: its record stays
		}
		return err
	})
}
