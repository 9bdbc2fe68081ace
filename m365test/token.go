package m365test

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/m365test/internal/directory"
)

// handleToken is the token endpoint.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, c *call) {
	resp, e := s.token(r, c)
	if e != nil {
		s.writeEntraError(w, r, e)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

func missingParam(name string) *entraError {
	return newEntraError(http.StatusBadRequest, "invalid_request", CodeMissingParameter,
		"The request body must contain the following parameter: '%s'.", name)
}

func appNotFound(clientID string, t *Tenant) *entraError {
	dir := "the directory"
	if t != nil {
		dir = "the directory '" + t.DisplayName + "'"
	}
	return newEntraError(http.StatusBadRequest, "unauthorized_client", CodeAppNotFound,
		"Application with identifier '%s' was not found in %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, dir)
}

func (s *Server) token(r *http.Request, c *call) (map[string]any, *entraError) {
	if err := r.ParseForm(); err != nil {
		return nil, newEntraError(http.StatusBadRequest, "invalid_request", CodeMalformedGrant, "Invalid request. Request is malformed or invalid.")
	}
	f := r.PostForm
	t, multi, e := s.resolveTenant(r.PathValue("tenant"))
	if e != nil {
		return nil, e
	}
	grantType := f.Get("grant_type")
	if grantType == "" {
		return nil, missingParam("grant_type")
	}
	clientID := strings.ToLower(f.Get("client_id"))
	if clientID == "" {
		if user, _, ok := r.BasicAuth(); ok {
			clientID = strings.ToLower(user)
		}
	}
	if clientID == "" {
		return nil, missingParam("client_id")
	}
	c.clientID = clientID
	a, ok := s.App(clientID)
	if !ok {
		return nil, appNotFound(clientID, t)
	}
	ca, e := s.authenticateClient(r, a)
	if e != nil {
		return nil, e
	}
	switch grantType {
	case "authorization_code":
		return s.grantAuthCode(r, a, t, multi, ca)
	case "refresh_token":
		return s.grantRefresh(r, a, t, multi, ca)
	case "client_credentials":
		if multi {
			return nil, newEntraError(http.StatusBadRequest, "invalid_request", CodeTenantIndependentCreds,
				"Use of the tenant-independent endpoint '%s' is not supported for this grant type. Use a tenant-specific endpoint.", r.PathValue("tenant"))
		}
		return s.grantClientCredentials(r, a, t, ca)
	case "password":
		return s.grantPassword(r, a, t, ca)
	default:
		return nil, newEntraError(http.StatusBadRequest, "unsupported_grant_type", CodeUnsupportedGrant,
			"The app requested an unsupported grant type '%s'.", grantType)
	}
}

// authenticateClient checks the client credentials of the request: a
// secret (form or HTTP Basic) or a certificate-signed assertion. Apps
// allowing public client flows may send none.
func (s *Server) authenticateClient(r *http.Request, a *App) (clientAuth, *entraError) {
	f := r.PostForm
	secret := f.Get("client_secret")
	if secret == "" {
		if _, pw, ok := r.BasicAuth(); ok {
			secret = pw
		}
	}
	switch {
	case secret != "":
		s.mu.Lock()
		e := a.checkSecretLocked(secret, s.nowLocked())
		s.mu.Unlock()
		if e != nil {
			return "", e
		}
		return authSecret, nil
	case f.Get("client_assertion") != "":
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return "", newEntraError(http.StatusBadRequest, "invalid_request", CodeMissingParameter,
				"The request body must contain the following parameter: 'client_assertion_type'.")
		}
		if e := s.verifyAssertion(f.Get("client_assertion"), a, r.PathValue("tenant")); e != nil {
			return "", e
		}
		return authCert, nil
	case a.public && f.Get("grant_type") != "client_credentials":
		return authPublic, nil
	default:
		return "", newEntraError(http.StatusUnauthorized, "invalid_client", CodeCredentialsMissing,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
}

func badAssertion(format string, args ...any) *entraError {
	return newEntraError(http.StatusUnauthorized, "invalid_client", CodeInvalidAssertion, format, args...)
}

// verifyAssertion verifies a client assertion JWT against the app's
// registered certificates (x5t#S256 with PS256, or x5t with RS256). Its
// time window is judged by Options.Now, without the Advance offset: the
// client signs with its own clock.
func (s *Server) verifyAssertion(assertion string, a *App, seg string) *entraError {
	j, err := parseJWS(assertion)
	if err != nil {
		return badAssertion("Client assertion failed signature validation. Reason: %v.", err)
	}
	if !strings.EqualFold(j.str("iss"), a.ClientID) {
		// Issued by someone else: a federated identity credential's token.
		return s.verifyFederated(j, a)
	}
	var tp []byte
	for _, h := range []string{"x5t#S256", "x5t"} {
		if v, ok := j.header[h].(string); ok && v != "" {
			if tp, err = base64.StdEncoding.DecodeString(v); err != nil {
				tp, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
			}
			if err != nil {
				return badAssertion("Client assertion contains an invalid thumbprint.")
			}
			break
		}
	}
	if tp == nil {
		return badAssertion("Client assertion failed signature validation. The assertion names no certificate thumbprint (x5t).")
	}
	s.mu.Lock()
	cert := a.certByThumbprintLocked(tp)
	s.mu.Unlock()
	if cert == nil {
		return badAssertion("Client assertion failed signature validation. Reason - The key was not found., Thumbprint of key used by client: '%X'. Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.", tp, a.ClientID)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return badAssertion("Client assertion failed signature validation. Only RSA certificates are supported.")
	}
	if err := j.verifyRSA(pub); err != nil {
		return badAssertion("Client assertion failed signature validation. Reason - The signature is invalid.")
	}
	if !strings.EqualFold(j.str("iss"), a.ClientID) || !strings.EqualFold(j.str("sub"), a.ClientID) {
		return badAssertion("Client assertion failed signature validation. The iss and sub claims must be the client ID '%s'.", a.ClientID)
	}
	if aud := j.str("aud"); !strings.HasSuffix(strings.ToLower(aud), "/oauth2/v2.0/token") && !strings.HasSuffix(strings.ToLower(aud), "/oauth2/token") {
		return newEntraError(http.StatusUnauthorized, "invalid_client", 700212, "No matching federated identity record found for presented assertion audience '%s'.", aud)
	}
	now := s.opts.Now()
	exp, okE := j.unix("exp")
	nbf, okN := j.unix("nbf")
	const skew = 5 * time.Minute
	if !okE || now.After(time.Unix(exp, 0).Add(skew)) || (okN && now.Add(skew).Before(time.Unix(nbf, 0))) {
		return newEntraError(http.StatusUnauthorized, "invalid_client", CodeAssertionExpired, "Client assertion is not within its valid time range.")
	}
	if now.After(cert.NotAfter) {
		return badAssertion("Client assertion failed signature validation. The certificate expired on %s.", cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

func malformedGrant() *entraError {
	return newEntraError(http.StatusBadRequest, "invalid_grant", CodeMalformedGrant, "Invalid request. Request is malformed or invalid.")
}

// grantAuthCode redeems an authorization code.
func (s *Server) grantAuthCode(r *http.Request, a *App, t *Tenant, multi bool, ca clientAuth) (map[string]any, *entraError) {
	f := r.PostForm
	code := f.Get("code")
	if code == "" {
		return nil, missingParam("code")
	}
	redirect := f.Get("redirect_uri")
	if redirect == "" {
		return nil, missingParam("redirect_uri")
	}
	s.mu.Lock()
	ac := s.codes[code]
	if ac == nil {
		s.mu.Unlock()
		return nil, malformedGrant()
	}
	if ac.used {
		s.mu.Unlock()
		return nil, newEntraError(http.StatusBadRequest, "invalid_grant", CodeCodeRedeemed,
			"OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	}
	ac.used = true
	now := s.nowLocked()
	s.mu.Unlock()
	if now.Sub(ac.issued) > s.opts.CodeLifetime {
		return nil, newEntraError(http.StatusBadRequest, "invalid_grant", CodeCodeExpired,
			"The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	}
	if ac.clientID != a.ClientID || (!multi && t.ID != ac.tenant.ID) {
		return nil, newEntraError(http.StatusBadRequest, "invalid_grant", CodeClientMismatch, "Provided grant is invalid or malformed.")
	}
	if redirect != ac.redirectURI {
		return nil, newEntraError(http.StatusBadRequest, "invalid_grant", CodeRedirectMismatch,
			"The redirect URI '%s' specified in the request does not match the redirect URI used to obtain the authorization code.", redirect)
	}
	if ac.challenge != "" {
		verifier := f.Get("code_verifier")
		want := verifier
		if ac.method == "S256" {
			sum := sha256.Sum256([]byte(verifier))
			want = b64.EncodeToString(sum[:])
		}
		if verifier == "" || subtle.ConstantTimeCompare([]byte(want), []byte(ac.challenge)) != 1 {
			return nil, newEntraError(http.StatusBadRequest, "invalid_grant", CodePKCEMismatch,
				"The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.")
		}
	}
	sr, e := parseScope(ac.scope, ac.tenant)
	if e != nil {
		return nil, e
	}
	// The token request's scope may add offline_access and openid (MSAL
	// adds them there, not to the authorize URL).
	if tr, e := parseScope(f.Get("scope"), ac.tenant); e == nil {
		sr.offline = sr.offline || tr.offline
		if tr.openid && !sr.openid {
			sr.openid, sr.raw = true, sr.raw+" openid"
		}
	}
	if e := s.accountRefusal(ac.tenant, a, ac.user, false); e != nil {
		return nil, e
	}
	return s.delegated(r, a, ac.tenant, ac.user, sr, ac.nonce, ac.mfa, ca)
}

// delegated checks consent and issues a user's tokens.
func (s *Server) delegated(r *http.Request, a *App, t *Tenant, u directory.User, sr *scopeRequest, nonce string, mfa bool, ca clientAuth) (map[string]any, *entraError) {
	if a.singleTenant && a.homeTenant != t.ID {
		return nil, appNotFound(a.ClientID, t)
	}
	s.mu.Lock()
	var missing, granted []string
	if sr.graphDflt || !sr.hasGraph {
		granted = s.delegatedGrantedLocked(t, a, u.ID)
		if sr.graphDflt && len(granted) == 0 {
			missing = a.delegated
			if len(missing) == 0 {
				missing = []string{".default"}
			}
		}
	} else {
		missing = s.missingConsentLocked(t, a, u.ID, sr.graph)
		granted = s.delegatedGrantedLocked(t, a, u.ID)
	}
	s.mu.Unlock()
	if len(missing) > 0 {
		return nil, newEntraError(http.StatusBadRequest, "invalid_grant", CodeConsentRequired,
			"The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", a.ClientID, a.DisplayName).withSub("consent_required")
	}
	resp, err := s.userTokens(r.Host, t, a, u, granted, sr.raw, nonce, mfa, ca, sr.offline, r.PostForm.Get("client_info") == "1")
	if err != nil {
		return nil, newEntraError(http.StatusInternalServerError, "server_error", 90033, "A transient error has occurred. Please try again.")
	}
	return resp, nil
}

// grantRefresh redeems a refresh token.
func (s *Server) grantRefresh(r *http.Request, a *App, t *Tenant, multi bool, ca clientAuth) (map[string]any, *entraError) {
	f := r.PostForm
	raw := f.Get("refresh_token")
	if raw == "" {
		return nil, missingParam("refresh_token")
	}
	s.mu.Lock()
	rt := s.refresh[raw]
	now := s.nowLocked()
	var revokedAt int64
	if rt != nil {
		revokedAt = rt.tenant.revoked[rt.user.ID]
	}
	s.mu.Unlock()
	if rt == nil {
		return nil, malformedGrant()
	}
	if rt.clientID != a.ClientID || (!multi && t.ID != rt.tenant.ID) {
		return nil, newEntraError(http.StatusBadRequest, "invalid_grant", CodeClientMismatch, "Provided grant is invalid or malformed.")
	}
	if revokedAt != 0 && rt.issued.UnixNano() <= revokedAt {
		return nil, newEntraError(http.StatusBadRequest, "invalid_grant", CodeGrantRevoked,
			"The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s' and the TokensValidFrom date (before which tokens are not valid) for this user is '%s'.",
			rt.issued.UTC().Format("2006-01-02T15:04:05.0000000Z"), time.Unix(0, revokedAt).UTC().Format("2006-01-02T15:04:05.0000000Z"))
	}
	if !now.Before(rt.expires) {
		return nil, newEntraError(http.StatusBadRequest, "invalid_grant", CodeRefreshInactive,
			"The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.",
			rt.issued.UTC().Format("2006-01-02T15:04:05.0000000Z"), formatSpan(s.opts.RefreshTokenLifetime))
	}
	scope := f.Get("scope")
	if scope == "" {
		scope = "https://" + GraphHost + "/.default offline_access"
	}
	sr, e := parseScope(scope, rt.tenant)
	if e != nil {
		return nil, e
	}
	// A refresh answers with a new refresh token whether or not this
	// request's scope repeats offline_access (auth code flow reference,
	// "Refresh the access token": the response's refresh_token is "a new
	// OAuth 2.0 refresh token"; offline_access is needed on the first
	// request only).
	sr.offline = true
	if e := s.accountRefusal(rt.tenant, a, rt.user, true); e != nil {
		return nil, e
	}
	return s.delegated(r, a, rt.tenant, rt.user, sr, "", rt.mfa, ca)
}

// formatSpan formats d as .NET's TimeSpan "d.hh:mm:ss".
func formatSpan(d time.Duration) string {
	sec := int64(d / time.Second)
	return fmt.Sprintf("%d.%02d:%02d:%02d", sec/86400, sec%86400/3600, sec%3600/60, sec%60)
}

// grantClientCredentials issues an app-only token.
func (s *Server) grantClientCredentials(r *http.Request, a *App, t *Tenant, ca clientAuth) (map[string]any, *entraError) {
	scope := r.PostForm.Get("scope")
	if scope == "" {
		return nil, missingParam("scope")
	}
	sr, e := parseScope(scope, t)
	if e != nil {
		return nil, e
	}
	if !sr.graphDflt || len(sr.graph) > 0 {
		return nil, newEntraError(http.StatusBadRequest, "invalid_scope", CodeScopeNotDefault,
			"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)
	}
	s.mu.Lock()
	sp := s.servicePrincipalLocked(t, a) && (!a.singleTenant || a.homeTenant == t.ID)
	roles := s.rolesLocked(t, a)
	s.mu.Unlock()
	if !sp {
		return nil, appNotFound(a.ClientID, t)
	}
	if e := s.appDisabled(t, a); e != nil {
		return nil, e
	}
	resp, err := s.appToken(t, a, roles, ca, "https://"+GraphHost+"/.default")
	if err != nil {
		return nil, newEntraError(http.StatusInternalServerError, "server_error", 90033, "A transient error has occurred. Please try again.")
	}
	return resp, nil
}

// findUser finds the user upn for a sign-in at the path tenant t (nil for
// organizations/common).
func (s *Server) findUser(t *Tenant, upn string) (*Tenant, directory.User, *entraError) {
	// A guest signs in with its home address at the resource tenant.
	if t != nil {
		if g := s.guestOf(t, upn); g != nil {
			if u, ok := t.dir.User(g.ID); ok {
				return t, u, nil
			}
		}
	}
	_, domain, _ := strings.Cut(upn, "@")
	ut, ok := s.Tenant(domain)
	notFound := newEntraError(http.StatusBadRequest, "invalid_grant", CodeUserNotFound,
		"The user account {EUII Hidden} does not exist in the directory. To sign into this application, the account must be added to the directory.")
	if !ok {
		return nil, directory.User{}, notFound
	}
	if t != nil && t.ID != ut.ID {
		return nil, directory.User{}, newEntraError(http.StatusBadRequest, "invalid_grant", CodeUserNotInTenant,
			"User account '{EUII Hidden}' from identity provider 'https://sts.windows.net/%s/' does not exist in tenant '%s' and cannot access the application in that tenant. The account needs to be added as an external user in the tenant first.", ut.ID, t.DisplayName)
	}
	u, ok := ut.dir.User(upn)
	if !ok {
		return nil, directory.User{}, notFound
	}
	return ut, u, nil
}

func (t *Tenant) passwordOK(pw string) bool {
	return subtle.ConstantTimeCompare([]byte(pw), []byte(t.password)) == 1
}

// grantPassword is the resource owner password credentials grant (ROPC).
func (s *Server) grantPassword(r *http.Request, a *App, t *Tenant, ca clientAuth) (map[string]any, *entraError) {
	f := r.PostForm
	upn, pw := f.Get("username"), f.Get("password")
	if upn == "" {
		return nil, missingParam("username")
	}
	if pw == "" {
		return nil, missingParam("password")
	}
	ut, u, e := s.findUser(t, upn)
	if e != nil {
		return nil, e
	}
	if !s.userPasswordOK(ut, u, pw) {
		return nil, newEntraError(http.StatusBadRequest, "invalid_grant", CodeInvalidCredentials, "Error validating credentials due to invalid username or password.")
	}
	s.mu.Lock()
	mfa := ut.mfa[strings.ToLower(u.UserPrincipalName)]
	s.mu.Unlock()
	if mfa {
		return nil, newEntraError(http.StatusBadRequest, "invalid_grant", CodeMFARequired,
			"Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'.", GraphAppID).withSub("basic_action")
	}
	sr, e := parseScope(f.Get("scope"), ut)
	if e != nil {
		return nil, e
	}
	if e := s.accountRefusal(ut, a, u, false); e != nil {
		return nil, e
	}
	return s.delegated(r, a, ut, u, sr, "", false, ca)
}
