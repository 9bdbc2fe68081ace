package m365test

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// CredentialFunc adapts a function to azcore.TokenCredential.
type CredentialFunc func(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error)

// GetToken implements azcore.TokenCredential.
func (f CredentialFunc) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return f(ctx, opts)
}

// AppCredential returns a credential that gets app-only tokens for
// tenantID from the MSAL confidential client cc (served from MSAL's cache
// while valid).
func AppCredential(cc confidential.Client, tenantID string) azcore.TokenCredential {
	return CredentialFunc(func(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
		res, err := cc.AcquireTokenByCredential(ctx, opts.Scopes, confidential.WithTenantID(tenantID))
		if err != nil {
			return azcore.AccessToken{}, err
		}
		return azcore.AccessToken{Token: res.AccessToken, ExpiresOn: res.ExpiresOn}, nil
	})
}
