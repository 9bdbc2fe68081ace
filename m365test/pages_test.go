package m365test_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	hiddenQ    = regexp.MustCompile(`name="q" value="([^"]*)"`)
	hiddenCSRF = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
	userValue  = regexp.MustCompile(`id="username" name="username" value="([^"]*)"`)
)

// submitPage GETs a sign-in or consent page on the browser listener, fills
// it like a person and returns the redirect the form submission answers.
func submitPage(t *testing.T, f *fixture, pageURL string, form url.Values) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(pageURL)
	require.NoError(t, err)
	page := readAll(t, resp)
	require.Equal(t, 200, resp.StatusCode, "page: %s", page)
	require.Contains(t, page, `id="accept"`, "page")
	require.Contains(t, page, `id="cancel"`, "page")
	q, csrf := hiddenQ.FindStringSubmatch(page), hiddenCSRF.FindStringSubmatch(page)
	require.NotNil(t, q, "page lacks its hidden q field: %s", page)
	require.NotNil(t, csrf, "page lacks its hidden csrf field: %s", page)
	form.Set("q", html.UnescapeString(q[1]))
	form.Set("csrf", csrf[1])
	u, _ := url.Parse(pageURL)
	resp, err = c.PostForm(u.Scheme+"://"+u.Host+u.Path, form)
	require.NoError(t, err)
	return resp, page
}

func TestSignInPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	_, challenge := pkce()
	authz := f.srv.BrowserURL() + "/organizations/oauth2/v2.0/authorize?" + url.Values{
		"client_id": {f.provider.ClientID}, "response_type": {"code"}, "redirect_uri": {redirectURI},
		"scope": {"openid offline_access User.Read"}, "state": {"s"}, "code_challenge": {challenge},
		"code_challenge_method": {"S256"}, "login_hint": {"user00002@contoso.onmicrosoft.com"}}.Encode()

	// Wrong password: the page again, with the error.
	resp, page := submitPage(t, f, authz, url.Values{"username": {"user00002@contoso.onmicrosoft.com"}, "password": {"nope"}, "action": {"accept"}})
	if m := userValue.FindStringSubmatch(page); assert.NotNil(t, m, "login_hint not prefilled") {
		assert.Equal(t, "user00002@contoso.onmicrosoft.com", m[1], "login_hint prefilled")
	}
	body := readAll(t, resp)
	assert.Equal(t, 200, resp.StatusCode, "wrong password: %s", body)
	assert.Contains(t, body, "AADSTS50126", "wrong password")
	// Cancel: 65004 to the app.
	resp, _ = submitPage(t, f, authz, url.Values{"action": {"cancel"}})
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	assert.Equal(t, http.StatusFound, resp.StatusCode, "cancel: %s", loc)
	assert.Equal(t, "access_denied", loc.Query().Get("error"), "cancel: %s", loc)
	assert.True(t, strings.HasPrefix(loc.Query().Get("error_description"), "AADSTS65004:"), "cancel: %s", loc)
	// Accept: a code, and the user's own consent recorded.
	resp, _ = submitPage(t, f, authz, url.Values{"username": {"user00002@contoso.onmicrosoft.com"}, "password": {f.contoso.Password()}, "action": {"accept"}})
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	assert.Equal(t, http.StatusFound, resp.StatusCode, "accept: %s", loc)
	assert.True(t, strings.HasPrefix(loc.String(), redirectURI), "accept: %s", loc)
	assert.NotEmpty(t, loc.Query().Get("code"), "accept: %s", loc)
	assert.Equal(t, "s", loc.Query().Get("state"), "accept: %s", loc)
	c, ok := f.srv.Consent(f.contoso.ID, f.provider.ClientID)
	assert.True(t, ok, "consent recorded")
	assert.False(t, c.Admin, "consent = %+v", c)
	assert.Equal(t, 1, c.Users, "consent = %+v", c)
	// A form token works once.
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.PostForm(f.srv.BrowserURL()+"/organizations/oauth2/v2.0/authorize", url.Values{"csrf": {"forged"}, "action": {"accept"}})
	require.NoError(t, err)
	body = readAll(t, resp)
	assert.Equal(t, 400, resp.StatusCode, "forged form: %s", body)
}

func TestAdminConsentPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	link := f.srv.AdminConsentURL(f.contoso.Domain(), f.provider.ClientID, consentURI, "st8")
	resp, page := submitPage(t, f, link, url.Values{"username": {f.contoso.AdminUPN()}, "password": {f.contoso.Password()}, "action": {"accept"}})
	resp.Body.Close()
	assert.Contains(t, page, "CallRecords.Read.All (application)", "page does not list the application permissions")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	assert.Equal(t, http.StatusFound, resp.StatusCode, "accept: %s", loc)
	assert.Equal(t, "True", q.Get("admin_consent"), "accept: %s", loc)
	assert.Equal(t, f.contoso.ID, q.Get("tenant"), "accept: %s", loc)
	assert.Equal(t, "st8", q.Get("state"), "accept: %s", loc)
	c, ok := f.srv.Consent(f.contoso.ID, f.provider.ClientID)
	assert.True(t, ok, "consent recorded")
	assert.True(t, c.Admin, "consent = %+v", c)
	assert.Len(t, c.Roles, 4, "consent = %+v", c)
}
