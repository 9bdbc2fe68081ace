package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/voice"
)

// waitOperation polls an operation until it ends.
func (e *env) waitOperation(t *testing.T, location string) operationJSON {
	t.Helper()
	path := strings.TrimPrefix(location, "/m365")
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		op := decode[operationJSON](t, e.do(t, "GET", path, tokenAll, nil), http.StatusOK)
		if op.State.Done() {
			return op
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.FailNow(t, "operation still running after 60 s")
	return operationJSON{}
}

// TestVoiceDoneWhen walks the design's done-when through the API against
// the fake cloud (contoso: 120 users, so 12 Italian numbers, 4 of them
// assigned): free numbers, readiness of users 24 and 4, user 4 set with
// +39020000004, VRP-IT and DP-IT in one request and then ready, its
// LineUri in a whole-tenant sync, a taken number refused with nothing
// changed, a released number quarantined and skipped by "next".
func TestVoiceDoneWhen(t *testing.T) {
	t.Parallel()
	e := newVoiceEnv(t)
	e.connect(t, "a", e.contoso)
	rep := decode[reportJSON](t, e.do(t, "POST", "/customers/a/m365/validate", tokenA, nil), http.StatusOK)
	require.Len(t, rep.Capabilities, 3)
	for _, c := range rep.Capabilities {
		assert.True(t, c.Granted, "%+v", c)
	}
	refreshed := e.refreshVoice(t, "a")
	assert.Equal(t, "120 numbers read", refreshed.Items[0].Steps[0].Detail)
	rs := decode[rangesJSON](t, e.do(t, "PUT", "/customers/a/voice/ranges", tokenA, map[string]any{"ranges": []map[string]any{
		{"name": "Milan", "from": "+39020000000", "to": "+39020009999", "type": "directRouting", "quarantineDays": 30}}}), http.StatusOK)
	require.Len(t, rs.Ranges, 1)
	assert.Equal(t, 12, rs.Ranges[0].Numbers)
	assert.Equal(t, 8, rs.Ranges[0].Free)
	free := decode[voice.NumberPage](t, e.do(t, "GET", "/customers/a/voice/numbers?status=unassigned&prefix=%2B3902", tokenA, nil), http.StatusOK)
	assert.Equal(t, 8, free.Total)

	v24 := decode[voice.UserVoice](t, e.do(t, "GET", "/customers/a/users/user00024@contoso.onmicrosoft.com/voice", tokenA, nil), http.StatusOK)
	assert.True(t, v24.Ready, "%+v", v24.Checks)
	v4 := decode[voice.UserVoice](t, e.do(t, "GET", "/customers/a/users/user00004@contoso.onmicrosoft.com/voice", tokenA, nil), http.StatusOK)
	assert.False(t, v4.Ready)
	var first voice.Check
	for _, c := range v4.Checks {
		if !c.OK {
			first = c
			break
		}
	}
	assert.Equal(t, voice.CheckPhoneLicense, first.Name)
	assert.Equal(t, voice.ActionAssignLicense, first.Action)

	body := map[string]any{"number": "+39020000004", "licenses": "auto",
		"policies": map[string]string{"OnlineVoiceRoutingPolicy": "VRP-IT", "TenantDialPlan": "DP-IT"}}
	w := e.do(t, "PUT", "/customers/a/users/user00004@contoso.onmicrosoft.com/voice", tokenA, body)
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	loc := w.Header().Get("Location")
	require.Contains(t, loc, "/customers/a/voice/operations/vop_")
	op := e.waitOperation(t, loc)
	require.Equal(t, voice.StateSucceeded, op.State, "%+v", op.Items)
	assert.Equal(t, 1.0, op.Progress)
	v4 = decode[voice.UserVoice](t, e.do(t, "GET", "/customers/a/users/user00004@contoso.onmicrosoft.com/voice", tokenA, nil), http.StatusOK)
	assert.True(t, v4.Ready, "%+v", v4.Checks)
	assert.Contains(t, v4.Licenses, "MCOEV")

	// The same request again: 200, every step unchanged.
	w = e.do(t, "PUT", "/customers/a/users/user00004@contoso.onmicrosoft.com/voice", tokenA, body)
	again := decode[operationJSON](t, w, http.StatusOK)
	for _, st := range again.Items[0].Steps {
		assert.Equal(t, voice.StepUnchanged, st.Status, st.Step)
	}

	// A whole-tenant sync shows user 4's LineUri.
	decode[settingsJSON](t, e.do(t, "PUT", "/customers/a/m365", tokenA, map[string]string{"userFilter": ""}), http.StatusOK)
	decode[syncRunJSON](t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	require.Equal(t, runSucceeded, e.waitSync(t, "a").State)
	users := e.do(t, "GET", "/customers/a/users?filter="+url.QueryEscape("UserPrincipalName -eq 'user00004@contoso.onmicrosoft.com'"), tokenA, nil)
	require.Equal(t, http.StatusOK, users.Code, users.Body.String())
	assert.Contains(t, users.Body.String(), `"lineUri":"tel:+39020000004"`)

	// A taken number is refused with the field, nothing changes.
	before := e.contoso.VoiceLog()
	w = e.do(t, "PUT", "/customers/a/users/user00005@contoso.onmicrosoft.com/voice", tokenA, map[string]any{"number": "+39020000024", "licenses": "auto"})
	p := problemOf(t, w, http.StatusConflict)
	assert.Equal(t, "number_taken", p.Code)
	require.Len(t, p.Fields, 1)
	assert.Equal(t, "/number", p.Fields[0].Field)
	assert.Equal(t, len(before), len(e.contoso.VoiceLog()), "nothing was sent to Microsoft")

	// Release user 4: +39020000004 is quarantined, "next" skips it.
	w = e.do(t, "DELETE", "/customers/a/users/user00004@contoso.onmicrosoft.com/voice", tokenA, nil)
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	op = e.waitOperation(t, w.Header().Get("Location"))
	require.Equal(t, voice.StateSucceeded, op.State, "%+v", op.Items)
	n := decode[voice.NumberPage](t, e.do(t, "GET", "/customers/a/voice/numbers?prefix=%2B39020000004", tokenA, nil), http.StatusOK)
	require.Len(t, n.Numbers, 1)
	assert.Equal(t, "unassigned", n.Numbers[0].Status)
	require.NotNil(t, n.Numbers[0].QuarantinedUntil)
	w = e.do(t, "PUT", "/customers/a/users/user00044@contoso.onmicrosoft.com/voice", tokenA,
		map[string]any{"number": "next", "range": "Milan", "licenses": "auto", "policies": map[string]string{"OnlineVoiceRoutingPolicy": "VRP-IT"}})
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	op = e.waitOperation(t, w.Header().Get("Location"))
	require.Equal(t, voice.StateSucceeded, op.State, "%+v", op.Items)
	var got string
	for _, st := range op.Items[0].Steps {
		if st.Step == "number" {
			got = st.Number
		}
	}
	assert.Equal(t, "+39020000014", got, "the lowest free Italian number after the quarantined +39020000004")

	ops := decode[operationPageJSON](t, e.do(t, "GET", "/customers/a/voice/operations", tokenA, nil), http.StatusOK)
	assert.Len(t, ops.Operations, 5, "the refresh, three sets and a release")
	raw, _ := json.Marshal(ops)
	assert.NotContains(t, string(raw), "Bearer")
}

// TestVoiceWithoutPermissions: a connection without the voice permissions
// is healthy; Validate and the status name each missing capability with
// the permission to grant, and voice answers permission_missing with
// grantConsent, never Graph's 403.
func TestVoiceWithoutPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.connect(t, "a", e.contoso)
	rep := decode[reportJSON](t, e.do(t, "POST", "/customers/a/m365/validate", tokenA, nil), http.StatusOK)
	require.Len(t, rep.Capabilities, 3)
	for _, c := range rep.Capabilities {
		assert.False(t, c.Granted, "%+v", c)
		assert.Equal(t, "grantConsent", string(c.Action))
		assert.Contains(t, c.Detail, c.Permission)
	}
	st := decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), http.StatusOK)
	assert.Len(t, st.Capabilities, 3)
	op := e.refreshVoice(t, "a") // TestVoiceRefreshWithoutPermission
	assert.Equal(t, voice.StateFailed, op.State)
}
