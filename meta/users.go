package meta

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// User is an access key of the store with its secret, sealed, and the
// names of its policies. Room for the users-and-policies issue: nothing
// authenticates with these yet (the S3 front end still takes the root
// credentials from its configuration).
type User struct {
	AccessKey string `json:"accessKey"`
	// SealedSecret is the secret key sealed by a Sealer (AES-256-GCM, a
	// fresh nonce, the access key as additional data): the log, the
	// snapshots and every copy hold only this.
	SealedSecret []byte    `json:"sealedSecret"`
	Policies     []string  `json:"policies,omitempty"`
	Disabled     bool      `json:"disabled,omitempty"`
	Created      time.Time `json:"created"` // the first PutUser's proposer clock
}

// Sealer seals and opens users' secrets with a key derived from the
// cluster secret, so only processes of the cluster can read them.
type Sealer struct{ aead cipher.AEAD }

// secretLabel derives the sealing key; never used for anything else.
const secretLabel = "ecstore meta user secrets v1"

// ErrUnseal: a sealed secret that this Sealer cannot open (another
// cluster's secret, or a record altered or moved to another user).
var ErrUnseal = errors.New("meta: cannot open the sealed secret")

// NewSealer derives the sealing key from the cluster secret.
func NewSealer(clusterSecret []byte) (*Sealer, error) {
	if len(clusterSecret) < 16 {
		return nil, errors.New("meta: the cluster secret is shorter than 16 bytes")
	}
	m := hmac.New(sha256.New, clusterSecret)
	m.Write([]byte(secretLabel))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("meta: sealer: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("meta: sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal returns secret sealed for accessKey.
func (s *Sealer) Seal(accessKey, secret string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, []byte(secret), []byte(accessKey))
}

// Open returns u's secret.
func (s *Sealer) Open(u User) (string, error) {
	n := s.aead.NonceSize()
	if len(u.SealedSecret) < n {
		return "", fmt.Errorf("user %q: %w", u.AccessKey, ErrUnseal)
	}
	p, err := s.aead.Open(nil, u.SealedSecret[:n], u.SealedSecret[n:], []byte(u.AccessKey))
	if err != nil {
		return "", fmt.Errorf("user %q: %w", u.AccessKey, ErrUnseal)
	}
	return string(p), nil
}

// PutUser stores u (its secret sealed by the caller's Sealer), replacing
// the user of its access key; Created stays the first one's.
func (c changes) PutUser(ctx context.Context, u User) error {
	_, err := c.propose(ctx, command{Op: OpPutUser, User: &u})
	return err
}

// DeleteUser removes a user (ErrNotFound if there is none).
func (c changes) DeleteUser(ctx context.Context, accessKey string) error {
	_, err := c.propose(ctx, command{Op: OpDeleteUser, Name: accessKey})
	return err
}

// PutPolicy stores a named policy document, replacing one of the name.
func (c changes) PutPolicy(ctx context.Context, name string, doc json.RawMessage) error {
	_, err := c.propose(ctx, command{Op: OpPutPolicy, Name: name, Policy: doc})
	return err
}

// DeletePolicy removes a named policy (ErrNotFound if there is none).
func (c changes) DeletePolicy(ctx context.Context, name string) error {
	_, err := c.propose(ctx, command{Op: OpDeletePolicy, Name: name})
	return err
}

// User returns a user of the local copy.
func (v view) User(accessKey string) (User, bool) { return v.fsm.user(accessKey) }

// Policy returns a named policy of the local copy.
func (v view) Policy(name string) (json.RawMessage, bool) { return v.fsm.policy(name) }
