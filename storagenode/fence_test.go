package storagenode

import (
	"errors"
	"testing"
)

// FuzzParseFence: the fence of an internode request's query never panics
// the parser, and what it accepts encodes back to itself.
func FuzzParseFence(f *testing.F) {
	for _, s := range []string{"scanner:12", "upload-expiry:1", ":", "x:", ":5", "a:0", "a:-1", "a:18446744073709551616", "../x:3", "a:1:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fe, err := ParseFence(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("%q: error %v does not wrap ErrInvalidName", s, err)
			}
			return
		}
		if fe.Token == 0 || !ValidName(fe.Job) {
			t.Fatalf("%q: accepted %+v", s, fe)
		}
		back, err := ParseFence(fe.String())
		if err != nil || back != fe {
			t.Fatalf("%q: %+v encodes to %q, which parses to %+v, %v", s, fe, fe.String(), back, err)
		}
	})
}
