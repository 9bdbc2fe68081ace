package tokenstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
)

// KeySize is the size of a sealing key in bytes: AES-256.
const KeySize = 32

// MaxKeyIDLen is the longest key ID, in bytes.
const MaxKeyIDLen = 64

// SealKey is one AES-256 key of a Keyring with the ID that sealed blobs
// carry to name it. IDs are 1 to MaxKeyIDLen characters from A-Z, a-z,
// 0-9, '.', '_' and '-'.
//
// Formatting a SealKey (fmt, log/slog) prints only its ID; Encode is the
// one way to get the secret out.
type SealKey struct {
	ID     string
	Secret []byte // KeySize bytes from a cryptographic random source
}

// GenerateKey returns a new random key with the given ID.
func GenerateKey(id string) (SealKey, error) {
	if err := validKeyID(id); err != nil {
		return SealKey{}, err
	}
	k := SealKey{ID: id, Secret: make([]byte, KeySize)}
	if _, err := rand.Read(k.Secret); err != nil {
		return SealKey{}, fmt.Errorf("tokenstore: generate key: %w", err)
	}
	return k, nil
}

// Encode returns the key as a configuration entry, "id:base64(secret)",
// the format ParseKeyring, LoadKeyringFile and KeyringFromEnv read. The
// result is secret.
func (k SealKey) Encode() string {
	return k.ID + ":" + base64.StdEncoding.EncodeToString(k.Secret)
}

// String returns a redacted form naming only the key ID.
func (k SealKey) String() string { return "SealKey(" + k.ID + ", secret redacted)" }

// Format makes every fmt verb print the redacted form.
func (k SealKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

// LogValue makes log/slog print only the key ID.
func (k SealKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.ID), slog.String("secret", "redacted"))
}

func validKeyID(id string) error {
	if id == "" || len(id) > MaxKeyIDLen {
		return fmt.Errorf("%w: key ID must be 1 to %d characters, got %d", ErrKeyConfig, MaxKeyIDLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: key ID %q: only A-Z, a-z, 0-9, '.', '_' and '-' are allowed", ErrKeyConfig, id)
		}
	}
	return nil
}

// Keyring seals and opens record payloads with AES-256-GCM. It holds one
// or more keys: the primary (newest) key seals, every key opens, so keys
// can be rotated without downtime (see SealedStore.Rotate). A Keyring is
// immutable and safe for concurrent use.
//
// Each sealed blob records the ID of the key that sealed it and is bound
// to its record's customer, kind and name as additional authenticated
// data: a blob copied to another record does not open.
//
// Blob format (version 1):
//
//	byte 0        format version, 1
//	byte 1        n, the length of the key ID (1..64)
//	bytes 2..2+n  key ID
//	12 bytes      random GCM nonce
//	rest          ciphertext and 16-byte GCM tag
//
// The additional data is the string "tenantgate/tokenstore/v1", the blob
// header (format version, n, key ID), then customer, kind and name, each
// preceded by its length as a 4-byte big-endian integer, so no two keys
// produce the same additional data.
//
// Random 96-bit nonces bound the number of seals per key to about 2^32;
// rotate keys long before that.
type Keyring struct {
	primary string
	ids     []string // in configuration order, primary last
	aeads   map[string]cipher.AEAD
}

// NewKeyring returns a keyring of the given keys. The last key is the
// primary: it seals; all keys open. Key IDs must be unique and secrets
// exactly KeySize bytes. The keyring does not keep the callers' slices.
func NewKeyring(keys ...SealKey) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no keys; generate one with tokenstore.GenerateKey or `openssl rand -base64 32`", ErrKeyConfig)
	}
	kr := &Keyring{aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if err := validKeyID(k.ID); err != nil {
			return nil, err
		}
		if _, dup := kr.aeads[k.ID]; dup {
			return nil, fmt.Errorf("%w: key ID %q appears twice; give every key its own ID", ErrKeyConfig, k.ID)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("%w: key %q is %d bytes; AES-256 needs exactly %d random bytes (generate one with `openssl rand -base64 32`)",
				ErrKeyConfig, k.ID, len(k.Secret), KeySize)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrKeyConfig, k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrKeyConfig, k.ID, err)
		}
		kr.aeads[k.ID] = aead
		kr.ids = append(kr.ids, k.ID)
	}
	kr.primary = kr.ids[len(kr.ids)-1]
	return kr, nil
}

// PrimaryKeyID returns the ID of the key that seals.
func (kr *Keyring) PrimaryKeyID() string { return kr.primary }

// KeyIDs returns the IDs of all keys, in configuration order (primary
// last).
func (kr *Keyring) KeyIDs() []string { return slices.Clone(kr.ids) }

// HasKey reports whether the keyring holds a key with this ID.
func (kr *Keyring) HasKey(id string) bool {
	_, ok := kr.aeads[id]
	return ok
}

const (
	blobVersion  = 1
	nonceSize    = 12
	tagSize      = 16
	adDomain     = "tenantgate/tokenstore/v1"
	minBlobBytes = 2 + 1 + nonceSize + tagSize
)

// Seal encrypts plaintext under the primary key, bound to key.
func (kr *Keyring) Seal(key Key, plaintext []byte) ([]byte, error) {
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("tokenstore: seal: %w", err)
	}
	id := kr.primary
	aead := kr.aeads[id]
	hdr := 2 + len(id)
	out := make([]byte, hdr+nonceSize, hdr+nonceSize+len(plaintext)+tagSize)
	out[0] = blobVersion
	out[1] = byte(len(id))
	copy(out[2:], id)
	nonce := out[hdr : hdr+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("tokenstore: seal %s: %w", key, err)
	}
	return aead.Seal(out, nonce, plaintext, additionalData(out[:hdr], key)), nil
}

// Open decrypts a blob made by Seal for the same key. Any failure is an
// *OpenError matching ErrMalformedBlob, ErrUnknownKey or ErrTampered; Open
// never returns plaintext with an error.
func (kr *Keyring) Open(key Key, blob []byte) ([]byte, error) {
	id, hdr, err := parseHeader(blob)
	if err != nil {
		return nil, &OpenError{Key: key, Err: err}
	}
	aead, ok := kr.aeads[id]
	if !ok {
		return nil, &OpenError{Key: key, KeyID: id, Err: ErrUnknownKey}
	}
	nonce := blob[hdr : hdr+nonceSize]
	pt, err := aead.Open(nil, nonce, blob[hdr+nonceSize:], additionalData(blob[:hdr], key))
	if err != nil {
		return nil, &OpenError{Key: key, KeyID: id, Err: ErrTampered}
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, nil
}

// BlobKeyID returns the ID of the key that sealed blob, read from its
// header without opening it. The error matches ErrMalformedBlob.
func BlobKeyID(blob []byte) (string, error) {
	id, _, err := parseHeader(blob)
	return id, err
}

// parseHeader returns the key ID and the header length.
func parseHeader(blob []byte) (id string, hdr int, err error) {
	if len(blob) < minBlobBytes {
		return "", 0, fmt.Errorf("%w: %d bytes, shorter than the smallest sealed blob (%d)", ErrMalformedBlob, len(blob), minBlobBytes)
	}
	if blob[0] != blobVersion {
		return "", 0, fmt.Errorf("%w: unknown format version %d", ErrMalformedBlob, blob[0])
	}
	n := int(blob[1])
	hdr = 2 + n
	if n == 0 || n > MaxKeyIDLen || len(blob) < hdr+nonceSize+tagSize {
		return "", 0, fmt.Errorf("%w: bad key ID length %d for a %d-byte blob", ErrMalformedBlob, n, len(blob))
	}
	id = string(blob[2:hdr])
	if validKeyID(id) != nil {
		return "", 0, fmt.Errorf("%w: key ID has characters outside A-Z, a-z, 0-9, '.', '_', '-'", ErrMalformedBlob)
	}
	return id, hdr, nil
}

func additionalData(header []byte, key Key) []byte {
	ad := make([]byte, 0, len(adDomain)+len(header)+12+len(key.Customer)+len(key.Kind)+len(key.Name))
	ad = append(ad, adDomain...)
	ad = append(ad, header...)
	for _, s := range [...]string{key.Customer, key.Kind, key.Name} {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(s)))
		ad = append(ad, s...)
	}
	return ad
}
