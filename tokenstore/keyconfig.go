package tokenstore

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// ParseKeyring builds a keyring from configuration text: entries of the
// form "id:base64key", separated by newlines or commas. Blank lines and
// lines starting with '#' are ignored. The secret is 32 bytes in standard
// or URL-safe base64, padded or not. The LAST entry is the primary key, so
// a rotation appends a new entry at the end. For example:
//
//	# tenantgate sealing keys; the last one seals
//	2025-01:q1ZcZ0dV0TgYz8Xz0wJ6d3w1rj6k0nqJ3rQp9b3+0OA=
//	2026-01:4lZ5dPfKq9kbd0n8s2pU9x0m5qv0Zr3rj0ZKc3QXvQk=
//
// Errors match ErrKeyConfig, say which entry is wrong and never contain
// key material.
func ParseKeyring(text string) (*Keyring, error) {
	return parseKeyring(text, "keyring configuration")
}

// LoadKeyringFile reads a keyring in the ParseKeyring format from a file.
// Keep the file readable by the service's user only (mode 0600).
func LoadKeyringFile(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: read key file: %w", ErrKeyConfig, err)
	}
	return parseKeyring(string(b), "key file "+path)
}

// KeyringFromEnv reads a keyring in the ParseKeyring format (usually one
// "id:base64key" entry, or several separated by commas) from the
// environment variable name. An unset or empty variable is an error.
func KeyringFromEnv(name string) (*Keyring, error) {
	v, ok := os.LookupEnv(name)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%w: environment variable %s is not set; set it to \"id:base64key\" with a key from `openssl rand -base64 32` (for example %s=k1:$(openssl rand -base64 32))",
			ErrKeyConfig, name, name)
	}
	return parseKeyring(v, "environment variable "+name)
}

func parseKeyring(text, source string) (*Keyring, error) {
	var keys []SealKey
	for lineNo, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, entry := range strings.Split(line, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			k, err := parseEntry(entry)
			if err != nil {
				return nil, fmt.Errorf("%s, line %d, entry %d: %w", source, lineNo+1, len(keys)+1, err)
			}
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: %s holds no keys; add a line \"id:base64key\" with a key from `openssl rand -base64 32`", ErrKeyConfig, source)
	}
	kr, err := NewKeyring(keys...)
	for _, k := range keys {
		clear(k.Secret)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return kr, nil
}

func parseEntry(entry string) (SealKey, error) {
	id, enc, ok := strings.Cut(entry, ":")
	if !ok {
		return SealKey{}, fmt.Errorf("%w: expected \"id:base64key\" (for example k1:<output of `openssl rand -base64 32`>), found no ':'", ErrKeyConfig)
	}
	id, enc = strings.TrimSpace(id), strings.TrimSpace(enc)
	if err := validKeyID(id); err != nil {
		return SealKey{}, err
	}
	if enc == "" {
		return SealKey{}, fmt.Errorf("%w: key %q has no secret after ':'", ErrKeyConfig, id)
	}
	var secret []byte
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := e.DecodeString(enc); err == nil {
			secret = b
			break
		}
	}
	if secret == nil {
		return SealKey{}, fmt.Errorf("%w: key %q is not valid base64", ErrKeyConfig, id)
	}
	if len(secret) != KeySize {
		return SealKey{}, fmt.Errorf("%w: key %q decodes to %d bytes; AES-256 needs exactly %d (generate one with `openssl rand -base64 32`)",
			ErrKeyConfig, id, len(secret), KeySize)
	}
	return SealKey{ID: id, Secret: secret}, nil
}
