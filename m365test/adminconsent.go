package m365test

import (
	"net/http"
	"net/url"
	"strings"
)

// adminConsentRequest is a validated admin consent request.
type adminConsentRequest struct {
	tenant   *Tenant // nil for organizations/common
	app      *App
	redirect string
	state    string
	scope    string
	query    url.Values
	v1       bool // the v1 form /{tenant}/adminconsent (no scope; answers without one)
}

func (s *Server) parseAdminConsent(seg string, q url.Values) (*adminConsentRequest, *entraError) {
	t, _, e := s.resolveTenant(seg)
	if e != nil {
		return nil, e
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		return nil, missingParam("client_id")
	}
	a, ok := s.App(clientID)
	if !ok {
		return nil, appNotFound(clientID, t)
	}
	redirect := q.Get("redirect_uri")
	if !a.redirectAllowed(redirect) {
		return nil, newEntraError(http.StatusBadRequest, "invalid_request", CodeRedirectMismatch,
			"The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", redirect, a.ClientID)
	}
	scope := q.Get("scope")
	if scope == "" {
		scope = "https://" + GraphHost + "/.default"
	}
	return &adminConsentRequest{tenant: t, app: a, redirect: redirect, state: q.Get("state"), scope: scope, query: q}, nil
}

// finishAdminConsent records the grant (or not) and returns the redirect
// to the app: admin_consent=True&tenant=&scope=&state= on success (no
// scope for the v1 form); on failure error, error_description,
// error_uri, still admin_consent=True and no tenant, as Entra sends it.
//
// Declining (Cancel) answers access_denied with AADSTS65004 "User declined
// to consent to access the app.": the v2 admin consent page documents
// error=permission_denied "The admin canceled the request", but Entra
// redirects with access_denied, 65004, admin_consent=True and without
// tenant (MicrosoftDocs/azure-docs#114009, 2023; the auth code flow
// reference lists access_denied for a declined consent). The fake follows
// Entra.
func (s *Server) finishAdminConsent(ar *adminConsentRequest, upn string, decline bool) string {
	fail := func(e *entraError) string {
		b := e.body(s.Now(), "")
		q := url.Values{"error": {e.err}, "error_description": {b["error_description"].(string)},
			"error_uri": {b["error_uri"].(string)}, "admin_consent": {"True"}}
		if ar.state != "" {
			q.Set("state", ar.state)
		}
		return appendQuery(ar.redirect, q)
	}
	if decline {
		return fail(newEntraError(http.StatusBadRequest, "access_denied", CodeConsentDeclined, "User declined to consent to access the app."))
	}
	t, u, e := s.findUser(ar.tenant, upn)
	if e != nil {
		e.err = "access_denied"
		return fail(e)
	}
	if !isAdmin(u) {
		return fail(newEntraError(http.StatusBadRequest, "access_denied", CodeAdminConsentRequired,
			"The grant requires admin permission. Only an administrator can grant consent for the organization."))
	}
	if ar.app.singleTenant && ar.app.homeTenant != t.ID {
		return fail(appNotFound(ar.app.ClientID, t))
	}
	sr, se := parseScope(ar.scope, t)
	if se != nil {
		return fail(se)
	}
	s.mu.Lock()
	if sr.graphDflt || len(sr.graph) == 0 {
		s.grantAdminLocked(t, ar.app, ar.app.delegated, ar.app.appRoles)
	} else {
		var scopes, roles []string
		for _, p := range sr.graph {
			if containsFold(ar.app.appRoles, p) {
				roles = append(roles, p)
			}
			scopes = append(scopes, p)
		}
		s.grantAdminLocked(t, ar.app, scopes, roles)
	}
	s.mu.Unlock()
	q := url.Values{"admin_consent": {"True"}, "tenant": {t.ID}}
	if !ar.v1 {
		q.Set("scope", ar.scope)
	}
	if ar.state != "" {
		q.Set("state", ar.state)
	}
	return appendQuery(ar.redirect, q)
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// handleAdminConsent is GET adminconsent on the browser listener.
func (s *Server) handleAdminConsent(w http.ResponseWriter, r *http.Request, c *call) {
	q := r.URL.Query()
	c.clientID = strings.ToLower(q.Get("client_id"))
	ar, e := s.parseAdminConsent(r.PathValue("tenant"), q)
	if e != nil {
		s.errorPage(w, e)
		return
	}
	ar.v1 = isV1AdminConsent(r)
	if ans := s.currentAnswer(); ans != nil {
		upn := ans.User
		if upn == "" && ar.tenant != nil {
			upn = ar.tenant.AdminUPN()
		}
		http.Redirect(w, r, s.finishAdminConsent(ar, upn, ans.Decline), http.StatusFound)
		return
	}
	s.adminConsentPage(w, ar, "", "")
}

// handleAdminConsentPost is the admin consent form's submission.
func (s *Server) handleAdminConsentPost(w http.ResponseWriter, r *http.Request, c *call) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if !s.takePageToken(r.PostForm.Get("csrf")) {
		s.errorPage(w, newEntraError(http.StatusBadRequest, "invalid_request", 90100, "The consent page expired or was already used. Start again."))
		return
	}
	q, err := url.ParseQuery(r.PostForm.Get("q"))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	c.clientID = strings.ToLower(q.Get("client_id"))
	ar, e := s.parseAdminConsent(r.PathValue("tenant"), q)
	if e != nil {
		s.errorPage(w, e)
		return
	}
	ar.v1 = isV1AdminConsent(r)
	upn := strings.TrimSpace(r.PostForm.Get("username"))
	if r.PostForm.Get("action") != "accept" {
		http.Redirect(w, r, s.finishAdminConsent(ar, upn, true), http.StatusFound)
		return
	}
	t, u, fe := s.findUser(ar.tenant, upn)
	if fe != nil || !s.userPasswordOK(t, u, r.PostForm.Get("password")) {
		s.adminConsentPage(w, ar, upn, "Your account or password is incorrect. (AADSTS50126)")
		return
	}
	http.Redirect(w, r, s.finishAdminConsent(ar, upn, false), http.StatusFound)
}

// isV1AdminConsent reports whether r came to the v1 admin consent URL
// /{tenant}/adminconsent (Entra's "Grant tenant-wide admin consent" page
// still documents it), not /{tenant}/v2.0/adminconsent.
func isV1AdminConsent(r *http.Request) bool {
	return !strings.Contains(r.URL.Path, "/v2.0/")
}
