package m365test

import (
	"net/http"
	"strings"
)

// CodeScopeNotDefault is the AADSTS code for a client credentials request
// whose scope is not "{resource}/.default".
const CodeScopeNotDefault = 1002012

// scopeRequest is a parsed scope parameter.
type scopeRequest struct {
	raw       string
	offline   bool
	openid    bool
	graph     []string // Graph permissions, short form (e.g. "User.Read")
	graphDflt bool     // "https://graph.microsoft.com/.default"
	hasGraph  bool
}

var oidcScopes = map[string]bool{"openid": true, "profile": true, "email": true, "offline_access": true}

// parseScope parses a space-separated scope parameter. Only Microsoft
// Graph is a known resource; other resources fail with AADSTS500011.
func parseScope(raw string, t *Tenant) (*scopeRequest, *entraError) {
	sr := &scopeRequest{raw: raw}
	for _, sc := range strings.Fields(raw) {
		l := strings.ToLower(sc)
		if oidcScopes[l] {
			sr.openid = sr.openid || l == "openid"
			sr.offline = sr.offline || l == "offline_access"
			continue
		}
		perm := sc
		if i := strings.LastIndex(sc, "/"); i >= 0 {
			res := strings.TrimSuffix(strings.ToLower(sc[:i]), "/")
			perm = sc[i+1:]
			if res != graphAudience && res != GraphAppID && res != "https://graph.microsoft.com/v1.0" {
				name := "the tenant"
				if t != nil {
					name = t.ID
				}
				return nil, newEntraError(http.StatusBadRequest, "invalid_resource", CodeResourceNotFound,
					"The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", sc[:i], name)
			}
		}
		sr.hasGraph = true
		if perm == ".default" {
			sr.graphDflt = true
			continue
		}
		if perm == "" {
			return nil, invalidScope(raw)
		}
		if !graphPermissions[strings.ToLower(perm)] {
			return nil, unknownScope(perm)
		}
		sr.graph = append(sr.graph, perm)
	}
	if sr.graphDflt && len(sr.graph) > 0 {
		return nil, invalidScope(raw)
	}
	return sr, nil
}

func invalidScope(raw string) *entraError {
	return newEntraError(http.StatusBadRequest, "invalid_scope", CodeInvalidScope,
		"The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", raw)
}
