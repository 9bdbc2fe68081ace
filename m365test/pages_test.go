package m365test_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
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
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="accept"`) || !strings.Contains(page, `id="cancel"`) {
		t.Fatalf("page: %d %s", resp.StatusCode, page)
	}
	q, csrf := hiddenQ.FindStringSubmatch(page), hiddenCSRF.FindStringSubmatch(page)
	if q == nil || csrf == nil {
		t.Fatalf("page lacks its hidden fields: %s", page)
	}
	form.Set("q", html.UnescapeString(q[1]))
	form.Set("csrf", csrf[1])
	u, _ := url.Parse(pageURL)
	resp, err = c.PostForm(u.Scheme+"://"+u.Host+u.Path, form)
	if err != nil {
		t.Fatal(err)
	}
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
	if m := userValue.FindStringSubmatch(page); m == nil || m[1] != "user00002@contoso.onmicrosoft.com" {
		t.Errorf("login_hint not prefilled")
	}
	if body := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "AADSTS50126") {
		t.Errorf("wrong password: %d %s", resp.StatusCode, body)
	}
	// Cancel: 65004 to the app.
	resp, _ = submitPage(t, f, authz, url.Values{"action": {"cancel"}})
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "access_denied" || !strings.HasPrefix(loc.Query().Get("error_description"), "AADSTS65004:") {
		t.Errorf("cancel: %d %s", resp.StatusCode, loc)
	}
	// Accept: a code, and the user's own consent recorded.
	resp, _ = submitPage(t, f, authz, url.Values{"username": {"user00002@contoso.onmicrosoft.com"}, "password": {f.contoso.Password()}, "action": {"accept"}})
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), redirectURI) || loc.Query().Get("code") == "" || loc.Query().Get("state") != "s" {
		t.Errorf("accept: %d %s", resp.StatusCode, loc)
	}
	if c, ok := f.srv.Consent(f.contoso.ID, f.provider.ClientID); !ok || c.Admin || c.Users != 1 {
		t.Errorf("consent = %+v %v", c, ok)
	}
	// A form token works once.
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(f.srv.BrowserURL()+"/organizations/oauth2/v2.0/authorize", url.Values{"csrf": {"forged"}, "action": {"accept"}})
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 400 {
		t.Errorf("forged form: %d %s", resp.StatusCode, body)
	}
}

func TestAdminConsentPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	link := f.srv.AdminConsentURL(f.contoso.Domain(), f.provider.ClientID, consentURI, "st8")
	resp, page := submitPage(t, f, link, url.Values{"username": {f.contoso.AdminUPN()}, "password": {f.contoso.Password()}, "action": {"accept"}})
	resp.Body.Close()
	if !strings.Contains(page, "CallRecords.Read.All (application)") {
		t.Errorf("page does not list the application permissions: %s", page)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	if resp.StatusCode != http.StatusFound || q.Get("admin_consent") != "True" || q.Get("tenant") != f.contoso.ID || q.Get("state") != "st8" {
		t.Errorf("accept: %d %s", resp.StatusCode, loc)
	}
	if c, ok := f.srv.Consent(f.contoso.ID, f.provider.ClientID); !ok || !c.Admin || len(c.Roles) != 4 {
		t.Errorf("consent = %+v %v", c, ok)
	}
}
