package meta

import (
	"context"
	"fmt"
	"time"
)

// The state machine's operations, shared by its two holders: a member
// (Store, which proposes through its group) and a gateway's Client (which
// proposes through a member). changes propose commands; view reads the
// local copy (no network).

// changes are the commands a holder proposes.
type changes struct {
	propose func(ctx context.Context, c command) (*result, error)
}

// view reads a holder's local copy of the state.
type view struct{ fsm *fsm }

// CreateBucket adds a bucket to the table (ErrBucketExists if it is there).
func (c changes) CreateBucket(ctx context.Context, name, owner string) error {
	_, err := c.propose(ctx, command{Op: OpCreateBucket, Bucket: name, Owner: owner})
	return err
}

// DeleteBucket removes a bucket from the table (ErrBucketNotFound if it
// is not there). It does not look at the bucket's objects: the caller
// checks the bucket is empty first.
func (c changes) DeleteBucket(ctx context.Context, name string) error {
	_, err := c.propose(ctx, command{Op: OpDeleteBucket, Bucket: name})
	return err
}

// PutBucketSettings changes the fields set carries (JSON null clears one)
// and leaves the others; ErrBucketNotFound if the bucket is not there.
func (c changes) PutBucketSettings(ctx context.Context, name string, set BucketSettings) error {
	_, err := c.propose(ctx, command{Op: OpPutBucketSettings, Bucket: name, Settings: &set})
	return err
}

// ImportBuckets adds the buckets of a store written before the metadata
// group existed (those the table lacks) and marks the import done, in one
// entry; once done, later imports change nothing. The caller Syncs and
// checks Imported first, so only a first start reads the drives.
func (c changes) ImportBuckets(ctx context.Context, buckets []Bucket) error {
	_, err := c.propose(ctx, command{Op: OpImportBuckets, Import: buckets})
	return err
}

// Index is the local copy's index: the last command it holds.
func (v view) Index() uint64 { return v.fsm.appliedIndex() }

// Imported reports from the local copy whether ImportBuckets ran.
func (v view) Imported() bool { return v.fsm.imported() }

// Bucket returns a bucket from the local copy (no network).
func (v view) Bucket(name string) (Bucket, bool) { return v.fsm.bucket(name) }

// Buckets returns the local copy's bucket table, sorted by name.
func (v view) Buckets() []Bucket { return v.fsm.buckets() }

// SetClusterMap stores a new cluster map if the current epoch is
// expectEpoch (0 when there is none yet), and returns the new epoch;
// ErrEpochMismatch otherwise.
func (c changes) SetClusterMap(ctx context.Context, expectEpoch uint64, data []byte) (uint64, error) {
	r, err := c.propose(ctx, command{Op: OpSetClusterMap, Epoch: expectEpoch, Map: data})
	if err != nil {
		return 0, err
	}
	return r.epoch, nil
}

// ImportClusterMap stores the first cluster map (ErrEpochMismatch when the
// group holds one already) under epoch, the one the map has (>= 1): a
// store older than the group, or the cluster file of a new one, keeps its
// numbering; every later map's epoch is its log index (SetClusterMap).
func (c changes) ImportClusterMap(ctx context.Context, epoch uint64, data []byte) (uint64, error) {
	r, err := c.propose(ctx, command{Op: OpSetClusterMap, Floor: epoch, Map: data})
	if err != nil {
		return 0, err
	}
	return r.epoch, nil
}

// ClusterMap returns the local copy's current map (epoch 0: none yet).
func (v view) ClusterMap() MapVersion { return v.fsm.clusterMap() }

// ClusterMapHistory returns the kept map versions, oldest first.
func (v view) ClusterMapHistory() []MapVersion { return v.fsm.mapHistory() }

// AcquireLease grants job's lease to holder for ttl, judged by this
// member's clock, and returns its fencing token; ErrLeaseHeld while
// another holder's lease runs. A holder that asks again while it holds the
// lease gets the same token, extended.
func (c changes) AcquireLease(ctx context.Context, job, holder string, ttl time.Duration) (uint64, error) {
	r, err := c.propose(ctx, command{Op: OpAcquireLease, Job: job, Holder: holder, TTL: int64(ttl)})
	if err != nil {
		return 0, err
	}
	return r.token, nil
}

// RenewLease extends holder's lease with token by ttl; ErrStaleToken if the
// lease expired, was released or granted again.
func (c changes) RenewLease(ctx context.Context, job, holder string, token uint64, ttl time.Duration) error {
	_, err := c.propose(ctx, command{Op: OpRenewLease, Job: job, Holder: holder, Token: token, TTL: int64(ttl)})
	return err
}

// ReleaseLease ends holder's lease with token; ErrStaleToken if it is not
// the current one.
func (c changes) ReleaseLease(ctx context.Context, job, holder string, token uint64) error {
	_, err := c.propose(ctx, command{Op: OpReleaseLease, Job: job, Holder: holder, Token: token})
	return err
}

// Lease returns job's lease from the local copy.
func (v view) Lease(job string) (Lease, bool) { return v.fsm.lease(job) }

// CheckToken reports, from the local copy, whether token is job's current
// fencing token: ErrStaleToken if a newer grant exists or the lease was
// released. It does not judge expiry (clocks differ between processes);
// an expired lease is fenced by the next grant, whose token is higher.
func (v view) CheckToken(job string, token uint64) error {
	l, ok := v.fsm.lease(job)
	if !ok || l.Token != token {
		return fmt.Errorf("meta: job %q token %d: %w", job, token, ErrStaleToken)
	}
	return nil
}
