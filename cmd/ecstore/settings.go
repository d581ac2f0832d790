package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Every setting of a command comes from one place, by this precedence
// (first found wins):
//
//  1. a flag on the command line (--address 0.0.0.0:9000);
//  2. the environment variable ECSTORE_<FLAG>, upper case with '-' as '_'
//     (ECSTORE_ADDRESS, ECSTORE_TLS_CERT);
//  3. the config file given by --config FILE or ECSTORE_CONFIG, a YAML map
//     whose keys are the flag names (address: 0.0.0.0:9000);
//  4. the built-in default.
//
// Drive folders (the positional arguments) follow the same order: the
// arguments, then ECSTORE_DRIVES (comma separated), then the file's
// "drives" list. Secrets (access-key, secret-key, cluster-secret) have no
// flags, so they do not show in process listings: ECSTORE_ACCESS_KEY, then
// the file.
const precedenceHelp = `Settings: a flag wins over its ECSTORE_<FLAG> environment variable (upper
case, '-' as '_'), which wins over the config file (--config FILE or
ECSTORE_CONFIG: YAML with the flag names as keys, "drives" for the folders,
and access-key, secret-key, cluster-secret), which wins over the default.
`

// secretKeys are the settings that only the environment or the file give.
var secretKeys = []string{"access-key", "secret-key", "cluster-secret"}

// settings is a command's parsed configuration.
type settings struct {
	fs   *flag.FlagSet
	file map[string]any
	// Args are the positional arguments (drive folders), resolved by the
	// same precedence.
	Args []string
}

// envName is the environment variable of a setting.
func envName(setting string) string {
	return "ECSTORE_" + strings.ToUpper(strings.ReplaceAll(setting, "-", "_"))
}

// newFlagSet makes a command's flag set with the --config flag and a usage
// text: head, then every flag with its environment variable, then the
// precedence rule.
func newFlagSet(name, head string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String("config", "", "YAML config `FILE` with settings by flag name")
	fs.Usage = func() {
		fmt.Fprint(stderr, head)
		fmt.Fprint(stderr, "\nFlags (each also read from its environment variable):\n")
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			arg := "--" + f.Name
			if name != "" {
				arg += " " + name
			}
			fmt.Fprintf(stderr, "  %-28s %s\n", arg, usage)
			def := ""
			if f.DefValue != "" && f.DefValue != "0s" && f.DefValue != "false" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(stderr, "  %-28s env %s%s\n", "", envName(f.Name), def)
		})
		fmt.Fprint(stderr, "\n"+precedenceHelp)
	}
	return fs
}

// parseSettings parses args into fs and fills every flag not given on the
// command line from the environment or the config file.
func parseSettings(fs *flag.FlagSet, args []string) (*settings, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	s := &settings{fs: fs, file: map[string]any{}}
	path := fs.Lookup("config").Value.String()
	if path == "" {
		path = os.Getenv("ECSTORE_CONFIG")
	}
	if path != "" {
		if err := s.load(path); err != nil {
			return nil, err
		}
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || f.Name == "config" {
			return
		}
		v, where, ok := s.lookup(f.Name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s %q: %w", where, f.Name, v, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.Args = fs.Args()
	if len(s.Args) == 0 {
		if v := os.Getenv("ECSTORE_DRIVES"); v != "" {
			for d := range strings.SplitSeq(v, ",") {
				if d = strings.TrimSpace(d); d != "" {
					s.Args = append(s.Args, d)
				}
			}
		} else if l, ok := s.file["drives"].([]any); ok {
			for _, d := range l {
				s.Args = append(s.Args, fmt.Sprint(d))
			}
		}
	}
	return s, nil
}

// load reads the config file; keys must be known settings.
func (s *settings) load(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s.file); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var unknown []string
	for k := range s.file {
		if k == "drives" || slices.Contains(secretKeys, k) {
			continue
		}
		if k == "config" || s.fs.Lookup(k) == nil {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		var known []string
		s.fs.VisitAll(func(f *flag.Flag) {
			if f.Name != "config" {
				known = append(known, f.Name)
			}
		})
		return fmt.Errorf("config file %s: unknown setting(s) %s for ecstore %s; known: %s, drives, %s",
			path, strings.Join(unknown, ", "), s.fs.Name(), strings.Join(known, ", "), strings.Join(secretKeys, ", "))
	}
	if _, ok := s.file["drives"]; ok {
		if _, isList := s.file["drives"].([]any); !isList {
			return fmt.Errorf("config file %s: drives must be a list of folders", path)
		}
	}
	return nil
}

// lookup finds a setting in the environment, then the file.
func (s *settings) lookup(name string) (value, where string, ok bool) {
	if v, set := os.LookupEnv(envName(name)); set && v != "" {
		return v, envName(name), true
	}
	if v, set := s.file[name]; set && v != nil {
		return fmt.Sprint(v), "config file", true
	}
	return "", "", false
}

// Secret returns a secret setting (access-key, secret-key,
// cluster-secret): the environment, then the file.
func (s *settings) Secret(name string) string {
	v, _, _ := s.lookup(name)
	return v
}

// parseClientSettings is parseSettings for the client commands (admin,
// bench): only the named flags come from the environment or the config
// file (a client's --address or --zone must never be taken from a
// server's ECSTORE_ADDRESS), and the file may hold a server's settings,
// which a client ignores.
func parseClientSettings(fs *flag.FlagSet, args []string, names ...string) (*settings, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	s := &settings{fs: fs, file: map[string]any{}, Args: fs.Args()}
	path := fs.Lookup("config").Value.String()
	if path == "" {
		path = os.Getenv("ECSTORE_CONFIG")
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		if err := yaml.Unmarshal(b, &s.file); err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	for _, name := range names {
		if given[name] {
			continue
		}
		if v, where, ok := s.lookup(name); ok {
			if err := fs.Set(name, v); err != nil {
				return nil, fmt.Errorf("%s: %s %q: %w", where, name, v, err)
			}
		}
	}
	return s, nil
}

// clientCredential is a client's access or secret key: the environment
// (ECSTORE_ACCESS_KEY), then the config file, then the AWS variable
// (AWS_ACCESS_KEY_ID), then the local default.
func (s *settings) clientCredential(name, awsEnv, def string) string {
	if v := s.Secret(name); v != "" {
		return v
	}
	if v := os.Getenv(awsEnv); v != "" {
		return v
	}
	return def
}
