package sse

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// NewObjectKey returns 32 random bytes, the key of one object version.
func NewObjectKey() []byte {
	k := make([]byte, KeySize)
	rand.Read(k)
	return k
}

// AAD is the additional data a sealed object key is bound to: the kind
// of encryption, the ring key or KMS key id, and the object's name.
func AAD(kind, keyID, bucket, key string) []byte {
	return fmt.Appendf(nil, "ecstore sse v1\x00%s\x00%s\x00%s/%s", kind, keyID, bucket, key)
}

// seal is AES-256-GCM under kek with a random nonce, nonce first.
func seal(kek, plain, aad []byte) ([]byte, error) {
	aead, err := gcm(kek)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plain, aad), nil
}

func open(kek, sealed, aad []byte) ([]byte, error) {
	aead, err := gcm(kek)
	if err != nil {
		return nil, err
	}
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, ErrUnseal
	}
	p, err := aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrUnseal
	}
	return p, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sse: %w", err)
	}
	return cipher.NewGCM(b)
}

// Customer is an SSE-C key a request carried, its MD5 checked.
type Customer struct{ key []byte }

// Customer key errors, each one of S3's answers.
var (
	ErrCustomerAlgorithm = errors.New("sse: the customer algorithm must be AES256")
	ErrCustomerKey       = errors.New("sse: the customer key must be 32 bytes in base64")
	ErrCustomerKeyMD5    = errors.New("sse: the customer key's MD5 does not match the key")
)

// ParseCustomer checks the three SSE-C headers' values: the algorithm,
// the base64 key and the base64 MD5 of the key.
func ParseCustomer(algorithm, key64, md564 string) (Customer, error) {
	if algorithm != "AES256" {
		return Customer{}, ErrCustomerAlgorithm
	}
	k, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(k) != KeySize {
		return Customer{}, ErrCustomerKey
	}
	sum := md5.Sum(k)
	want, err := base64.StdEncoding.DecodeString(md564)
	if err != nil || !hmac.Equal(want, sum[:]) {
		return Customer{}, ErrCustomerKeyMD5
	}
	return Customer{key: k}, nil
}

// NewCustomer wraps a raw 32-byte customer key (tests, copies).
func NewCustomer(k []byte) (Customer, error) {
	if len(k) != KeySize {
		return Customer{}, ErrCustomerKey
	}
	return Customer{key: append([]byte(nil), k...)}, nil
}

// Key returns the customer's key.
func (c Customer) Key() []byte { return c.key }

// IsZero reports whether c holds no key.
func (c Customer) IsZero() bool { return c.key == nil }

// KeyMD5 is the base64 MD5 of the key, as S3 echoes it.
func (c Customer) KeyMD5() string {
	sum := md5.Sum(c.key)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Seal seals objectKey under a key derived from the customer's key.
func (c Customer) Seal(aad, objectKey []byte) ([]byte, error) {
	return seal(derive(c.key, "ecstore sse-c key-encryption key v1"), objectKey, aad)
}

// Unseal opens what Seal sealed.
func (c Customer) Unseal(aad, sealed []byte) ([]byte, error) {
	return open(derive(c.key, "ecstore sse-c key-encryption key v1"), sealed, aad)
}

// NewSalt returns 16 random bytes for MAC.
func NewSalt() []byte {
	s := make([]byte, 16)
	rand.Read(s)
	return s
}

// MAC recognises the customer's key later without storing it: HMAC-SHA256
// under the key of a label and a random salt kept beside it.
func (c Customer) MAC(salt []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("ecstore sse-c key check v1"))
	m.Write(salt)
	return m.Sum(nil)
}

// Matches reports whether c is the key whose MAC with salt is mac.
func (c Customer) Matches(salt, mac []byte) bool { return hmac.Equal(c.MAC(salt), mac) }

// PartKey is the key the DARE stream of part number n runs under.
func PartKey(objectKey []byte, n int) []byte {
	m := hmac.New(sha256.New, objectKey)
	m.Write([]byte("ecstore part key v1"))
	m.Write(binary.BigEndian.AppendUint32(nil, uint32(n)))
	return m.Sum(nil)
}

// OpaqueETag is the ETag of an SSE-C (and SSE-KMS) object: S3's is not the
// MD5 of the plaintext, which would let anyone test a guess of the
// content. It is HMAC-SHA256 of that MD5 under the object key, cut to 16
// bytes, in hex: stable for the version, meaningless without the key.
func OpaqueETag(objectKey, md5sum []byte) string {
	m := hmac.New(sha256.New, objectKey)
	m.Write([]byte("ecstore etag v1"))
	m.Write(md5sum)
	return fmt.Sprintf("%x", m.Sum(nil)[:16])
}

// KMSSeal seals objectKey under a key of SSE-KMS's key store (32 bytes)
// for the object aad names (KMSAAD).
func KMSSeal(kmsKey, aad, objectKey []byte) ([]byte, error) {
	return seal(derive(kmsKey, "ecstore sse-kms key-encryption key v1"), objectKey, aad)
}

// KMSUnseal opens what KMSSeal sealed.
func KMSUnseal(kmsKey, aad, sealed []byte) ([]byte, error) {
	return open(derive(kmsKey, "ecstore sse-kms key-encryption key v1"), sealed, aad)
}

// KMSAAD is the additional data of an SSE-KMS object key: the key's name,
// the object and the request's encryption context, as S3 binds them.
func KMSAAD(name, bucket, key, context string) []byte {
	return append(AAD("aws:kms", name, bucket, key), append([]byte{0}, context...)...)
}

// KeyStoreAAD is the additional data of a key store's named key sealed by
// ring key id.
func KeyStoreAAD(id, name string) []byte { return AAD("kms-key", id, "", name) }
