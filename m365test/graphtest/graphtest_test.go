package graphtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	require.NoError(t, err)
	app, err := srv.AddApp(m365test.AppOptions{DisplayName: "Provider", Secrets: []m365test.Secret{{Value: secret}},
		ApplicationPermissions: []string{"User.Read.All", "Mail.Send", "Organization.Read.All"}})
	require.NoError(t, err)
	require.NoError(t, srv.GrantAdminConsent(tenant.ID, app.ClientID))
	cred, err := confidential.NewCredFromSecret(secret)
	require.NoError(t, err)
	authority, opts := srv.AuthorityURL("organizations"), []confidential.Option{confidential.WithHTTPClient(srv.Client()), confidential.WithInstanceDiscovery(false)}
	if realHost {
		authority, opts = "https://"+m365test.LoginHost+"/organizations", []confidential.Option{confidential.WithHTTPClient(srv.Client())}
	}
	cc, err := confidential.New(authority, app.ClientID, cred, opts...)
	require.NoError(t, err)
	return &env{srv: srv, tenant: tenant, app: app, cc: cc}
}

func (e *env) client(t testing.TB, realHost bool) *msgraph.GraphServiceClient {
	t.Helper()
	c, err := graphtest.NewClient(e.srv, graphtest.AppCredential(e.cc, e.tenant.ID), &graphtest.Options{RealHost: realHost})
	require.NoError(t, err)
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
	require.NoError(t, err)
	if hdr != nil {
		it.SetHeaders(hdr)
	}
	var out []models.Userable
	require.NoError(t, it.Iterate(context.Background(), func(u models.Userable) bool {
		out = append(out, u)
		return true
	}))
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
	require.NoError(t, err)
	n := first.GetOdataCount()
	require.NotNil(t, n, "@odata.count")
	require.Equal(t, int64(5000), *n, "@odata.count")
	got := collect(t, c, first, hdr)
	require.Equal(t, 5000, len(got), "users")
	for _, u := range got {
		require.Equal(t, "IT", *u.GetUsageLocation(), "user %s: usageLocation", *u.GetUserPrincipalName())
		require.Equal(t, "Milan", *u.GetCity(), "user %s: city", *u.GetUserPrincipalName())
	}
}

func TestPagingAll50000Users(t *testing.T) {
	e := newEnv(t, 50_000, false)
	c := e.client(t, false)
	first, err := c.Users().Get(context.Background(), &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Top: ptr(int32(999)), Select: []string{"id", "userPrincipalName"}},
	})
	require.NoError(t, err)
	got := collect(t, c, first, nil)
	seen := make(map[string]bool, len(got))
	for _, u := range got {
		seen[*u.GetId()] = true
	}
	assert.Equal(t, 50_001, len(got), "users including the Global Admin")
	assert.Equal(t, 50_001, len(seen), "distinct users including the Global Admin")
	assert.Equal(t, 51, e.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers, Status: 200}), "pages")
}

func TestRetryAfterHonoured(t *testing.T) {
	e := newEnv(t, 10, false)
	c := e.client(t, false)
	e.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointUsers, Status: 429, RetryAfter: time.Second, Times: 2})
	start := time.Now()
	res, err := c.Users().Get(context.Background(), nil)
	require.NoError(t, err)
	assert.Len(t, res.GetValue(), 11, "users")
	assert.GreaterOrEqual(t, time.Since(start), 2*time.Second, "two Retry-After: 1 answers")
	assert.Equal(t, 2, e.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers, Status: 429}), "429s")
	assert.Equal(t, 1, e.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers, Status: 200}), "200s")
}

func TestRealHostAndErrors(t *testing.T) {
	e := newEnv(t, 10, true)
	c := e.client(t, true)
	org, err := c.Organization().Get(context.Background(), nil)
	require.NoError(t, err)
	if v := org.GetValue(); assert.Len(t, v, 1, "organization") {
		assert.Equal(t, e.tenant.ID, *v[0].GetId(), "organization id")
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
	require.NoError(t, c.Users().ByUserId(e.tenant.AdminUPN()).SendMail().Post(context.Background(), body, nil))
	if sent := e.srv.SentMail(); assert.Len(t, sent, 1, "sent mail") {
		assert.Equal(t, "Hello", sent[0].Subject, "sent subject")
		if assert.NotEmpty(t, sent[0].To, "sent recipients") {
			assert.Equal(t, "someone@example.com", sent[0].To[0], "sent recipient")
		}
	}
	// /me with an app token: Graph's error arrives as an ODataError.
	_, err = c.Me().Get(context.Background(), nil)
	var oe *odataerrors.ODataError
	require.ErrorAs(t, err, &oe, "/me error")
	assert.Equal(t, "BadRequest", *oe.GetErrorEscaped().GetCode(), "/me error code")
	assert.Equal(t, 400, oe.ResponseStatusCode, "/me status")
	assert.Contains(t, *oe.GetErrorEscaped().GetMessage(), "delegated", "/me message")
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
		require.NoError(b, err)
		require.Len(b, res.GetValue(), 999)
	}
}
