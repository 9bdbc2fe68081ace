package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tenantgate/tenantgate/httpapi"
)

// signInFlowTTL bounds a technician's sign-in at Microsoft: the state,
// nonce and PKCE verifier are forgotten after it.
const signInFlowTTL = 10 * time.Minute

// entraSignIn signs the provider's technicians in to the portal with
// Microsoft Entra ID: OpenID Connect's authorization code flow with PKCE
// (S256), state and nonce, against the provider's own tenant (a
// single-tenant authority, never "organizations"), with the app roles of
// the sign-in app in the id_token's roles claim deciding the portal role.
type entraSignIn struct {
	authority string // e.g. https://login.microsoftonline.com
	tenant    string // the provider's tenant, GUID or domain
	clientID  string
	secret    string
	redirect  string // the portal's /login/callback
	http      *http.Client
	now       func() time.Time

	flows *sessionStore // the sign-ins under way, shared by the replicas

	mu     sync.Mutex
	meta   *oidcMetadata
	keys   map[string]*rsa.PublicKey
	keysAt time.Time
}

// signInFlow is a started sign-in. Its PKCE verifier is not kept: it is
// pkceVerifier of the browser's flow cookie.
type signInFlow struct {
	nonce   string
	binding [sha256.Size]byte // hash of the browser's flow cookie
	next    string
	expires time.Time
}

// oidcMetadata is what the portal reads of the tenant's OpenID
// configuration.
type oidcMetadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// technician is who signed in, from the verified id_token.
type technician struct {
	ObjectID, TenantID string
	Name, Username     string
	Role               httpapi.Role
}

// signInError is a sign-in the portal refuses, with what to tell the
// person (never a token).
type signInError struct{ msg string }

func (e *signInError) Error() string { return e.msg }

func newEntraSignIn(authority, tenant, clientID, secret, redirect string, hc *http.Client, now func() time.Time, flows *sessionStore) *entraSignIn {
	return &entraSignIn{authority: strings.TrimSuffix(authority, "/"), tenant: tenant, clientID: clientID, secret: secret,
		redirect: redirect, http: hc, now: now, flows: flows}
}

// metadata reads (once, then cached) the tenant's OpenID configuration.
func (s *entraSignIn) metadata(ctx context.Context) (*oidcMetadata, error) {
	s.mu.Lock()
	m := s.meta
	s.mu.Unlock()
	if m != nil {
		return m, nil
	}
	var md oidcMetadata
	if err := s.getJSON(ctx, s.authority+"/"+url.PathEscape(s.tenant)+"/v2.0/.well-known/openid-configuration", &md); err != nil {
		return nil, fmt.Errorf("read the sign-in tenant's OpenID configuration: %w", err)
	}
	if md.Issuer == "" || md.AuthorizationEndpoint == "" || md.TokenEndpoint == "" || md.JWKSURI == "" || strings.Contains(md.Issuer, "{tenantid}") {
		return nil, errors.New("the sign-in tenant's OpenID configuration is incomplete or not a single tenant's (set -signin-tenant to the provider's tenant ID or domain)")
	}
	s.mu.Lock()
	s.meta = &md
	s.mu.Unlock()
	return &md, nil
}

func (s *entraSignIn) getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", req.URL.Host, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// begin starts a sign-in for the browser holding binding and returns the
// Microsoft sign-in URL.
func (s *entraSignIn) begin(ctx context.Context, binding, next string) (string, error) {
	md, err := s.metadata(ctx)
	if err != nil {
		return "", err
	}
	state, nonce := randomToken(24), randomToken(24)
	f := signInFlow{nonce: nonce, binding: sha256.Sum256([]byte(binding)), next: next, expires: s.now().Add(signInFlowTTL)}
	if err := s.flows.putSignIn(ctx, state, f); err != nil {
		return "", err
	}
	challenge := sha256.Sum256([]byte(pkceVerifier(binding)))
	q := url.Values{
		"client_id":             {s.clientID},
		"response_type":         {"code"},
		"redirect_uri":          {s.redirect},
		"response_mode":         {"query"},
		"scope":                 {"openid profile"},
		"state":                 {state},
		"nonce":                 {nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
		"prompt":                {"select_account"},
	}
	return md.AuthorizationEndpoint + "?" + q.Encode(), nil
}

// complete finishes the sign-in the callback r brings, for the browser
// holding binding: the state must be one this portal started for that
// browser (once), the code is redeemed with the PKCE verifier, and the
// id_token must verify. It returns the technician and where to go next.
func (s *entraSignIn) complete(ctx context.Context, q url.Values, binding string) (technician, string, error) {
	state := q.Get("state")
	var f signInFlow
	ok := false
	if state != "" && len(state) <= 128 {
		var err error
		if f, ok, err = s.flows.takeSignIn(ctx, state); err != nil {
			return technician{}, "", err
		}
	}
	b := sha256.Sum256([]byte(binding))
	if !ok || state == "" || s.now().After(f.expires) || subtle.ConstantTimeCompare(b[:], f.binding[:]) != 1 {
		return technician{}, "", &signInError{"This sign-in was not started here, was already used or took longer than 10 minutes. Sign in again."}
	}
	if e := q.Get("error"); e != "" {
		desc := q.Get("error_description")
		if code, _, ok := strings.Cut(desc, ":"); ok && strings.HasPrefix(code, "AADSTS") {
			desc = code
		} else {
			desc = ""
		}
		msg := "Microsoft did not sign you in"
		if e == "access_denied" {
			msg = "The sign-in was cancelled or refused at Microsoft"
		}
		if desc != "" {
			msg += " (" + desc + ")"
		}
		return technician{}, "", &signInError{msg + ". Sign in again, or ask your Entra ID administrator."}
	}
	code := q.Get("code")
	if code == "" {
		return technician{}, "", &signInError{"Microsoft's answer has no authorization code. Sign in again."}
	}
	md, err := s.metadata(ctx)
	if err != nil {
		return technician{}, "", err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {s.clientID}, "code": {code},
		"redirect_uri": {s.redirect}, "code_verifier": {pkceVerifier(binding)}, "scope": {"openid profile"}}
	if s.secret != "" {
		form.Set("client_secret", s.secret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, md.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return technician{}, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.http.Do(req)
	if err != nil {
		return technician{}, "", fmt.Errorf("redeem the sign-in code: %w", err)
	}
	defer resp.Body.Close()
	var tr struct {
		IDToken   string `json:"id_token"`
		Error     string `json:"error"`
		ErrorDesc string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil {
		return technician{}, "", fmt.Errorf("redeem the sign-in code: %s answered %d", req.URL.Host, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK || tr.IDToken == "" {
		code, _, _ := strings.Cut(tr.ErrorDesc, ":")
		if !strings.HasPrefix(code, "AADSTS") {
			code = tr.Error
		}
		return technician{}, "", &signInError{fmt.Sprintf("Microsoft refused to complete the sign-in (%s). Sign in again.", code)}
	}
	tech, err := s.verify(ctx, md, tr.IDToken, f.nonce)
	if err != nil {
		return technician{}, "", err
	}
	return tech, f.next, nil
}

// idTokenClaims are the claims the portal reads.
type idTokenClaims struct {
	jwt.RegisteredClaims
	Nonce             string   `json:"nonce"`
	TenantID          string   `json:"tid"`
	ObjectID          string   `json:"oid"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Roles             []string `json:"roles"`
}

// verify checks an id_token: RS256 signature against the tenant's keys,
// issuer (the tenant's, from its configuration), audience (the sign-in
// app), exp/nbf/iat with five minutes' skew, nonce, tid and oid; then
// maps its roles claim to the portal role.
func (s *entraSignIn) verify(ctx context.Context, md *oidcMetadata, raw, nonce string) (technician, error) {
	var c idTokenClaims
	_, err := jwt.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return s.key(ctx, md, kid)
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(s.clientID), jwt.WithIssuer(md.Issuer),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(5*time.Minute), jwt.WithTimeFunc(s.now))
	if err != nil {
		return technician{}, &signInError{"Microsoft's sign-in answer did not verify (" + jwtProblem(err) + "). Sign in again."}
	}
	if c.Nonce == "" || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1 {
		return technician{}, &signInError{"Microsoft's sign-in answer is not for this sign-in (nonce). Sign in again."}
	}
	if c.ObjectID == "" || c.TenantID == "" || !strings.HasSuffix(md.Issuer, "/"+c.TenantID+"/v2.0") {
		return technician{}, &signInError{"Microsoft's sign-in answer names no user of the provider's tenant. Sign in again."}
	}
	role, ok := httpapi.HighestRole(c.Roles)
	if !ok {
		return technician{}, &signInError{fmt.Sprintf("%s has no role in this portal. Ask your Entra ID administrator to assign you viewer, operator or admin on the portal's app (Enterprise applications, Users and groups).", displayName(c.Name, c.PreferredUsername))}
	}
	return technician{ObjectID: c.ObjectID, TenantID: c.TenantID, Name: c.Name, Username: c.PreferredUsername, Role: role}, nil
}

func displayName(name, username string) string {
	switch {
	case name != "" && username != "":
		return name + " (" + username + ")"
	case name != "":
		return name
	case username != "":
		return username
	}
	return "This account"
}

// jwtProblem names the failed check, never the token.
func jwtProblem(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "not valid yet: check this server's clock"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "for another application"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "from another tenant"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "signature"
	}
	return "malformed"
}

// key returns the tenant's signing key kid, reading the JWKS when it is
// not known (at most once a minute) or a day old.
func (s *entraSignIn) key(ctx context.Context, md *oidcMetadata, kid string) (*rsa.PublicKey, error) {
	now := s.now()
	s.mu.Lock()
	k, ok := s.keys[kid]
	fresh := now.Sub(s.keysAt) < 24*time.Hour
	recent := now.Sub(s.keysAt) < time.Minute
	s.mu.Unlock()
	if ok && fresh {
		return k, nil
	}
	if recent {
		return nil, errors.New("unknown signing key")
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Kty string `json:"kty"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := s.getJSON(ctx, md.JWKSURI, &set); err != nil {
		return nil, err
	}
	keys := map[string]*rsa.PublicKey{}
	for _, jk := range set.Keys {
		if jk.Kty != "RSA" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(jk.N)
		e, err2 := base64.RawURLEncoding.DecodeString(jk.E)
		if err1 != nil || err2 != nil || len(e) > 4 {
			continue
		}
		keys[jk.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	s.mu.Lock()
	s.keys, s.keysAt = keys, now
	s.mu.Unlock()
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, errors.New("unknown signing key")
}

// newBinding returns a random browser binding value.
func newBinding() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
