package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

type voiceOp struct {
	ID    string `json:"id"`
	State string `json:"state"`
	Items []struct {
		Steps []struct {
			Step, Status, Detail, Number string
		} `json:"steps"`
	} `json:"items"`
}

// waitVoiceOp waits until the voice operation id ends and returns it. While
// it runs, it moves the fake's clock past its number operations' delay, so
// Microsoft's (simulated) 3 seconds per number are not waited out: the
// operation settles at voice's next poll (startDemoWith's voicePoll).
func (d *demo) waitVoiceOp(t *testing.T, id string) voiceOp {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		var op voiceOp
		d.api(t, "GET", "/api/customers/contoso/voice/operations/"+id, "", http.StatusOK, &op)
		if op.State != "queued" && op.State != "running" {
			return op
		}
		d.a.fake.Advance(m365test.DefaultNumberOperationDelay + time.Second)
		time.Sleep(50 * time.Millisecond)
	}
	require.FailNow(t, "voice operation still running after 90 s", id)
	return voiceOp{}
}

// TestDemoVoice: the demo portal answers the design's voice routes on the
// demo tenant of 50,000 users: 3,334 free Italian numbers in the Milan
// range; user 24 ready, user 4 not ready for want of a license; user 4
// set with +39020000004, VRP-IT and DP-IT in one request and then ready;
// a taken number refused; a released number quarantined and skipped by
// "next".
func TestDemoVoice(t *testing.T) {
	// Not parallel: a big-demo test (see the note above TestBrowser).
	if testing.Short() {
		t.Skip("the 50,000-user demo tenant")
	}
	// voice follows Microsoft's operations every 50 ms; waitVoiceOp moves
	// the fake's clock past their delay.
	d := startDemoWith(t, t.TempDir(), hooks{voicePoll: 50 * time.Millisecond}, "-demo-users", "50000")
	connectWithoutBrowser(t, d)
	// The demo reads the inventory when the customer connects (a
	// synchronous POST voice/numbers/refresh of 50,000 numbers can outlast
	// the server's write timeout under -race; httpapi tests that route).
	ictx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	require.NoError(t, inventoryRead(ictx, d, 50_000))
	var page struct {
		Total int `json:"total"`
	}
	d.api(t, "GET", "/api/customers/contoso/voice/numbers?status=unassigned&range=Milan&limit=1", "", http.StatusOK, &page)
	assert.Equal(t, 3334, page.Total)

	type check struct {
		Name, Action string
		OK           bool
	}
	var v struct {
		Ready  bool    `json:"ready"`
		Checks []check `json:"checks"`
	}
	d.api(t, "GET", "/api/customers/contoso/users/user00024@contoso.onmicrosoft.com/voice", "", http.StatusOK, &v)
	assert.True(t, v.Ready, "%+v", v.Checks)
	d.api(t, "GET", "/api/customers/contoso/users/user00004@contoso.onmicrosoft.com/voice", "", http.StatusOK, &v)
	require.False(t, v.Ready)
	for _, c := range v.Checks {
		if !c.OK {
			assert.Equal(t, check{Name: "teamsPhoneLicense", Action: "assignLicense"}, c, "the first failed check")
			break
		}
	}

	var op voiceOp
	d.api(t, "PUT", "/api/customers/contoso/users/user00004@contoso.onmicrosoft.com/voice",
		`{"number":"+39020000004","licenses":"auto","policies":{"OnlineVoiceRoutingPolicy":"VRP-IT","TenantDialPlan":"DP-IT"}}`, http.StatusAccepted, &op)
	op = d.waitVoiceOp(t, op.ID)
	require.Equal(t, "succeeded", op.State, "%+v", op.Items)
	d.api(t, "GET", "/api/customers/contoso/users/user00004@contoso.onmicrosoft.com/voice", "", http.StatusOK, &v)
	assert.True(t, v.Ready, "%+v", v.Checks)

	var p struct {
		Code   string                   `json:"code"`
		Fields []struct{ Field string } `json:"fields"`
	}
	d.api(t, "PUT", "/api/customers/contoso/users/user00005@contoso.onmicrosoft.com/voice", `{"number":"+39020000024","licenses":"auto"}`, http.StatusConflict, &p)
	assert.Equal(t, "number_taken", p.Code)

	d.api(t, "DELETE", "/api/customers/contoso/users/user00004@contoso.onmicrosoft.com/voice", "", http.StatusAccepted, &op)
	op = d.waitVoiceOp(t, op.ID)
	require.Equal(t, "succeeded", op.State, "%+v", op.Items)
	var q struct {
		Numbers []struct {
			Status           string     `json:"status"`
			QuarantinedUntil *time.Time `json:"quarantinedUntil"`
		} `json:"numbers"`
	}
	d.api(t, "GET", "/api/customers/contoso/voice/numbers?prefix="+url.QueryEscape("+39020000004"), "", http.StatusOK, &q)
	require.Len(t, q.Numbers, 1)
	assert.Equal(t, "unassigned", q.Numbers[0].Status)
	assert.NotNil(t, q.Numbers[0].QuarantinedUntil)
	d.api(t, "PUT", "/api/customers/contoso/users/user00044@contoso.onmicrosoft.com/voice",
		`{"number":"next","range":"Milan","licenses":"auto","policies":{"OnlineVoiceRoutingPolicy":"VRP-IT"}}`, http.StatusAccepted, &op)
	op = d.waitVoiceOp(t, op.ID)
	require.Equal(t, "succeeded", op.State, "%+v", op.Items)
	var got string
	for _, st := range op.Items[0].Steps {
		if st.Step == "number" {
			got = st.Number
		}
	}
	assert.Equal(t, "+39020000014", got, "the quarantined +39020000004 is skipped")
}
