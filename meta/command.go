package meta

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// cmdVersion is the envelope version this code writes and accepts.
const cmdVersion = 1

// maxCommand bounds an encoded command (a cluster map is the largest).
const maxCommand = 4 << 20

// Op is a command's operation. Values are stored in the log: never reuse
// or renumber one.
type Op uint8

// The operations of the state machine.
const (
	OpCreateBucket Op = 1 + iota
	OpDeleteBucket
	OpPutBucketSettings
	OpSetClusterMap
	OpAcquireLease
	OpRenewLease
	OpReleaseLease
	OpImportBuckets
	OpPutUser
	OpDeleteUser
	OpPutPolicy
	OpDeletePolicy
	OpRegisterKey
	OpForgetKey
	OpCreateKMSKey
	OpResealKMSKey
	opEnd // one past the last known op
)

func (o Op) String() string {
	switch o {
	case OpCreateBucket:
		return "CreateBucket"
	case OpDeleteBucket:
		return "DeleteBucket"
	case OpPutBucketSettings:
		return "PutBucketSettings"
	case OpSetClusterMap:
		return "SetClusterMap"
	case OpAcquireLease:
		return "AcquireLease"
	case OpRenewLease:
		return "RenewLease"
	case OpReleaseLease:
		return "ReleaseLease"
	case OpImportBuckets:
		return "ImportBuckets"
	case OpPutUser:
		return "PutUser"
	case OpDeleteUser:
		return "DeleteUser"
	case OpPutPolicy:
		return "PutPolicy"
	case OpDeletePolicy:
		return "DeletePolicy"
	case OpRegisterKey:
		return "RegisterKey"
	case OpForgetKey:
		return "ForgetKey"
	case OpCreateKMSKey:
		return "CreateKMSKey"
	case OpResealKMSKey:
		return "ResealKMSKey"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// command is the envelope of every log entry: a version, an op, the
// proposer's clock (the state machine never reads its own) and the fields
// the op uses. It is encoded as JSON.
type command struct {
	V    uint8 `json:"v"`
	Op   Op    `json:"op"`
	Time int64 `json:"t"` // proposer's clock, Unix nanoseconds

	Bucket   string          `json:"bucket,omitempty"`
	Owner    string          `json:"owner,omitempty"`
	Settings *BucketSettings `json:"settings,omitempty"`

	Epoch uint64 `json:"epoch,omitempty"` // SetClusterMap: the expected epoch
	Floor uint64 `json:"floor,omitempty"` // SetClusterMap: the new epoch is at least this
	Map   []byte `json:"map,omitempty"`

	Job    string `json:"job,omitempty"`
	Holder string `json:"holder,omitempty"`
	TTL    int64  `json:"ttl,omitempty"` // nanoseconds
	Token  uint64 `json:"token,omitempty"`

	Import []Bucket `json:"import,omitempty"` // ImportBuckets

	User   *User           `json:"user,omitempty"`   // PutUser
	Name   string          `json:"name,omitempty"`   // DeleteUser (access key), PutPolicy, DeletePolicy
	Policy json.RawMessage `json:"policy,omitempty"` // PutPolicy
	Check  string          `json:"check,omitempty"`  // RegisterKey: the key check value (Name: the key id)
	KMSKey *KMSKey         `json:"kmsKey,omitempty"` // CreateKMSKey

	// ID names one request of a client across its retries: a command
	// whose ID the state machine applied recently is answered with the
	// first try's result and not applied again (see fsm.apply), so a
	// client may send a change again through another member when it did
	// not hear back.
	ID string `json:"id,omitempty"`
}

func encodeCommand(c command) ([]byte, error) {
	c.V = cmdVersion
	if err := c.validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("meta: encode %v: %w", c.Op, err)
	}
	if len(b) > maxCommand {
		return nil, fmt.Errorf("%w: %v is %d bytes, more than %d", ErrBadCommand, c.Op, len(b), maxCommand)
	}
	return b, nil
}

// decodeCommand decodes and checks an envelope: unknown versions, ops and
// fields are refused.
func decodeCommand(b []byte) (command, error) {
	var c command
	if len(b) > maxCommand {
		return c, fmt.Errorf("%w: %d bytes", ErrBadCommand, len(b))
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return command{}, fmt.Errorf("%w: %v", ErrBadCommand, err)
	}
	if d.More() {
		return command{}, fmt.Errorf("%w: trailing data", ErrBadCommand)
	}
	if c.V != cmdVersion {
		return command{}, fmt.Errorf("%w: envelope version %d", ErrUnknownOp, c.V)
	}
	if err := c.validate(); err != nil {
		return command{}, err
	}
	return c, nil
}

// validate checks the op is known and carries the fields it needs.
func (c command) validate() error {
	if c.Op == 0 || c.Op >= opEnd {
		return fmt.Errorf("%w: %v", ErrUnknownOp, c.Op)
	}
	missing := ""
	switch c.Op {
	case OpCreateBucket, OpDeleteBucket, OpPutBucketSettings:
		if c.Bucket == "" {
			missing = "bucket"
		}
		if c.Op == OpPutBucketSettings && c.Settings == nil {
			missing = "settings"
		}
	case OpSetClusterMap:
		if len(c.Map) == 0 {
			missing = "map"
		}
	case OpImportBuckets:
		for _, b := range c.Import {
			if b.Name == "" {
				missing = "a bucket's name"
			}
		}
	case OpPutUser:
		switch {
		case c.User == nil || c.User.AccessKey == "":
			missing = "user"
		case len(c.User.SealedSecret) == 0:
			missing = "sealed secret"
		}
	case OpDeleteUser, OpDeletePolicy, OpForgetKey:
		if c.Name == "" {
			missing = "name"
		}
	case OpRegisterKey:
		if c.Name == "" || c.Check == "" {
			missing = "key id and check value"
		}
	case OpCreateKMSKey, OpResealKMSKey:
		if c.KMSKey == nil || c.KMSKey.Name == "" || len(c.KMSKey.Sealed) == 0 || c.KMSKey.SealedBy == "" {
			missing = "KMS key"
		}
		if c.Op == OpResealKMSKey && c.Holder == "" {
			missing = "the expected sealing key (holder)"
		}
	case OpPutPolicy:
		if c.Name == "" || len(c.Policy) == 0 {
			missing = "policy"
		}
	case OpAcquireLease, OpRenewLease, OpReleaseLease:
		switch {
		case c.Job == "":
			missing = "job"
		case c.Holder == "":
			missing = "holder"
		case c.Op != OpReleaseLease && c.TTL <= 0:
			missing = "ttl"
		case c.Op != OpAcquireLease && c.Token == 0:
			missing = "token"
		}
	}
	if missing != "" {
		return fmt.Errorf("%w: %v without %s", ErrBadCommand, c.Op, missing)
	}
	return nil
}

func (c command) time() time.Time { return time.Unix(0, c.Time).UTC() }
