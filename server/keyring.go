package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ecstore/ecstore/gateway"
	"github.com/ecstore/ecstore/meta"
	"github.com/ecstore/ecstore/sse"
)

// keyRegistry is the metadata store's record of the master keys that
// sealed object keys (*meta.Store or *meta.Client).
type keyRegistry interface {
	Keys() []meta.KeyCheck
	RegisterKey(ctx context.Context, id, check string) error
	Sync(ctx context.Context) error
}

var (
	_ keyRegistry = (*meta.Store)(nil)
	_ keyRegistry = (*meta.Client)(nil)
)

// openKeyRing reads the key file (none: SSE-S3 is refused) and holds it
// against the store's registry: every key that sealed object keys must be
// in the ring with the same key check value, or the process refuses to
// start, naming the key; a wrong key would fail every read of what it
// sealed. The ring's active key is registered before it seals anything.
// It waits for the store (a majority) until ctx ends.
func openKeyRing(ctx context.Context, file string, reg keyRegistry, log *slog.Logger) (*sse.Ring, error) {
	var ring *sse.Ring
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--kms-key-file: %w", err)
		}
		if ring, err = sse.ParseRing(b); err != nil {
			return nil, fmt.Errorf("--kms-key-file %s: %w", file, err)
		}
	}
	for {
		err := checkRing(ctx, ring, reg)
		if err == nil {
			break
		}
		if errors.Is(err, errRingRefused) || ctx.Err() != nil {
			return nil, err
		}
		log.Warn("key ring: the metadata store cannot answer yet; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Second):
		}
	}
	if ring == nil {
		return nil, nil
	}
	log.Info("server-side encryption: key ring loaded", "keys", ring.IDs(), "active", ring.Active(), "check", ring.CheckValue(ring.Active()))
	return ring, nil
}

// encryption is what a gateway encrypts with: the ring (SSE-S3) and the
// key store over it (SSE-KMS); both nil without a key file.
type encryption struct {
	ring *sse.Ring
	kms  *localKMS
}

func newEncryption(ring *sse.Ring, store kmsStore) encryption {
	if ring == nil {
		return encryption{}
	}
	return encryption{ring: ring, kms: newLocalKMS(ring, store)}
}

// apply sets the gateway's key ring and key store (nil interfaces when
// there are none).
func (e encryption) apply(cfg *gateway.Config) {
	if e.ring != nil {
		cfg.Keys, cfg.KMS = registeredRing{e.ring, e.kms.store}, e.kms
	}
}

// errRingRefused: the ring does not open what the store holds.
var errRingRefused = errors.New("the key ring does not match the keys that sealed this store's objects")

func checkRing(ctx context.Context, ring *sse.Ring, reg keyRegistry) error {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := reg.Sync(sctx); err != nil {
		// A copy that no longer follows the group (the test fault
		// ECSTORE_TEST_STALE_CATALOG) is checked as it is; it can
		// register nothing, and without a key file nothing needs it.
		if ring != nil || !errors.Is(err, meta.ErrClosed) {
			return err
		}
	}
	for _, k := range reg.Keys() {
		switch {
		case ring == nil:
			return fmt.Errorf("%w: objects are sealed by key %q (key check value %s), and no --kms-key-file was given", errRingRefused, k.ID, k.Check)
		case !ring.Has(k.ID):
			return fmt.Errorf("%w: objects are sealed by key %q (key check value %s), which the key file lacks", errRingRefused, k.ID, k.Check)
		case ring.CheckValue(k.ID) != k.Check:
			return fmt.Errorf("%w: the key file's key %q has key check value %s, but the one that sealed objects has %s: a different key under the same id",
				errRingRefused, k.ID, ring.CheckValue(k.ID), k.Check)
		}
	}
	if ring == nil {
		return nil
	}
	err := reg.RegisterKey(sctx, ring.Active(), ring.CheckValue(ring.Active()))
	if errors.Is(err, meta.ErrKeyMismatch) {
		// Registered meanwhile through another gateway with another key.
		return fmt.Errorf("%w: %w", errRingRefused, err)
	}
	return err
}

// internodeTLS is the TLS configuration between a cluster's processes:
// the certificate of certFile and keyFile (none when empty) and the CA of
// caFile to verify the peers with.
func internodeTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("TLS certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("internode CA: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("internode CA %s holds no PEM certificate", caFile)
		}
	}
	return c, nil
}
