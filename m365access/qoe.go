package m365access

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// QoECredential returns an azcore.TokenCredential for customer's QoE app
// registration (QoE settings: app ID and client secret) in the customer's
// tenant, through the client-credentials flow. Call records need its
// application permission CallRecords.Read.All, which delegated tokens
// cannot carry. Empty Scopes mean the customer's Graph /.default. Tokens
// are cached in memory by MSAL; a settings change takes effect on the
// next call. A customer without QoE settings gets a *FlowError with
// ReasonNotConfigured.
func (m *Manager) QoECredential(customer string) azcore.TokenCredential {
	return qoeCredential{m: m, customer: customer}
}

type qoeCredential struct {
	m        *Manager
	customer string
}

// GetToken implements azcore.TokenCredential.
func (c qoeCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	m, customer := c.m, c.customer
	s, _, err := m.loadSettings(ctx, customer)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	if s.QoEAppID == "" || s.QoESecret == "" {
		return azcore.AccessToken{}, &FlowError{Reason: ReasonNotConfigured, Customer: customer, Detail: "no QoE app ID and secret: save the QoE integration settings"}
	}
	if s.tenant() == "" {
		return azcore.AccessToken{}, &FlowError{Reason: ReasonNotConfigured, Customer: customer, Detail: "no tenant: save the customer's tenant"}
	}
	ep, err := m.clouds.Lookup(s.Cloud)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	cl, err := m.qoeClient(customer, s, ep)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	aopts := []confidential.AcquireByCredentialOption{confidential.WithTenantID(s.tenant())}
	if opts.Claims != "" { // a CAE claims challenge: MSAL bypasses its cache
		aopts = append(aopts, confidential.WithClaims(opts.Claims))
	}
	res, err := cl.AcquireTokenByCredential(ctx, appScopes(opts.Scopes, ep), aopts...)
	if err != nil {
		ferr := fromMSAL("get a QoE app token", customer, err)
		recordToken(ctx, "qoe", false, ferr)
		return azcore.AccessToken{}, ferr
	}
	recordToken(ctx, "qoe", res.Metadata.TokenSource == confidential.TokenSourceIdentityProvider, nil)
	return azcore.AccessToken{Token: res.AccessToken, ExpiresOn: res.ExpiresOn}, nil
}

// qoeClient returns the customer's QoE app client, rebuilt when the app
// ID, secret or cloud changes.
func (m *Manager) qoeClient(customer string, s *settings, ep CloudEndpoints) (*confidential.Client, error) {
	fp := fingerprint(ep.AuthorityHost, s.QoEAppID, s.QoESecret)
	cc := m.entry(customer)
	m.mu.Lock()
	if cc.qoe != nil && cc.qoeFP == fp {
		defer m.mu.Unlock()
		return cc.qoe, nil
	}
	m.mu.Unlock()
	cred, err := confidential.NewCredFromSecret(s.QoESecret)
	if err != nil {
		return nil, fmt.Errorf("m365access: QoE credential of customer %q: %w", customer, sanitized{err})
	}
	cl, err := m.newConfidential(ep, s.QoEAppID, cred, nil)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cc.qoe, cc.qoeFP = cl, fp
	return cl, nil
}
