package m365test

import (
	"net/http"
	"strings"
)

// resolveTenant maps a path tenant segment to a tenant. multi is true for
// "organizations" and "common" (t is nil then).
func (s *Server) resolveTenant(seg string) (t *Tenant, multi bool, e *entraError) {
	switch strings.ToLower(seg) {
	case "organizations", "common":
		return nil, true, nil
	}
	if t, ok := s.Tenant(seg); ok {
		return t, false, nil
	}
	return nil, false, newEntraError(http.StatusBadRequest, "invalid_request", CodeTenantNotFound,
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", seg)
}

// handleDiscovery serves the OpenID Connect discovery document. Its issuer
// and token endpoint are on the host the request came to (so MSAL's
// issuer-matches-authority check passes for both 127.0.0.1:port and
// login.microsoftonline.com); its authorization endpoint is on the
// plain-http browser listener.
func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request, c *call) {
	seg := r.PathValue("tenant")
	t, multi, e := s.resolveTenant(seg)
	if e != nil {
		s.writeEntraError(w, r, e)
		return
	}
	base := "https://" + r.Host
	issuerTenant, pathTenant := "{tenantid}", strings.ToLower(seg)
	if !multi {
		issuerTenant, pathTenant = t.ID, t.ID
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/" + pathTenant + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/" + pathTenant + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/" + issuerTenant + "/v2.0",
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     "https://" + GraphHost + "/oidc/userinfo",
		"authorization_endpoint":                s.httpSrv.URL + "/" + pathTenant + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/" + pathTenant + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/" + pathTenant + "/oauth2/v2.0/logout",
		"claims_supported":                      []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"},
		"code_challenge_methods_supported":      []string{"plain", "S256"},
		"tenant_region_scope":                   "NA",
		"cloud_instance_name":                   "microsoftonline.com",
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          GraphHost,
		"rbac_url":                              "https://pas.windows.net",
	})
}

// handleJWKS serves the signing keys.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request, c *call) {
	if _, _, e := s.resolveTenant(r.PathValue("tenant")); e != nil {
		s.writeEntraError(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, s.signer.jwks())
}

// handleUserRealm answers MSAL's home realm discovery for the password
// grant: every fake tenant is managed (no federation).
func (s *Server) handleUserRealm(w http.ResponseWriter, r *http.Request, c *call) {
	upn := r.PathValue("upn")
	_, domain, _ := strings.Cut(upn, "@")
	resp := map[string]any{
		"ver":                 "1.0",
		"account_type":        "Managed",
		"domain_name":         domain,
		"cloud_instance_name": "microsoftonline.com",
		"cloud_audience_urn":  "urn:federation:MicrosoftOnline",
	}
	if t, ok := s.Tenant(domain); ok {
		c.tenant = t.ID
	} else {
		resp["account_type"] = "Unknown"
	}
	writeJSON(w, http.StatusOK, resp)
}
