package m365test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/m365test/internal/directory"
)

// AuthorizeAnswer decides authorize and admin consent requests without a
// person: see [Server.SetAuthorizeAnswer]. The zero value signs in as the
// login_hint (or the tenant's Global Admin) and accepts.
type AuthorizeAnswer struct {
	// User is the user principal name that signs in. Empty uses the
	// request's login_hint, else the Global Admin of the path tenant.
	User string
	// Decline answers Cancel on the consent page (AADSTS65004).
	Decline bool
	// AdminConsent ticks "Consent on behalf of your organization" (only
	// honoured for the Global Admin).
	AdminConsent bool
	// ErrorCode, when set, makes sign-in fail with this AADSTS code (e.g.
	// 50076 or 53003), redirected to the app as Entra does.
	ErrorCode int
}

// SetAuthorizeAnswer makes authorize and admin consent answer immediately
// with a redirect decided by a (non-interactive mode), instead of showing
// the HTML pages. nil restores the pages.
func (s *Server) SetAuthorizeAnswer(a *AuthorizeAnswer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a == nil {
		s.answer = nil
		return
	}
	cp := *a
	s.answer = &cp
}

func (s *Server) currentAnswer() *AuthorizeAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.answer == nil {
		return nil
	}
	cp := *s.answer
	return &cp
}

// authzRequest is a validated authorization request.
type authzRequest struct {
	seg       string
	tenant    *Tenant // nil for organizations/common
	app       *App
	redirect  string
	state     string
	nonce     string
	scope     *scopeRequest
	challenge string
	method    string
	loginHint string
	prompt    string
	formPost  bool
	fragment  bool // response_mode=fragment: the parameters after '#'
	query     url.Values
}

// pageError is an error Entra shows on its own page, because the redirect
// URI cannot be trusted yet.
type pageError struct{ e *entraError }

// parseAuthorize validates an authorization request. A pageError must be
// shown; any other error is redirected to the app.
func (s *Server) parseAuthorize(seg string, q url.Values) (*authzRequest, *pageError, *entraError) {
	t, _, e := s.resolveTenant(seg)
	if e != nil {
		return nil, &pageError{e}, nil
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		return nil, &pageError{missingParam("client_id")}, nil
	}
	a, ok := s.App(clientID)
	if !ok {
		return nil, &pageError{appNotFound(clientID, t)}, nil
	}
	redirect := q.Get("redirect_uri")
	if !a.redirectAllowed(redirect) {
		return nil, &pageError{newEntraError(http.StatusBadRequest, "invalid_request", CodeRedirectMismatch,
			"The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.", redirect, a.ClientID)}, nil
	}
	ar := &authzRequest{seg: seg, tenant: t, app: a, redirect: redirect, state: q.Get("state"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"), loginHint: q.Get("login_hint"),
		prompt: q.Get("prompt"), query: q}
	if rt := q.Get("response_type"); rt != "code" {
		return ar, nil, newEntraError(http.StatusBadRequest, "unsupported_response_type", 700054,
			"response_type '%s' is not enabled for the application. Only 'code' is supported by this fake.", rt)
	}
	// The auth code flow reference lists query, fragment and form_post
	// (the discovery document advertises the same three).
	switch rm := q.Get("response_mode"); rm {
	case "", "query":
	case "fragment":
		ar.fragment = true
	case "form_post":
		ar.formPost = true
	default:
		return ar, nil, newEntraError(http.StatusBadRequest, "invalid_request", 900144,
			"The response_mode '%s' is not supported: use 'query', 'fragment' or 'form_post'.", rm)
	}
	if ar.challenge != "" && ar.method == "" {
		ar.method = "plain"
	}
	if ar.method != "" && ar.method != "S256" && ar.method != "plain" {
		return ar, nil, newEntraError(http.StatusBadRequest, "invalid_request", 5000751, "The code_challenge_method '%s' is not supported.", ar.method)
	}
	if a.requirePKCE && (ar.challenge == "" || ar.method != "S256") {
		return ar, nil, newEntraError(http.StatusBadRequest, "invalid_request", CodePKCERequired,
			"Proof Key for Code Exchange is required for this application: send a code_challenge with code_challenge_method 'S256'.")
	}
	sr, e := parseScope(q.Get("scope"), t)
	if e != nil {
		return ar, nil, e
	}
	if !sr.openid && !sr.hasGraph {
		return ar, nil, missingParam("scope")
	}
	ar.scope = sr
	if ar.prompt == "none" {
		return ar, nil, newEntraError(http.StatusBadRequest, "login_required", CodeLoginRequired,
			"A silent sign-in request was sent but no user is signed in.")
	}
	return ar, nil, nil
}

// neededScopes are the delegated permissions a sign-in must hold.
func (ar *authzRequest) neededScopes() []string {
	if ar.scope.graphDflt {
		return ar.app.delegated
	}
	return ar.scope.graph
}

// decision is the outcome of the sign-in + consent page.
type decision struct {
	upn          string
	decline      bool
	adminConsent bool
	errorCode    int
	mfa          bool
}

// complete signs the user in, applies consent and returns the response
// parameters with the code (or the error) for the app.
func (s *Server) complete(ar *authzRequest, d decision) (url.Values, *entraError) {
	if d.errorCode != 0 {
		m, ok := faultMessages[d.errorCode]
		if !ok {
			m = [2]string{"invalid_request", "Sign-in failed."}
		}
		oe := m[0]
		if oe == "invalid_grant" {
			oe = "interaction_required"
		}
		return nil, &entraError{status: http.StatusBadRequest, err: oe, code: d.errorCode, msg: m[1]}
	}
	t, u, e := s.findUser(ar.tenant, d.upn)
	if e != nil {
		e.err = "access_denied"
		return nil, e
	}
	if ar.app.singleTenant && ar.app.homeTenant != t.ID {
		return nil, appNotFound(ar.app.ClientID, t)
	}
	if e := s.accountRefusal(t, ar.app, u, false); e != nil {
		if e.err == "invalid_grant" {
			e.err = "access_denied"
		}
		return nil, e
	}
	admin := isAdmin(u)
	need := ar.neededScopes()
	s.mu.Lock()
	missing := s.missingConsentLocked(t, ar.app, u.ID, need)
	s.mu.Unlock()
	if len(missing) > 0 || ar.prompt == "consent" || (d.adminConsent && admin) {
		if d.decline {
			return nil, newEntraError(http.StatusBadRequest, "access_denied", CodeConsentDeclined, "User declined to consent to access the app.")
		}
		adminOnly := slices.ContainsFunc(missing, func(sc string) bool { return adminOnlyScopes[strings.ToLower(sc)] })
		switch {
		case admin && (d.adminConsent || adminOnly):
			s.mu.Lock()
			s.grantAdminLocked(t, ar.app, ar.app.delegated, ar.app.appRoles)
			s.grantAdminLocked(t, ar.app, need, nil)
			s.mu.Unlock()
		case adminOnly:
			return nil, newEntraError(http.StatusBadRequest, "access_denied", CodeAdminConsentRequired,
				"The grant requires admin permission. %s needs permission to access resources in your organization that only an admin can grant.", ar.app.DisplayName)
		default:
			s.mu.Lock()
			s.grantUserLocked(t, ar.app, u.ID, need)
			s.mu.Unlock()
		}
	}
	code := randomToken("1.A")
	s.mu.Lock()
	s.codes[code] = &authCode{tenant: t, clientID: ar.app.ClientID, redirectURI: ar.redirect, challenge: ar.challenge,
		method: ar.method, user: u, scope: ar.scope.raw, nonce: ar.nonce, mfa: d.mfa, issued: s.nowLocked()}
	s.mu.Unlock()
	q := url.Values{"code": {code}, "session_state": {newID()}}
	if ar.state != "" {
		q.Set("state", ar.state)
	}
	return q, nil
}

// reply sends the response parameters to the app: a redirect with the
// query (or, for response_mode=fragment, the fragment), or for
// response_mode=form_post an auto-submitting form.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, ar *authzRequest, q url.Values) {
	if ar.fragment {
		u, _, _ := strings.Cut(ar.redirect, "#")
		http.Redirect(w, r, u+"#"+q.Encode(), http.StatusFound)
		return
	}
	if !ar.formPost {
		http.Redirect(w, r, appendQuery(ar.redirect, q), http.StatusFound)
		return
	}
	writeFormPost(w, ar.redirect, q)
}

// replyError sends an error to the app.
func (s *Server) replyError(w http.ResponseWriter, r *http.Request, ar *authzRequest, e *entraError) {
	s.reply(w, r, ar, s.errorParams(e, ar.state))
}

// handleAuthorize is GET authorize on the browser listener.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request, c *call) {
	q := r.URL.Query()
	c.clientID = strings.ToLower(q.Get("client_id"))
	ar, pe, e := s.parseAuthorize(r.PathValue("tenant"), q)
	if pe != nil {
		s.errorPage(w, pe.e)
		return
	}
	if e != nil {
		s.replyError(w, r, ar, e)
		return
	}
	if ans := s.currentAnswer(); ans != nil {
		upn := ans.User
		if upn == "" {
			upn = ar.loginHint
		}
		if upn == "" && ar.tenant != nil {
			upn = ar.tenant.AdminUPN()
		}
		q, e := s.complete(ar, decision{upn: upn, decline: ans.Decline, adminConsent: ans.AdminConsent, errorCode: ans.ErrorCode})
		if e != nil {
			s.replyError(w, r, ar, e)
			return
		}
		s.reply(w, r, ar, q)
		return
	}
	s.signInPage(w, r, ar, "")
}

// handleAuthorizePost is the sign-in + consent form's submission.
func (s *Server) handleAuthorizePost(w http.ResponseWriter, r *http.Request, c *call) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if !s.takePageToken(r.PostForm.Get("csrf")) {
		s.errorPage(w, newEntraError(http.StatusBadRequest, "invalid_request", 90100, "The sign-in page expired or was already used. Start the sign-in again."))
		return
	}
	q, err := url.ParseQuery(r.PostForm.Get("q"))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	c.clientID = strings.ToLower(q.Get("client_id"))
	ar, pe, e := s.parseAuthorize(r.PathValue("tenant"), q)
	if pe != nil {
		s.errorPage(w, pe.e)
		return
	}
	if e != nil {
		s.replyError(w, r, ar, e)
		return
	}
	if r.PostForm.Get("action") != "accept" {
		s.replyError(w, r, ar, newEntraError(http.StatusBadRequest, "access_denied", CodeConsentDeclined, "User declined to consent to access the app."))
		return
	}
	upn := strings.TrimSpace(r.PostForm.Get("username"))
	t, u, fe := s.findUser(ar.tenant, upn)
	if fe != nil || !s.userPasswordOK(t, u, r.PostForm.Get("password")) {
		ar.loginHint = upn
		s.signInPage(w, r, ar, "Your account or password is incorrect. (AADSTS50126)")
		return
	}
	s.mu.Lock()
	mfa := t.mfa[strings.ToLower(upn)]
	s.mu.Unlock()
	resp, e := s.complete(ar, decision{upn: upn, adminConsent: r.PostForm.Get("consent_org") == "on", mfa: mfa})
	if e != nil {
		s.replyError(w, r, ar, e)
		return
	}
	s.reply(w, r, ar, resp)
}

// pageState is a single-use form token of a rendered page.
type pageState struct{ expires time.Time }

func (s *Server) newPageToken() string {
	tok := randomToken("")
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	for k, v := range s.pageState {
		if now.After(v.expires) {
			delete(s.pageState, k)
		}
	}
	s.pageState[tok] = &pageState{expires: now.Add(30 * time.Minute)}
	return tok
}

func (s *Server) takePageToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.pageState[tok]
	if !ok {
		return false
	}
	delete(s.pageState, tok)
	return s.opts.Now().Before(st.expires)
}

// isAdmin reports whether u is the tenant's Global Admin.
func isAdmin(u directory.User) bool { return u.Index == -1 }
