package m365access_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantgate/tenantgate/httpapi"
	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/outbox"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/filter"
)

// The whole onboarding of a customer against the fake cloud: an invitation,
// the customer's admin through the wizard, the customer's credential, and
// a filtered user sync. A host wires production the same way, with the
// fake's HTTP client, Graph transport and sign-in origins left out.
func Example_invitationToSync() {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)

	// The fake Microsoft cloud: the customer's tenant, and the provider app
	// registered with the redirect URIs of the host's public base URL.
	srv := m365test.NewServer(&m365test.Options{InMemory: true})
	defer srv.Close()
	contoso, _ := srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, DisplayName: "Contoso Ltd", Users: 200})
	fake, err := srv.AddProvider(m365test.ProviderOptions{PublicBaseURL: "https://portal.example/m365"})
	if err != nil {
		log.Fatal(err)
	}

	// The host's wiring: store, Manager, invitations, handlers, syncer.
	key, _ := tokenstore.GenerateKey("k1")
	kr, _ := tokenstore.NewKeyring(key)
	store := tokenstore.New(memstore.New(), kr)
	access, err := m365access.New(m365access.Config{
		Provider: m365access.ProviderConfig{ClientID: fake.ClientID, ClientSecret: fake.ClientSecret,
			PublicBaseURL: "https://portal.example/m365"},
		Store: store, Locker: store, HTTPClient: fake.HTTPClient, Logger: quiet,
		ValidateFilter: func(f string) error { _, err := filter.Compile(f); return err },
	})
	if err != nil {
		log.Fatal(err)
	}
	mail := outbox.New(outbox.Options{})
	invitations, err := invite.New(invite.Options{Store: store, Mailer: mail, PublicBaseURL: access.PublicURLs().BaseURL, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	source, err := usersync.NewGraphSource(access, usersync.GraphOptions{Transport: fake.GraphTransport})
	if err != nil {
		log.Fatal(err)
	}
	sink := &usersync.MemorySink{}
	syncer := &usersync.Syncer{Source: source, Sink: sink, Filters: access, Logger: quiet}
	wizard, err := httpapi.NewWizard(httpapi.Config{Access: access, Invitations: invitations, Store: store,
		SignInOrigins: fake.SignInOrigins, ProviderName: "Example MSP", Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer wizard.Close(ctx)

	// The provider admin configures the customer and invites its admin.
	tenant, mode, account, italy := contoso.Domain(), m365access.ModeToken, contoso.AdminUPN(), "UsageLocation -eq 'IT'"
	if _, err := access.SaveSettings(ctx, "contoso", m365access.SettingsUpdate{Tenant: &tenant, Mode: &mode,
		ServiceAccount: &account, UserFilter: &italy}); err != nil {
		log.Fatal(err)
	}
	if _, err := invitations.Send(ctx, invite.SendRequest{Customer: "contoso", Recipient: account, CustomerName: "Contoso Ltd", Tenant: tenant, SentBy: "Alice Smith"}); err != nil {
		log.Fatal(err)
	}
	text := mail.To(account)[0].Message.Text
	link := text[strings.Index(text, "https://portal.example/m365/invite/"):]
	link = link[:strings.IndexAny(link, " \r\n")]

	// The customer's admin opens the link and signs in (the fake answers
	// the sign-in at once, as the admin consenting for the organization).
	srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	browser := newBrowser(http.StripPrefix("/m365", wizard), fake.GraphTransport)
	landing := browser.get(link)
	fmt.Println("landing page asks to sign in:", strings.Contains(landing, "Sign in with Microsoft"))
	done := browser.post(link + "/start")
	fmt.Println("after sign-in:", strings.Contains(done, "Connected"))

	// Day two: the customer's credential and a filtered sync.
	st, _ := access.Status(ctx, "contoso")
	fmt.Println("state:", st.State, "account:", st.Account)
	cred := access.Credential("contoso") // an azcore.TokenCredential for any Azure SDK or Graph client
	_, err = cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	fmt.Println("token:", err)
	res := syncer.SyncCustomer(ctx, "contoso") // the Syncer reads with the same credential
	fmt.Println("synced:", res.Err, res.Added, "of", res.Read, "users in Italy:", sink.Len("contoso"))
	// Output:
	// landing page asks to sign in: true
	// after sign-in: true
	// state: connected account: admin@contoso.onmicrosoft.com
	// token: <nil>
	// synced: <nil> 20 of 20 users in Italy: 20
}

// browser is a person's browser for the example: cookies, redirects, the
// host's handler for https://portal.example and the fake for the rest.
type browser struct{ c *http.Client }

func newBrowser(portal http.Handler, fake http.RoundTripper) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{c: &http.Client{Jar: jar, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host != "portal.example" {
			return fake.RoundTrip(r)
		}
		w := httptest.NewRecorder()
		portal.ServeHTTP(w, r)
		return w.Result(), nil
	})}}
}

func (b *browser) get(u string) string { return b.do(http.MethodGet, u) }

func (b *browser) post(u string) string { return b.do(http.MethodPost, u) }

func (b *browser) do(method, u string) string {
	req, _ := http.NewRequest(method, u, strings.NewReader(url.Values{}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.c.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
