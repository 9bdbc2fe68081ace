package httpapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/voice"
)

// TestVoiceFleet: GET /voice lists every customer's voice at a glance
// (a: contoso, 120 users: 40 voice users, 2 disabled; b: fabrikam, 10
// users: 4 voice users), to an admin of everything; an admin of a sees
// a only; filters, sort and paging; bad queries are 400s.
func TestVoiceFleet(t *testing.T) {
	t.Parallel()
	e := newVoiceEnv(t)
	e.connect(t, "a", e.contoso)
	e.connect(t, "b", e.fabrikam)
	ctx := context.Background()
	for _, c := range []string{"a", "b"} {
		e.refreshVoice(t, c)
		decode[rangesJSON](t, e.do(t, "PUT", "/customers/"+c+"/voice/ranges", tokenAll, map[string]any{"ranges": []map[string]any{
			{"name": "Milan", "from": "+39020000000", "to": "+39020009999", "type": "directRouting", "quarantineDays": 30}}}), http.StatusOK)
		e.refreshVoice(t, c) // the ranges' free numbers
		_, err := e.voice.Summarize(ctx, c)
		require.NoError(t, err)
	}

	page := decode[voice.FleetPage](t, e.do(t, "GET", "/voice", tokenAll, nil), http.StatusOK)
	require.Len(t, page.Customers, 2)
	a := page.Customers[0]
	assert.Equal(t, "a", a.Customer)
	assert.Equal(t, 40, a.Users)
	assert.Equal(t, 38, a.Ready)
	assert.Equal(t, map[string]int{voice.CheckAccountEnabled: 2}, a.NotReady, "users 39 and 99 are disabled")
	require.Len(t, a.Ranges, 1)
	assert.Equal(t, 12, a.Ranges[0].Numbers)
	assert.Equal(t, 8, a.Ranges[0].Free)
	assert.Equal(t, voice.RangeOK, a.Ranges[0].Level)
	assert.Equal(t, 4, page.Customers[1].Users)

	mine := decode[voice.FleetPage](t, e.do(t, "GET", "/voice", tokenA, nil), http.StatusOK)
	require.Len(t, mine.Customers, 1, "an admin of a sees a")
	assert.Equal(t, "a", mine.Customers[0].Customer)

	nr := decode[voice.FleetPage](t, e.do(t, "GET", "/voice?notReady=true&sort=notReady", tokenAll, nil), http.StatusOK)
	require.Len(t, nr.Customers, 1)
	assert.Equal(t, "a", nr.Customers[0].Customer)
	first := decode[voice.FleetPage](t, e.do(t, "GET", "/voice?sort=free&limit=1", tokenAll, nil), http.StatusOK)
	require.Len(t, first.Customers, 1)
	assert.Equal(t, "b", first.Customers[0].Customer, "fabrikam's Milan range has one free number")
	require.NotEmpty(t, first.Next)
	second := decode[voice.FleetPage](t, e.do(t, "GET", "/voice?sort=free&limit=1&after="+first.Next, tokenAll, nil), http.StatusOK)
	require.Len(t, second.Customers, 1)
	assert.Equal(t, "a", second.Customers[0].Customer)
	assert.Equal(t, 2, second.Total)

	for _, q := range []string{"notReady=maybe", "sort=sideways", "limit=0", "sort=users&after=" + first.Next, "after=garbage"} {
		w := e.do(t, "GET", "/voice?"+q, tokenAll, nil)
		assert.Equal(t, http.StatusBadRequest, w.Code, "%s: %s", q, w.Body.String())
	}
	w := e.do(t, "GET", "/voice", "", nil)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
}
