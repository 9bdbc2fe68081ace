package m365access

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// idClaims are the id_token claims the token connection checks.
type idClaims struct {
	jwt.RegisteredClaims
	Nonce    string `json:"nonce"`
	TenantID string `json:"tid"`
	// ObjectID is the user's immutable object ID in the tenant: with
	// TenantID it identifies the account (never email or names, which the
	// user or an admin can change).
	ObjectID          string   `json:"oid"`
	PreferredUsername string   `json:"preferred_username"`
	UPN               string   `json:"upn"`
	Roles             []string `json:"wids"` // directory role template IDs
	// HasRoles tells an empty wids claim from an absent one.
	HasRoles bool `json:"-"`
}

// user is the signed-in user's name for display: upn, else
// preferred_username. It never decides who the user is.
func (c idClaims) user() string {
	if c.UPN != "" {
		return c.UPN
	}
	return c.PreferredUsername
}

// idTokenSkew is the clock difference tolerated on exp, nbf and iat.
const idTokenSkew = 5 * time.Minute

// verifyIDToken checks the id_token of a sign-in to tenant: the RS256
// signature against the tenant's published keys (JWKS), aud (the provider
// app), exp, nbf and iat (with idTokenSkew), tid, iss
// ({authority}/{tid}/v2.0) and nonce. Rejections are *FlowError; their
// details name the failed check, never the token.
func (m *Manager) verifyIDToken(ctx context.Context, ep CloudEndpoints, raw, tenant, nonce string) (idClaims, error) {
	var c idClaims
	invalid := func(format string, a ...any) (idClaims, error) {
		return idClaims{}, &FlowError{Reason: ReasonIDTokenInvalid, Detail: fmt.Sprintf(format, a...)}
	}
	if raw == "" {
		return invalid("the token response has no id_token")
	}
	var keyErr error
	_, err := jwt.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, err := m.jwks.key(ctx, m.http, ep.AuthorityHost+"/"+tenant+"/discovery/v2.0/keys", kid)
		keyErr = err
		return key, err
	},
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithAudience(m.provider.ClientID),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(idTokenSkew),
		jwt.WithTimeFunc(m.now),
	)
	switch {
	case keyErr != nil:
		var fe *FlowError
		if errors.As(keyErr, &fe) {
			return idClaims{}, fe
		}
		return idClaims{}, &Error{Op: "read the tenant's signing keys", Action: ActionWaitAndRetry, Retryable: true, Err: sanitized{keyErr}}
	case errors.Is(err, jwt.ErrTokenExpired):
		return invalid("the id_token expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return invalid("the id_token is not valid yet (check this server's clock)")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return invalid("the id_token is for another application")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return invalid("the id_token signature does not verify against the tenant's keys")
	case err != nil:
		return invalid("the id_token is malformed or fails its checks")
	}
	if c.IssuedAt == nil {
		return invalid("the id_token has no iat")
	}
	if !strings.EqualFold(c.TenantID, tenant) {
		return idClaims{}, &FlowError{Reason: ReasonTenantMismatch, Detail: fmt.Sprintf("signed in to tenant %s, expected %s", safeToken(c.TenantID), tenant)}
	}
	if want := ep.AuthorityHost + "/" + strings.ToLower(c.TenantID) + "/v2.0"; c.Issuer != want {
		return invalid("the id_token's issuer is %q, expected %q", clip(safeToken(c.Issuer)), want)
	}
	if c.Nonce == "" || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1 {
		return idClaims{}, &FlowError{Reason: ReasonNonceMismatch}
	}
	if c.ObjectID == "" {
		return invalid("the id_token has no oid")
	}
	c.HasRoles = hasClaim(raw, "wids")
	return c, nil
}

// hasClaim reports whether a verified JWT's payload has the named claim.
func hasClaim(raw, name string) bool {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil {
		return false
	}
	_, ok := m[name]
	return ok
}
