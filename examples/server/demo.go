package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/voice"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// The demo's fake cloud: the contoso.onmicrosoft.com tenant with its
// generated users (m365test's "Demo data") and the provider app registered
// in it.
const (
	demoDomain      = "contoso.onmicrosoft.com"
	demoDisplayName = "Contoso Ltd"
	demoClientID    = "7e9c1a4e-2b8f-4c1d-9a0e-5f3b6d2c8a17"
)

// startFake starts the in-process fake Microsoft cloud with the demo
// tenant and registers the provider app with the portal's redirect URIs.
// Its token signing key is kept in the data directory, so access tokens
// issued before a restart still verify; everything else (refresh tokens,
// consent) lives in memory: after a restart a connection works until its
// access token expires (at most an hour), then needs a new invitation.
func (a *app) startFake() error {
	key, err := a.fakeSigningKey()
	if err != nil {
		return err
	}
	a.fake = m365test.NewServer(&m365test.Options{SigningKey: key, Logger: a.log.With("component", "m365test")})
	t, err := a.fake.AddTenant(m365test.TenantOptions{
		Domains: []string{demoDomain}, DisplayName: demoDisplayName, Users: a.cfg.DemoUsers,
	})
	if err != nil {
		return fmt.Errorf("demo tenant: %w", err)
	}
	a.tenant = t
	a.fakeProvider, err = a.fake.AddProvider(m365test.ProviderOptions{
		PublicBaseURL: a.publicURL, ClientID: demoClientID, DisplayName: a.cfg.ProviderName + " (demo provider app)",
		DelegatedPermissions:   append(slices.Clone(m365access.DefaultScopes), voice.Permissions...),
		ApplicationPermissions: append(append(slices.Clone(m365access.DefaultAppPermissions), "Organization.Read.All"), voice.Permissions...),
	})
	if err != nil {
		return fmt.Errorf("demo provider app: %w", err)
	}
	if err := a.addDemoFleet(); err != nil {
		return err
	}
	return a.addDemoQoEApp()
}

// configureDemoCustomer enrolls the demo customer and configures it for the fake tenant in
// token mode, unless it already has settings (a restart keeps what the
// user changed).
func (a *app) configureDemoCustomer(ctx context.Context) error {
	if err := a.fleet.Enroll(ctx, a.cfg.Customer, demoDisplayName); err != nil && !errors.Is(err, fleet.ErrOffboarding) {
		return fmt.Errorf("enroll the demo customer: %w", err)
	}
	_, err := a.manager.GetSettings(ctx, a.cfg.Customer)
	if err == nil {
		return nil
	}
	if !errors.Is(err, tokenstore.ErrNotFound) {
		return fmt.Errorf("read the demo customer's settings: %w", err)
	}
	tenant, mode, account := demoDomain, m365access.ModeToken, a.tenant.AdminUPN()
	qoeApp, qoeSecret := demoQoEClientID, a.fakeQoESecret
	_, err = a.manager.SaveSettings(ctx, a.cfg.Customer, m365access.SettingsUpdate{
		Tenant: &tenant, Mode: &mode, ServiceAccount: &account,
		QoEAppID: &qoeApp, QoEClientSecret: &qoeSecret,
	})
	if errors.Is(err, tokenstore.ErrConflict) {
		return nil // another process configured it meanwhile
	}
	if err != nil {
		return fmt.Errorf("configure the demo customer: %w", err)
	}
	a.log.Info("demo customer configured", "customer", a.cfg.Customer, "tenant", tenant, "serviceAccount", account)
	return nil
}

// demoConsentLinks sends admin consent links to the fake. m365access
// builds them on the cloud's authority host (login.microsoftonline.com),
// which the in-process fake answers only for this process's HTTP client,
// not for a person's browser; the fake serves the same page on its
// plain-http browser listener. Only the answer of the consent route is
// rewritten, and only a link on the real authority host.
func (a *app) demoConsentLinks(api http.Handler) http.Handler {
	authority, _ := url.Parse(m365access.DefaultClouds[m365access.CloudGlobal].AuthorityHost)
	browser, _ := url.Parse(a.fake.BrowserURL())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/m365/consent") {
			api.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusOK {
			var link map[string]any
			if err := json.Unmarshal(body, &link); err == nil {
				for _, k := range []string{"url", "shareUrl"} {
					if s, ok := link[k].(string); ok {
						if u, err := url.Parse(s); err == nil && u.Host == authority.Host {
							u.Scheme, u.Host = browser.Scheme, browser.Host
							link[k] = u.String()
						}
					}
				}
				body, _ = json.Marshal(link)
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// fakeSigningKey loads the fake cloud's RSA signing key from the data
// directory, generating it on first start. It signs only the fake's test
// tokens.
func (a *app) fakeSigningKey() (*rsa.PrivateKey, error) {
	path := filepath.Join(a.cfg.DataDir, "fake-cloud-signing-key.pem")
	if b, err := os.ReadFile(path); err == nil {
		block, _ := pem.Decode(b)
		if block != nil {
			if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
				return k, nil
			}
		}
		return nil, fmt.Errorf("%s is not a PEM RSA key; delete it and restart the demo", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := writeFileExcl(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("write the fake cloud's signing key: %w", err)
	}
	return k, nil
}
