package m365access

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestErrorsKeepTheTransportCause: a DNS failure reaching Entra ID is
// reported with its action and stays reachable with errors.As.
func TestErrorsKeepTheTransportCause(t *testing.T) {
	t.Parallel()
	tr := &http.Transport{DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}}
	m, _, _ := newTestManager(t, func(c *Config) { c.HTTPClient = &http.Client{Transport: tr} })
	ctx := context.Background()
	_, err := m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("contoso.onmicrosoft.com"), Mode: ptr(ModeAppRegistration),
		AppClientID: ptr(custAppID), AppClientSecret: ptr(custAppSecret)})
	require.NoError(t, err)
	_, err = m.Credential("c1").GetToken(ctx, graphScope())
	var dns *net.DNSError
	require.ErrorAs(t, err, &dns)
	require.True(t, dns.IsNotFound)
	assert.True(t, IsRetryable(err), "a DNS failure is retryable")
	assert.Equal(t, ActionWaitAndRetry, ActionOf(err))
	assert.NotContains(t, err.Error(), custAppSecret, "the secret is in the error")
}
