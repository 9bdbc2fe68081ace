package m365access

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// resolveTenant returns the GUID of tenant (a GUID or verified domain)
// from Entra's OpenID discovery document, whose issuer names the GUID.
func (m *Manager) resolveTenant(ctx context.Context, ep CloudEndpoints, tenant string) (string, error) {
	if isGUID(tenant) {
		return strings.ToLower(tenant), nil
	}
	u := ep.AuthorityHost + "/" + url.PathEscape(tenant) + "/v2.0/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return "", &Error{Op: "resolve tenant " + tenant, Action: ActionWaitAndRetry, Retryable: true, Err: sanitized{err}}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		e := parseEntraError("resolve tenant "+tenant, "", resp.StatusCode, resp.Header, body)
		if e.Action == ActionNone || resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusNotFound {
			e.Action, e.Retryable = ActionFixTenant, false
		}
		return "", e
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("m365access: resolving tenant %s: bad discovery document", tenant)
	}
	for _, seg := range strings.Split(doc.Issuer, "/") {
		if isGUID(seg) {
			return strings.ToLower(seg), nil
		}
	}
	return "", &Error{Op: "resolve tenant " + tenant, Action: ActionFixTenant,
		Err: fmt.Errorf("the discovery issuer names no tenant GUID")}
}
