package usersync_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantgate/tenantgate/usersync"
)

// discardLogger keeps the Syncer's per-customer records out of test output.
var discardLogger = slog.New(slog.DiscardHandler)

// fakeGraph is a minimal Graph /v1.0/users over TLS for these tests: users
// are generated as in m365test (its documentation's "Demo data"), $filter supports
// "usageLocation eq 'XX'", $top, $skiptoken paging, $count with
// ConsistencyLevel, and per-tenant faults.
type fakeGraph struct {
	srv     *httptest.Server
	mu      sync.Mutex
	tenants map[string]*fakeTenant // by access token
	latency time.Duration
	// cache, when set, keeps every rendered page (by token and query) so
	// that benchmarks measure the client, not the page rendering.
	cache  sync.Map
	cached bool
}

type fakeTenant struct {
	domain   string
	requests atomic.Int64
	pages    atomic.Int64

	mu  sync.Mutex // guards cfg
	cfg tenantConfig
}

// tenantConfig is what a test may change between syncs (with set).
type tenantConfig struct {
	n int
	// status, when set, is returned for every page from page failAt on
	// (0: from the first page), with Graph's error body.
	status    int
	code      string
	failAt    int
	changeMod int // when > 0, users with i % changeMod == 0 get another jobTitle
}

func (t *fakeTenant) set(fn func(c *tenantConfig)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fn(&t.cfg)
}

func (t *fakeTenant) config() tenantConfig {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cfg
}

var locations = [10][3]string{
	{"US", "United States", "Seattle"}, {"GB", "United Kingdom", "London"},
	{"DE", "Germany", "Berlin"}, {"FR", "France", "Paris"}, {"IT", "Italy", "Milan"},
	{"ES", "Spain", "Madrid"}, {"NL", "Netherlands", "Amsterdam"},
	{"SE", "Sweden", "Stockholm"}, {"PL", "Poland", "Warsaw"}, {"JP", "Japan", "Tokyo"},
}
var departments = [5]string{"Sales", "Engineering", "Support", "Finance", "Marketing"}
var titles = [4]string{"Engineer", "Manager", "Analyst", "Director"}

// demoUser is user i of the tenant.
func (t *fakeTenant) demoUser(i int, cfg tenantConfig) usersync.User {
	loc := locations[i%10]
	h := sha256.Sum256([]byte(t.domain + "/" + strconv.Itoa(i)))
	u := usersync.User{
		ID:                fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]),
		UserPrincipalName: fmt.Sprintf("user%05d@%s", i, t.domain),
		DisplayName:       fmt.Sprintf("User %05d", i),
		Mail:              fmt.Sprintf("user%05d@%s", i, t.domain),
		UsageLocation:     loc[0], Country: loc[1], City: loc[2], OfficeLocation: loc[2] + " Office",
		Department:     departments[(i/10)%5],
		JobTitle:       titles[(i/50)%4],
		AccountEnabled: i%20 != 19,
		CompanyName:    t.domain,
	}
	if cfg.changeMod > 0 && i%cfg.changeMod == 0 {
		u.JobTitle = "Promoted"
	}
	return u
}

func newFakeGraph() *fakeGraph {
	f := &fakeGraph{tenants: map[string]*fakeTenant{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	return f
}

func (f *fakeGraph) Close() { f.srv.Close() }

// addTenant registers a tenant reachable with access token "tok-"+customer.
func (f *fakeGraph) addTenant(customer string, n int) *fakeTenant {
	t := &fakeTenant{domain: customer + ".example", cfg: tenantConfig{n: n}}
	f.mu.Lock()
	f.tenants["tok-"+customer] = t
	f.mu.Unlock()
	return t
}

// alias makes customer's token "tok-"+customer reach tenant t too.
func (f *fakeGraph) alias(customer string, t *fakeTenant) {
	f.mu.Lock()
	f.tenants["tok-"+customer] = t
	f.mu.Unlock()
}

func graphErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q,"innerError":{"request-id":"r1"}}}`, code, msg)
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	if f.latency > 0 {
		time.Sleep(f.latency)
	}
	f.mu.Lock()
	t := f.tenants[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	f.mu.Unlock()
	if t == nil {
		graphErr(w, 401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
		return
	}
	t.requests.Add(1)
	if f.cached {
		if b, ok := f.cache.Load(t.domain + "?" + r.URL.RawQuery); ok {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b.([]byte))
			return
		}
	}
	if r.URL.Path != "/v1.0/users" || r.Method != http.MethodGet {
		graphErr(w, 404, "Request_ResourceNotFound", "no such resource")
		return
	}
	q := r.URL.Query()
	skip, _ := strconv.Atoi(q.Get("$skiptoken"))
	cfg := t.config()
	if cfg.status != 0 && int(t.pages.Load()) >= cfg.failAt {
		if cfg.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		graphErr(w, cfg.status, cfg.code, "fault injected")
		return
	}
	top := 100
	if v := q.Get("$top"); v != "" {
		top, _ = strconv.Atoi(v)
	}
	count := q.Get("$count") == "true"
	if count && r.Header.Get("ConsistencyLevel") != "eventual" {
		graphErr(w, 400, "Request_UnsupportedQuery", "$count needs ConsistencyLevel: eventual")
		return
	}
	loc := ""
	if fl := q.Get("$filter"); fl != "" {
		v, ok := strings.CutPrefix(fl, "usageLocation eq '")
		if !ok || !strings.HasSuffix(v, "'") {
			graphErr(w, 400, "Request_UnsupportedQuery", "Unsupported query.")
			return
		}
		loc = strings.TrimSuffix(v, "'")
	}
	match := func(i int) bool { return loc == "" || locations[i%10][0] == loc }
	t.pages.Add(1)
	b := make([]byte, 0, 512*top+256)
	b = append(b, `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users"`...)
	if count {
		total := 0
		for i := range cfg.n {
			if match(i) {
				total++
			}
		}
		b = append(b, `,"@odata.count":`...)
		b = strconv.AppendInt(b, int64(total), 10)
	}
	b = append(b, `,"value":[`...)
	i, k := skip, 0
	for ; i < cfg.n && k < top; i++ {
		if !match(i) {
			continue
		}
		if k > 0 {
			b = append(b, ',')
		}
		k++
		b = appendUser(b, t.demoUser(i, cfg))
	}
	b = append(b, ']')
	for ; i < cfg.n && !match(i); i++ {
	}
	if i < cfg.n {
		next := *r.URL
		next.Scheme, next.Host = "https", r.Host
		q.Set("$skiptoken", strconv.Itoa(i))
		next.RawQuery = q.Encode()
		b = append(b, `,"@odata.nextLink":`...)
		b = strconv.AppendQuote(b, next.String())
	}
	b = append(b, '}')
	if f.cached {
		f.cache.Store(t.domain+"?"+r.URL.RawQuery, b)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func appendUser(b []byte, u usersync.User) []byte {
	str := func(name, v string) {
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
		if v == "" {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendQuote(b, v)
		}
		b = append(b, ',')
	}
	b = append(b, '{')
	str("id", u.ID)
	str("userPrincipalName", u.UserPrincipalName)
	str("displayName", u.DisplayName)
	str("givenName", u.GivenName)
	str("surname", u.Surname)
	str("mail", u.Mail)
	str("jobTitle", u.JobTitle)
	str("department", u.Department)
	str("companyName", u.CompanyName)
	str("officeLocation", u.OfficeLocation)
	str("streetAddress", u.StreetAddress)
	str("city", u.City)
	str("state", u.State)
	str("country", u.Country)
	str("usageLocation", u.UsageLocation)
	b = append(b, `"accountEnabled":`...)
	b = strconv.AppendBool(b, u.AccountEnabled)
	return append(b, '}')
}

// staticCred is an azcore.TokenCredential handing out a fixed token, or
// failing with err.
type staticCred struct {
	token string
	err   error
}

func (c staticCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if c.err != nil {
		return azcore.AccessToken{}, c.err
	}
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// source returns a GraphSource reading from f, where customer c uses token
// "tok-"+c unless creds overrides it.
func (f *fakeGraph) source(opts usersync.GraphOptions, override map[string]error) (*usersync.GraphSource, error) {
	u, _ := url.Parse(f.srv.URL)
	opts.BaseURL = f.srv.URL + "/v1.0"
	opts.NoTeams = true // this fake serves /users only; m365_test.go covers Teams
	if opts.AllowedHosts == nil {
		opts.AllowedHosts = []string{u.Hostname()}
	}
	if opts.Transport == nil {
		opts.Transport = f.srv.Client().Transport
	}
	return usersync.NewGraphSource(usersync.CredentialFunc(func(c string) azcore.TokenCredential {
		if err, ok := override[c]; ok {
			return staticCred{err: err}
		}
		return staticCred{token: "tok-" + c}
	}), opts)
}
