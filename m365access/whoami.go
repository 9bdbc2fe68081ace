package m365access

import (
	"context"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// me is the signed-in account as Graph's /me describes it.
type me struct {
	ID                string   `json:"id"`
	UserPrincipalName string   `json:"userPrincipalName"`
	Mail              string   `json:"mail"`
	OtherMails        []string `json:"otherMails"`
	UserType          string   `json:"userType"`
}

// meSelect are the /me properties an account match needs.
const meSelect = "/me?$select=id,userPrincipalName,mail,otherMails,userType"

// readMe reads the signed-in account from Graph with tok.
func (m *Manager) readMe(ctx context.Context, op, customer string, tok azcore.AccessToken, ep CloudEndpoints) (me, error) {
	var u me
	err := m.graphGet(ctx, op, customer, tok, ep, meSelect, &u)
	return u, err
}

// whoAmI reads the signed-in user from Graph (/me) with a new access
// token and checks that it is the object oid of the id_token.
func (m *Manager) whoAmI(ctx context.Context, customer string, ep CloudEndpoints, token string, expires time.Time, oid string) (me, error) {
	u, err := m.readMe(ctx, "identify the signed-in account", customer, azcore.AccessToken{Token: token, ExpiresOn: expires}, ep)
	if err != nil {
		return me{}, err
	}
	if u.ID == "" || !strings.EqualFold(u.ID, oid) {
		return me{}, &FlowError{Reason: ReasonIDTokenInvalid, Detail: "Graph's signed-in user is not the id_token's oid"}
	}
	return u, nil
}

// matches reports whether the account is the service account configured
// as account: its user principal name, or for a guest (B2B) account
// configured by its home address (alice@fabrikam.com), its mail, one of
// its otherMails or its #EXT# user principal name in the resource tenant
// (alice_fabrikam.com#EXT#@contoso.onmicrosoft.com). Case is ignored.
// It decides only the first connection of an account: after it the
// account's object ID is pinned.
func (u me) matches(account string) bool {
	account = strings.TrimSpace(account)
	if account == "" {
		return false
	}
	if strings.EqualFold(u.UserPrincipalName, account) {
		return true
	}
	local, domain, ok := strings.Cut(account, "@")
	if !ok || local == "" || domain == "" {
		return false
	}
	if strings.EqualFold(u.Mail, account) {
		return true
	}
	for _, o := range u.OtherMails {
		if strings.EqualFold(o, account) {
			return true
		}
	}
	if ext, _, ok := strings.Cut(u.UserPrincipalName, "#EXT#@"); ok {
		return strings.EqualFold(ext, local+"_"+domain)
	}
	return false
}
