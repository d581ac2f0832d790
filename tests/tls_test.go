package tests

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// writeTestPKI makes a CA and a server certificate for 127.0.0.1/localhost
// in dir and returns the files' paths and the CA pool.
func writeTestPKI(t *testing.T, dir string) (caFile, certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	p, err := makeTestPKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p.CA, p.Cert, p.Key, p.Pool
}

// makeTestPKI makes a CA and one certificate for 127.0.0.1 and localhost
// (every process of a test runs there) in dir.
func makeTestPKI(dir string) (*testPKI, error) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ecstore test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "ecstore"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	p := &testPKI{
		CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem"),
		Pool: x509.NewCertPool(), SPKI: base64.StdEncoding.EncodeToString(spki[:]),
	}
	for f, b := range map[string]*pem.Block{
		p.CA: {Type: "CERTIFICATE", Bytes: caDER}, p.Cert: {Type: "CERTIFICATE", Bytes: der},
		p.Key: {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			return nil, err
		}
	}
	p.Pool.AddCert(ca)
	return p, nil
}

// testPKI is a test CA and a server certificate (makeTestPKI).
type testPKI struct {
	CA, Cert, Key string // PEM files
	Pool          *x509.CertPool
	// SPKI is the base64 SHA-256 of the certificate's public key, the form
	// Chromium's --ignore-certificate-errors-spki-list takes (Chromium on
	// Linux reads its trust from NSS, not from SSL_CERT_FILE).
	SPKI string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p, err := makeTestPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// transport is an HTTP transport that trusts the CA.
func (p *testPKI) transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: p.Pool}
	return tr
}

// TestTLS starts the server with a certificate and talks to it over HTTPS
// with minio-go (custom root CA) and the aws CLI (--ca-bundle).
func TestTLS(t *testing.T) {
	parallelLight(t)
	ctx := testCtx(t, 2*time.Minute)
	caFile, certFile, keyFile, pool := writeTestPKI(t, t.TempDir())
	dirs := NewDriveDirs(t, 6)
	addr := freeAddr(t)
	cmd := exec.Command(binPath, append([]string{"server", "--address", addr, "--tls-cert", certFile, "--tls-key", keyFile}, dirs...)...)
	cmd.Env = append(os.Environ(), "ECSTORE_ACCESS_KEY="+testAccessKey, "ECSTORE_SECRET_KEY="+testSecretKey)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := hc.Get("https://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("TLS server did not answer: %v\n%s", err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Plain HTTP is refused on the TLS port.
	if resp, err := http.Get("http://" + addr + "/"); err == nil {
		if resp.StatusCode < 400 {
			t.Errorf("plain HTTP on the TLS port answered %s", resp.Status)
		}
		resp.Body.Close()
	}

	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(testAccessKey, testSecretKey, ""),
		Secure: true, Transport: tr, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "tls-bucket", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := randData(3, 3<<20)
	if _, err := c.PutObject(ctx, "tls-bucket", "over/tls", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, err := c.GetObject(ctx, "tls-bucket", "over/tls", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("minio-go over TLS: err %v, equal %v", err, bytes.Equal(got, data))
	}

	// The aws CLI with --ca-bundle: upload and download, bytes compared.
	work := t.TempDir()
	src, dst := filepath.Join(work, "src.bin"), filepath.Join(work, "dst.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	aws := func(args ...string) string {
		full := append([]string{"--endpoint-url", "https://" + addr, "--region", "us-east-1", "--ca-bundle", caFile}, args...)
		cmd := exec.CommandContext(ctx, "aws", full...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+testAccessKey, "AWS_SECRET_ACCESS_KEY="+testSecretKey,
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not installed; the minio-go half passed")
	}
	aws("s3", "cp", "--only-show-errors", src, "s3://tls-bucket/cli.bin")
	aws("s3", "cp", "--only-show-errors", "s3://tls-bucket/cli.bin", dst)
	back, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("aws CLI over TLS: round trip differs (err %v)", err)
	}
	if out := aws("s3", "ls", "s3://tls-bucket/"); !strings.Contains(out, "cli.bin") {
		t.Fatalf("aws s3 ls over TLS: %s", out)
	}
}

// TestClusterPortsSpeakTLS checks that every port of a cluster the harness
// starts speaks TLS under the cluster's CA, the metadata (Raft) port too:
// the gateway's S3 port, each node's internode port and metadata port
// complete a handshake verified against the CA, and the metadata port
// answers a plain-TCP member's first bytes with no challenge (the
// handshake of the cluster secret happens only inside TLS).
func TestClusterPortsSpeakTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a 3-node cluster")
	}
	c := StartCluster(t, 3, 2, 3, 1)
	conf := &tls.Config{RootCAs: clusterPKI.Pool, ServerName: "127.0.0.1"}
	ports := []string{c.Gateway(0).Addr}
	for _, n := range c.Nodes {
		ports = append(ports, n.Addr, n.Meta)
	}
	for _, addr := range ports {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, conf)
		if err != nil {
			t.Errorf("TLS handshake with %s: %v", addr, err)
			continue
		}
		if st := conn.ConnectionState(); !st.HandshakeComplete || len(st.VerifiedChains) == 0 {
			t.Errorf("%s: handshake complete %v, verified chains %d", addr, st.HandshakeComplete, len(st.VerifiedChains))
		}
		conn.Close()
	}
	for _, n := range c.Nodes {
		conn, err := net.DialTimeout("tcp", n.Meta, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		// The dialer's opening of the secret's handshake, in clear.
		if _, err := conn.Write(append([]byte("ECMETA1\n"), make([]byte, 32)...)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(conn)
		conn.Close()
		// Plain, the member would answer its nonce and proof (64 bytes);
		// over TLS it reads those bytes as a broken ClientHello and at
		// most sends an alert record (content type 21).
		if len(got) >= 64 || (len(got) > 0 && got[0] != 21) {
			t.Errorf("metadata port %s of %s answered %d bytes (%x...) to a plain-TCP member: not TLS", n.Meta, n.ID, len(got), got[:min(len(got), 8)])
		}
	}
}
