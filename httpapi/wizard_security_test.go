package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantgate/tenantgate/m365test"
)

// Revoking an invitation cancels a sign-in already started from it: the
// person who opened the link signs in at Microsoft after the revoke, and
// the callback refuses to connect.
func TestRevokeCancelsStartedSignIn(t *testing.T) {
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	inv := decode[invitationJSON](t, e.do(t, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{}), http.StatusCreated)
	link := e.linkFrom(t, e.contoso.AdminUPN())
	b := e.newBrowser(t)

	// "Sign in with Microsoft": the wizard answers with the redirect to
	// Microsoft and sets its cookies.
	req := httptest.NewRequest("POST", link+"/start", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	b.jar.SetCookies(req.URL, w.Result().Cookies())
	authorize := w.Header().Get("Location")

	// Meanwhile the provider revokes the invitation.
	if w := e.do(t, "DELETE", "/customers/a/m365/invitations/"+inv.ID, tokenA, nil); w.Code != http.StatusOK && w.Code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}

	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	defer e.srv.SetAuthorizeAnswer(nil)
	resp, page := b.open(t, "GET", authorize)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "This invitation is no longer valid") {
		t.Fatalf("callback after the revoke: %d %s", resp.StatusCode, page)
	}
	st := decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), 200)
	if st.State == "connected" {
		t.Fatalf("a sign-in from a revoked invitation connected the customer: %+v", st)
	}
}

// Sign-in starts from one link are bounded (each stores a pending
// sign-in); past the bound the wizard says so.
func TestStartsPerInvitationBounded(t *testing.T) {
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	e.do(t, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{})
	link := e.linkFrom(t, e.contoso.AdminUPN())
	var last *httptest.ResponseRecorder
	for range 11 {
		req := httptest.NewRequest("POST", link+"/start", nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		last = httptest.NewRecorder()
		e.h.ServeHTTP(last, req)
	}
	if last.Code != http.StatusTooManyRequests || !strings.Contains(last.Body.String(), "Too many sign-in attempts") {
		t.Fatalf("11th start: %d %s", last.Code, last.Body)
	}
}
