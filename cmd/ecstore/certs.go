package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ecstore/ecstore/cluster"
)

// runCerts is `ecstore certs`: a private CA and a certificate for every
// process, so that S3 and internode traffic can run over TLS without a
// public CA. Hand-written over crypto/x509 (a few dozen lines): no
// library is needed for a CA and leaf certificates.
func runCerts(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("certs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: ecstore certs [--out DIR] [--cluster FILE] [--host NAME]... [--days N]

Writes a private CA (DIR/ca.pem, DIR/ca-key.pem; an existing one is kept,
so certificates for new processes chain to it) and a certificate with its
key for each process:
  - each node of the cluster map (--cluster): DIR/NODE.pem, DIR/NODE-key.pem,
    for the host of its address, its id, localhost and 127.0.0.1;
  - each --host NAME (a gateway, the embedded server): DIR/NAME.pem,
    DIR/NAME-key.pem, for NAME, localhost and 127.0.0.1.
With neither, one certificate "server" for localhost and 127.0.0.1.
Clients trust DIR/ca.pem (aws --ca-bundle, AWS_CA_BUNDLE, SSL_CERT_FILE).

`)
		fs.PrintDefaults()
	}
	out := fs.String("out", "certs", "write the files into `DIR`")
	clusterFile := fs.String("cluster", "", "cluster map `FILE`: a certificate for each node")
	var hosts multiFlag
	fs.Var(&hosts, "host", "a certificate for `NAME` (repeatable)")
	days := fs.Int("days", 825, "validity of the certificates in `DAYS`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("certs: unexpected argument %q", fs.Arg(0))
	}
	type leaf struct{ name, host string }
	var leaves []leaf
	if *clusterFile != "" {
		m, err := cluster.Load(*clusterFile)
		if err != nil {
			return err
		}
		for _, n := range m.Nodes {
			host, _, err := net.SplitHostPort(n.Address)
			if err != nil {
				return fmt.Errorf("certs: node %s: address %q: %w", n.ID, n.Address, err)
			}
			leaves = append(leaves, leaf{n.ID, host})
		}
	}
	for _, h := range hosts {
		leaves = append(leaves, leaf{h, h})
	}
	if len(leaves) == 0 {
		leaves = append(leaves, leaf{"server", "localhost"})
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	ca, caKey, err := loadOrMakeCA(*out, *days)
	if err != nil {
		return err
	}
	for _, l := range leaves {
		if strings.ContainsAny(l.name, `/\`) {
			return fmt.Errorf("certs: %q is not a file name", l.name)
		}
		names := []string{l.host, l.name, "localhost"}
		if err := writeLeaf(*out, l.name, names, ca, caKey, *days); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %s, %s\n", l.name, filepath.Join(*out, l.name+".pem"), filepath.Join(*out, l.name+"-key.pem"))
	}
	fmt.Fprintf(stdout, "CA: %s (clients trust this file)\n", filepath.Join(*out, "ca.pem"))
	return nil
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// loadOrMakeCA reads DIR/ca.pem and DIR/ca-key.pem, or makes them.
func loadOrMakeCA(dir string, days int) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	if cb, err := os.ReadFile(certFile); err == nil {
		kb, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("certs: %s exists but its key does not: %w", certFile, err)
		}
		cp, _ := pem.Decode(cb)
		kp, _ := pem.Decode(kb)
		if cp == nil || kp == nil {
			return nil, nil, fmt.Errorf("certs: %s or %s is not PEM", certFile, keyFile)
		}
		ca, err := x509.ParseCertificate(cp.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("certs: %s: %w", certFile, err)
		}
		key, err := x509.ParseECPrivateKey(kp.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("certs: %s: %w", keyFile, err)
		}
		return ca, key, nil
	}
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "ecstore private CA", Organization: []string{"ecstore"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(0, 0, days+365),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	ca, _ := x509.ParseCertificate(der)
	if err := writePEM(certFile, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	if err := writePEM(keyFile, "EC PRIVATE KEY", kder, 0o600); err != nil {
		return nil, nil, err
	}
	return ca, key, nil
}

// writeLeaf writes DIR/NAME.pem and DIR/NAME-key.pem: a server and
// client certificate for names (DNS names or IPs) and 127.0.0.1.
func writeLeaf(dir, name string, names []string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, days int) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: name, Organization: []string{"ecstore"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(0, 0, days),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] || n == "" {
			continue
		}
		seen[n] = true
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, name+".pem"), "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return writePEM(filepath.Join(dir, name+"-key.pem"), "EC PRIVATE KEY", kder, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}
