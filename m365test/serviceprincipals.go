package m365test

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Service principals, read through Graph as a client checks which
// application permissions an app holds in a tenant (access tokens are
// opaque to clients; the directory is the source):
//
//   - GET /servicePrincipals(appId='{appId}') and GET /servicePrincipals/{id}:
//     the app's service principal in the caller's tenant (it exists in the
//     app's home tenant and once a consent exists), and Microsoft Graph's
//     own (appId GraphAppID) with its appRoles: one per application
//     permission the fake knows, with stable IDs.
//   - GET /servicePrincipals/{id}/appRoleAssignments: the app roles granted
//     to that service principal, each naming its appRoleId and the
//     resource's service principal. Like app-only tokens, assignments of a
//     fresh admin consent show only after Options.ConsentReplicationDelay.
//
// Both need Application.Read.All (or Application.ReadWrite.All,
// Directory.Read.All, Directory.ReadWrite.All); without one Graph answers
// 403 Authorization_RequestDenied.

var permServicePrincipals = perms{
	delegated: []string{"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	app:       []string{"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
}

// delegatedOnly are the Graph permissions of the fake's list that are
// delegated scopes only: Microsoft Graph's service principal has no app
// role for them.
var delegatedOnly = map[string]bool{"user.read": true, "user.readwrite": true}

// AppRoleID returns the ID of the app role of Microsoft Graph's service
// principal whose value is permission (an application permission, any
// case), as the fake publishes it: stable across servers and tenants. The
// IDs are the fake's own, not Microsoft's: a client must resolve
// appRoleId through the resource's appRoles, never by a table of IDs.
// It returns "" for a permission the fake has no app role for.
func AppRoleID(permission string) string {
	k := strings.ToLower(permission)
	if !graphPermissions[k] || delegatedOnly[k] {
		return ""
	}
	sum := sha256.Sum256([]byte("tenantgate m365test app role\x00" + k))
	sum[6] = (sum[6] & 0x0f) | 0x40
	sum[8] = (sum[8] & 0x3f) | 0x80
	return formatGUID(sum[:16])
}

// appOnly are the Graph permissions of the fake's list that are app roles
// only: Microsoft Graph's service principal has no delegated scope for
// them.
var appOnly = map[string]bool{"callrecords.read.all": true, "callrecords.read.pstncalls": true}

// scopeID returns the ID of the delegated permission (oauth2PermissionScope)
// of Microsoft Graph's service principal whose value is permission (any
// case), as the fake publishes it: stable, the fake's own, not
// Microsoft's. It returns "" for a permission without a delegated scope.
func scopeID(permission string) string {
	k := strings.ToLower(permission)
	if !graphPermissions[k] || appOnly[k] {
		return ""
	}
	sum := sha256.Sum256([]byte("tenantgate m365test scope\x00" + k))
	sum[6] = (sum[6] & 0x0f) | 0x40
	sum[8] = (sum[8] & 0x3f) | 0x80
	return formatGUID(sum[:16])
}

// graphScopes is the oauth2PermissionScopes collection of Graph's service
// principal (servicePrincipal resource: the delegated permissions the
// resource exposes, each with type "Admin" or "User").
func graphScopes() []map[string]any {
	out := make([]map[string]any, 0, len(graphPermissionNames))
	for _, name := range graphPermissionNames {
		id := scopeID(name)
		if id == "" {
			continue
		}
		typ := "User"
		if adminOnlyScopes[strings.ToLower(name)] {
			typ = "Admin"
		}
		out = append(out, map[string]any{
			"adminConsentDescription": "Allows the app to use " + name + " on behalf of the signed-in user.",
			"adminConsentDisplayName": name + " (delegated)",
			"id":                      id,
			"isEnabled":               true,
			"type":                    typ,
			"userConsentDescription":  "Allows the app to use " + name + " on your behalf.",
			"userConsentDisplayName":  name + " (delegated)",
			"value":                   name,
		})
	}
	return out
}

// graphAppRoles is the appRoles collection of Graph's service principal.
func graphAppRoles() []map[string]any {
	out := make([]map[string]any, 0, len(graphPermissionNames))
	for _, name := range graphPermissionNames {
		id := AppRoleID(name)
		if id == "" {
			continue
		}
		out = append(out, map[string]any{
			"allowedMemberTypes": []string{"Application"},
			"description":        "Allows the app to use " + name + " without a signed-in user.",
			"displayName":        name + " (application)",
			"id":                 id,
			"isEnabled":          true,
			"origin":             "Application",
			"value":              name,
		})
	}
	return out
}

// servicePrincipalObject returns the service principal in t whose object
// ID is id or, when appID is set, whose appId is appID, and its app (nil
// for Microsoft Graph's). ok is false when there is none.
func (s *Server) servicePrincipalObject(t *Tenant, id, appID string) (map[string]any, *App, bool) {
	graphSP := servicePrincipalID(t, GraphAppID)
	if strings.EqualFold(appID, GraphAppID) || (appID == "" && strings.EqualFold(id, graphSP)) {
		return map[string]any{
			"id": graphSP, "appId": GraphAppID, "displayName": "Microsoft Graph", "accountEnabled": true,
			"servicePrincipalType": "Application", "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
			"appRoles": graphAppRoles(), "oauth2PermissionScopes": graphScopes(),
		}, nil, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var a *App
	if appID != "" {
		a = s.apps[strings.ToLower(appID)]
	} else {
		for _, c := range s.apps {
			if strings.EqualFold(servicePrincipalID(t, c.ClientID), id) {
				a = c
				break
			}
		}
	}
	if a == nil || !s.servicePrincipalLocked(t, a) {
		return nil, nil, false
	}
	owner := a.homeTenant
	if owner == "" {
		owner = "72f988bf-86f1-41af-91ab-2d7cd011db47" // an ISV's tenant: not the customer's
	}
	return map[string]any{
		"id": servicePrincipalID(t, a.ClientID), "appId": a.ClientID, "displayName": a.DisplayName, "accountEnabled": true,
		"servicePrincipalType": "Application", "appOwnerOrganizationId": owner, "appRoles": []any{},
		"oauth2PermissionScopes": []any{},
	}, a, true
}

func spNotFound(key string) *graphError {
	return &graphError{status: http.StatusNotFound, code: "Request_ResourceNotFound",
		msg: "Resource '" + key + "' does not exist or one of its queried reference-property objects are not present."}
}

// handleServicePrincipalKey is GET /v1.0/servicePrincipals(appId='{appId}'):
// the route pattern is the whole segment, so other segments Graph does
// not have answer its 400 here.
func (s *Server) handleServicePrincipalKey(w http.ResponseWriter, r *http.Request, c *call) {
	seg := r.PathValue("key")
	if key, ok := strings.CutPrefix(seg, "users("); ok && strings.HasSuffix(key, ")") {
		// The key form GET /users('{id or userPrincipalName}') (user get
		// reference: "GET /users/{id | userPrincipalName}"; OData key
		// syntax, needed for a UPN starting with $).
		key = strings.TrimSuffix(key, ")")
		if len(key) >= 2 && key[0] == '\'' && key[len(key)-1] == '\'' {
			s.serveUser(w, r, c, strings.ReplaceAll(key[1:len(key)-1], "''", "'"))
			return
		}
	}
	inner, ok := strings.CutPrefix(seg, "servicePrincipals(")
	if !ok || !strings.HasSuffix(inner, ")") {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: "Resource not found for the segment '" + seg + "'."})
		return
	}
	inner = strings.TrimSuffix(inner, ")")
	appID, ok := strings.CutPrefix(inner, "appId=")
	if !ok || len(appID) < 2 || appID[0] != '\'' || appID[len(appID)-1] != '\'' {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest",
			msg: "Bad request. Please fix the request before retrying: only the alternate key appId='{appId}' is supported."})
		return
	}
	s.serveServicePrincipal(w, r, c, "", appID[1:len(appID)-1])
}

// handleServicePrincipal is GET /v1.0/servicePrincipals/{id}.
func (s *Server) handleServicePrincipal(w http.ResponseWriter, r *http.Request, c *call) {
	s.serveServicePrincipal(w, r, c, r.PathValue("id"), "")
}

func (s *Server) serveServicePrincipal(w http.ResponseWriter, r *http.Request, c *call, id, appID string) {
	need := permServicePrincipals
	if p, ge := s.verifyBearer(r); ge == nil && !p.delegated &&
		(strings.EqualFold(appID, p.clientID) || (appID == "" && strings.EqualFold(id, servicePrincipalID(p.tenant, p.clientID)))) {
		// An app reads its own service principal without a permission
		// (servicePrincipal get reference).
		need = perms{anyCaller: true}
	}
	p, ok := s.graphAuth(w, r, c, need)
	if !ok {
		return
	}
	obj, _, found := s.servicePrincipalObject(p.tenant, id, appID)
	if !found {
		key := id
		if appID != "" {
			key = "appId='" + appID + "'"
		}
		s.writeGraphError(w, r, spNotFound(key))
		return
	}
	completeServicePrincipal(obj)
	sel := r.URL.Query().Get("$select")
	ctx := graphContext + "servicePrincipals/$entity"
	if strings.TrimSpace(sel) != "" {
		names, ge := checkSelect(sel, servicePrincipalProps, "servicePrincipal")
		if ge != nil {
			s.writeGraphError(w, r, ge)
			return
		}
		ctx = graphContext + "servicePrincipals(" + strings.Join(names, ",") + ")/$entity"
	}
	out := selectKeys(obj, sel)
	out["@odata.context"] = ctx
	writeJSON(w, http.StatusOK, out)
}

// servicePrincipalProps are the properties of the v1.0 servicePrincipal
// (msgraph-metadata v1.0 CSDL, with directoryObject's deletedDateTime
// and the key), each of which $select may name.
var servicePrincipalProps = []string{"id", "deletedDateTime", "accountEnabled", "addIns", "alternativeNames",
	"appDescription", "appDisplayName", "appId", "applicationTemplateId", "appOwnerOrganizationId",
	"appRoleAssignmentRequired", "appRoles", "createdByAppId", "customSecurityAttributes", "description",
	"disabledByMicrosoftStatus", "displayName", "homepage", "info", "isDisabled", "keyCredentials", "loginUrl",
	"logoutUrl", "notes", "notificationEmailAddresses", "oauth2PermissionScopes", "passwordCredentials",
	"preferredSingleSignOnMode", "preferredTokenSigningKeyThumbprint", "replyUrls",
	"resourceSpecificApplicationPermissions", "samlSingleSignOnSettings", "servicePrincipalNames",
	"servicePrincipalType", "signInAudience", "tags", "tokenEncryptionKeyId", "verifiedPublisher"}

// completeServicePrincipal fills in the v1.0 properties the fake keeps no
// value for, as the servicePrincipal get reference's example shows them
// (null, [] for collections, the informationalUrl and verifiedPublisher
// objects with null members). customSecurityAttributes is left out: Graph
// returns it only when selected, with its own permission.
func completeServicePrincipal(obj map[string]any) {
	defaults := map[string]any{
		"deletedDateTime": nil, "addIns": []any{}, "alternativeNames": []any{}, "appDescription": nil,
		"appDisplayName": obj["displayName"], "applicationTemplateId": nil, "appRoleAssignmentRequired": false,
		"createdByAppId": nil, "description": nil, "disabledByMicrosoftStatus": nil, "homepage": nil,
		"info":       map[string]any{"logoUrl": nil, "marketingUrl": nil, "privacyStatementUrl": nil, "supportUrl": nil, "termsOfServiceUrl": nil},
		"isDisabled": nil, "keyCredentials": []any{}, "loginUrl": nil, "logoutUrl": nil, "notes": nil,
		"notificationEmailAddresses": []any{}, "passwordCredentials": []any{}, "preferredSingleSignOnMode": nil,
		"preferredTokenSigningKeyThumbprint": nil, "replyUrls": []any{}, "resourceSpecificApplicationPermissions": []any{},
		"samlSingleSignOnSettings": nil, "servicePrincipalNames": []any{obj["appId"]}, "signInAudience": "AzureADMultipleOrgs",
		"tags": []any{}, "tokenEncryptionKeyId": nil,
		"verifiedPublisher": map[string]any{"addedDateTime": nil, "displayName": nil, "verifiedPublisherId": nil},
	}
	for k, v := range defaults {
		if _, ok := obj[k]; !ok {
			obj[k] = v
		}
	}
}

// checkSelect resolves $select sel against props (case-insensitive),
// returning the names as the type spells them, or Graph's 400 for a
// property typ does not have.
func checkSelect(sel string, props []string, typ string) ([]string, *graphError) {
	var names []string
	for _, raw := range strings.Split(sel, ",") {
		name := strings.TrimSpace(raw)
		i := slices.IndexFunc(props, func(p string) bool { return strings.EqualFold(p, name) })
		if i < 0 {
			return nil, &graphError{status: http.StatusBadRequest, code: "BadRequest",
				msg: fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.%s'.", name, typ)}
		}
		names = append(names, props[i])
	}
	return names, nil
}

// handleAppRoleAssignments is GET /v1.0/servicePrincipals/{id}/appRoleAssignments.
func (s *Server) handleAppRoleAssignments(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permServicePrincipals)
	if !ok {
		return
	}
	id := r.PathValue("id")
	obj, a, found := s.servicePrincipalObject(p.tenant, id, "")
	if !found {
		s.writeGraphError(w, r, spNotFound(id))
		return
	}
	value := []map[string]any{}
	if a != nil {
		graphSP := servicePrincipalID(p.tenant, GraphAppID)
		s.mu.Lock()
		g := p.tenant.grants[a.ClientID]
		now := s.nowLocked()
		type granted struct {
			name string
			at   time.Time
		}
		var list []granted
		if g != nil {
			for k, at := range g.roles {
				// Like tokens, the directory shows a fresh grant only
				// once it has replicated.
				if now.Sub(at) < s.opts.ConsentReplicationDelay {
					continue
				}
				list = append(list, granted{g.original[k], at})
			}
		}
		s.mu.Unlock()
		slices.SortFunc(list, func(x, y granted) int { return strings.Compare(strings.ToLower(x.name), strings.ToLower(y.name)) })
		for _, gr := range list {
			roleID := AppRoleID(gr.name)
			if roleID == "" {
				continue
			}
			sum := sha256.Sum256([]byte("assignment\x00" + obj["id"].(string) + "\x00" + roleID))
			value = append(value, selectKeys(map[string]any{
				"id":                   b64.EncodeToString(sum[:24]),
				"deletedDateTime":      nil,
				"appRoleId":            roleID,
				"createdDateTime":      gr.at.UTC().Format(time.RFC3339),
				"principalDisplayName": a.DisplayName,
				"principalId":          obj["id"],
				"principalType":        "ServicePrincipal",
				"resourceDisplayName":  "Microsoft Graph",
				"resourceId":           graphSP,
			}, r.URL.Query().Get("$select")))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": graphContext + "servicePrincipals('" + url.PathEscape(id) + "')/appRoleAssignments",
		"value":          value,
	})
}

// selectKeys returns obj with only the top-level properties $select
// names (every one when sel is empty); id always stays, as Graph keeps
// an entity's key.
func selectKeys(obj map[string]any, sel string) map[string]any {
	if strings.TrimSpace(sel) == "" {
		return obj
	}
	out := map[string]any{}
	for _, name := range strings.Split(sel, ",") {
		name = strings.TrimSpace(name)
		for k, v := range obj {
			if strings.EqualFold(k, name) {
				out[k] = v
			}
		}
	}
	if v, ok := obj["id"]; ok {
		out["id"] = v
	}
	return out
}
