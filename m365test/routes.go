package m365test

import (
	"net/http"
	"strings"
	"time"
)

// route registers h for pattern on mux, wrapped with the request log and,
// for identity endpoints, fault injection by path tenant.
func (s *Server) route(mux *http.ServeMux, pattern string, ep Endpoint, graph bool, h func(http.ResponseWriter, *http.Request, *call)) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := s.Now()
		c := &call{endpoint: ep}
		if seg := r.PathValue("tenant"); seg != "" {
			c.tenant = seg
			if t, ok := s.Tenant(seg); ok {
				c.tenant = t.ID
			}
		}
		if ep == EndpointToken {
			_ = r.ParseForm()
			c.grantType = r.PostForm.Get("grant_type")
			c.clientID = strings.ToLower(r.PostForm.Get("client_id"))
		}
		sw := &statusWriter{ResponseWriter: w}
		sw.onStatus = func(status int) {
			s.record(Request{Time: start, Method: r.Method, Path: r.URL.Path, Endpoint: ep, Tenant: c.tenant,
				ClientID: c.clientID, GrantType: c.grantType, Status: status, Fault: c.fault})
			s.opts.Logger.Debug("m365test request", "method", r.Method, "path", r.URL.Path, "endpoint", string(ep),
				"tenant", c.tenant, "status", status, "duration", time.Since(start))
		}
		defer sw.report(http.StatusOK) // a handler that wrote nothing answered 200
		if graph {
			setGraphHeaders(sw.Header(), r)
		}
		if !graph && s.applyFault(sw, r, c, false) {
			return
		}
		h(sw, r, c)
	})
}

// tlsMux serves the identity platform's machine endpoints and Graph.
func (s *Server) tlsMux() http.Handler {
	mux := http.NewServeMux()
	s.route(mux, "GET /{tenant}/v2.0/.well-known/openid-configuration", EndpointDiscovery, false, s.handleDiscovery)
	s.route(mux, "GET /{tenant}/discovery/v2.0/keys", EndpointJWKS, false, s.handleJWKS)
	s.route(mux, "GET /common/UserRealm/{upn}", EndpointUserRealm, false, s.handleUserRealm)
	s.route(mux, "POST /{tenant}/oauth2/v2.0/token", EndpointToken, false, s.handleToken)
	// A person's browser must not see the TLS listener's private CA: its
	// pages live on the plain-http loopback listener.
	s.route(mux, "GET /{tenant}/oauth2/v2.0/authorize", EndpointAuthorize, false, s.redirectToBrowser)
	s.route(mux, "GET /{tenant}/v2.0/adminconsent", EndpointAdminConsent, false, s.redirectToBrowser)

	s.route(mux, "GET /v1.0/organization", EndpointOrganization, true, s.handleOrganization)
	s.route(mux, "GET /v1.0/me", EndpointMe, true, s.handleMe)
	s.route(mux, "GET /v1.0/users", EndpointUsers, true, s.handleUsers)
	s.route(mux, "GET /v1.0/users/delta", EndpointUsers, true, s.handleUsersDelta)
	s.route(mux, "GET /v1.0/users/{id}", EndpointUsers, true, s.handleUser)
	s.route(mux, "POST /v1.0/users/{id}/sendMail", EndpointSendMail, true, s.handleSendMail)
	s.route(mux, "POST /v1.0/me/sendMail", EndpointSendMail, true, s.handleSendMail)
	s.route(mux, "POST /v1.0/subscriptions", EndpointSubscriptions, true, s.handleCreateSubscription)
	s.route(mux, "GET /v1.0/subscriptions/{id}", EndpointSubscriptions, true, s.handleGetSubscription)
	s.route(mux, "PATCH /v1.0/subscriptions/{id}", EndpointSubscriptions, true, s.handleUpdateSubscription)
	s.route(mux, "DELETE /v1.0/subscriptions/{id}", EndpointSubscriptions, true, s.handleDeleteSubscription)
	s.route(mux, "POST /v1.0/subscriptions/{id}/reauthorize", EndpointSubscriptions, true, s.handleReauthorizeSubscription)
	s.route(mux, "GET /v1.0/communications/callRecords", EndpointCallRecords, true, s.handleListCallRecords)
	s.route(mux, "GET /v1.0/communications/callRecords/{id}", EndpointCallRecords, true, s.handleCallRecord)
	s.route(mux, "GET /v1.0/communications/callRecords/{id}/sessions", EndpointCallRecords, true, s.handleCallRecordSessions)
	s.route(mux, "GET /v1.0/communications/callRecords/{id}/participants_v2", EndpointCallRecords, true, s.handleCallRecordParticipants)
	s.route(mux, "GET /v1.0/admin/teams/userConfigurations", EndpointTeamsUserConfigurations, true, s.handleTeamsConfigs)
	s.route(mux, "GET /v1.0/admin/teams/userConfigurations/{id}", EndpointTeamsUserConfigurations, true, s.handleTeamsConfig)
	s.route(mux, "GET /v1.0/subscribedSkus", EndpointLicenses, true, s.handleSubscribedSkus)
	s.route(mux, "POST /v1.0/users/{id}/assignLicense", EndpointLicenses, true, s.handleAssignLicense)
	s.route(mux, "GET /v1.0/admin/teams/telephoneNumberManagement/numberAssignments", EndpointTeamsNumbers, true, s.handleNumberAssignments)
	s.route(mux, "GET /v1.0/admin/teams/telephoneNumberManagement/numberAssignments/{id}", EndpointTeamsNumbers, true, s.handleNumberAssignment)
	s.route(mux, "POST /v1.0/admin/teams/telephoneNumberManagement/numberAssignments/{action}", EndpointTeamsNumbers, true, s.handleNumberAction)
	s.route(mux, "GET /v1.0/admin/teams/telephoneNumberManagement/operations/{id}", EndpointTeamsNumbers, true, s.handleNumberOperation)
	s.route(mux, "GET /v1.0/admin/teams/telephoneNumberManagement/{seg}", EndpointTeamsNumbers, true, s.handleNumberOperation) // operations('{id}')
	s.route(mux, "GET /v1.0/admin/teams/policy/{fn}", EndpointTeamsPolicies, true, s.handleGetPolicyID)                        // getPolicyId(type='...',name='...')
	s.route(mux, "POST /v1.0/admin/teams/policy/userAssignments/assign", EndpointTeamsPolicies, true, s.handlePolicyAssign(false))
	s.route(mux, "POST /v1.0/admin/teams/policy/userAssignments/unassign", EndpointTeamsPolicies, true, s.handlePolicyAssign(true))
	s.route(mux, "POST /v1.0/$batch", EndpointBatch, true, s.handleBatch)
	s.route(mux, "GET /v1.0/servicePrincipals/{id}", EndpointServicePrincipals, true, s.handleServicePrincipal)
	s.route(mux, "GET /v1.0/servicePrincipals/{id}/appRoleAssignments", EndpointServicePrincipals, true, s.handleAppRoleAssignments)
	s.route(mux, "GET /v1.0/oauth2PermissionGrants", EndpointPermissionGrants, true, s.handleListPermissionGrants)
	s.route(mux, "DELETE /v1.0/oauth2PermissionGrants/{id}", EndpointPermissionGrants, true, s.handleDeletePermissionGrant)
	s.route(mux, "GET /v1.0/{key}", EndpointServicePrincipals, true, s.handleServicePrincipalKey) // servicePrincipals(appId='...')
	// The v1 admin consent URL /{tenant}/adminconsent overlaps
	// /v1.0/{key}, so it has a mux of its own behind the fallback.
	v1 := http.NewServeMux()
	s.route(v1, "GET /{tenant}/adminconsent", EndpointAdminConsent, false, s.redirectToBrowser)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := v1.Handler(r); pattern != "" {
			v1.ServeHTTP(w, r)
			return
		}
		if rest, ok := strings.CutPrefix(r.URL.Path, "/beta/"); ok {
			s.serveBeta(w, r, rest)
			return
		}
		if rest, ok := strings.CutPrefix(r.URL.Path, "/v1.0/"); ok {
			s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest",
				msg: "Resource not found for the segment '" + rest + "'."})
			return
		}
		http.NotFound(w, r)
	})
	return mux
}

// browserMux serves the pages a person's browser opens.
func (s *Server) browserMux() http.Handler {
	mux := http.NewServeMux()
	s.route(mux, "GET /{tenant}/oauth2/v2.0/authorize", EndpointAuthorize, false, s.handleAuthorize)
	s.route(mux, "POST /{tenant}/oauth2/v2.0/authorize", EndpointAuthorize, false, s.handleAuthorizePost)
	s.route(mux, "GET /{tenant}/v2.0/adminconsent", EndpointAdminConsent, false, s.handleAdminConsent)
	s.route(mux, "POST /{tenant}/v2.0/adminconsent", EndpointAdminConsent, false, s.handleAdminConsentPost)
	s.route(mux, "GET /{tenant}/adminconsent", EndpointAdminConsent, false, s.handleAdminConsent)
	s.route(mux, "POST /{tenant}/adminconsent", EndpointAdminConsent, false, s.handleAdminConsentPost)
	return mux
}

// redirectToBrowser sends a browser GET on the TLS listener to the same
// path on the plain-http loopback listener.
func (s *Server) redirectToBrowser(w http.ResponseWriter, r *http.Request, _ *call) {
	u := s.httpSrv.URL + r.URL.Path
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, u, http.StatusFound)
}

// setGraphHeaders sets the headers every Graph answer carries: request-id
// (new), client-request-id (the request's, else a new one: "Microsoft
// Graph ... generates one if not specified", Microsoft Graph best
// practices and the client-request-id header reference) and OData-Version
// 4.0.
func setGraphHeaders(h http.Header, r *http.Request) {
	h.Set("request-id", newID())
	crid := r.Header.Get("client-request-id")
	if crid == "" {
		crid = newID()
	}
	h.Set("client-request-id", crid)
	h.Set("OData-Version", "4.0")
}
