package graphmail_test

import (
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"log/slog"
	"regexp"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	require.NoError(t, err)
	app, err := srv.AddApp(m365test.AppOptions{DisplayName: "Fabrikam portal", HomeTenant: tenant.ID,
		Secrets: []m365test.Secret{{Value: secret}}, ApplicationPermissions: appPermissions})
	require.NoError(t, err)
	require.NoError(t, srv.GrantAdminConsent(tenant.ID, app.ClientID))
	cred, err := confidential.NewCredFromSecret(secret)
	require.NoError(t, err)
	cc, err := confidential.New(srv.AuthorityURL("organizations"), app.ClientID, cred,
		confidential.WithHTTPClient(srv.Client()), confidential.WithInstanceDiscovery(false))
	require.NoError(t, err)
	appCred := m365test.AppCredential(cc, tenant.ID)
	m, err := graphmail.New(graphmail.Config{Credential: appCred, Sender: from, Transport: srv.Transport()})
	require.NoError(t, err)
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
	require.NoError(t, err)
	return svc
}

var req = invite.SendRequest{Customer: "c1", CustomerName: "Contoso Ltd", Tenant: "contoso.onmicrosoft.com",
	Recipient: "admin@contoso.example", SentBy: "Alice Admin"}

func TestSendThroughGraph(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"Mail.Send"}, sender)
	svc := newService(t, f.mailer)
	inv, err := svc.Send(t.Context(), req)
	require.NoError(t, err, "Send")
	sent := f.srv.SentMail()
	require.Len(t, sent, 1, "messages Graph recorded")
	m := sent[0]
	assert.Equal(t, f.tenant.ID, m.Tenant, "sent mail: %+v", m)
	assert.Equal(t, sender, m.From, "sent mail: %+v", m)
	assert.Equal(t, []string{"admin@contoso.example"}, m.To, "sent mail: %+v", m)
	assert.Empty(t, m.Cc, "sent mail: %+v", m)
	assert.Empty(t, m.Bcc, "sent mail: %+v", m)
	assert.Equal(t, "Fabrikam IT asks you to connect Contoso Ltd's Microsoft 365 tenant", m.Subject)
	assert.Equal(t, "html", m.ContentType)
	assert.False(t, m.SaveToSentItems, "saveToSentItems")
	match := linkRE.FindStringSubmatch(m.Body)
	require.NotNil(t, match, "body lacks the link:\n%s", m.Body)
	require.Contains(t, m.Body, "<strong>Alice Admin</strong>", "body lacks the inviter")
	got, err := svc.Redeem(t.Context(), match[1], "ip")
	require.NoError(t, err, "Redeem of the link sent through Graph")
	require.Equal(t, inv.ID, got.ID, "Redeem of the link sent through Graph")
}

func TestGraphRefusals(t *testing.T) {
	t.Parallel()
	t.Run("no Mail.Send", func(t *testing.T) {
		f := newFixture(t, []string{"User.Read.All"}, sender)
		svc := newService(t, f.mailer)
		inv, err := svc.Send(t.Context(), req)
		var se *graphmail.SendError
		var de *invite.DeliveryError
		require.ErrorAs(t, err, &de)
		require.ErrorAs(t, err, &se)
		require.Equal(t, 403, se.StatusCode, "err = %v", err)
		require.Contains(t, se.Action, "Mail.Send")
		require.Equal(t, invite.StatusFailed, inv.Status)
		require.Empty(t, f.srv.SentMail(), "messages sent")
	})
	t.Run("unknown sender", func(t *testing.T) {
		f := newFixture(t, []string{"Mail.Send"}, "nobody@fabrikam.onmicrosoft.com")
		err := f.mailer.Send(t.Context(), &invite.Message{To: "a@contoso.example", Subject: "s", HTML: "<p>h</p>"})
		var se *graphmail.SendError
		require.ErrorAs(t, err, &se)
		require.Equal(t, 404, se.StatusCode, "err = %v", err)
		require.Equal(t, "ErrorInvalidUser", se.Code)
		require.Contains(t, se.Action, "Config.Sender")
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
			assert.Error(t, f.mailer.Send(t.Context(), msg), "%s: accepted", name)
		}
		require.Empty(t, f.srv.SentMail(), "messages reached Graph")
	})
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	_, err := graphmail.New(graphmail.Config{Sender: sender})
	assert.Error(t, err, "nil client accepted")
	f := newFixture(t, []string{"Mail.Send"}, sender)
	for _, s := range []string{"", "a b@x.example", "../me", "x?y", "a@x.example\r\n"} {
		_, err := graphmail.New(graphmail.Config{Credential: f.cred, Sender: s})
		assert.Error(t, err, "sender %q accepted", s)
	}
}
