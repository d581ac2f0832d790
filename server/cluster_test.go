package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/rpc"
)

// testCert writes a self-signed certificate for 127.0.0.1 and returns its
// files and a pool that trusts it.
func testCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestNodeOverTLS runs a storage node with a certificate: a remote drive that
// trusts it works over https, one that does not is refused.
func TestNodeOverTLS(t *testing.T) {
	certFile, keyFile, pool := testCert(t)
	secret := []byte("node-tls-test-secret-0123456789")
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- RunNode(ctx, NodeConfig{
			Address: "127.0.0.1:0", ID: "n1", DriveDirs: []string{t.TempDir()}, Secret: secret,
			CertFile: certFile, KeyFile: keyFile, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}, func(a string) { addrc <- a })
	}()
	t.Cleanup(func() { cancel(); <-errc })
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatal(err)
	}
	trusted := rpc.NewClient("https://"+addr, "n1-d1", rpc.Options{
		Secret: secret, TLSConfig: &tls.Config{RootCAs: pool}})
	if err := trusted.MakeBucket(context.Background(), "bkt", time.Now()); err != nil {
		t.Fatalf("MakeBucket over TLS: %v", err)
	}
	if _, err := trusted.StatBucket(context.Background(), "bkt"); err != nil {
		t.Fatalf("StatBucket over TLS: %v", err)
	}
	untrusted := rpc.NewClient("https://"+addr, "n1-d1", rpc.Options{Secret: secret})
	if _, err := untrusted.StatBucket(context.Background(), "bkt"); !errors.Is(err, storagenode.ErrDriveOffline) {
		t.Fatalf("a client that does not trust the node's certificate: %v, want ErrDriveOffline", err)
	}
	plain := rpc.NewClient("http://"+addr, "n1-d1", rpc.Options{Secret: secret})
	if _, err := plain.StatBucket(context.Background(), "bkt"); err == nil {
		t.Fatal("plain HTTP to a TLS node worked")
	}
}
