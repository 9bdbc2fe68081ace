package graphmail_test

import (
	"errors"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/graphmail"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

const (
	secret = "provider-secret"
	sender = "admin@fabrikam.onmicrosoft.com" // the provider tenant's Global Admin mailbox
)

var linkRE = regexp.MustCompile(`https://portal\.example\.com/invite/([A-Za-z0-9_-]{43})`)

// fixture is a fake cloud with the provider's own tenant (Fabrikam) and
// its app, and a Graph client with app-only tokens for that tenant.
type fixture struct {
	srv    *m365test.Server
	tenant *m365test.Tenant
	cred   azcore.TokenCredential
	mailer *graphmail.Mailer
}

func newFixture(t *testing.T, appPermissions []string, from string) *fixture {
	t.Helper()
	srv := m365test.NewServer(nil)
	t.Cleanup(srv.Close)
	tenant, err := srv.AddTenant(m365test.TenantOptions{Domains: []string{"fabrikam.onmicrosoft.com"}, DisplayName: "Fabrikam IT"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := srv.AddApp(m365test.AppOptions{DisplayName: "Fabrikam portal", HomeTenant: tenant.ID,
		Secrets: []m365test.Secret{{Value: secret}}, ApplicationPermissions: appPermissions})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.GrantAdminConsent(tenant.ID, app.ClientID); err != nil {
		t.Fatal(err)
	}
	cred, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := confidential.New(srv.AuthorityURL("organizations"), app.ClientID, cred,
		confidential.WithHTTPClient(srv.Client()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	appCred := m365test.AppCredential(cc, tenant.ID)
	m, err := graphmail.New(graphmail.Config{Credential: appCred, Sender: from, Transport: srv.Transport()})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, tenant: tenant, cred: appCred, mailer: m}
}

func newService(t *testing.T, m invite.Mailer) *invite.Service {
	t.Helper()
	svc, err := invite.New(invite.Options{
		Store:         memstore.New(),
		Mailer:        m,
		PublicBaseURL: "https://portal.example.com",
		Branding:      invite.Branding{ProviderName: "Fabrikam IT", SupportEmail: "help@fabrikam.example"},
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

var req = invite.SendRequest{Customer: "c1", CustomerName: "Contoso Ltd", Tenant: "contoso.onmicrosoft.com",
	Recipient: "admin@contoso.example", SentBy: "Alice Admin"}

func TestSendThroughGraph(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"Mail.Send"}, sender)
	svc := newService(t, f.mailer)
	inv, err := svc.Send(t.Context(), req)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	sent := f.srv.SentMail()
	if len(sent) != 1 {
		t.Fatalf("Graph recorded %d messages", len(sent))
	}
	m := sent[0]
	if m.Tenant != f.tenant.ID || m.From != sender || len(m.To) != 1 || m.To[0] != "admin@contoso.example" || len(m.Cc)+len(m.Bcc) != 0 {
		t.Errorf("sent mail: %+v", m)
	}
	if m.Subject != "Fabrikam IT asks you to connect Contoso Ltd's Microsoft 365 tenant" || m.ContentType != "html" || m.SaveToSentItems {
		t.Errorf("subject %q, content type %q, saveToSentItems %v", m.Subject, m.ContentType, m.SaveToSentItems)
	}
	match := linkRE.FindStringSubmatch(m.Body)
	if match == nil || !strings.Contains(m.Body, "<strong>Alice Admin</strong>") {
		t.Fatalf("body lacks the link or the inviter:\n%s", m.Body)
	}
	if got, err := svc.Redeem(t.Context(), match[1], "ip"); err != nil || got.ID != inv.ID {
		t.Fatalf("Redeem of the link sent through Graph: %+v, %v", got, err)
	}
}

func TestGraphRefusals(t *testing.T) {
	t.Parallel()
	t.Run("no Mail.Send", func(t *testing.T) {
		f := newFixture(t, []string{"User.Read.All"}, sender)
		svc := newService(t, f.mailer)
		inv, err := svc.Send(t.Context(), req)
		var se *graphmail.SendError
		var de *invite.DeliveryError
		if !errors.As(err, &de) || !errors.As(err, &se) || se.StatusCode != 403 || !strings.Contains(se.Action, "Mail.Send") {
			t.Fatalf("err = %v, want a DeliveryError wrapping a 403 SendError that names Mail.Send", err)
		}
		if inv.Status != invite.StatusFailed || len(f.srv.SentMail()) != 0 {
			t.Fatalf("status %s, %d sent", inv.Status, len(f.srv.SentMail()))
		}
	})
	t.Run("unknown sender", func(t *testing.T) {
		f := newFixture(t, []string{"Mail.Send"}, "nobody@fabrikam.onmicrosoft.com")
		err := f.mailer.Send(t.Context(), &invite.Message{To: "a@contoso.example", Subject: "s", HTML: "<p>h</p>"})
		var se *graphmail.SendError
		if !errors.As(err, &se) || se.StatusCode != 404 || se.Code != "ErrorInvalidUser" || !strings.Contains(se.Action, "Config.Sender") {
			t.Fatalf("err = %v (%+v), want a 404 ErrorInvalidUser SendError", err, se)
		}
	})
	t.Run("header injection", func(t *testing.T) {
		f := newFixture(t, []string{"Mail.Send"}, sender)
		for name, msg := range map[string]*invite.Message{
			"subject CRLF": {To: "a@contoso.example", Subject: "s\r\nBcc: eve@evil.example", HTML: "h"},
			"to list":      {To: "a@contoso.example, eve@evil.example", Subject: "s", HTML: "h"},
			"to name":      {To: "A <a@contoso.example>", Subject: "s", HTML: "h"},
			"reply-to":     {To: "a@contoso.example", ReplyTo: "r\n@x.example", Subject: "s", HTML: "h"},
			"nil":          nil,
		} {
			if err := f.mailer.Send(t.Context(), msg); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		if n := len(f.srv.SentMail()); n != 0 {
			t.Fatalf("%d messages reached Graph", n)
		}
	})
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	if _, err := graphmail.New(graphmail.Config{Sender: sender}); err == nil {
		t.Error("nil client accepted")
	}
	f := newFixture(t, []string{"Mail.Send"}, sender)
	for _, s := range []string{"", "a b@x.example", "../me", "x?y", "a@x.example\r\n"} {
		if _, err := graphmail.New(graphmail.Config{Credential: f.cred, Sender: s}); err == nil {
			t.Errorf("sender %q accepted", s)
		}
	}
}
