package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/voice"
)

// doCSV sends a text/csv body.
func (e *env) doCSV(t *testing.T, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", testPublic+path, strings.NewReader(body))
	r.Header.Set("Content-Type", "text/csv; charset=utf-8")
	r.Header.Set("Authorization", "Bearer "+tokenA)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// TestVoicePlansAPI walks profiles, a plan over a filter, its apply,
// applying again and planning again, and a CSV plan with bad rows,
// through the API (contoso: 120 users; the Italian Sales users without
// voice are 4 and 104).
func TestVoicePlansAPI(t *testing.T) {
	t.Parallel()
	e := newVoiceEnv(t)
	e.connect(t, "a", e.contoso)
	e.refreshVoice(t, "a")
	decode[rangesJSON](t, e.do(t, "PUT", "/customers/a/voice/ranges", tokenA, map[string]any{"ranges": []map[string]any{
		{"name": "Milan", "from": "+39020000000", "to": "+39020009999", "type": "directRouting", "quarantineDays": 30}}}), http.StatusOK)

	// Profiles: a bad one is refused naming the field.
	w := e.do(t, "PUT", "/customers/a/voice/profiles/Milan%20Sales", tokenA, map[string]any{"range": "Milan", "filter": "UsageLocation -eq"})
	require.Equal(t, http.StatusUnprocessableEntity, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"/filter"`)
	prof := decode[voice.Profile](t, e.do(t, "PUT", "/customers/a/voice/profiles/Milan%20Sales", tokenA, map[string]any{
		"range": "Milan", "licenses": "auto", "filter": "UsageLocation -eq 'IT' -and Department -eq 'Sales' -and EnterpriseVoiceEnabled -eq $false",
		"policies": map[string]string{"OnlineVoiceRoutingPolicy": "VRP-IT", "TenantDialPlan": "DP-IT", "TeamsCallingPolicy": "AllowCalling"}}), http.StatusOK)
	assert.Equal(t, "Milan Sales", prof.Name)
	assert.False(t, prof.Joiners)
	list := decode[profilesJSON](t, e.do(t, "GET", "/customers/a/voice/profiles", tokenA, nil), http.StatusOK)
	require.Len(t, list.Profiles, 1)

	// The plan: exactly the matching users, nothing changed.
	w = e.do(t, "POST", "/customers/a/voice/plans", tokenA, map[string]any{"profile": "Milan Sales"})
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	plan := decode[voice.Plan](t, w, http.StatusCreated)
	assert.Equal(t, "/m365/customers/a/voice/plans/"+plan.ID, w.Header().Get("Location"))
	assert.Equal(t, 2, plan.Users)
	assert.Equal(t, 2, plan.Changes)
	var users []string
	for _, it := range plan.Items {
		users = append(users, it.User)
	}
	assert.ElementsMatch(t, []string{"user00004@contoso.onmicrosoft.com", "user00104@contoso.onmicrosoft.com"}, users)
	got := decode[voice.Plan](t, e.do(t, "GET", "/customers/a/voice/plans/"+plan.ID+"?status=change&limit=1", tokenA, nil), http.StatusOK)
	require.Len(t, got.Items, 1)
	assert.NotEmpty(t, got.Next)

	// Apply: 202 with Location, then every user ready.
	w = e.do(t, "POST", "/customers/a/voice/plans/"+plan.ID+"/apply", tokenA, nil)
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	op := e.waitOperation(t, w.Header().Get("Location"))
	assert.Equal(t, voice.StateSucceeded, op.State, "%+v", op.Items)
	assert.Equal(t, voice.KindApply, op.Kind)
	assert.Equal(t, 2, op.Succeeded)
	for _, u := range users {
		v := decode[voice.UserVoice](t, e.do(t, "GET", "/customers/a/users/"+u+"/voice", tokenA, nil), http.StatusOK)
		assert.True(t, v.Ready, "%s: %+v", u, v.Checks)
	}
	// Again: the same operation, nothing new; a new plan finds nothing.
	again := decode[operationJSON](t, e.do(t, "POST", "/customers/a/voice/plans/"+plan.ID+"/apply", tokenA, nil), http.StatusOK)
	assert.Equal(t, op.ID, again.ID)
	plan2 := decode[voice.Plan](t, e.do(t, "POST", "/customers/a/voice/plans", tokenA, map[string]any{"profile": "Milan Sales",
		"filter": "UserPrincipalName -eq 'user00004@contoso.onmicrosoft.com'"}), http.StatusCreated)
	assert.Zero(t, plan2.Changes)

	// A CSV with bad rows names each; a malformed one is 400.
	csv := "user,number,range,licenses,TenantDialPlan\n" +
		"user00014@contoso.onmicrosoft.com,next,Milan,auto,DP-IT\n" +
		"ghost@contoso.onmicrosoft.com,next,Milan,auto,\n" +
		"user00034@contoso.onmicrosoft.com,+3902x,,auto,\n" +
		"user00044@contoso.onmicrosoft.com,+39020000024,,auto,\n" +
		"user00064@contoso.onmicrosoft.com,next,Milan,auto,DP-NOWHERE\n"
	w = e.doCSV(t, "/customers/a/voice/plans", csv)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	cp := decode[voice.Plan](t, w, http.StatusCreated)
	assert.Equal(t, 5, cp.Users)
	assert.Equal(t, 1, cp.Changes)
	assert.Equal(t, 4, cp.Errors)
	codes := map[int]voice.Code{}
	for _, it := range cp.Items {
		if it.Error != nil {
			codes[it.Row] = it.Error.Code
		}
	}
	assert.Equal(t, map[int]voice.Code{3: voice.CodeUnknownUser, 4: voice.CodeInvalid, 5: voice.CodeNumberTaken, 6: voice.CodeUnknownPolicy}, codes)
	w = e.doCSV(t, "/customers/a/voice/plans", "user,shoe size\nuser00014@contoso.onmicrosoft.com,42\n")
	require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), "malformed_csv")
	assert.Contains(t, w.Body.String(), "shoe size")

	// Unknown profile, unknown plan.
	w = e.do(t, "POST", "/customers/a/voice/plans", tokenA, map[string]any{"profile": "Nope"})
	assert.Equal(t, http.StatusUnprocessableEntity, w.Code, w.Body.String())
	w = e.do(t, "POST", "/customers/a/voice/plans/vpl_nope/apply", tokenA, nil)
	assert.Equal(t, http.StatusNotFound, w.Code, w.Body.String())
	w = e.do(t, "DELETE", "/customers/a/voice/profiles/Milan%20Sales", tokenA, nil)
	assert.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	w = e.do(t, "GET", "/customers/a/voice/profiles/Milan%20Sales", tokenA, nil)
	assert.Equal(t, http.StatusNotFound, w.Code, w.Body.String())
}
