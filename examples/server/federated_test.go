package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDemoFederatedProviderCredential: the portal runs with its provider
// app on a federated identity credential (-client-assertion
// managed-identity: a managed identity's token from IMDS, trusted by the
// fake's provider app), not its secret: a customer connects and
// validates.
func TestDemoFederatedProviderCredential(t *testing.T) {
	d := startDemo(t, t.TempDir(), "-demo-users", "20", "-client-assertion", "managed-identity")
	require.NotNil(t, d.a.imdsIssuer)
	connectWithoutBrowser(t, d)
	var rep struct {
		OK bool `json:"ok"`
	}
	d.api(t, "POST", "/api/customers/contoso/m365/validate", "", http.StatusOK, &rep)
	assert.True(t, rep.OK)
	assert.Positive(t, d.a.imdsIssuer.Issued(), "the provider app authenticated with the managed identity's token")
}

// TestParseConfigClientAssertion: production takes a federated
// credential instead of the secret, alone, and a token file needs its
// path.
func TestParseConfigClientAssertion(t *testing.T) {
	noSecret := prodEnv()
	delete(noSecret, "TENANTGATE_CLIENT_SECRET")
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string // "" accepts
	}{
		{"managed identity instead of the secret", []string{"-client-assertion", "managed-identity"}, noSecret, ""},
		{"token file", []string{"-client-assertion", "token-file", "-federated-token-file", "/var/run/secrets/azure/tokens/azure-identity-token"}, noSecret, ""},
		{"token file without its path", []string{"-client-assertion", "token-file"}, noSecret, "-federated-token-file"},
		{"assertion and secret", []string{"-client-assertion", "managed-identity"}, prodEnv(), "set one provider app credential"},
		{"unknown kind", []string{"-client-assertion", "kerberos"}, noSecret, "is not a federated credential"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseConfig(c.args, env(c.env), io.Discard)
			if c.want == "" {
				require.NoError(t, err)
				assert.NotEmpty(t, cfg.ClientAssertion)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}
