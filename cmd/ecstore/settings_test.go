package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecstore/ecstore/server"
)

func testFlags() (*flag.FlagSet, *string, *string, *time.Duration) {
	fs := newFlagSet("server", "head\n", &bytes.Buffer{})
	addr := fs.String("address", "127.0.0.1:9000", "listen `HOST:PORT`")
	domain := fs.String("domain", "", "domain")
	exp := fs.Duration("upload-expiry", time.Hour, "expiry")
	return fs, addr, domain, exp
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ecstore.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSettingsPrecedence: flag > environment > config file > default, for
// flags, drive folders and secrets.
func TestSettingsPrecedence(t *testing.T) {
	cfg := writeConfig(t, "address: 10.0.0.1:9000\ndomain: file.example\nupload-expiry: 48h\ndrives: [/f1, /f2]\naccess-key: fileak\nsecret-key: filesk\n")
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantAddr   string
		wantDomain string
		wantExp    time.Duration
		wantDrives []string
		wantAK     string
	}{
		{"defaults", nil, nil, "127.0.0.1:9000", "", time.Hour, nil, ""},
		{"file", []string{"--config", cfg}, nil, "10.0.0.1:9000", "file.example", 48 * time.Hour, []string{"/f1", "/f2"}, "fileak"},
		{"file by env", nil, map[string]string{"ECSTORE_CONFIG": cfg}, "10.0.0.1:9000", "file.example", 48 * time.Hour, []string{"/f1", "/f2"}, "fileak"},
		{"env over file", []string{"--config", cfg}, map[string]string{"ECSTORE_ADDRESS": "10.0.0.2:9000", "ECSTORE_DRIVES": "/e1,/e2,/e3", "ECSTORE_ACCESS_KEY": "envak"},
			"10.0.0.2:9000", "file.example", 48 * time.Hour, []string{"/e1", "/e2", "/e3"}, "envak"},
		{"flag over env", []string{"--config", cfg, "--address", "10.0.0.3:9000", "/a1"}, map[string]string{"ECSTORE_ADDRESS": "10.0.0.2:9000", "ECSTORE_DRIVES": "/e1"},
			"10.0.0.3:9000", "file.example", 48 * time.Hour, []string{"/a1"}, "fileak"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"ECSTORE_CONFIG", "ECSTORE_ADDRESS", "ECSTORE_DOMAIN", "ECSTORE_DRIVES", "ECSTORE_ACCESS_KEY", "ECSTORE_UPLOAD_EXPIRY"} {
				t.Setenv(k, tc.env[k])
			}
			fs, addr, domain, exp := testFlags()
			st, err := parseSettings(fs, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if *addr != tc.wantAddr || *domain != tc.wantDomain || *exp != tc.wantExp {
				t.Errorf("address %q domain %q expiry %v; want %q %q %v", *addr, *domain, *exp, tc.wantAddr, tc.wantDomain, tc.wantExp)
			}
			if !slices.Equal(st.Args, tc.wantDrives) {
				t.Errorf("drives %q, want %q", st.Args, tc.wantDrives)
			}
			if got := st.Secret("access-key"); got != tc.wantAK {
				t.Errorf("access key %q, want %q", got, tc.wantAK)
			}
		})
	}
}

func TestSettingsErrors(t *testing.T) {
	t.Setenv("ECSTORE_CONFIG", "")
	t.Setenv("ECSTORE_UPLOAD_EXPIRY", "")
	for _, tc := range []struct{ file, want string }{
		{"adress: typo:9000\n", "unknown setting(s) adress"},
		{"upload-expiry: soon\n", `upload-expiry "soon"`},
		{"drives: /one\n", "drives must be a list"},
		{"address: [\n", "config file"},
	} {
		fs, _, _, _ := testFlags()
		_, err := parseSettings(fs, []string{"--config", writeConfig(t, tc.file)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: got %v, want an error containing %q", tc.file, err, tc.want)
		}
	}
	t.Setenv("ECSTORE_UPLOAD_EXPIRY", "never")
	fs, _, _, _ := testFlags()
	if _, err := parseSettings(fs, nil); err == nil || !strings.Contains(err.Error(), "ECSTORE_UPLOAD_EXPIRY") {
		t.Errorf("bad environment value: got %v, want an error naming ECSTORE_UPLOAD_EXPIRY", err)
	}
}

// TestServerHelp: the help text lists every flag with its environment
// variable and the precedence rule.
func TestServerHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"server", "--help"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Usage: ecstore server", "--address HOST:PORT", "env ECSTORE_ADDRESS", "--ec K+M", "env ECSTORE_EC (default 4+2)", "--config", "wins over"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("server --help lacks %q:\n%s", want, out.String())
		}
	}
}

// TestClientSettings: admin and bench read only the endpoint from the
// environment or the config file (never a server's ECSTORE_ADDRESS into
// `admin node add --address`), accept a server's config file, and take
// credentials environment first, then the file, then the AWS variables.
func TestClientSettings(t *testing.T) {
	cfg := writeConfig(t, "address: 10.0.0.1:9000\ndrives: [/f1]\nec: 4+2\nendpoint: http://file:9000\naccess-key: fileak\nsecret-key: filesk\n")
	for _, k := range []string{"ECSTORE_CONFIG", "ECSTORE_ENDPOINT", "ECSTORE_ADDRESS", "ECSTORE_ACCESS_KEY", "ECSTORE_SECRET_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		t.Setenv(k, "")
	}
	t.Setenv("ECSTORE_ADDRESS", "10.0.0.9:9000")
	t.Setenv("AWS_ACCESS_KEY_ID", "awsak")
	newFS := func() (*flag.FlagSet, *string, *string) {
		fs := flag.NewFlagSet("admin", flag.ContinueOnError)
		fs.SetOutput(&bytes.Buffer{})
		fs.String("config", "", "")
		return fs, fs.String("endpoint", "http://127.0.0.1:9000", ""), fs.String("address", "", "")
	}

	fs, endpoint, address := newFS()
	st, err := parseClientSettings(fs, []string{"--config", cfg, "node"}, "endpoint")
	if err != nil {
		t.Fatal(err)
	}
	if *endpoint != "http://file:9000" || *address != "" || !slices.Equal(st.Args, []string{"node"}) {
		t.Errorf("from the file: endpoint %q address %q args %q", *endpoint, *address, st.Args)
	}
	if ak := st.clientCredential("access-key", "AWS_ACCESS_KEY_ID", "def"); ak != "fileak" {
		t.Errorf("access key %q, want the file's", ak)
	}

	t.Setenv("ECSTORE_ENDPOINT", "http://env:9000")
	t.Setenv("ECSTORE_ACCESS_KEY", "envak")
	fs, endpoint, _ = newFS()
	if st, err = parseClientSettings(fs, []string{"--config", cfg}, "endpoint"); err != nil {
		t.Fatal(err)
	}
	if *endpoint != "http://env:9000" || st.clientCredential("access-key", "AWS_ACCESS_KEY_ID", "def") != "envak" {
		t.Errorf("environment over file: endpoint %q", *endpoint)
	}

	fs, endpoint, _ = newFS()
	if st, err = parseClientSettings(fs, []string{"--endpoint", "http://flag:9000"}, "endpoint"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ECSTORE_ACCESS_KEY", "")
	if *endpoint != "http://flag:9000" || st.clientCredential("access-key", "AWS_ACCESS_KEY_ID", "def") != "awsak" ||
		st.clientCredential("secret-key", "AWS_SECRET_ACCESS_KEY", "def") != "def" {
		t.Errorf("flag over environment, AWS variable, default: endpoint %q", *endpoint)
	}
}

// TestExitCode: a failed drive index exits 3 (the restart policy's cue),
// anything else 1.
func TestExitCode(t *testing.T) {
	if c := exitCode(fmt.Errorf("drive n1-d1: %w: boom", server.ErrDriveIndexFailed)); c != 3 {
		t.Errorf("index failure: exit %d, want 3", c)
	}
	if c := exitCode(errors.New("listen: address in use")); c != 1 {
		t.Errorf("other error: exit %d, want 1", c)
	}
}
