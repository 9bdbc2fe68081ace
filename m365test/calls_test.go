package m365test_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// TestDemoCallsCQD checks the demo rule: the first 100 calls hold 10
// jitter, 10 packet loss and 4 round trip degradations on the caller's
// stream, none overlapping.
func TestDemoCallsCQD(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	var jitter, loss, rtt, poor int
	for k := range 100 {
		c := m365test.DemoCall(f.contoso, k, time.Now())
		st := c.Sessions[0].Segments[0].Media[0].Streams
		require.Len(t, st, 2, "call %d streams", k)
		require.Equal(t, int64(3000), *st[0].PacketUtilization, "call %d caller packetUtilization", k)
		require.Equal(t, 10*time.Millisecond, *st[1].AverageJitter, "call %d callee averageJitter", k)
		bad := 0
		if *st[0].AverageJitter > 30*time.Millisecond {
			jitter++
			bad++
		}
		if *st[0].AveragePacketLossRate > 0.1 {
			loss++
			bad++
		}
		if *st[0].AverageRoundTripTime > 500*time.Millisecond {
			rtt++
			bad++
		}
		if bad > 0 {
			poor++
		}
		assert.Equal(t, time.Duration(60+k%240)*time.Second, c.End.Sub(c.Start), "call %d duration", k)
	}
	assert.Equal(t, 24, poor, "poor calls")
	assert.Equal(t, 10, jitter, "jitter degradations")
	assert.Equal(t, 10, loss, "packet loss degradations")
	assert.Equal(t, 4, rtt, "round trip degradations")
}

func TestCallRecordEndpoints(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)
	ids, err := f.srv.PlaceCalls(context.Background(), f.contoso.ID, 130)
	require.NoError(t, err, "PlaceCalls")
	require.Len(t, ids, 130, "PlaceCalls")
	// The list pages at 60 (callRecord list reference: "Maximum page
	// size: 60") and filters on startDateTime.
	gr := graphDo(t, f, "GET", "/communications/callRecords", tok, nil)
	require.Equal(t, 200, gr.status, "list: %v", gr.body)
	require.Len(t, gr.body["value"].([]any), 60, "list")
	require.NotNil(t, gr.body["@odata.nextLink"], "list: nextLink")
	next := graphDo(t, f, "GET", gr.body["@odata.nextLink"].(string), tok, nil)
	require.Equal(t, 200, next.status, "page 2: %v", next.body)
	require.Len(t, next.body["value"].([]any), 60, "page 2")
	require.NotNil(t, next.body["@odata.nextLink"], "page 2: nextLink")
	next = graphDo(t, f, "GET", next.body["@odata.nextLink"].(string), tok, nil)
	require.Equal(t, 200, next.status, "page 3: %v", next.body)
	require.Len(t, next.body["value"].([]any), 10, "page 3")
	require.Nil(t, next.body["@odata.nextLink"], "page 3: nextLink")
	future := url.QueryEscape("startDateTime ge " + time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	gr = graphDo(t, f, "GET", "/communications/callRecords?$filter="+future, tok, nil)
	if assert.Equal(t, 200, gr.status, "future filter: %v", gr.body) {
		assert.Empty(t, gr.body["value"].([]any), "future filter")
	}
	gr = graphDo(t, f, "GET", "/communications/callRecords?$filter="+url.QueryEscape("endDateTime ge 2020-01-01T00:00:00Z"), tok, nil)
	assert.Equal(t, 400, gr.status, "endDateTime filter")
	// Expanded record: one session, one segment, two streams with ISO durations.
	rec := graphDo(t, f, "GET", "/communications/callRecords/"+ids[3]+"?$expand="+url.QueryEscape("sessions($expand=segments)"), tok, nil)
	require.Equal(t, 200, rec.status, "record: %v", rec.body)
	require.Equal(t, float64(1), rec.body["version"], "record: %v", rec.body)
	ss := rec.body["sessions"].([]any)
	st := ss[0].(map[string]any)["segments"].([]any)[0].(map[string]any)["media"].([]any)[0].(map[string]any)["streams"].([]any)
	assert.Equal(t, "PT0.045S", st[0].(map[string]any)["averageJitter"], "caller stream of call 3: %v", st[0])
	assert.Equal(t, float64(3000), st[0].(map[string]any)["packetUtilization"], "caller stream of call 3: %v", st[0])
	// As Graph: sessions only when expanded, segments only when the
	// sessions' $expand asks for them, any other $expand refused.
	for _, tc := range []struct {
		expand             string
		sessions, segments bool
	}{{"", false, false}, {"sessions", true, false}, {"sessions($expand=segments)", true, true}, {"Sessions( $expand = segments )", true, true}} {
		path := "/communications/callRecords/" + ids[3]
		if tc.expand != "" {
			path += "?$expand=" + url.QueryEscape(tc.expand)
		}
		gr := graphDo(t, f, "GET", path, tok, nil)
		ss, has := gr.body["sessions"].([]any)
		if !assert.Equal(t, 200, gr.status, "$expand=%q", tc.expand) || !assert.Equal(t, tc.sessions, has, "$expand=%q: sessions present", tc.expand) {
			continue
		}
		if has {
			_, segs := ss[0].(map[string]any)["segments"]
			assert.Len(t, ss, 1, "$expand=%q: sessions", tc.expand)
			assert.Equal(t, tc.segments, segs, "$expand=%q: segments present", tc.expand)
		}
	}
	gr = graphDo(t, f, "GET", "/communications/callRecords/"+ids[3]+"?$expand=participants", tok, nil)
	assertGraphError(t, gr, 400, "BadRequest", "$expand=participants")
	// Sessions page at 60.
	big := m365test.CallRecord{Start: time.Now().Add(-time.Hour), End: time.Now()}
	for range 130 {
		big.Sessions = append(big.Sessions, m365test.Session{Caller: f.contoso.AdminUPN(), Callee: f.contoso.AdminUPN(), Start: big.Start, End: big.End})
	}
	id, err := f.srv.AddCallRecord(context.Background(), f.contoso.ID, big)
	require.NoError(t, err)
	got := 0
	link := f.srv.GraphURL() + "/communications/callRecords/" + id + "?$expand=" + url.QueryEscape("sessions($expand=segments)")
	for pages := 0; link != ""; pages++ {
		gr := graphDo(t, f, "GET", link, tok, nil)
		key, nextKey := "value", "@odata.nextLink"
		if pages == 0 {
			key, nextKey = "sessions", "sessions@odata.nextLink"
		}
		got += len(gr.body[key].([]any))
		link, _ = gr.body[nextKey].(string)
		require.LessOrEqual(t, pages, 5, "sessions never end")
	}
	assert.Equal(t, 130, got, "sessions")
	// PSTN needs its own role.
	from, to := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	require.NoError(t, f.srv.PlaceDirectRoutingCalls(f.contoso.ID, 20))
	gr = graphDo(t, f, "GET", "/communications/callRecords/getDirectRoutingCalls(fromDateTime="+from+",toDateTime="+to+")", tok, nil)
	assert.Equal(t, 403, gr.status, "PSTN without CallRecords.Read.PstnCalls")
}

func TestNotificationRetriesThenMissed(t *testing.T) {
	t.Parallel()
	srv := m365test.NewServer(&m365test.Options{SigningKey: sharedKey(t), NotificationRetries: 2, NotificationRetryDelay: 10 * time.Millisecond})
	t.Cleanup(srv.Close)
	tn, err := srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, Users: 10})
	require.NoError(t, err)
	app, err := srv.AddApp(m365test.AppOptions{HomeTenant: tn.ID, Secrets: []m365test.Secret{{Value: providerSecret}},
		ApplicationPermissions: []string{"CallRecords.Read.All"}})
	require.NoError(t, err)
	require.NoError(t, srv.GrantAdminConsent(tn.ID, app.ClientID))
	var mu sync.Mutex
	down := false
	var changes int
	var lifecycle []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("validationToken"); v != "" {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, v)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		var body struct {
			Value []struct {
				LifecycleEvent string `json:"lifecycleEvent"`
			} `json:"value"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if r.URL.Path == "/lifecycle" {
			lifecycle = append(lifecycle, body.Value[0].LifecycleEvent)
			w.WriteHeader(http.StatusAccepted)
			return
		}
		if down {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		changes++
		w.WriteHeader(http.StatusAccepted)
	}))
	defer hook.Close()
	tok := tokenFor(t, &fixture{srv: srv}, tn.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID},
		"client_secret": {providerSecret}, "scope": {"https://graph.microsoft.com/.default"}})
	gr := graphDo(t, &fixture{srv: srv}, "POST", "/subscriptions", tok, map[string]any{"changeType": "created,updated",
		"notificationUrl": hook.URL + "/notify", "lifecycleNotificationUrl": hook.URL + "/lifecycle", "resource": "/communications/callRecords",
		"expirationDateTime": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "clientState": "s"})
	require.Equal(t, 201, gr.status, "create: %v", gr.body)
	subID := gr.body["id"].(string)
	// Down for the first attempt, back for the retry: delivered once.
	mu.Lock()
	down = true
	mu.Unlock()
	_, err = srv.PlaceCalls(context.Background(), tn.ID, 1)
	assert.Error(t, err, "first attempt against a down receiver succeeded")
	mu.Lock()
	down = false
	mu.Unlock()
	waitFor(t, func() bool { return srv.PendingNotifications() == 0 })
	mu.Lock()
	assert.Equal(t, 1, changes, "after recovery: changes")
	assert.Empty(t, lifecycle, "after recovery: lifecycle")
	down = true
	mu.Unlock()
	_, _ = srv.PlaceCalls(context.Background(), tn.ID, 1)
	waitFor(t, func() bool { return srv.PendingNotifications() == 0 })
	mu.Lock()
	defer mu.Unlock()
	// Dropped, and no "missed" lifecycle notification: Graph sends those
	// for Outlook resources only (lifecycle notifications page).
	assert.Empty(t, lifecycle, "after giving up: lifecycle")
	assert.Equal(t, 1, srv.MissedNotifications(subID), "after giving up: missed")
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNow(t, "condition not met within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
