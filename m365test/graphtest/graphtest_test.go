package graphtest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/m365test/graphtest"
)

const secret = "provider-secret"

type env struct {
	srv    *m365test.Server
	tenant *m365test.Tenant
	app    *m365test.App
	cc     confidential.Client
}

// newEnv starts a fake with Contoso (users generated users) and an app
// with admin consent, and an MSAL confidential client on authority.
func newEnv(t testing.TB, users int, realHost bool) *env {
	t.Helper()
	srv := m365test.NewServer(nil)
	t.Cleanup(srv.Close)
	tenant, err := srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, DisplayName: "Contoso Ltd", Users: users})
	if err != nil {
		t.Fatal(err)
	}
	app, err := srv.AddApp(m365test.AppOptions{DisplayName: "Provider", Secrets: []m365test.Secret{{Value: secret}},
		ApplicationPermissions: []string{"User.Read.All", "Mail.Send", "Organization.Read.All"}})
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
	authority, opts := srv.AuthorityURL("organizations"), []confidential.Option{confidential.WithHTTPClient(srv.Client()), confidential.WithInstanceDiscovery(false)}
	if realHost {
		authority, opts = "https://"+m365test.LoginHost+"/organizations", []confidential.Option{confidential.WithHTTPClient(srv.Client())}
	}
	cc, err := confidential.New(authority, app.ClientID, cred, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, tenant: tenant, app: app, cc: cc}
}

func (e *env) client(t testing.TB, realHost bool) *msgraph.GraphServiceClient {
	t.Helper()
	c, err := graphtest.NewClient(e.srv, graphtest.AppCredential(e.cc, e.tenant.ID), &graphtest.Options{RealHost: realHost})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }

// collect pages through a users listing with msgraph-sdk-go's page
// iterator.
// hdr, when not nil, is sent with every next page (an advanced query's
// ConsistencyLevel header must be repeated, as with real Graph).
func collect(t testing.TB, c *msgraph.GraphServiceClient, first models.UserCollectionResponseable, hdr *abstractions.RequestHeaders) []models.Userable {
	t.Helper()
	it, err := msgraphcore.NewPageIterator[models.Userable](first, c.GetAdapter(), models.CreateUserCollectionResponseFromDiscriminatorValue)
	if err != nil {
		t.Fatal(err)
	}
	if hdr != nil {
		it.SetHeaders(hdr)
	}
	var out []models.Userable
	if err := it.Iterate(context.Background(), func(u models.Userable) bool {
		out = append(out, u)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// The tests of this package are not parallel: msgraph-sdk-go-core v1.4.0
// creates its error registry lazily without synchronisation
// (error_mappings_registry.go getInstance), and two page iterators built at
// once race there (go test -race reports it).

func TestUsersWithFilterAndCount(t *testing.T) {
	e := newEnv(t, 50_000, false)
	c := e.client(t, false)
	hdr := abstractions.NewRequestHeaders()
	hdr.Add("ConsistencyLevel", "eventual")
	first, err := c.Users().Get(context.Background(), &users.UsersRequestBuilderGetRequestConfiguration{
		Headers: hdr,
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Filter: ptr("usageLocation eq 'IT'"), Top: ptr(int32(999)), Count: ptr(true),
			Select: []string{"id", "userPrincipalName", "usageLocation", "city"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := first.GetOdataCount(); n == nil || *n != 5000 {
		t.Fatalf("@odata.count = %v, want 5000", n)
	}
	got := collect(t, c, first, hdr)
	if len(got) != 5000 {
		t.Fatalf("users = %d, want 5000", len(got))
	}
	for _, u := range got {
		if *u.GetUsageLocation() != "IT" || *u.GetCity() != "Milan" {
			t.Fatalf("user %s: %s %s", *u.GetUserPrincipalName(), *u.GetUsageLocation(), *u.GetCity())
		}
	}
}

func TestPagingAll50000Users(t *testing.T) {
	e := newEnv(t, 50_000, false)
	c := e.client(t, false)
	first, err := c.Users().Get(context.Background(), &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Top: ptr(int32(999)), Select: []string{"id", "userPrincipalName"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, c, first, nil)
	seen := make(map[string]bool, len(got))
	for _, u := range got {
		seen[*u.GetId()] = true
	}
	if len(got) != 50_001 || len(seen) != 50_001 {
		t.Errorf("users = %d (%d distinct), want 50001 including the Global Admin", len(got), len(seen))
	}
	if n := e.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers, Status: 200}); n != 51 {
		t.Errorf("pages = %d, want 51", n)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	e := newEnv(t, 10, false)
	c := e.client(t, false)
	e.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointUsers, Status: 429, RetryAfter: time.Second, Times: 2})
	start := time.Now()
	res, err := c.Users().Get(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.GetValue()) != 11 {
		t.Errorf("users = %d, want 11", len(res.GetValue()))
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("two Retry-After: 1 answers took only %v", d)
	}
	if n429, n200 := e.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers, Status: 429}), e.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers, Status: 200}); n429 != 2 || n200 != 1 {
		t.Errorf("429s = %d, 200s = %d; want 2 and 1", n429, n200)
	}
}

func TestRealHostAndErrors(t *testing.T) {
	e := newEnv(t, 10, true)
	c := e.client(t, true)
	org, err := c.Organization().Get(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := org.GetValue(); len(v) != 1 || *v[0].GetId() != e.tenant.ID {
		t.Errorf("organization = %v", v)
	}
	// sendMail's body is gzip-compressed by Kiota's middleware.
	body := users.NewItemSendMailPostRequestBody()
	msg := models.NewMessage()
	msg.SetSubject(ptr("Hello"))
	ib := models.NewItemBody()
	ib.SetContent(ptr("Body text"))
	ct := models.TEXT_BODYTYPE
	ib.SetContentType(&ct)
	msg.SetBody(ib)
	rcpt := models.NewRecipient()
	addr := models.NewEmailAddress()
	addr.SetAddress(ptr("someone@example.com"))
	rcpt.SetEmailAddress(addr)
	msg.SetToRecipients([]models.Recipientable{rcpt})
	body.SetMessage(msg)
	if err := c.Users().ByUserId(e.tenant.AdminUPN()).SendMail().Post(context.Background(), body, nil); err != nil {
		t.Fatal(err)
	}
	if sent := e.srv.SentMail(); len(sent) != 1 || sent[0].Subject != "Hello" || sent[0].To[0] != "someone@example.com" {
		t.Errorf("sent = %+v", sent)
	}
	// /me with an app token: Graph's error arrives as an ODataError.
	_, err = c.Me().Get(context.Background(), nil)
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) || *oe.GetErrorEscaped().GetCode() != "BadRequest" || oe.ResponseStatusCode != 400 {
		t.Errorf("/me error = %v", err)
	}
	if !strings.Contains(*oe.GetErrorEscaped().GetMessage(), "delegated") {
		t.Errorf("/me message = %q", *oe.GetErrorEscaped().GetMessage())
	}
}

// BenchmarkSDKUsersPage999 measures one 999-user page through
// msgraph-sdk-go (Kiota middleware and JSON parse node) from the fake.
func BenchmarkSDKUsersPage999(b *testing.B) {
	e := newEnv(b, 50_000, false)
	c := e.client(b, false)
	cfg := &users.UsersRequestBuilderGetRequestConfiguration{QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
		Top: ptr(int32(999)), Select: []string{"id", "displayName", "userPrincipalName", "usageLocation", "department", "accountEnabled"}}}
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.Users().Get(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.GetValue()) != 999 {
			b.Fatal(len(res.GetValue()))
		}
	}
}
