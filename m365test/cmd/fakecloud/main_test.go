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
)

func TestRunPrintsSummaryAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	var out bytes.Buffer
	done := make(chan error, 1)
	pr := &syncBuffer{b: &out}
	go func() { done <- run(ctx, []string{"-users", "100", "-ca-file", caFile}, pr) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(pr.String(), "Press Ctrl-C") {
		if time.Now().After(deadline) {
			t.Fatalf("no summary; output %q", pr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := pr.String()
	for _, want := range []string{"Tenant Contoso Ltd", "admin@contoso.onmicrosoft.com", "100 generated", "fakecloud-secret", "adminconsent?client_id="} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	// The printed authority serves discovery over TLS trusted via the CA file.
	m := regexp.MustCompile(`Authority \(multi-tenant\):\s+(\S+)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no authority in summary:\n%s", s)
	}
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("CA file holds no certificate")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(m[1] + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("discovery: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
