// Command fakecloud runs the m365test fake Microsoft cloud (Entra ID and
// Graph) standalone and prints its tenants, URLs and credentials.
//
//	go run ./m365test/cmd/fakecloud -users 50000
//
// The TLS listener's certificate comes from a CA generated at start; the
// command writes that CA to -ca-file so other processes can trust it
// (e.g. SSL_CERT_FILE, or a tls.Config with it as RootCAs). The sign-in and
// consent pages are served over plain http on loopback.
//
// For scripted clients, -grant-consent grants the provider app admin
// consent at start and -sign-in-as answers every sign-in page at once;
// msalnode/run.sh drives the fake that way with @azure/msal-node (client
// credentials, auth code with PKCE, silent refresh, error responses).
package main

import (
	"context"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tenantgate/tenantgate/m365test"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fakecloud:", err)
		stop()
		os.Exit(1)
	}
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("fakecloud", flag.ContinueOnError)
	tlsAddr := fs.String("tls-addr", "127.0.0.1:0", "listen address of the TLS listener (token endpoint, discovery, Graph)")
	browserAddr := fs.String("browser-addr", "127.0.0.1:0", "listen address of the plain-http listener (sign-in and consent pages)")
	domain := fs.String("domain", "contoso.onmicrosoft.com", "verified domain of the demo tenant")
	name := fs.String("name", "Contoso Ltd", "display name of the demo tenant")
	users := fs.Int("users", 50_000, "number of generated users in the demo tenant")
	clientID := fs.String("client-id", "00000000-0000-4000-8000-00000000c11e", "client ID of the provider app")
	secret := fs.String("client-secret", "fakecloud-secret", "client secret of the provider app (a test value)")
	redirect := fs.String("redirect-uri", "http://localhost:8080/auth/callback,http://localhost:8080/consent/callback", "comma-separated redirect URIs of the provider app")
	caFile := fs.String("ca-file", "", "write the TLS listener's CA certificate (PEM) to this file")
	grantConsent := fs.Bool("grant-consent", false, "grant the provider app admin consent in the demo tenant at start (already replicated)")
	signInAs := fs.String("sign-in-as", "", "answer every sign-in and consent page at once as this user of the demo tenant, for scripted clients (\"admin\" means the Global Admin)")
	verbose := fs.Bool("v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := &m365test.Options{TLSAddr: *tlsAddr, BrowserAddr: *browserAddr}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := m365test.NewServer(opts)
	defer srv.Close()
	t, err := srv.AddTenant(m365test.TenantOptions{Domains: []string{*domain}, DisplayName: *name, Users: *users})
	if err != nil {
		return err
	}
	app, err := srv.AddApp(m365test.AppOptions{
		ClientID: *clientID, DisplayName: "tenantgate provider (fake)",
		Secrets:                []m365test.Secret{{Value: *secret, Expires: time.Now().AddDate(1, 0, 0)}},
		RedirectURIs:           strings.Split(*redirect, ","),
		RequirePKCE:            true,
		DelegatedPermissions:   []string{"User.Read", "User.Read.All"},
		ApplicationPermissions: []string{"User.Read.All", "Organization.Read.All", "CallRecords.Read.All", "Mail.Send"},
	})
	if err != nil {
		return err
	}
	if *grantConsent {
		if err := srv.GrantAdminConsent(t.ID, app.ClientID); err != nil {
			return err
		}
	}
	if *signInAs != "" {
		upn := *signInAs
		if upn == "admin" {
			upn = t.AdminUPN()
		}
		srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{User: upn})
	}
	if *caFile != "" {
		var pemBytes []byte
		for _, c := range srv.CACertificates() {
			pemBytes = append(pemBytes, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		if err := os.WriteFile(*caFile, pemBytes, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, `m365test fake Microsoft cloud
  TLS listener (MSAL, Graph):   %s
  Browser listener (pages):     %s
  Authority (multi-tenant):     %s   (MSAL: WithInstanceDiscovery(false) and trust the CA)
  Graph base URL:               %s
  CA certificate file:          %s

Tenant %s
  ID:                %s
  Domain:            %s
  Users:             %d generated + Global Admin
  Global Admin:      %s / password %s

Provider app
  Client ID:         %s
  Client secret:     %s   (a test value, not a real secret)
  Redirect URIs:     %s
  Admin consent URL: %s

Press Ctrl-C to stop.
`, srv.URL(), srv.BrowserURL(), srv.AuthorityURL("organizations"), srv.GraphURL(), orNone(*caFile),
		t.DisplayName, t.ID, t.Domain(), t.Users(), t.AdminUPN(), t.Password(),
		app.ClientID, *secret, *redirect, srv.AdminConsentURL(t.ID, app.ClientID, strings.Split(*redirect, ",")[0], "STATE"))

	<-ctx.Done()
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(not written; use -ca-file)"
	}
	return s
}
