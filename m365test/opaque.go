package m365test

import (
	"encoding/json"
	"strings"
	"time"
)

// Access tokens for Microsoft Graph are opaque to clients: Microsoft says
// their format may change (or be encrypted) at any time, and a client
// must not read them. Entra ID issues JWTs today, and so does the fake by
// default; with Options.OpaqueAccessTokens it issues random strings that
// no JWT parser can read, and keeps their claims itself, so a test proves
// that a client never decodes one.

// opaqueTokenPrefix starts the fake's opaque access tokens. It has no
// dot, so nothing mistakes one for a JWT.
const opaqueTokenPrefix = "EwBm365test"

// accessToken returns the access token for claims: a signed JWT, or with
// Options.OpaqueAccessTokens an opaque reference the fake resolves.
func (s *Server) accessToken(claims map[string]any) (string, error) {
	s.rel.noteIssued(claims)
	if !s.opts.OpaqueAccessTokens {
		return s.signer.sign(claims)
	}
	// Keep the claims as a parsed JWT would hold them (numbers as
	// json.Number), so verifyBearer treats both kinds alike.
	b, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	j := &jws{header: map[string]any{"alg": "RS256", "kid": s.signer.kid}}
	if err := dec.Decode(&j.claims); err != nil {
		return "", err
	}
	tok := strings.ReplaceAll(randomToken(opaqueTokenPrefix), "-", "_")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opaque == nil {
		s.opaque = map[string]*jws{}
	}
	if len(s.opaque) >= 4096 {
		now := s.nowLocked()
		for k, v := range s.opaque {
			if exp, ok := v.unix("exp"); ok && !now.Before(time.Unix(exp, 0)) {
				delete(s.opaque, k)
			}
		}
	}
	s.opaque[tok] = j
	return tok, nil
}

// opaqueClaims returns the claims of an opaque access token the fake
// issued.
func (s *Server) opaqueClaims(tok string) (*jws, bool) {
	if !strings.HasPrefix(tok, opaqueTokenPrefix) {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.opaque[tok]
	return j, ok
}
