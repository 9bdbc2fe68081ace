package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunPrintsSummaryAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // a failure before the end stops the server too
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	var out bytes.Buffer
	done := make(chan error, 1)
	pr := &syncBuffer{b: &out}
	go func() { done <- run(ctx, []string{"-users", "100", "-ca-file", caFile}, pr) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(pr.String(), "Press Ctrl-C") {
		if time.Now().After(deadline) {
			require.FailNow(t, "no summary", "output %q", pr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := pr.String()
	for _, want := range []string{"Tenant Contoso Ltd", "admin@contoso.onmicrosoft.com", "100 generated", "fakecloud-secret", "adminconsent?client_id="} {
		assert.Contains(t, s, want, "summary")
	}
	// The printed authority serves discovery over TLS trusted via the CA file.
	m := regexp.MustCompile(`Authority \(multi-tenant\):\s+(\S+)`).FindStringSubmatch(s)
	require.NotNil(t, m, "no authority in summary:\n%s", s)
	pemBytes, err := os.ReadFile(caFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemBytes), "CA file holds no certificate")
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(m[1] + "/v2.0/.well-known/openid-configuration")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "discovery")
	cancel()
	require.NoError(t, <-done)
}
