package m365test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

var b64 = base64.RawURLEncoding

// signer signs the fake's tokens with one RSA key (RS256), like Entra ID.
type signer struct {
	key *rsa.PrivateKey
	kid string
}

func newSigner(key *rsa.PrivateKey) *signer {
	sum := sha256.Sum256(key.N.Bytes())
	return &signer{key: key, kid: b64.EncodeToString(sum[:12])}
}

// sign returns a compact JWS of claims.
func (s *signer) sign(claims map[string]any) (string, error) {
	header := map[string]any{"typ": "JWT", "alg": "RS256", "kid": s.kid, "x5t": s.kid}
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// jwks is the JSON Web Key Set publishing the signing key.
func (s *signer) jwks() map[string]any {
	pub := s.key.PublicKey
	return map[string]any{"keys": []any{map[string]any{
		"kty": "RSA",
		"use": "sig",
		"kid": s.kid,
		"x5t": s.kid,
		"n":   b64.EncodeToString(pub.N.Bytes()),
		"e":   b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}

// jws is a parsed, not yet verified, compact JWS.
type jws struct {
	header map[string]any
	claims map[string]any
	input  string
	sig    []byte
}

var errMalformedJWT = errors.New("malformed JWT")

// parseJWS splits and decodes a compact JWS without verifying it.
func parseJWS(token string) (*jws, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errMalformedJWT
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", errMalformedJWT, err)
	}
	cb, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: claims: %v", errMalformedJWT, err)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", errMalformedJWT, err)
	}
	j := &jws{input: parts[0] + "." + parts[1], sig: sig}
	if err := json.Unmarshal(hb, &j.header); err != nil {
		return nil, fmt.Errorf("%w: header: %v", errMalformedJWT, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(cb)))
	dec.UseNumber()
	if err := dec.Decode(&j.claims); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", errMalformedJWT, err)
	}
	return j, nil
}

// verifyRSA checks the signature with pub; alg is RS256 or PS256.
func (j *jws) verifyRSA(pub *rsa.PublicKey) error {
	alg, _ := j.header["alg"].(string)
	sum := sha256.Sum256([]byte(j.input))
	switch alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], j.sig)
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], j.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	default:
		return fmt.Errorf("unsupported alg %q", alg)
	}
}

func (j *jws) str(name string) string {
	s, _ := j.claims[name].(string)
	return s
}

// unix reads a NumericDate claim.
func (j *jws) unix(name string) (int64, bool) {
	switch v := j.claims[name].(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i, true
		}
		if f, err := v.Float64(); err == nil {
			return int64(f), true
		}
	case float64:
		return int64(v), true
	}
	return 0, false
}

// strings reads a claim that is a string or a list of strings.
func (j *jws) strs(name string) []string {
	switch v := j.claims[name].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
