package m365access

import "time"

// ProviderCredentialKind names the provider app's credential.
type ProviderCredentialKind string

// The kinds of provider app credentials.
const (
	ProviderClientSecret    ProviderCredentialKind = "clientSecret"
	ProviderCertificate     ProviderCredentialKind = "certificate"
	ProviderClientAssertion ProviderCredentialKind = "clientAssertion"
)

// ProviderCredentialExpiry says which credential the provider app uses and
// when it expires: the certificate's leaf expiry, or
// ProviderConfig.ClientSecretExpiresAt for a secret. ok is false when
// the expiry is unknown (a secret without ClientSecretExpiresAt) or
// there is none (a client assertion: nothing long-lived expires; no
// provider app).
func (m *Manager) ProviderCredentialExpiry() (kind ProviderCredentialKind, expiresAt time.Time, ok bool) {
	p := m.provider
	switch {
	case p.ClientAssertion != nil:
		return ProviderClientAssertion, time.Time{}, false
	case len(p.CertificatePEM) != 0:
		_, _, info, err := parseCertificatePEM(p.CertificatePEM)
		if err != nil {
			return ProviderCertificate, time.Time{}, false
		}
		return ProviderCertificate, info.NotAfter, true
	case p.ClientSecret != "":
		return ProviderClientSecret, p.ClientSecretExpiresAt, !p.ClientSecretExpiresAt.IsZero()
	}
	return "", time.Time{}, false
}
