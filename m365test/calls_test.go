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
		if len(st) != 2 || *st[0].PacketUtilization != 3000 || *st[1].AverageJitter != 10*time.Millisecond {
			t.Fatalf("call %d streams %+v", k, st)
		}
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
		if got := c.End.Sub(c.Start); got != time.Duration(60+k%240)*time.Second {
			t.Errorf("call %d lasts %v", k, got)
		}
	}
	if poor != 24 || jitter != 10 || loss != 10 || rtt != 4 {
		t.Errorf("poor %d jitter %d loss %d rtt %d, want 24 10 10 4", poor, jitter, loss, rtt)
	}
}

func TestCallRecordEndpoints(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	if err := f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID); err != nil {
		t.Fatal(err)
	}
	tok := appToken(t, f, f.contoso.ID)
	ids, err := f.srv.PlaceCalls(context.Background(), f.contoso.ID, 130)
	if err != nil || len(ids) != 130 {
		t.Fatalf("PlaceCalls: %d %v", len(ids), err)
	}
	// The list pages at 60 (callRecord list reference: "Maximum page
	// size: 60") and filters on startDateTime.
	gr := graphDo(t, f, "GET", "/communications/callRecords", tok, nil)
	if gr.status != 200 || len(gr.body["value"].([]any)) != 60 || gr.body["@odata.nextLink"] == nil {
		t.Fatalf("list: %d %v", gr.status, gr.body["@odata.nextLink"])
	}
	next := graphDo(t, f, "GET", gr.body["@odata.nextLink"].(string), tok, nil)
	if next.status != 200 || len(next.body["value"].([]any)) != 60 || next.body["@odata.nextLink"] == nil {
		t.Fatalf("page 2: %d %d", next.status, len(next.body["value"].([]any)))
	}
	next = graphDo(t, f, "GET", next.body["@odata.nextLink"].(string), tok, nil)
	if next.status != 200 || len(next.body["value"].([]any)) != 10 || next.body["@odata.nextLink"] != nil {
		t.Fatalf("page 3: %d %d", next.status, len(next.body["value"].([]any)))
	}
	future := url.QueryEscape("startDateTime ge " + time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if gr := graphDo(t, f, "GET", "/communications/callRecords?$filter="+future, tok, nil); gr.status != 200 || len(gr.body["value"].([]any)) != 0 {
		t.Errorf("future filter: %d %v", gr.status, gr.body)
	}
	if gr := graphDo(t, f, "GET", "/communications/callRecords?$filter="+url.QueryEscape("endDateTime ge 2020-01-01T00:00:00Z"), tok, nil); gr.status != 400 {
		t.Errorf("endDateTime filter: %d", gr.status)
	}
	// Expanded record: one session, one segment, two streams with ISO durations.
	rec := graphDo(t, f, "GET", "/communications/callRecords/"+ids[3]+"?$expand="+url.QueryEscape("sessions($expand=segments)"), tok, nil)
	if rec.status != 200 || rec.body["version"] != float64(1) {
		t.Fatalf("record: %d %v", rec.status, rec.body)
	}
	ss := rec.body["sessions"].([]any)
	st := ss[0].(map[string]any)["segments"].([]any)[0].(map[string]any)["media"].([]any)[0].(map[string]any)["streams"].([]any)
	if st[0].(map[string]any)["averageJitter"] != "PT0.045S" || st[0].(map[string]any)["packetUtilization"] != float64(3000) {
		t.Errorf("caller stream of call 3: %v", st[0])
	}
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
		if gr.status != 200 || has != tc.sessions {
			t.Errorf("$expand=%q: %d, sessions present %v, want %v", tc.expand, gr.status, has, tc.sessions)
			continue
		}
		if has {
			_, segs := ss[0].(map[string]any)["segments"]
			if len(ss) != 1 || segs != tc.segments {
				t.Errorf("$expand=%q: %d sessions, segments present %v, want %v", tc.expand, len(ss), segs, tc.segments)
			}
		}
	}
	if gr := graphDo(t, f, "GET", "/communications/callRecords/"+ids[3]+"?$expand=participants", tok, nil); gr.status != 400 || graphErr(t, gr) != "BadRequest" {
		t.Errorf("$expand=participants: %d %v", gr.status, gr.body)
	}
	// Sessions page at 60.
	big := m365test.CallRecord{Start: time.Now().Add(-time.Hour), End: time.Now()}
	for range 130 {
		big.Sessions = append(big.Sessions, m365test.Session{Caller: f.contoso.AdminUPN(), Callee: f.contoso.AdminUPN(), Start: big.Start, End: big.End})
	}
	id, err := f.srv.AddCallRecord(context.Background(), f.contoso.ID, big)
	if err != nil {
		t.Fatal(err)
	}
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
		if pages > 5 {
			t.Fatal("sessions never end")
		}
	}
	if got != 130 {
		t.Errorf("sessions = %d", got)
	}
	// PSTN needs its own role.
	from, to := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if err := f.srv.PlaceDirectRoutingCalls(f.contoso.ID, 20); err != nil {
		t.Fatal(err)
	}
	if gr := graphDo(t, f, "GET", "/communications/callRecords/getDirectRoutingCalls(fromDateTime="+from+",toDateTime="+to+")", tok, nil); gr.status != 403 {
		t.Errorf("PSTN without CallRecords.Read.PstnCalls: %d", gr.status)
	}
}

func TestNotificationRetriesThenMissed(t *testing.T) {
	t.Parallel()
	srv := m365test.NewServer(&m365test.Options{SigningKey: sharedKey(t), NotificationRetries: 2, NotificationRetryDelay: 10 * time.Millisecond})
	t.Cleanup(srv.Close)
	tn, err := srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, Users: 10})
	if err != nil {
		t.Fatal(err)
	}
	app, err := srv.AddApp(m365test.AppOptions{HomeTenant: tn.ID, Secrets: []m365test.Secret{{Value: providerSecret}},
		ApplicationPermissions: []string{"CallRecords.Read.All"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.GrantAdminConsent(tn.ID, app.ClientID); err != nil {
		t.Fatal(err)
	}
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
	if gr.status != 201 {
		t.Fatalf("create: %d %v", gr.status, gr.body)
	}
	subID := gr.body["id"].(string)
	// Down for the first attempt, back for the retry: delivered once.
	mu.Lock()
	down = true
	mu.Unlock()
	if _, err := srv.PlaceCalls(context.Background(), tn.ID, 1); err == nil {
		t.Error("first attempt against a down receiver succeeded")
	}
	mu.Lock()
	down = false
	mu.Unlock()
	waitFor(t, func() bool { return srv.PendingNotifications() == 0 })
	mu.Lock()
	if changes != 1 || len(lifecycle) != 0 {
		t.Errorf("after recovery: changes %d lifecycle %v", changes, lifecycle)
	}
	down = true
	mu.Unlock()
	_, _ = srv.PlaceCalls(context.Background(), tn.ID, 1)
	waitFor(t, func() bool { return srv.PendingNotifications() == 0 })
	mu.Lock()
	defer mu.Unlock()
	// Dropped, and no "missed" lifecycle notification: Graph sends those
	// for Outlook resources only (lifecycle notifications page).
	if len(lifecycle) != 0 || srv.MissedNotifications(subID) != 1 {
		t.Errorf("after giving up: lifecycle %v missed %d", lifecycle, srv.MissedNotifications(subID))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
