package m365access

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
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
	if _, err := m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("contoso.onmicrosoft.com"), Mode: ptr(ModeAppRegistration),
		AppClientID: ptr(custAppID), AppClientSecret: ptr(custAppSecret)}); err != nil {
		t.Fatal(err)
	}
	_, err := m.Credential("c1").GetToken(ctx, graphScope())
	var dns *net.DNSError
	if !errors.As(err, &dns) || !dns.IsNotFound {
		t.Fatalf("GetToken: %v (%T); errors.As(*net.DNSError) = false", err, err)
	}
	if !IsRetryable(err) || ActionOf(err) != ActionWaitAndRetry {
		t.Errorf("a DNS failure: retryable %v, action %q", IsRetryable(err), ActionOf(err))
	}
	if strings.Contains(err.Error(), custAppSecret) {
		t.Error("the secret is in the error")
	}
}
