package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
)

// TestListingsPagedByCursorAndFiltered: events (a customer's and every
// customer's), webhook deliveries and the audit trail page by cursor
// through every item once, filter by customer, type, action, outcome and
// time, and answer 400 for a cursor that is not theirs for the query and
// for a bad filter.
func TestListingsPagedByCursorAndFiltered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range 12 {
		typ := events.SyncSucceeded
		if i%3 == 0 {
			typ = events.SyncFailed
		}
		require.NoError(t, e.bus.Emit(context.Background(), events.Event{Type: typ, Time: base.Add(time.Duration(i) * time.Minute),
			Data: events.Data{Customer: []string{"a", "b"}[i%2]}}))
	}
	events := func(path string) []eventJSON {
		t.Helper()
		var out []eventJSON
		for next := ""; ; {
			p := path
			if next != "" {
				p += "&after=" + next
			}
			l := decode[eventListJSON](t, e.do(t, "GET", p, tokenAll, nil), http.StatusOK)
			out = append(out, l.Events...)
			if next = l.Next; next == "" {
				return out
			}
		}
	}
	all := events("/events?limit=5")
	require.Len(t, all, 12)
	assert.Equal(t, base.Add(11*time.Minute), all[0].OccurredAt)
	assert.Len(t, events("/customers/a/events?limit=2"), 6)
	assert.Len(t, events("/events?customer=b&limit=2"), 6)
	failedA := events("/customers/a/events?type=sync.failed&limit=1")
	require.Len(t, failedA, 2, "events 0 and 6")
	assert.Equal(t, base.Add(6*time.Minute), failedA[0].OccurredAt)
	ranged := events("/events?from=" + url.QueryEscape(base.Add(3*time.Minute).Format(time.RFC3339)) + "&to=" + url.QueryEscape(base.Add(5*time.Minute).Format(time.RFC3339)))
	assert.Len(t, ranged, 2)
	// tokenA sees a's events only, in the listing of every customer.
	l := decode[eventListJSON](t, e.do(t, "GET", "/events?limit=500", tokenA, nil), http.StatusOK)
	require.Len(t, l.Events, 6)
	for _, ev := range l.Events {
		assert.Equal(t, "a", ev.Data.Customer)
	}
	assert.Equal(t, http.StatusForbidden, e.do(t, "GET", "/events?customer=b", tokenA, nil).Code)

	first := decode[eventListJSON](t, e.do(t, "GET", "/customers/a/events?limit=2", tokenAll, nil), http.StatusOK)
	require.NotEmpty(t, first.Next)
	for name, path := range map[string]string{
		"another customer's listing": "/customers/b/events?after=" + first.Next,
		"another filter":             "/customers/a/events?type=sync.failed&after=" + first.Next,
		"the deliveries":             "/webhooks/deliveries?customer=a&after=" + first.Next,
		"the audit trail":            "/customers/a/audit?after=" + first.Next,
		"edited":                     "/customers/a/events?after=A" + first.Next[1:],
	} {
		p := problemOf(t, e.do(t, "GET", path, tokenAll, nil), http.StatusBadRequest)
		assert.Equal(t, codeBadCursor, p.Code, name)
		assert.Equal(t, "after", p.Fields[0].Field, name)
	}
	for path, field := range map[string]string{
		"/events?type=sync.sideways":            "type",
		"/webhooks/deliveries?state=lost":       "state",
		"/audit?outcome=maybe":                  "outcome",
		"/audit?from=yesterday":                 "from",
		"/events?from=2026-12-02&to=2026-12-01": "from",
	} {
		p := problemOf(t, e.do(t, "GET", path, tokenAll, nil), http.StatusBadRequest)
		assert.Equal(t, codeBadQuery, p.Code, path)
		require.NotEmpty(t, p.Fields, path)
		assert.Equal(t, field, p.Fields[0].Field, path)
	}

	// The audit trail: customer, action and outcome filters and paging.
	e.saveToken(t, "a", e.contoso)
	e.saveToken(t, "b", e.fabrikam)
	require.Equal(t, http.StatusForbidden, e.do(t, "PUT", "/customers/a/m365", tokenB, map[string]string{"userFilter": ""}).Code)
	denied := e.auditOf(t, "/audit?outcome=denied")
	require.Len(t, denied.Entries, 1)
	assert.Equal(t, "a", denied.Entries[0].Customer)
	byB := e.auditOf(t, "/audit?customer=b&action=settings.write")
	require.Len(t, byB.Entries, 1)
	assert.Equal(t, "succeeded", byB.Entries[0].Outcome)
	p1 := e.auditOf(t, "/audit?limit=1&action=settings.write")
	require.NotEmpty(t, p1.Next)
	p2 := e.auditOf(t, "/audit?limit=5&action=settings.write&after="+p1.Next)
	assert.Len(t, p2.Entries, 2)
	assert.Equal(t, http.StatusBadRequest, e.do(t, "GET", "/audit?limit=1&after="+p1.Next, tokenAll, nil).Code, "cursor of the filtered query")
}

// replayStub is the env's event log whose Replay answers as told.
type replayStub struct {
	EventLog
	calls []string
	d     events.Delivery
	err   error
}

func (s *replayStub) Replay(_ context.Context, customer, eventID, endpoint string) (events.Delivery, error) {
	s.calls = append(s.calls, customer+" "+eventID+" "+endpoint)
	return s.d, s.err
}

// TestReplayRoute: POST .../webhooks/deliveries/{event}/{endpoint}/replay
// asks the event log to replay that customer's delivery, answers it, is
// audited as webhooks.replay, and maps the refusals to 404 and 409.
func TestReplayRoute(t *testing.T) {
	t.Parallel()
	stub := &replayStub{}
	e := newEnv(t, func(c *Config) { stub.EventLog = c.Events; c.Events = stub })
	e.saveToken(t, "a", e.contoso)
	const path = "/customers/a/webhooks/deliveries/msg_1/default/replay"
	stub.d = events.Delivery{EventID: "msg_1", Endpoint: "default", Customer: "a", State: events.DeliveryQueued, Replays: 1}
	d := decode[events.Delivery](t, e.do(t, "POST", path, tokenA, nil), http.StatusOK)
	assert.Equal(t, events.DeliveryQueued, d.State)
	assert.Equal(t, []string{"a msg_1 default"}, stub.calls)
	trail := e.auditOf(t, "/customers/a/audit?action=webhooks.replay")
	require.Len(t, trail.Entries, 1)
	assert.Equal(t, "succeeded", trail.Entries[0].Outcome)

	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{events.ErrNoDelivery, http.StatusNotFound, codeNotFound},
		{events.ErrNotFailed, http.StatusConflict, codeDeliveryNotFailed},
		{events.ErrEndpointGone, http.StatusConflict, codeEndpointGone},
	} {
		stub.err = tc.err
		assert.Equal(t, tc.code, problemOf(t, e.do(t, "POST", path, tokenA, nil), tc.status).Code, tc.err.Error())
	}
	assert.Equal(t, http.StatusForbidden, e.do(t, "POST", path, tokenB, nil).Code)
	assert.Equal(t, http.StatusNotFound, e.do(t, "POST", "/customers/nosuch/webhooks/deliveries/msg_1/default/replay", tokenAll, nil).Code)
	assert.Len(t, stub.calls, 4, "refused requests never reach the event log")
}

// TestAuditKeepsTheRequestIDTheClientGot: the request ID in the audit
// trail is the one the response carried: the client's own when it is
// ID-shaped, otherwise a generated one (a token-shaped ID would have been
// redacted in the trail, so the client is given one the trail keeps).
func TestAuditKeepsTheRequestIDTheClientGot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	hex24 := regexp.MustCompile(`^[0-9a-f]{24}$`)
	for i, tc := range []struct{ sent, want string }{
		{"req-42", "req-42"},
		{"6f9619ff-8b86-d011-b42d-00cf4fc964ff", "6f9619ff-8b86-d011-b42d-00cf4fc964ff"},
		{"curl-request-2026-12-01-0001", ""}, // 28 characters: token-shaped
		{"", ""},
		{"has spaces", ""},
	} {
		customer := fmt.Sprintf("c%d", i)
		r := httptest.NewRequest("PUT", testPublic+"/customers/"+customer+"/m365", strings.NewReader(
			`{"tenant":"contoso.onmicrosoft.com","authMode":"token","serviceAccount":"admin@contoso.onmicrosoft.com"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+tokenAll)
		if tc.sent != "" {
			r.Header.Set(RequestIDHeader, tc.sent)
		}
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		got := w.Header().Get(RequestIDHeader)
		if tc.want != "" {
			assert.Equal(t, tc.want, got)
		} else {
			assert.Regexp(t, hex24, got, tc.sent)
		}
		trail := e.auditOf(t, "/customers/"+customer+"/audit")
		require.NotEmpty(t, trail.Entries)
		assert.Equal(t, got, trail.Entries[0].RequestID, tc.sent)
		assert.NotContains(t, trail.Entries[0].RequestID, "redacted")
	}
}
