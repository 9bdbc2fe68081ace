package main

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/events"
)

// TestDemoFederatedProviderCredential: the portal runs with its provider
// app on a federated identity credential (-client-assertion
// managed-identity: a managed identity's token from IMDS, trusted by the
// fake's provider app), not its secret: a customer connects and
// validates.
func TestDemoFederatedProviderCredential(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

// TestProviderSecretExpiryEvents: the portal reports its own provider
// app's secret expiring (-client-secret-expires-at) as secret.expiring
// under the customer _tenantgate.provider, once per threshold.
func TestProviderSecretExpiryEvents(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(6 * 24 * time.Hour).UTC().Truncate(time.Second)
	d := startDemo(t, t.TempDir(), "-demo-users", "10", "-client-secret-expires-at", exp.Format(time.RFC3339))
	for range 2 {
		require.NoError(t, d.a.checkProviderExpiry(t.Context(), time.Now()))
	}
	evs, err := d.a.bus.Recent(t.Context(), events.Query{Customer: events.ProviderCustomer})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	assert.Equal(t, events.SecretExpiring, evs[0].Type)
	assert.Equal(t, events.CredentialProviderSecret, evs[0].Data.Credential)
	assert.True(t, evs[0].Data.ExpiresAt.Equal(exp))
}

// TestAuditChainKeyed: the portal keys its audit chain with a key sealed
// in the tokenstore: the chain verifies through the API, across a
// restart, and a Log without the key (what a database writer can
// compute) does not verify it.
func TestAuditChainKeyed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDemo(t, dir, "-demo-users", "10")
	d.api(t, "PUT", "/api/customers/contoso/m365", `{"userFilter":"Department -eq 'Sales'"}`, http.StatusOK, nil)
	var rep audit.ChainReport
	d.api(t, "GET", "/api/customers/contoso/audit/verify", "", http.StatusOK, &rep)
	require.True(t, rep.Intact, "%+v", rep.FirstBroken)
	require.Positive(t, rep.Entries)
	unkeyed, err := audit.New(t.Context(), audit.Options{DB: d.a.recordsDB, Dialect: audit.SQLite})
	require.NoError(t, err)
	plain, err := unkeyed.Verify(t.Context(), "contoso")
	require.NoError(t, err)
	assert.False(t, plain.Intact, "without the sealed key the chain cannot be recomputed")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, d.a.shutdown(ctx))
	d2 := startDemo(t, dir, "-demo-users", "10")
	d2.api(t, "PUT", "/api/customers/contoso/m365", `{"userFilter":"Department -eq 'Marketing'"}`, http.StatusOK, nil)
	d2.api(t, "GET", "/api/customers/contoso/audit/verify", "", http.StatusOK, &rep)
	assert.True(t, rep.Intact, "%+v", rep.FirstBroken)
}
