package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/m365test"
)

// breakableTrail is an audit trail whose database refuses writes once
// broken.
type breakableTrail struct {
	AuditTrail
	broken atomic.Bool
}

func (b *breakableTrail) Append(ctx context.Context, e audit.Entry) error {
	if b.broken.Load() {
		return errors.New("database is read-only")
	}
	return b.AuditTrail.Append(ctx, e)
}

// TestNoChangeWithoutAuditEntry: when the trail cannot record a change's
// attempt, the change is not made and the answer is 500.
func TestNoChangeWithoutAuditEntry(t *testing.T) {
	t.Parallel()
	trail := &breakableTrail{}
	e := newEnv(t, func(c *Config) { trail.AuditTrail = c.Audit; c.Audit = trail })
	e.saveToken(t, "a", e.contoso)
	before := decode[settingsJSON](t, e.do(t, "GET", "/customers/a/m365", tokenAll, nil), http.StatusOK)
	trail.broken.Store(true)
	rec := e.do(t, "PUT", "/customers/a/m365", tokenAll, map[string]any{"serviceAccount": "someone.else@contoso.onmicrosoft.com"})
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Contains(t, rec.Body.String(), codeAuditUnavailable)
	after := decode[settingsJSON](t, e.do(t, "GET", "/customers/a/m365", tokenAll, nil), http.StatusOK)
	assert.Equal(t, before.ServiceAccount, after.ServiceAccount, "the change was not made")
	assert.Equal(t, before.Version, after.Version)
}

// TestLongCustomerIDsAreAudited: every customer ID the API accepts (up
// to 512 bytes) is audited; longer ones and internal record names are
// refused with 400, never 500.
func TestLongCustomerIDsAreAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	long := strings.Repeat("c", 400)
	rec := e.do(t, "PUT", "/customers/"+long+"/m365", tokenAll, map[string]any{"tenant": e.contoso.Domain(), "authMode": "token",
		"serviceAccount": e.contoso.AdminUPN()})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	page := e.auditOf(t, "/customers/"+long+"/audit")
	require.Len(t, page.Entries, 1)
	assert.Equal(t, "succeeded", page.Entries[0].Outcome)
	attempts, err := e.audit.List(t.Context(), audit.Query{Customer: long, Attempts: true})
	require.NoError(t, err)
	assert.Len(t, attempts.Entries, 2, "the attempt was recorded before the change")
	rep := decode[audit.ChainReport](t, e.do(t, "GET", "/customers/"+long+"/audit/verify", tokenAll, nil), http.StatusOK)
	assert.True(t, rep.Intact)
	assert.Equal(t, 2, rep.Entries)

	for _, bad := range []string{strings.Repeat("c", 513), "_tenantgate.pending", "_tenantgate.index", "_tenantgate.fleet"} {
		for _, m := range []string{"GET", "PUT"} {
			rec := e.do(t, m, "/customers/"+bad+"/m365", tokenAll, map[string]any{})
			assert.Equal(t, http.StatusBadRequest, rec.Code, "%s %.20s", m, bad)
		}
	}
}

// TestWizardNoChangeWithoutAuditEntry: the wizard records a sign-in's and
// a consent's attempt before storing anything; when the trail cannot
// record it, no connection is stored, no consent is recorded, and the
// page answers 500 saying nothing was changed.
func TestWizardNoChangeWithoutAuditEntry(t *testing.T) {
	t.Parallel()
	trail := &breakableTrail{}
	e := newEnv(t, func(c *Config) { trail.AuditTrail = c.Audit; c.Audit = trail })
	e.saveToken(t, "a", e.contoso)
	require.Equal(t, http.StatusCreated, e.do(t, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{}).Code)
	link := e.linkFrom(t, e.contoso.AdminUPN())
	token := strings.TrimPrefix(link, testPublic+"/invite/")
	w := e.do(t, "POST", "/customers/a/m365/consent", tokenA, nil)
	consent := decode[consentLinkJSON](t, w, http.StatusOK)

	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	defer e.srv.SetAuthorizeAnswer(nil)
	trail.broken.Store(true)
	b := e.newBrowser(t)
	resp, page := b.open(t, "POST", testPublic+"/invite/"+token+"/start")
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, page)
	assert.Contains(t, page, "Nothing was connected")
	trail.broken.Store(false)
	st := decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), http.StatusOK)
	assert.NotEqual(t, "connected", st.State, "no connection was stored without its audit entry")

	// Consent: the callback records nothing without its entry.
	trail.broken.Store(true)
	u, _ := url.Parse(testPublic)
	b.jar.SetCookies(u, w.Result().Cookies())
	resp, page = b.open(t, "GET", consent.URL)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, page)
	assert.Contains(t, page, "Your consent was not recorded")
	trail.broken.Store(false)
	st = decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), http.StatusOK)
	assert.NotEqual(t, "consentPropagating", st.State)
	assert.Nil(t, st.ConsentReportedAt, "no consent was recorded without its audit entry")

	// With a working trail, the sign-in is audited before and after.
	require.Equal(t, http.StatusCreated, e.do(t, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{}).Code)
	link = e.linkFrom(t, e.contoso.AdminUPN())
	resp, page = e.newBrowser(t).open(t, "POST", link+"/start")
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	got, err := trail.List(t.Context(), audit.Query{Customer: "a", Attempts: true})
	require.NoError(t, err)
	var outcomes []audit.Outcome
	for _, en := range got.Entries {
		if en.Action == "connection.complete" {
			outcomes = append(outcomes, en.Outcome)
		}
	}
	assert.Equal(t, []audit.Outcome{audit.Succeeded, audit.Attempted}, outcomes, "newest first: the attempt, then the outcome")
}

// TestLongInvitationIDIsNot500: an invitation ID longer than a record
// name may be (600 characters) is a client's mistake, never a 500.
func TestLongInvitationIDIsNot500(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	long := strings.Repeat("i", 600)
	rec := e.do(t, "DELETE", "/customers/a/m365/invitations/"+long, tokenAll, nil)
	assert.Contains(t, []int{http.StatusBadRequest, http.StatusNotFound}, rec.Code, rec.Body.String())
}
