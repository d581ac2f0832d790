package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// TestCerts: one CA, a certificate per node of the map and per --host,
// each verifying for its names; a second run keeps the CA.
func TestCerts(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := run([]string{"certs", "--out", dir, "--cluster", filepath.Join("..", "..", "deploy", "cluster.yaml"), "--host", "gateway1"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	ca1, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca1) {
		t.Fatal("ca.pem")
	}
	check := func(name string, hosts ...string) {
		t.Helper()
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(pair.Certificate[0])
		for _, h := range hosts {
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: h, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("%s for %s: %v", name, h, err)
			}
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "elsewhere.example"}); err == nil {
			t.Errorf("%s verifies for a name it was not made for", name)
		}
	}
	for _, n := range []string{"node1", "node6"} {
		check(n, n, "localhost", "127.0.0.1")
	}
	check("gateway1", "gateway1", "127.0.0.1")
	if fi, _ := os.Stat(filepath.Join(dir, "node1-key.pem")); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", fi.Mode().Perm())
	}
	if err := run([]string{"certs", "--out", dir, "--host", "gateway2"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if ca2, _ := os.ReadFile(filepath.Join(dir, "ca.pem")); !bytes.Equal(ca1, ca2) {
		t.Fatal("a second run replaced the CA")
	}
	check("gateway2", "gateway2")
}
