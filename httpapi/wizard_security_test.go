package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/m365test"
)

// Revoking an invitation cancels a sign-in already started from it: the
// person who opened the link signs in at Microsoft after the revoke, and
// the callback refuses to connect.
func TestRevokeCancelsStartedSignIn(t *testing.T) {
	t.Parallel()
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
	require.Equal(t, http.StatusSeeOther, w.Code, "start: %s", w.Body)
	b.jar.SetCookies(req.URL, w.Result().Cookies())
	authorize := w.Header().Get("Location")

	// Meanwhile the provider revokes the invitation.
	rw := e.do(t, "DELETE", "/customers/a/m365/invitations/"+inv.ID, tokenA, nil)
	require.Contains(t, []int{http.StatusOK, http.StatusNoContent}, rw.Code, "revoke: %s", rw.Body)

	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	defer e.srv.SetAuthorizeAnswer(nil)
	resp, page := b.open(t, "GET", authorize)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "callback after the revoke: %s", page)
	require.Contains(t, page, "This invitation is no longer valid", "callback after the revoke")
	st := decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), 200)
	require.NotEqual(t, "connected", st.State, "a sign-in from a revoked invitation connected the customer: %+v", st)
}

// Sign-in starts from one link are bounded (each stores a pending
// sign-in); past the bound the wizard says so.
func TestStartsPerInvitationBounded(t *testing.T) {
	t.Parallel()
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
	require.Equal(t, http.StatusTooManyRequests, last.Code, "11th start: %s", last.Body)
	require.Contains(t, last.Body.String(), "Too many sign-in attempts", "11th start")
}
