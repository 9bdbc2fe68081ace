package m365test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
)

// Delegated permission grants (oAuth2PermissionGrant), as a provider
// reads and deletes its own app's grants when a customer leaves:
//
//   - GET /oauth2PermissionGrants, optionally with $filter=clientId eq
//     '{service principal id}' (eq on clientId only, as Graph supports):
//     the grants of the tenant, one AllPrincipals grant per app with admin
//     consent to delegated scopes and one Principal grant per user who
//     consented, each naming the client's and Microsoft Graph's service
//     principals and the space-separated scopes. Needs Directory.Read.All,
//     DelegatedPermissionGrant.Read.All or .ReadWrite.All, or
//     Directory.ReadWrite.All.
//   - DELETE /oauth2PermissionGrants/{id}: revokes that grant (204): new
//     tokens no longer carry its scopes (an admin-consented grant's
//     application permissions stay). Needs DelegatedPermissionGrant.ReadWrite.All
//     (or Directory.ReadWrite.All); without it 403
//     Authorization_RequestDenied; an unknown ID 404 Request_ResourceNotFound.

var (
	permReadGrants = perms{
		delegated: []string{"Directory.Read.All", "DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"},
		app:       []string{"Directory.Read.All", "DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"},
	}
	permWriteGrants = perms{
		delegated: []string{"DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"},
		app:       []string{"DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"},
	}
)

// permissionGrant is one delegated grant of an app in a tenant.
type permissionGrant struct {
	id, clientID, principal string // principal "" for AllPrincipals
	scopes                  []string
}

// grantID is a grant's stable ID (Graph's are opaque base64url strings).
func grantID(tenant, clientID, principal string) string {
	sum := sha256.Sum256([]byte("oauth2PermissionGrant\x00" + tenant + "\x00" + clientID + "\x00" + principal))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// permissionGrantsLocked lists t's delegated grants, in a stable order.
func (s *Server) permissionGrantsLocked(t *Tenant) []permissionGrant {
	var out []permissionGrant
	scopes := func(g *grant, set map[string]bool) []string {
		var sc []string
		for k := range set {
			sc = append(sc, g.original[k])
		}
		slices.Sort(sc)
		return sc
	}
	for clientID, g := range t.grants {
		if len(g.scopes) > 0 {
			out = append(out, permissionGrant{id: grantID(t.ID, clientID, ""), clientID: clientID, scopes: scopes(g, g.scopes)})
		}
		for oid, set := range g.users {
			if len(set) > 0 {
				out = append(out, permissionGrant{id: grantID(t.ID, clientID, oid), clientID: clientID, principal: oid, scopes: scopes(g, set)})
			}
		}
	}
	slices.SortFunc(out, func(a, b permissionGrant) int { return strings.Compare(a.id, b.id) })
	return out
}

// handleListPermissionGrants is GET /v1.0/oauth2PermissionGrants.
func (s *Server) handleListPermissionGrants(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permReadGrants)
	if !ok {
		return
	}
	// $filter: clientId eq, consentType eq and principalId eq joined by
	// and (oAuth2PermissionGrant list reference, e.g. "clientId eq '...'
	// and consentType eq 'AllPrincipals'").
	want := map[string]string{}
	if f := strings.TrimSpace(r.URL.Query().Get("$filter")); f != "" {
		for _, clause := range splitFold(f, " and ") {
			name, v, ok := strings.Cut(strings.TrimSpace(clause), " eq '")
			name = strings.ToLower(strings.TrimSpace(name))
			known := name == "clientid" || name == "consenttype" || name == "principalid"
			if !ok || !known || !strings.HasSuffix(v, "'") || strings.Contains(strings.TrimSuffix(v, "'"), "'") || want[name] != "" {
				s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "Request_UnsupportedQuery", msg: "Unsupported Query."})
				return
			}
			want[name] = strings.ToLower(strings.TrimSuffix(v, "'"))
		}
	}
	client := want["clientid"]
	graphSP := servicePrincipalID(p.tenant, GraphAppID)
	s.mu.Lock()
	grants := s.permissionGrantsLocked(p.tenant)
	s.mu.Unlock()
	value := []map[string]any{}
	for _, g := range grants {
		sp := servicePrincipalID(p.tenant, g.clientID)
		if client != "" && client != sp {
			continue
		}
		o := map[string]any{"id": g.id, "clientId": sp, "consentType": "AllPrincipals", "principalId": nil,
			"resourceId": graphSP, "scope": strings.Join(g.scopes, " ")}
		if g.principal != "" {
			o["consentType"], o["principalId"] = "Principal", g.principal
		}
		if ct := want["consenttype"]; ct != "" && !strings.EqualFold(ct, o["consentType"].(string)) {
			continue
		}
		if pid := want["principalid"]; pid != "" && !strings.EqualFold(pid, g.principal) {
			continue
		}
		value = append(value, o)
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": graphContext + "oauth2PermissionGrants", "value": value})
}

// handleDeletePermissionGrant is DELETE /v1.0/oauth2PermissionGrants/{id}.
func (s *Server) handleDeletePermissionGrant(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permWriteGrants)
	if !ok {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	found := false
	for _, g := range s.permissionGrantsLocked(p.tenant) {
		if g.id != id {
			continue
		}
		gr := p.tenant.grants[g.clientID]
		if g.principal == "" {
			clear(gr.scopes)
		} else {
			delete(gr.users, g.principal)
		}
		found = true
		break
	}
	s.mu.Unlock()
	if !found {
		s.writeGraphError(w, r, spNotFound(id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// PermissionGrants returns the delegated scopes granted to the app
// clientID in tenant: for all users ("" key) and per user object ID, as
// GET /oauth2PermissionGrants lists them.
func (s *Server) PermissionGrants(tenant, clientID string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[tenant]
	out := map[string][]string{}
	if t == nil {
		return out
	}
	for _, g := range s.permissionGrantsLocked(t) {
		if strings.EqualFold(g.clientID, clientID) {
			out[g.principal] = g.scopes
		}
	}
	return out
}
