package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/ecstore/ecstore/s3api"
	"github.com/ecstore/ecstore/storagenode/faultdrive"
	"github.com/ecstore/ecstore/storagenode/local"
)

// twoGateways is two Layers over the same drives, as two gateway processes
// over the same storage nodes: each has its own key locks and its own view
// of the drives (B's can be cut off from a drive A reaches).
type twoGateways struct {
	a, b   *Layer
	bViews map[string]*faultdrive.Drive // B's view of each drive, by ID
}

func newTwoGateways(t *testing.T, n, k, m int) *twoGateways {
	t.Helper()
	g := &twoGateways{bViews: map[string]*faultdrive.Drive{}}
	var da, db []Drive
	for i := range n {
		id := fmt.Sprintf("d%d", i)
		mem := local.NewMem(id)
		b := faultdrive.New(mem)
		g.bViews[id] = b
		da = append(da, Drive{Drive: faultdrive.New(mem), Node: id})
		db = append(db, Drive{Drive: b, Node: id})
	}
	cfg := Config{DataShards: k, ParityShards: m, BlockSize: 4096, InlineMax: 1024,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var err error
	cfg.Drives = da
	if g.a, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Drives = db
	if g.b, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	if err := g.a.MakeBucket(context.Background(), "bkt"); err != nil {
		t.Fatal(err)
	}
	return g
}

// cutB makes the first placed drive of key (the one a conditional write
// would ask first) unreachable from gateway B only, and every other drive
// reachable again.
func (g *twoGateways) cutB(t *testing.T, key string) {
	t.Helper()
	drives, err := g.a.place("bkt", key)
	if err != nil {
		t.Fatal(err)
	}
	for id, f := range g.bViews {
		f.SetOffline(id == drives[0].ID())
	}
}

func readAll(l *Layer, key string) ([]byte, error) {
	obj, err := l.OpenObject(context.Background(), "bkt", key)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = obj.Read(context.Background(), &buf, 0, obj.Info().Size)
	return buf.Bytes(), err
}

// raceTwo runs fa and fb at once (released together) and returns their
// errors.
func raceTwo(fa, fb func() error) (ea, eb error) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { <-start; ea = fa() })
	wg.Go(func() { <-start; eb = fb() })
	close(start)
	wg.Wait()
	return ea, eb
}

// raceOutcome checks that exactly one of two racing conditional writes won
// and that the loser answered as S3 does (412, or 409 for a write it found
// in flight). It returns the winner: 0 for A, 1 for B, -1 after a failure.
func raceOutcome(t *testing.T, what string, ea, eb error, stats map[string]int) int {
	t.Helper()
	lost := func(err error) bool {
		switch {
		case errors.Is(err, ErrPreconditionFailed):
			stats["412"]++
			return true
		case errors.Is(err, ErrWriteConflict):
			stats["409"]++
			return true
		}
		return false
	}
	switch {
	case ea == nil && eb == nil:
		stats["both won"]++
		t.Errorf("%s: both conditional writes succeeded", what)
	case ea == nil && lost(eb):
		stats["A won"]++
		return 0
	case eb == nil && lost(ea):
		stats["B won"]++
		return 1
	default:
		stats["neither won"]++
		t.Errorf("%s: A: %v; B: %v; want one success and one 412/409", what, ea, eb)
	}
	return -1
}

// checkBoth reads key through both gateways and compares every byte.
func (g *twoGateways) checkBoth(t *testing.T, what, key string, want []byte) {
	t.Helper()
	for name, l := range map[string]*Layer{"A": g.a, "B": g.b} {
		got, err := readAll(l, key)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: read through %s: %d bytes (want %d), err %v", what, name, len(got), len(want), err)
		}
	}
}

// TestConditionalRaceTwoGateways: two gateways, one of which cannot reach
// the first drive of the key, race two conditional writes of one key
// (If-None-Match: * creates, If-Match overwrites, conditional Completes of
// two different uploads). Exactly one wins every time and the object is
// the winner's: the compare-and-set must be the drives' quorum's, not one
// drive's that each gateway picks for itself.
func TestConditionalRaceTwoGateways(t *testing.T) {
	const tries = 200
	g := newTwoGateways(t, 6, 4, 2)
	ctx := context.Background()
	put := func(l *Layer, key string, data []byte, opts s3api.PutOptions) func() error {
		return func() error {
			_, err := l.PutObject(ctx, "bkt", key, bytes.NewReader(data), int64(len(data)), opts)
			return err
		}
	}
	// Sizes alternate between inline records (<= 1024 bytes) and shard
	// files.
	size := func(try int) int { return []int{300, 5000}[try%2] }

	t.Run("Create", func(t *testing.T) {
		stats := map[string]int{}
		for try := range tries {
			key := fmt.Sprintf("create-%d", try)
			g.cutB(t, key)
			da, db := randBytes(uint64(2*try), size(try)), randBytes(uint64(2*try+1), size(try))
			create := s3api.PutOptions{IfNoneMatch: "*"}
			ea, eb := raceTwo(put(g.a, key, da, create), put(g.b, key, db, create))
			if w := raceOutcome(t, key, ea, eb, stats); w >= 0 {
				g.checkBoth(t, key, key, [][]byte{da, db}[w])
			}
		}
		t.Logf("%d tries: %v", tries, stats)
	})

	t.Run("IfMatch", func(t *testing.T) {
		stats := map[string]int{}
		for try := range tries {
			key := fmt.Sprintf("ifmatch-%d", try)
			for _, f := range g.bViews {
				f.SetOffline(false)
			}
			base := randBytes(uint64(1000+try), 100)
			if err := put(g.a, key, base, s3api.PutOptions{})(); err != nil {
				t.Fatal(err)
			}
			g.cutB(t, key)
			da, db := randBytes(uint64(2*try), size(try)), randBytes(uint64(2*try+1), size(try))
			match := s3api.PutOptions{IfMatch: md5hex(base)}
			ea, eb := raceTwo(put(g.a, key, da, match), put(g.b, key, db, match))
			if w := raceOutcome(t, key, ea, eb, stats); w >= 0 {
				g.checkBoth(t, key, key, [][]byte{da, db}[w])
			}
		}
		t.Logf("%d tries: %v", tries, stats)
	})

	t.Run("Complete", func(t *testing.T) {
		stats := map[string]int{}
		upload := func(l *Layer, key string, data []byte) (string, []s3api.CompletePart) {
			t.Helper()
			id, err := l.NewMultipartUpload(ctx, "bkt", key, s3api.PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			pi, err := l.PutObjectPart(ctx, "bkt", key, id, 1, bytes.NewReader(data), int64(len(data)), s3api.PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return id, []s3api.CompletePart{{Number: 1, ETag: pi.ETag}}
		}
		for try := range tries {
			key := fmt.Sprintf("complete-%d", try)
			for _, f := range g.bViews {
				f.SetOffline(false)
			}
			opts := s3api.PutOptions{IfNoneMatch: "*"}
			if try%2 == 1 {
				base := randBytes(uint64(1000+try), 100)
				if err := put(g.a, key, base, s3api.PutOptions{})(); err != nil {
					t.Fatal(err)
				}
				opts = s3api.PutOptions{IfMatch: md5hex(base)}
			}
			g.cutB(t, key)
			da, db := randBytes(uint64(2*try), 3000), randBytes(uint64(2*try+1), 3000)
			ida, pa := upload(g.a, key, da)
			idb, pb := upload(g.b, key, db)
			ea, eb := raceTwo(func() error {
				_, err := g.a.CompleteMultipartUpload(ctx, "bkt", key, ida, pa, opts)
				return err
			}, func() error {
				_, err := g.b.CompleteMultipartUpload(ctx, "bkt", key, idb, pb, opts)
				return err
			})
			w := raceOutcome(t, key, ea, eb, stats)
			if w < 0 {
				continue
			}
			g.checkBoth(t, key, key, [][]byte{da, db}[w])
			// The winner's upload is the object now. The loser's is gone
			// when it lost the race at commit, and left as it was when
			// its conditions failed first (409, or 412 once the winner
			// held a quorum): aborting it must not touch the object.
			res, err := g.a.ListMultipartUploads(ctx, "bkt", s3api.ListUploadsParams{Prefix: key, MaxUploads: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range res.Uploads {
				switch {
				case u.Key != key:
				case u.UploadID == []string{ida, idb}[w]:
					t.Errorf("%s: the winner's upload is still listed", key)
				default:
					stats["loser's upload left"]++
					if err := g.a.AbortMultipartUpload(ctx, "bkt", key, u.UploadID); err != nil {
						t.Errorf("%s: abort of the loser's upload: %v", key, err)
					}
					g.checkBoth(t, key+" after the loser's abort", key, [][]byte{da, db}[w])
				}
			}
		}
		t.Logf("%d tries: %v", tries, stats)
	})
}

// TestConditionalDeleteRace: two gateways, one cut from the key's first
// drive, race a DELETE If-Match and a PUT If-Match of the same ETag on an
// unversioned key. Never both succeed: the key ends as the winner left it
// (gone, or the new object), or as it was when both lost (409/412).
func TestConditionalDeleteRace(t *testing.T) {
	const tries = 200
	g := newTwoGateways(t, 6, 4, 2)
	ctx := context.Background()
	stats := map[string]int{}
	for try := range tries {
		key := fmt.Sprintf("del-%d", try)
		for _, f := range g.bViews {
			f.SetOffline(false)
		}
		size := []int{300, 5000}[try%2]
		base := randBytes(uint64(3000+try), size)
		if _, err := g.a.PutObject(ctx, "bkt", key, bytes.NewReader(base), int64(len(base)), s3api.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		g.cutB(t, key)
		del := func(l *Layer) func() error {
			return func() error {
				_, err := l.DeleteObjectVersion(ctx, "bkt", key, "", s3api.DeleteOptions{IfMatch: md5hex(base)})
				return err
			}
		}
		put := func(l *Layer, data []byte) func() error {
			return func() error {
				_, err := l.PutObject(ctx, "bkt", key, bytes.NewReader(data), int64(len(data)), s3api.PutOptions{IfMatch: md5hex(base)})
				return err
			}
		}
		data := randBytes(uint64(4000+try), size)
		// The delete goes through A or B in turn.
		var ed, ep error
		if try%4 < 2 {
			ed, ep = raceTwo(del(g.a), put(g.b, data))
		} else {
			ep, ed = raceTwo(put(g.a, data), del(g.b))
		}
		lost := func(err error) bool {
			return errors.Is(err, ErrPreconditionFailed) || errors.Is(err, ErrWriteConflict) || errors.Is(err, ErrObjectNotFound)
		}
		// The loser may leave a drive behind (a conflict among the
		// winner's followers, a record put back): what B, cut from one
		// drive, reads is checked after a heal, as the heal queue would
		// run it.
		for _, f := range g.bViews {
			f.SetOffline(false)
		}
		if _, err := NewRepair(g.a).HealObject(ctx, "bkt", key, false); err != nil && !errors.Is(err, ErrObjectNotFound) {
			t.Errorf("%s: heal: %v", key, err)
		}
		g.cutB(t, key)
		switch {
		case ed == nil && ep == nil:
			stats["both won"]++
			t.Errorf("%s: the conditional delete and the conditional PUT both succeeded", key)
		case ed == nil && lost(ep):
			stats["delete won"]++
			// A loser's take-back may have put the old record back on
			// drives the delete found holding the loser's: leftovers
			// below the read quorum, which the heal walk removes.
			if _, err := g.a.cleanDanglingOlder(ctx, "bkt", key, 0); err != nil {
				t.Errorf("%s: clean dangling: %v", key, err)
			}
			for name, l := range map[string]*Layer{"A": g.a, "B": g.b} {
				if _, err := readAll(l, key); !errors.Is(err, s3api.ErrNoSuchKey) && !errors.Is(err, ErrObjectNotFound) {
					t.Errorf("%s: after the delete won, read through %s: %v", key, name, err)
				}
			}
		case ep == nil && lost(ed):
			stats["put won"]++
			g.checkBoth(t, key, key, data)
		case lost(ed) && lost(ep):
			stats["both lost"]++
			g.checkBoth(t, key, key, base)
		default:
			t.Errorf("%s: delete %v, PUT %v", key, ed, ep)
		}
	}
	t.Logf("%d tries: %v", tries, stats)
}
