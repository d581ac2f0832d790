package sse

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of every key: ring keys, customer keys, object keys.
const KeySize = 32

// DefaultKeyID names the key of a key file that holds one bare key.
const DefaultKeyID = "default"

// Errors of the package; callers test them with errors.Is.
var (
	// ErrKeyMissing: a record names a ring key the ring does not hold.
	ErrKeyMissing = errors.New("sse: the key ring has no key of that id")
	// ErrUnseal: a sealed key that does not open under the key given (a
	// wrong key, or a record altered or moved to another object).
	ErrUnseal = errors.New("sse: the sealed key does not open with this key")
	// ErrBadKeyFile: the key file is not a key ring.
	ErrBadKeyFile = errors.New("sse: malformed key file")
)

// Ring is the set of master keys an operator gives in the key file. The
// first key seals new object keys; every key opens what it sealed.
type Ring struct {
	ids  []string          // in file order; ids[0] is the active key
	keys map[string][]byte // id -> 32 bytes
}

// ParseRing reads a key file. It holds either one key (32 raw bytes, or
// their standard base64 on one line), whose id is DefaultKeyID, or lines
// "ID:BASE64" (ids of letters, digits, '.', '_' and '-', at most 64; '#'
// starts a comment line); the first line's key is the active one.
func ParseRing(b []byte) (*Ring, error) {
	r := &Ring{keys: map[string][]byte{}}
	if len(b) == KeySize && !isText(b) {
		r.add(DefaultKeyID, bytes.Clone(b))
		return r, nil
	}
	text := bytes.TrimSpace(b)
	if !bytes.ContainsRune(text, ':') && !bytes.ContainsAny(text, "\n#") {
		k, err := decodeKey(string(text))
		if err != nil {
			return nil, err
		}
		r.add(DefaultKeyID, k)
		return r, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, enc, ok := strings.Cut(line, ":")
		if !ok || !validID(id) {
			return nil, fmt.Errorf("%w: line %d: want ID:BASE64 with an id of at most 64 letters, digits, '.', '_' or '-'", ErrBadKeyFile, n)
		}
		if _, dup := r.keys[id]; dup {
			return nil, fmt.Errorf("%w: line %d: key id %q given twice", ErrBadKeyFile, n, id)
		}
		k, err := decodeKey(strings.TrimSpace(enc))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		r.add(id, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKeyFile, err)
	}
	if len(r.ids) == 0 {
		return nil, fmt.Errorf("%w: no key in it", ErrBadKeyFile)
	}
	return r, nil
}

// isText reports whether b is printable ASCII (a base64 line, not raw key
// bytes); 32 raw random bytes are that with chance (95/256)^32, about
// 10^-14.
func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func decodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(k) != KeySize {
		return nil, fmt.Errorf("%w: a key must be %d bytes in standard base64 (e.g. openssl rand -base64 32)", ErrBadKeyFile, KeySize)
	}
	return k, nil
}

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (r *Ring) add(id string, k []byte) {
	r.ids = append(r.ids, id)
	r.keys[id] = k
}

// Active is the id of the key that seals new object keys.
func (r *Ring) Active() string { return r.ids[0] }

// IDs returns the ring's key ids in file order.
func (r *Ring) IDs() []string { return append([]string(nil), r.ids...) }

// Has reports whether the ring holds key id.
func (r *Ring) Has(id string) bool { _, ok := r.keys[id]; return ok }

// CheckValue is the key check value of key id: 8 bytes of HMAC-SHA256 of
// a fixed label under the key, in hex. It tells a wrong key from the right
// one without revealing either; "" when the ring lacks the id.
func (r *Ring) CheckValue(id string) string {
	k, ok := r.keys[id]
	if !ok {
		return ""
	}
	return hex.EncodeToString(derive(k, "ecstore key check value v1")[:8])
}

// Seal seals objectKey under the active key for the object named by aad
// (see AAD) and returns the key's id with the sealed bytes.
func (r *Ring) Seal(aad, objectKey []byte) (id string, sealed []byte, err error) {
	id = r.Active()
	sealed, err = seal(r.kek(id), objectKey, aad)
	return id, sealed, err
}

// SealUnder seals objectKey under key id (a rotation's target).
func (r *Ring) SealUnder(id string, aad, objectKey []byte) ([]byte, error) {
	if !r.Has(id) {
		return nil, fmt.Errorf("key %q: %w", id, ErrKeyMissing)
	}
	return seal(r.kek(id), objectKey, aad)
}

// Unseal opens an object key sealed by Seal under key id.
func (r *Ring) Unseal(id string, aad, sealed []byte) ([]byte, error) {
	if !r.Has(id) {
		return nil, fmt.Errorf("key %q: %w", id, ErrKeyMissing)
	}
	k, err := open(r.kek(id), sealed, aad)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", id, err)
	}
	return k, nil
}

func (r *Ring) kek(id string) []byte {
	return derive(r.keys[id], "ecstore sse-s3 key-encryption key v1")
}

// derive is HMAC-SHA256(key, label): one key per use from one secret.
func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}
