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
	"strings"
	"testing"
	"time"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
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
			CertFile: certFile, KeyFile: keyFile, InternodeCA: certFile, // self-signed: its own CA
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}, func(a string) { addrc <- a })
	}()
	t.Cleanup(func() { cancel(); <-errc })
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		errc <- err // for the cleanup
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

// TestRunNodeEndsOnIndexFailure: a drive's fatal index error ends RunNode
// with ErrDriveIndexFailed (main exits 3 on it) instead of exiting the
// process from inside the drive's callback, and the node stops serving.
func TestRunNodeEndsOnIndexFailure(t *testing.T) {
	fatal := make(chan func(error), 1)
	cfg := NodeConfig{
		Address: "127.0.0.1:0", ID: "n1", DriveDirs: []string{t.TempDir()}, Secret: []byte("node-fatal-test-secret-0123456789"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		openLocal: func(dir string, opts local.Options) (*local.Drive, error) {
			fatal <- opts.OnIndexFatal
			return local.Open(dir, opts)
		},
	}
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- RunNode(context.Background(), cfg, func(a string) { addrc <- a }) }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatal(err)
	}
	(<-fatal)(errors.New("pebble: corruption"))
	select {
	case err := <-errc:
		if !errors.Is(err, ErrDriveIndexFailed) {
			t.Fatalf("RunNode returned %v, want ErrDriveIndexFailed", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("RunNode did not end after a fatal index error")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("the node still listens after RunNode returned")
	}
}

// TestRoleConfigs: the node and gateway configurations have defaults and
// refuse what cannot run, with a message naming the setting.
func TestRoleConfigs(t *testing.T) {
	secret := []byte("role-config-secret-0123456789")
	node := DefaultNodeConfig()
	if node.ShutdownTimeout != DefaultShutdownTimeout || node.DeleteGrace != DefaultDeleteGrace {
		t.Errorf("node defaults: %+v", node)
	}
	gw := DefaultGatewayConfig()
	if gw.Address != DefaultAddress || gw.UploadExpiry != DefaultUploadExpiry || gw.PresignV2MaxAge != DefaultPresignV2MaxAge ||
		gw.Timeouts.BodyIdle <= 0 || gw.Region != DefaultRegion || gw.AccessKey != DefaultAccessKey {
		t.Errorf("gateway defaults: %+v", gw)
	}
	nodeOK := func(edit func(*NodeConfig)) NodeConfig {
		c := DefaultNodeConfig()
		c.Address, c.ID, c.DriveDirs, c.Secret = "127.0.0.1:0", "n1", []string{"/d1"}, secret
		edit(&c)
		return c
	}
	gwOK := func(edit func(*GatewayConfig)) GatewayConfig {
		c := DefaultGatewayConfig()
		c.ClusterFile, c.Secret = "cluster.yaml", secret
		edit(&c)
		return c
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"node ok", ptr(nodeOK(func(*NodeConfig) {})).Validate(), ""},
		{"node without id", ptr(nodeOK(func(c *NodeConfig) { c.ID = "" })).Validate(), "--id"},
		{"node without address", ptr(nodeOK(func(c *NodeConfig) { c.Address = "" })).Validate(), "--address"},
		{"node without drives", ptr(nodeOK(func(c *NodeConfig) { c.DriveDirs = nil })).Validate(), "drive folder"},
		{"node short secret", ptr(nodeOK(func(c *NodeConfig) { c.Secret = []byte("short") })).Validate(), "ECSTORE_CLUSTER_SECRET"},
		{"node cert without key", ptr(nodeOK(func(c *NodeConfig) { c.CertFile = "c.pem" })).Validate(), "--tls-key"},
		{"node cert without the internode CA", ptr(nodeOK(func(c *NodeConfig) { c.CertFile, c.KeyFile = "c.pem", "k.pem" })).Validate(), "--internode-ca"},
		{"gateway ok", ptr(gwOK(func(*GatewayConfig) {})).Validate(), ""},
		{"gateway without map", ptr(gwOK(func(c *GatewayConfig) { c.ClusterFile = "" })).Validate(), "--cluster"},
		{"gateway short secret", ptr(gwOK(func(c *GatewayConfig) { c.Secret = nil })).Validate(), "ECSTORE_CLUSTER_SECRET"},
		{"gateway half credentials", ptr(gwOK(func(c *GatewayConfig) { c.SecretKey = "" })).Validate(), "ECSTORE_SECRET_KEY"},
		{"gateway short secret key", ptr(gwOK(func(c *GatewayConfig) { c.SecretKey = "short" })).Validate(), "at least 8"},
		{"gateway negative rate", ptr(gwOK(func(c *GatewayConfig) { c.RebalanceRate = -1 })).Validate(), "--rebalance-rate"},
		{"gateway presign", ptr(gwOK(func(c *GatewayConfig) { c.PresignV2MaxAge = time.Millisecond })).Validate(), "--presign-v2-max-age"},
	}
	for _, tc := range tests {
		switch {
		case tc.want == "" && tc.err != nil:
			t.Errorf("%s: %v", tc.name, tc.err)
		case tc.want != "" && (tc.err == nil || !strings.Contains(tc.err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error naming %q", tc.name, tc.err, tc.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
